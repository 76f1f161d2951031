import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import {
  type GatewayProcess,
  PERMITS_READER,
  queryPermits,
  serveFixture,
  startGatewayProcess,
  stopGatewayProcess,
} from './support/gateway-process.js'

/**
 * Issue #4 acceptance: under concurrent load the gateway process is killed with SIGKILL. After a restart, every
 * answer any client received has its audit record, the log verifies, and a torn tail, if the kill left one, was
 * repaired and reported.
 */
const world = serveFixture({ prefix: 'qiao-crash-', keyId: 'crash-key', simulator: startHousingSimulator })

/** `qiao serve` as its own process. */
function startCrashGateway(): Promise<GatewayProcess> {
  return startGatewayProcess({
    QIAO_DATA_DIR: join(world.dir, 'data'),
    ...world.trust(),
    QIAO_AUDIT_LOG_ID: 'crash-gw',
    QIAO_HOUSING_URL: world.sim.url,
  })
}

describe('crash: SIGKILL under load', () => {
  it('every answered call has its record after restart; the log verifies; a torn tail is reported', async () => {
    const first = await startCrashGateway()
    const token = await world.token(PERMITS_READER)
    const projectCode = world.sim.data.permits[0]?.XMDM as string
    const answered: string[] = []
    let stop = false
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const { auditId } = await queryPermits(first.url, { token, caseId: `CRASH-${n}-${i}`, projectCode })
          if (auditId !== undefined) answered.push(auditId)
        } catch {
          return // the process is gone
        }
      }
    }
    const clients = Array.from({ length: 32 }, (_, n) => client(n))
    // Let load build up, then kill without warning.
    const deadline = Date.now() + 20_000
    while (answered.length < 300) {
      if (Date.now() > deadline) throw new Error(`only ${answered.length} answers:\n${first.output().slice(-3000)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    stop = true
    await stopGatewayProcess(first, 'SIGKILL')
    await Promise.all(clients)
    expect(answered.length).toBeGreaterThanOrEqual(300)

    // Restart on the same data directory, then stop it cleanly.
    const second = await startCrashGateway()
    await stopGatewayProcess(second)

    const backend = createFileAuditBackend({ dir: join(world.dir, 'data', 'audit'), now: Date.now })
    const logged = new Set<string>()
    const admin: LogEntry[] = []
    for await (const entry of backend.query({})) {
      logged.add(entry.record.id)
      if (entry.record.kind === 'admin') admin.push(entry)
    }
    const missing = answered.filter((id) => !logged.has(id))
    expect(missing).toEqual([])

    const result = await verifyAuditLogs(backend, { keys: await backend.keys() })
    expect(result.problems).toEqual([])

    // If the kill tore the last line, the restart repaired it and said so, in the log and in the audit log.
    const torn = admin.filter((e) => e.record.kind === 'admin' && e.record.action === 'audit.torn-tail-repaired')
    const reported = second.output().includes('torn last record')
    expect(torn.length > 0).toBe(reported)
    const starts = admin.filter((e) => e.record.kind === 'admin' && e.record.action === 'gateway.start')
    expect(starts.length).toBe(2)
  }, 60_000)
})
