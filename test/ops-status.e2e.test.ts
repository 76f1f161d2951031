import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { REDIS_QUOTA_READS, type StatusReport } from '../gateway/health/status-report.js'
import { faultyFileSystem } from './support/fs-faults.js'
import { type Harness, type HarnessOptions, NOW, REPO, startHarness } from './support/gateway.js'

/**
 * GET /v1/admin/status end to end: a real gateway in process, in front of the real 住建 and 发改 simulators (or a
 * closed port), with the operator's ops:read token. Each test breaks or uses one thing and reads the report.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const READER = { dept: 'drc', scope: `${MATTER}:${PERMITS}:read` }
const SECRET = `app-secret-${randomUUID()}`
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version

const harnesses: Harness[] = []
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()))
})

async function start(options: HarnessOptions = {}): Promise<Harness> {
  const h = await startHarness(options)
  harnesses.push(h)
  return h
}

/** The demo catalog with other resilience settings for the 住建 connector (the first `department: housing`). */
const housingResilience = (settings: string) => (text: string) =>
  text.replace('    department: housing\n', `    department: housing\n    resilience: ${settings}\n`)

async function status(h: Harness): Promise<{ report: StatusReport; text: string }> {
  const res = await h.get('/v1/admin/status', await h.token({ dept: 'data', sub: 'ops-1', scope: 'ops:read' }))
  expect(res.status, res.text).toBe(200)
  expect(res.headers['cache-control']).toBe('no-store')
  return { report: JSON.parse(res.text) as StatusReport, text: res.text }
}

async function askPermits(h: Harness, caseId: string) {
  const projectCode = h.sim.data.permits[0]?.XMDM as string
  return h.query(PERMITS, { projectCode }, { token: await h.token(READER), matter: MATTER, caseId })
}

async function reload(h: Harness) {
  const res = await request(`${h.gateway.url}/v1/admin/catalog/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await h.token({ dept: 'data', sub: 'ops-1', scope: 'catalog:admin' })}` },
  })
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The gateway's clock, moved by hand. */
function movableClock() {
  let now = NOW
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`never: ${what}`)
}

describe('GET /v1/admin/status', () => {
  it('a connector whose upstream is down shows unhealthy at once and, after failures, its breaker open', async () => {
    const h = await start({
      upstreamUrl: `http://127.0.0.1:${await closedPort()}`,
      catalog: housingResilience('{ readRetries: 0, breakerThreshold: 3, breakerHalfOpenAfterMs: 30000 }'),
    })
    const first = (await status(h)).report
    const housing = () => first.connectors.find((c) => c.id === 'housing-gongai')
    expect(housing()).toMatchObject({
      type: 'housing-gongai',
      department: 'housing',
      health: 'down',
      checkedAt: new Date(NOW).toISOString(),
      breaker: { state: 'closed', openedAt: null, threshold: 3, halfOpenAfterMs: 30_000 },
      bulkhead: { inFlight: 0, max: 128 },
    })
    expect(housing()?.resources).toContain(PERMITS)
    expect(first.connectors.find((c) => c.id === 'drc-tzxm')).toMatchObject({
      health: 'up',
      breaker: { state: 'closed' },
    })

    for (let i = 0; i < 3; i++) expect((await askPermits(h, `DOWN-${i}`)).json.code).toBe('upstream-unavailable')
    expect((await askPermits(h, 'DOWN-fast')).json.code).toBe('upstream-circuit-open')

    const after = (await status(h)).report.connectors.find((c) => c.id === 'housing-gongai')
    expect(after).toMatchObject({
      health: 'down',
      breaker: { state: 'open', openedAt: new Date(NOW).toISOString() },
      bulkhead: { inFlight: 0 },
    })
  })

  it('instance, catalog, quota use after calls, audit stats that move, and the state store', async () => {
    const h = await start()
    const before = (await status(h)).report
    expect(before.instance).toEqual({
      id: h.config.auditLogId,
      version: VERSION,
      startedAt: new Date(NOW).toISOString(),
      demoMode: false,
      draining: false,
      inFlight: 1, // this request
    })
    expect(before.catalog).toMatchObject({
      version: h.gateway.deps.snapshot().catalog.version,
      digest: h.gateway.deps.snapshot().catalog.digest,
      loadedAt: new Date(NOW).toISOString(),
      lastReload: null,
    })
    expect(before.stateStore).toEqual({ backend: 'sqlite', reachable: true })
    expect(before.quotas).toMatchObject({ store: 'memory', shared: false, reachable: true, total: 3, listed: 3 })
    const drcOverall = (r: StatusReport) => r.quotas.items.find((q) => q.id === 'drc-overall')
    expect(drcOverall(before)).toMatchObject({
      department: 'drc',
      source: 'catalog',
      key: 'drc',
      limit: 1200,
      per: 'minute',
      points: 1200,
      windowSeconds: 60,
      used: 0,
      remaining: 1200,
      windowEndsAt: null,
    })
    expect(before.audit).toMatchObject({ backend: 'file', logId: h.config.auditLogId, state: 'ok', problems: [] })
    expect(before.audit.since).toBe(new Date(NOW).toISOString())
    expect(before.audit.segmentSizeUnit).toBe('bytes')
    expect(before.audit.freeBytes).toBeGreaterThan(0)
    expect(before.audit.minFreeBytes).toBe(h.config.auditMinFreeBytes)

    for (let i = 0; i < 3; i++) expect((await askPermits(h, `Q-${i}`)).status).toBe(200)
    await h.gateway.deps.audit.checkpoint()

    const after = (await status(h)).report
    const used = drcOverall(after)
    expect(used).toMatchObject({ used: 3, remaining: 1197 })
    expect(Date.parse(used?.windowEndsAt as string)).toBeGreaterThan(NOW)
    expect(Date.parse(used?.windowEndsAt as string)).toBeLessThanOrEqual(NOW + 60_000)
    expect(after.quotas.items.find((q) => q.id === 'xk00208001')).toMatchObject({ used: 0, windowEndsAt: null })
    expect(after.audit.appended).toBe(before.audit.appended + 3)
    expect(after.audit.syncs).toBeGreaterThan(before.audit.syncs)
    expect(after.audit.segmentSize).toBeGreaterThan(before.audit.segmentSize)
    expect(after.audit.lastCheckpoint).toMatchObject({ at: new Date(NOW).toISOString(), segment: after.audit.segment })
    expect(after.audit.lastCheckpoint?.size).toBeGreaterThanOrEqual(3)
  })

  it('refuses a token without ops:read (403, as an auditor or a catalog admin has) and a call without a token (401)', async () => {
    const h = await start()
    for (const scope of ['audit:read', 'catalog:admin', `${MATTER}:${PERMITS}:read`]) {
      const res = await h.get('/v1/admin/status', await h.token({ dept: 'data', scope }))
      expect(res.status, scope).toBe(403)
      expect(res.json).toMatchObject({ code: 'insufficient-scope', requiredScope: 'ops:read' })
      expect(res.text).not.toContain('connectors')
    }
    const anonymous = await h.get('/v1/admin/status')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it('names no secret, URL or credential: connector options, the Redis and front-end database URLs stay out', async () => {
    const redisPassword = `redis-pw-${randomUUID()}`
    const dbPassword = `db-pw-${randomUUID()}`
    const h = await start({
      upstreamUrl: `http://127.0.0.1:${await closedPort()}`,
      vars: {
        QIAO_HOUSING_APP_SECRET: SECRET,
        QIAO_MARKET_DB_URL: `postgres://postgres:${dbPassword}@127.0.0.1:5432/test`,
      },
      // A user Redis does not know: the store stays unreachable and counts in memory.
      env: { QIAO_QUOTA_REDIS_URL: `redis://qiao-nobody:${redisPassword}@127.0.0.1:6379` },
    })
    await askPermits(h, 'SECRET-1')
    const { report, text } = await status(h)
    expect(report.quotas).toMatchObject({ store: 'redis', shared: true, reachable: false })
    expect(report.quotas.note).toMatch(/unreachable/)
    for (const secret of [SECRET, redisPassword, dbPassword, 'demo-secret-change-me', 'qiao-tzxm-demo-token']) {
      expect(text).not.toContain(secret)
    }
    expect(text).not.toMatch(/[a-z][a-z0-9+.-]*:\/\//i) // no URL of any scheme
    expect(text).not.toContain('127.0.0.1')
    expect(text).not.toMatch(/ECONNREFUSED|Bearer|eyJ/) // no probe detail, no token
  })

  it('with Redis, reads each quota by its key and says how many it read of how many', async () => {
    const extra = Array.from(
      { length: REDIS_QUOTA_READS + 5 },
      (_, i) => `  - { id: many-${i}, department: drc, limit: 100, per: minute }\n`,
    )
    const h = await start({
      catalog: (text) => text.replace('\nquotas:\n', `\nquotas:\n${extra.join('')}`),
      env: { QIAO_QUOTA_REDIS_URL: 'redis://127.0.0.1:6379', QIAO_QUOTA_KEY_PREFIX: `qiao:test:${randomUUID()}` },
    })
    for (let i = 0; i < 2; i++) expect((await askPermits(h, `R-${i}`)).status).toBe(200)
    const { quotas } = (await status(h)).report
    expect(quotas).toMatchObject({ store: 'redis', shared: true, reachable: true, fallbacks: 0 })
    expect(quotas.total).toBe(REDIS_QUOTA_READS + 8)
    expect(quotas.listed).toBe(REDIS_QUOTA_READS)
    expect(quotas.items).toHaveLength(REDIS_QUOTA_READS)
    expect(quotas.note).toContain(`the first ${REDIS_QUOTA_READS} of ${REDIS_QUOTA_READS + 8} quotas`)
    expect(quotas.items[0]).toMatchObject({ id: 'many-0', key: 'drc', used: 2, remaining: 98 })
    expect(Date.parse(quotas.items[0]?.windowEndsAt as string)).toBeGreaterThan(NOW)
  })

  it('the last reload: rejected with every problem at file:line:col while the old catalog serves, then accepted', async () => {
    const clock = movableClock()
    const h = await start({ catalog: (text) => text, clock })
    const file = h.config.catalog
    const good = await readFile(file, 'utf8')
    await writeFile(file, good.replace('      - consumer: urban\n', '      - consumer: nowhere\n'))
    clock.advance(60_000)
    expect((await reload(h)).status).toBe(422)

    const rejected = (await status(h)).report.catalog
    expect(rejected).toMatchObject({ version: '2026.11-demo.2', loadedAt: new Date(NOW).toISOString() })
    expect(rejected.lastReload).toMatchObject({
      at: new Date(NOW + 60_000).toISOString(),
      outcome: 'rejected',
      version: '2026.11-demo.2',
    })
    expect(rejected.lastReload?.problemCount).toBeGreaterThan(0)
    expect(rejected.lastReload?.problems.join('\n')).toMatch(/catalog\.yaml:\d+:\d+ .*nowhere/)

    await writeFile(file, good.replace('version: 2026.11-demo.2', 'version: 2026.11-demo.3'))
    clock.advance(60_000)
    expect((await reload(h)).status).toBe(200)
    const accepted = (await status(h)).report.catalog
    expect(accepted).toMatchObject({
      version: '2026.11-demo.3',
      loadedAt: new Date(NOW + 120_000).toISOString(),
      lastReload: { outcome: 'accepted', version: '2026.11-demo.3', problemCount: 0, problems: [] },
    })
  })

  it('the audit log broken by a failing disk: recovering since then, and ok again since its recovery', async () => {
    const faults = faultyFileSystem()
    const clock = movableClock()
    const h = await start({
      clock,
      auditBackend: (config) => createFileAuditBackend({ dir: config.auditDir, now: Date.now, fs: faults.fs }),
    })
    try {
      clock.advance(1_000)
      faults.failDatasyncs('segment-000001.jsonl')
      expect((await askPermits(h, 'DISK-1')).status).toBe(503)
      let audit = (await status(h)).report.audit
      await until(async () => {
        audit = (await status(h)).report.audit
        return audit.state === 'recovering'
      }, 'recovering')
      expect(audit).toMatchObject({ since: new Date(NOW + 1_000).toISOString(), brokenEvents: 1, recoveries: 0 })
      expect(audit.problems.join(' ')).toMatch(/audit log broken/)

      clock.advance(1_000)
      faults.failDatasyncs(undefined)
      await until(async () => {
        audit = (await status(h)).report.audit
        return audit.state === 'ok'
      }, 'ok again')
      expect(audit).toMatchObject({ since: new Date(NOW + 2_000).toISOString(), brokenEvents: 1, recoveries: 1 })
      expect(audit.problems).toEqual([])
    } finally {
      faults.failDatasyncs(undefined)
    }
  })
})
