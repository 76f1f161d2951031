import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import {
  PERMITS_READER,
  type QiaoEnv,
  queryPermits,
  serveFixture,
  spawnGatewayProcess,
  startGatewayProcess,
} from './support/gateway-process.js'

/**
 * Issue 11: the drain a load balancer can see. On SIGTERM the gateway keeps listening for QIAO_DRAIN_PRESTOP
 * with /readyz 503 `draining` and new exchange calls 503 `gateway-draining` (audited, Retry-After); the calls in
 * flight finish; then the listener closes, and the log is sealed. Its own `serve` process.
 */
const world = serveFixture({ prefix: 'qiao-prestop-', keyId: 'prestop-key', simulator: startHousingSimulator })

function env(extra: QiaoEnv): QiaoEnv {
  return {
    QIAO_DATA_DIR: join(world.dir, 'data'),
    ...world.trust(),
    QIAO_AUDIT_LOG_ID: 'prestop-gw',
    QIAO_HOUSING_URL: world.sim.url,
    ...extra,
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${output()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('SIGTERM: the pre-stop window', () => {
  it('readyz 503 draining and new calls 503 with Retry-After during the window; 20 slow calls finish, audited; exit 0', async () => {
    const gateway = await startGatewayProcess(env({ QIAO_DRAIN_PRESTOP: '1500ms', QIAO_DRAIN_TIMEOUT: '20s' }))
    const { child, output, url } = gateway
    const { sim } = world
    const token = await world.token(PERMITS_READER)
    const projectCode = sim.data.permits[0]?.XMDM as string
    const call = async (caseId: string) => {
      const res = await queryPermits(url, { token, caseId, projectCode })
      return {
        status: res.status,
        auditId: res.auditId,
        retryAfter: res.headers['retry-after'] as string | undefined,
        json: JSON.parse(res.text) as Record<string, unknown>,
        settledAt: Date.now(),
      }
    }
    const readyz = async () => {
      const res = await request(`${url}/readyz`)
      return { status: res.statusCode, json: (await res.body.json()) as { reasons: string[] } }
    }
    expect((await readyz()).status).toBe(200)

    sim.setKnobs({ latencyMs: 4_000 })
    const slow = Array.from({ length: 20 }, (_, i) => call(`PRESTOP-${i}`))
    await until('20 calls in flight', () => sim.requests.filter((r) => r.service === 'sgxk.query').length >= 20, output)
    child.kill('SIGTERM')
    await until('draining', async () => (await readyz().catch(() => ({ status: 0 }))).status === 503, output)

    // Inside the window: still listening, and saying so.
    const ready = await readyz()
    expect(ready.status).toBe(503)
    expect(ready.json.reasons).toContain('draining')
    const refused = await call('PRESTOP-NEW')
    expect(refused.status).toBe(503)
    expect(refused.json.code).toBe('gateway-draining')
    expect(Number(refused.retryAfter)).toBeGreaterThan(0)
    expect(refused.auditId).toBeTruthy()

    // After the window the listener is closed, while the 20 calls are still running at the provider.
    let closedAt = 0
    await until(
      'listener closed',
      async () => {
        const refusedConnection = await request(`${url}/healthz`).then(
          async (r) => {
            await r.body.dump()
            return false
          },
          (err: { code?: string }) => err.code === 'ECONNREFUSED',
        )
        if (refusedConnection) closedAt = Date.now()
        return refusedConnection
      },
      output,
    )
    const results = await Promise.all(slow)
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    for (const r of results) expect(r.settledAt).toBeGreaterThan(closedAt)
    expect(await gateway.exit).toBe(0)
    sim.setKnobs({ latencyMs: 0 })

    const backend = createFileAuditBackend({ dir: join(world.dir, 'data', 'audit'), now: Date.now })
    const exchanges = new Map<string, ExchangeAuditRecord>()
    const actions: string[] = []
    for await (const e of backend.query({})) {
      if (e.record.kind === 'exchange') exchanges.set(e.record.id, e.record)
      else actions.push(e.record.action)
    }
    for (const r of results) expect(exchanges.get(r.auditId as string)).toMatchObject({ status: 200, reason: 'ok' })
    expect(exchanges.get(refused.auditId as string)).toMatchObject({ status: 503, reason: 'gateway-draining' })
    expect(actions.at(-1)).toBe('gateway.stop')
    const verified = await verifyAuditLogs(backend, { keys: await backend.keys() })
    expect(verified.problems).toEqual([])
    expect(verified.logs[0]?.uncovered).toBe(0)
  }, 60_000)
})

describe('a port already in use', () => {
  let holder: Server
  beforeAll(async () => {
    holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve))
  })

  it('says which variable changes it, and exits 1', async () => {
    const port = (holder.address() as { port: number }).port
    const { exit, output } = spawnGatewayProcess(
      env({ QIAO_PORT: String(port), QIAO_DATA_DIR: join(world.dir, 'busy') }),
    )
    expect(await exit).toBe(1)
    expect(output()).toContain(`port ${port} on 127.0.0.1 is already in use`)
    expect(output()).toContain('set QIAO_PORT to a free port')
  }, 30_000)
})
