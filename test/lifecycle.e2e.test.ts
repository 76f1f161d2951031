import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import { openSegmentFile, setImmutable } from './support/fs-faults.js'
import { type Harness, startHarness } from './support/gateway.js'
import {
  PERMITS_READER,
  queryPermits,
  serveFixture,
  startGatewayProcess,
  waitForOutput,
} from './support/gateway-process.js'

/** Issue #5 §2–3: readiness, live catalog reload, graceful shutdown. */
const PERMITS = 'housing.construction-permit'

describe('readiness and live reload (in process)', () => {
  let h: Harness
  beforeAll(async () => {
    // A copy of the demo catalog the test can edit and reload.
    h = await startHarness({ catalog: (text) => text })
  })
  afterAll(async () => {
    await h?.close()
  })

  const adminToken = () => h.token({ dept: 'drc', sub: 'ops-1', scope: 'catalog:admin' })
  const urbanCall = async (caseId: string) =>
    h.query(
      PERMITS,
      { projectCode: h.sim.data.permits[0]?.XMDM },
      { token: await h.token({ dept: 'urban', scope: `XK00208001:${PERMITS}:read` }), matter: 'XK00208001', caseId },
    )
  const adminRecords = async () => {
    const out = []
    for await (const e of h.gateway.deps.audit.query({ kind: 'admin' })) out.push(e.record)
    return out
  }

  it('/readyz is 503 while the audit log cannot be written, and ready again once it can', async () => {
    const ready = await h.get('/readyz')
    expect(ready.status).toBe(200)
    expect(ready.json).toMatchObject({ status: 'ready', reasons: [], audit: { writable: true } })
    expect(Object.keys(ready.json.connectors as object)).toContain('housing-gongai')
    const segment = await openSegmentFile(h.auditDir)
    setImmutable(segment, true)
    try {
      const notReady = await h.get('/readyz')
      expect(notReady.status).toBe(503)
      expect(notReady.json.status).toBe('not-ready')
      expect((notReady.json.reasons as string[])[0]).toMatch(/audit log not writable/)
    } finally {
      setImmutable(segment, false)
    }
    expect((await h.get('/readyz')).status).toBe(200)
  })

  it('a broken catalog is rejected with line:col problems and the old one keeps serving; both audited', async () => {
    const file = h.config.catalog
    const original = await readFile(file, 'utf8')
    await writeFile(file, original.replace('    provider: housing\n', '    provider: housnig\n'))
    try {
      const reload = await request(`${h.gateway.url}/v1/admin/catalog/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await adminToken()}` },
      })
      const body = (await reload.body.json()) as { code: string; errors: string[] }
      expect(reload.statusCode).toBe(422)
      expect(body.code).toBe('catalog-invalid')
      expect(body.errors.length).toBeGreaterThan(0)
      for (const e of body.errors) expect(e).toMatch(/catalog\.yaml:\d+:\d+ /)
      expect((await urbanCall('RL-1')).status).toBe(200)
      const rejected = (await adminRecords()).at(-1)
      expect(rejected).toMatchObject({ action: 'catalog.reload', outcome: 'rejected', actor: 'drc/ops-1' })
    } finally {
      await writeFile(file, original)
    }
  })

  it('a reload that revokes a grant turns the next call into 403; a call in flight finishes under the old catalog', async () => {
    const file = h.config.catalog
    const original = await readFile(file, 'utf8')
    const start = original.indexOf('  - code: XK00208001')
    const grantsAt = original.indexOf('    grants:\n', start)
    const nextMatter = original.indexOf('\n  - code: ', grantsAt)
    // The matter stays, its only grant goes.
    const revoked = `${original.slice(0, grantsAt)}    grants: []\n${original.slice(nextMatter + 1)}`
    h.sim.setKnobs({ latencyMs: 800 })
    const inFlight = urbanCall('RL-2')
    await new Promise((r) => setTimeout(r, 200))
    await writeFile(file, revoked)
    try {
      const reload = await request(`${h.gateway.url}/v1/admin/catalog/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await adminToken()}` },
      })
      expect(reload.statusCode).toBe(200)
      await reload.body.dump()
      h.sim.setKnobs({ latencyMs: 0 })
      expect((await inFlight).status).toBe(200) // started under the old catalog
      const next = await urbanCall('RL-3')
      expect(next.status).toBe(403)
      expect(next.json.code).toBe('grant-missing')
      const accepted = (await adminRecords()).at(-1)
      expect(accepted).toMatchObject({ action: 'catalog.reload', outcome: 'ok', actor: 'drc/ops-1' })
    } finally {
      h.sim.setKnobs({ latencyMs: 0 })
      await writeFile(file, original)
    }
  })

  it('reloading needs the catalog:admin scope', async () => {
    const res = await request(`${h.gateway.url}/v1/admin/catalog/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token({ dept: 'drc', scope: 'audit:read' })}` },
    })
    expect(res.statusCode).toBe(403)
    await res.body.dump()
  })
})

describe('graceful shutdown (its own process)', () => {
  const world = serveFixture({ prefix: 'qiao-drain-', keyId: 'drain-key', simulator: startHousingSimulator })

  it('SIGTERM during 50 in-flight slow calls: all 50 complete, all audited, exit code 0', async () => {
    const { dir, sim } = world
    const gateway = await startGatewayProcess({
      QIAO_DATA_DIR: join(dir, 'data'),
      ...world.trust(),
      QIAO_AUDIT_LOG_ID: 'drain-gw',
      QIAO_HOUSING_URL: sim.url,
      QIAO_DRAIN_TIMEOUT: '20s',
    })
    const { child, url } = gateway
    // SIGHUP reloads the catalog (the same file here) and says so; the reload is audited below.
    child.kill('SIGHUP')
    await waitForOutput(gateway, /catalog reloaded/, 'a reload after SIGHUP', 10_000)
    const token = await world.token(PERMITS_READER)
    sim.setKnobs({ latencyMs: 1_500 })
    const projectCode = sim.data.permits[0]?.XMDM as string
    const calls = Array.from({ length: 50 }, async (_, i) => {
      const res = await queryPermits(url, { token, caseId: `DRAIN-${i}`, projectCode })
      return { status: res.status, auditId: res.auditId as string }
    })
    // All 50 are in flight at the simulator when the signal comes.
    while (sim.requests.filter((r) => r.service === 'sgxk.query').length < 50)
      await new Promise((r) => setTimeout(r, 20))
    child.kill('SIGTERM')
    const results = await Promise.all(calls)
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
    expect(await gateway.exit).toBe(0)

    const backend = createFileAuditBackend({ dir: join(dir, 'data', 'audit'), now: Date.now })
    const ids = new Set<string>()
    const actions: string[] = []
    for await (const e of backend.query({})) {
      ids.add(e.record.id)
      if (e.record.kind === 'admin') actions.push(e.record.action)
    }
    for (const r of results) expect(ids.has(r.auditId)).toBe(true)
    expect(actions.at(-1)).toBe('gateway.stop')
    expect(actions).toContain('catalog.reload')
    const result = await verifyAuditLogs(backend, { keys: await backend.keys() })
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.uncovered).toBe(0) // sealed: every record under a signed checkpoint
  }, 60_000)
})
