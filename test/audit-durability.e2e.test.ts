import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import { type Harness, startHarness } from './support/gateway.js'

/**
 * Issue #4 §2: no response leaves before its audit record is durable, and concurrent calls share fsyncs.
 * The file backend is instrumented to note when each record's batch came back from fdatasync; the client notes
 * when each answer arrived. Same process, same monotonic clock.
 */
const syncedAt = new Map<string, bigint>()
let h: Harness

beforeAll(async () => {
  h = await startHarness({
    auditBackend: (config) => {
      const inner = createFileAuditBackend({ dir: config.auditDir, now: () => Date.now() })
      return {
        ...inner,
        async append(entries) {
          await inner.append(entries) // resolves after fdatasync
          const t = process.hrtime.bigint()
          for (const e of entries) syncedAt.set(e.record.id, t)
        },
      }
    },
  })
})
afterAll(async () => {
  await h?.close()
})

describe('group commit', () => {
  it('at 64 concurrent calls, fsyncs are far fewer than records, and no response precedes its fsync', async () => {
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const token = await h.token({ dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' })
    const before = { ...h.gateway.deps.audit.stats }
    const received: Array<{ auditId: string; at: bigint }> = []
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 64 }, async (_, i) => {
          const res = await h.query(
            'housing.construction-permit',
            { projectCode },
            { token, matter: 'QT00301001', caseId: `GC-${round}-${i}` },
          )
          const at = process.hrtime.bigint()
          expect(res.status).toBe(200)
          received.push({ auditId: res.headers['qiao-audit-id'] as string, at })
        }),
      )
    }
    const stats = h.gateway.deps.audit.stats
    const records = stats.appended - before.appended
    const syncs = stats.syncs - before.syncs
    expect(records).toBe(320)
    expect(syncs).toBeLessThan(records / 3)
    for (const { auditId, at } of received) {
      const synced = syncedAt.get(auditId)
      expect(synced, `record ${auditId} was never synced`).toBeDefined()
      expect(synced as bigint).toBeLessThanOrEqual(at)
    }
    await h.gateway.deps.audit.checkpoint()
    const result = await verifyAuditLogs(createFileAuditBackend({ dir: h.config.auditDir, now: Date.now }), {
      keys: await h.gateway.deps.audit.publicKeys(),
    })
    expect(result.problems).toEqual([])
  })
})
