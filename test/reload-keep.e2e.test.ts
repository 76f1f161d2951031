import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type RunningHousingSimulator, startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import type { AdminAuditRecord } from '../gateway/audit/record.js'
import type { CatalogSnapshot } from '../gateway/catalog/snapshot.js'
import { type Harness, type HttpResult, NOW, startHarness } from './support/gateway.js'

/**
 * Issue 10 part 4: a catalog reload keeps the connector instances whose configuration did not change — their
 * circuit breaker and their pooled connections — and closes a changed or removed one only after the calls on it.
 * Real gateway, real 住建 simulators, on loopback.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const HOUSING = 'housing-gongai'
// biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${NAME:-default} syntax
const HOUSING_URL_LINE = '      baseUrl: ${QIAO_HOUSING_URL:-http://127.0.0.1:9101}\n'
/** The demo catalog's default 住建 app secret: it must never show in a log line. */
const APP_SECRET = 'demo-secret-change-me'

/** A second 住建 instance (bound to the permits resource by the third test, then removed). */
const MIRROR_BLOCK = `  housing-mirror:
    type: housing-gongai
    department: housing
    options:
      baseUrl: \${QIAO_MIRROR_URL}
      appKey: qiao-gateway
      appSecret: \${QIAO_HOUSING_APP_SECRET:-demo-secret-change-me}
`

/** A TCP relay in front of an upstream that counts the connections it accepts. */
interface CountingRelay {
  readonly url: string
  readonly accepted: number
  close(): Promise<void>
}

async function startCountingRelay(upstream: string): Promise<CountingRelay> {
  const target = new URL(upstream)
  const sockets = new Set<Socket>()
  let accepted = 0
  const server: Server = createServer((client) => {
    accepted++
    const up = tcpConnect(Number(target.port), target.hostname)
    for (const s of [client, up]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        up.destroy()
      })
    }
    client.pipe(up).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('relay has no port')
  return {
    url: `http://127.0.0.1:${address.port}`,
    get accepted() {
      return accepted
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function ask(h: Harness, projectCode: string, caseId = 'RK-1'): Promise<HttpResult> {
  return h
    .token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    .then((token) => h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId }))
}

/** Edits the catalog file and reloads it through the admin API; answers the reload's audit record. */
async function reloadWith(h: Harness, edit: (text: string) => string): Promise<AdminAuditRecord> {
  const file = h.config.catalog
  const before = await readFile(file, 'utf8')
  const after = edit(before)
  expect(after).not.toBe(before)
  await writeFile(file, after)
  const res = await request(`${h.gateway.url}/v1/admin/catalog/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await h.token({ dept: 'drc', sub: 'ops-1', scope: 'catalog:admin' })}` },
  })
  const text = await res.body.text()
  expect(res.statusCode, text).toBe(200)
  let last: AdminAuditRecord | undefined
  for await (const e of h.gateway.deps.audit.query({ kind: 'admin' })) last = e.record as AdminAuditRecord
  expect(last).toMatchObject({ action: 'catalog.reload', outcome: 'ok' })
  return last as AdminAuditRecord
}

/** A matter-only change: renames the first matter. */
const renameMatter = (text: string) =>
  text.replace(
    'name: 投资项目在线审批监管（施工许可、图审和竣工验收信息回传）',
    'name: 投资项目在线审批监管（施工许可、图审、竣工验收信息回传）',
  )

const current = (h: Harness): CatalogSnapshot => h.gateway.deps.snapshot()
/** The demo catalog's connector instances, in file order (a generated connector may follow the demo's three). */
const demoConnectors = (s: CatalogSnapshot) => [...s.catalog.connectors.keys()].filter((id) => id !== 'housing-mirror')
const DEMO_CONNECTORS = ['housing-gongai', 'drc-tzxm', 'market-qzk']
/** Data requests a 住建 simulator received, and health probes (the simulator records both). */
const queries = (sim: RunningHousingSimulator) => sim.requests.filter((r) => r.service !== 'ping').length
const pings = (sim: RunningHousingSimulator) => sim.requests.filter((r) => r.service === 'ping').length

describe('a reload that changes only a matter', () => {
  let h: Harness
  let upstream: RunningHousingSimulator
  let relay: CountingRelay
  let projectCode: string
  beforeAll(async () => {
    upstream = await startHousingSimulator({ port: 0, now: () => NOW })
    relay = await startCountingRelay(upstream.url)
    projectCode = upstream.data.permits[0]?.XMDM as string
    h = await startHarness({
      upstreamUrl: relay.url,
      // A breaker that stays open for the whole test once opened.
      catalog: (text) =>
        text.replace(
          '    department: housing\n',
          '    department: housing\n    resilience: { readRetries: 0, breakerThreshold: 3, breakerHalfOpenAfterMs: 120000 }\n',
        ),
    })
  })
  afterAll(async () => {
    await h?.close()
    await relay?.close()
    await upstream?.close()
  })

  it('keeps the pool: calls after the reload reuse the connections opened before it', async () => {
    for (let i = 0; i < 3; i++) expect((await ask(h, projectCode)).status).toBe(200)
    const connections = relay.accepted
    expect(connections).toBeGreaterThan(0)
    const probes = pings(upstream)
    const before = current(h)

    const record = await reloadWith(h, renameMatter)
    const after = current(h)
    expect(after).not.toBe(before)
    expect(after.catalog.matters.get(MATTER)?.name).toBe('投资项目在线审批监管（施工许可、图审、竣工验收信息回传）')

    const calls = queries(upstream)
    for (let i = 0; i < 3; i++) expect((await ask(h, projectCode)).status).toBe(200)
    expect(queries(upstream)).toBe(calls + 3)
    expect(relay.accepted).toBe(connections)
    // A kept instance keeps its health status: it is not probed again because of the reload.
    expect(pings(upstream)).toBe(probes)
    expect(h.gateway.deps.health.status(HOUSING).status).toBe('up')

    expect(after.connectors.get(HOUSING)).toBe(before.connectors.get(HOUSING))
    expect(after.guards.get(HOUSING)).toBe(before.guards.get(HOUSING))
    expect(before.instances.get(HOUSING)?.disposed).toBe(false)

    // Lists of ids, in the audit record and the log; never the options behind them.
    expect(demoConnectors(before).slice(0, 3)).toEqual(DEMO_CONNECTORS)
    expect(record.details).toMatchObject({
      connectorsKept: demoConnectors(before).join(','),
      connectorsRebuilt: '',
      connectorsAdded: '',
      connectorsRemoved: '',
    })
    const logged = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'catalog reloaded')
    expect(logged.at(-1)).toMatchObject({
      level: 30,
      connectors: { kept: demoConnectors(before), rebuilt: [], added: [], removed: [] },
    })
    for (const line of h.logLines) expect(line).not.toContain(APP_SECRET)
  })

  it('keeps an open breaker open: the next call after the reload fails fast without reaching the provider', async () => {
    upstream.setKnobs({ fault: 'http-503' })
    try {
      for (let i = 0; i < 3; i++) expect((await ask(h, projectCode)).json.code).toBe('upstream-unavailable')
      const open = await ask(h, projectCode)
      expect(open.status).toBe(503)
      expect(open.json.code).toBe('upstream-circuit-open')
      const guard = current(h).guards.get(HOUSING)
      expect(guard?.state).toBe('open')

      // Another matter-only change: a matter added.
      await reloadWith(h, (text) =>
        text.replace(
          '\nmatters:\n',
          [
            '\nmatters:',
            '  - code: QT00301099',
            '    name: 投资项目在线审批监管（试点）',
            '    owner: drc',
            '    legalBasis: 《企业投资项目核准和备案管理条例》（国务院令第673号）第四条',
            '    grants: []',
            '',
          ].join('\n'),
        ),
      )
      expect(current(h).catalog.matters.has('QT00301099')).toBe(true)

      const calls = upstream.requests.length
      const after = await ask(h, projectCode)
      expect(after.status).toBe(503)
      expect(after.json.code).toBe('upstream-circuit-open')
      expect(upstream.requests.length).toBe(calls) // failed fast: the provider was not called
      expect(current(h).guards.get(HOUSING)).toBe(guard)
      expect(guard?.state).toBe('open')
    } finally {
      upstream.setKnobs({ fault: 'none' })
    }
  })
})

describe('a reload that changes one connector', () => {
  let h: Harness
  let second: RunningHousingSimulator
  beforeAll(async () => {
    second = await startHousingSimulator({ port: 0, now: () => NOW })
    h = await startHarness({ catalog: (text) => text })
  })
  afterAll(async () => {
    await h?.close()
    await second?.close()
  })
  afterEach(() => {
    h.sim.setKnobs({ latencyMs: 0 })
  })

  it('rebuilds only that instance; new calls use the new options; the old one closes after its slow call', async () => {
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const before = current(h)
    const old = before.instances.get(HOUSING)
    if (!old) throw new Error('no housing instance')

    h.sim.setKnobs({ latencyMs: 1500 })
    const seen = queries(h.sim)
    const slow = ask(h, projectCode, 'RK-slow')
    await vi.waitFor(() => expect(queries(h.sim)).toBe(seen + 1), { timeout: 5000 })

    const record = await reloadWith(h, (text) => text.replace(HOUSING_URL_LINE, `      baseUrl: ${second.url}\n`))
    const after = current(h)
    const rebuilt = after.instances.get(HOUSING)
    expect(rebuilt).not.toBe(old)
    expect(after.connectors.get(HOUSING)).not.toBe(before.connectors.get(HOUSING))
    expect(after.guards.get(HOUSING)).not.toBe(before.guards.get(HOUSING))
    for (const id of ['drc-tzxm', 'market-qzk']) {
      expect(after.connectors.get(id)).toBe(before.connectors.get(id))
      expect(after.guards.get(id)).toBe(before.guards.get(id))
    }
    expect(record.details).toMatchObject({
      connectorsKept: demoConnectors(before)
        .filter((id) => id !== HOUSING)
        .join(','),
      connectorsRebuilt: 'housing-gongai',
      connectorsAdded: '',
      connectorsRemoved: '',
    })

    // The rebuilt instance is health-checked at its new URL.
    await vi.waitFor(() => expect(pings(second)).toBe(1), { timeout: 5000 })
    // A new call goes to the new URL, while the slow one is still running on the old instance.
    const atFirst = queries(h.sim)
    const fresh = await ask(h, projectCode, 'RK-new')
    expect(fresh.status).toBe(200)
    expect(queries(second)).toBe(1)
    expect(queries(h.sim)).toBe(atFirst)
    expect(old.disposed).toBe(false)

    const finished = await slow
    expect(finished.status).toBe(200)
    expect((finished.json.data as unknown[]).length).toBeGreaterThan(0)
    await vi.waitFor(() => expect(old.disposed).toBe(true), { timeout: 5000 })
    expect(rebuilt?.disposed).toBe(false)
    const audited = (await h.auditRecords()).filter((r) => r.case === 'RK-slow')
    expect(audited).toMatchObject([{ decision: 'allow', reason: 'ok', status: 200 }])
  })
})

describe('a reload that removes a connector instance', () => {
  let h: Harness
  let mirror: RunningHousingSimulator
  beforeAll(async () => {
    mirror = await startHousingSimulator({ port: 0, now: () => NOW })
    // The permits resource runs on a second 住建 instance, which the reload removes.
    h = await startHarness({
      vars: { QIAO_MIRROR_URL: mirror.url },
      catalog: (text) =>
        text
          .replace('\nresources:\n', `${MIRROR_BLOCK}\nresources:\n`)
          .replace(`    connector: ${HOUSING}\n`, '    connector: housing-mirror\n'),
    })
  })
  afterAll(async () => {
    await h?.close()
    await mirror?.close()
  })

  it('closes the removed instance once its call is done; the resource moves to the kept one', async () => {
    const projectCode = mirror.data.permits[0]?.XMDM as string
    const before = current(h)
    const removed = before.instances.get('housing-mirror')
    if (!removed) throw new Error('no mirror instance')

    mirror.setKnobs({ latencyMs: 1500 })
    const slow = ask(h, projectCode, 'RK-mirror')
    await vi.waitFor(() => expect(queries(mirror)).toBe(1), { timeout: 5000 })

    const record = await reloadWith(h, (text) =>
      text.replace(MIRROR_BLOCK, '').replace('    connector: housing-mirror\n', `    connector: ${HOUSING}\n`),
    )
    expect(current(h).instances.has('housing-mirror')).toBe(false)
    expect(current(h).connectors.get(HOUSING)).toBe(before.connectors.get(HOUSING))
    expect(demoConnectors(before).slice(0, 3)).toEqual(DEMO_CONNECTORS)
    expect(record.details).toMatchObject({
      connectorsKept: demoConnectors(before).join(','),
      connectorsRemoved: 'housing-mirror',
    })
    expect(removed.disposed).toBe(false)

    const calls = queries(h.sim)
    expect((await ask(h, projectCode, 'RK-moved')).status).toBe(200)
    expect(queries(h.sim)).toBe(calls + 1)
    expect(queries(mirror)).toBe(1)
    expect(removed.disposed).toBe(false)

    expect((await slow).status).toBe(200)
    await vi.waitFor(() => expect(removed.disposed).toBe(true), { timeout: 5000 })
    expect(before.instances.get(HOUSING)?.disposed).toBe(false)
  })
})
