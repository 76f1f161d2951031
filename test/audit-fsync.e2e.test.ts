import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogEntry } from '../gateway/audit/entry.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import { faultyFileSystem } from './support/fs-faults.js'
import { type Harness, type HttpResult, startHarness } from './support/gateway.js'

/**
 * Issue 10: a failed fsync is never acknowledged. The audit file store's file-system seam makes the open segment's
 * fdatasync fail (EIO), as a failing disk does: the calls of that batch are answered 503 `audit-unavailable`, the
 * log is broken (every call 503, /readyz 503) while the disk keeps failing, and once it works again the log is
 * recovered in process — no restart — and the next records continue the chain with contiguous seqs, the failed
 * batch's records nowhere in the log.
 */
const faults = faultyFileSystem()
const SEGMENT = 'segment-000001.jsonl'
let h: Harness

beforeAll(async () => {
  h = await startHarness({
    auditBackend: (config) => createFileAuditBackend({ dir: config.auditDir, now: Date.now, fs: faults.fs }),
  })
})
afterAll(async () => {
  faults.failDatasyncs(undefined)
  await h?.close()
})

async function calls(token: string, tag: string, n: number): Promise<HttpResult[]> {
  const projectCode = h.sim.data.permits[0]?.XMDM as string
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      h.query(
        'housing.construction-permit',
        { projectCode },
        { token, matter: 'QT00301001', caseId: `FS-${tag}-${i}` },
      ),
    ),
  )
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

describe('failed fsync', () => {
  it('answers 503 for its batch, refuses while broken, recovers without restart, and the chain continues', async () => {
    const token = await h.token({ dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' })
    const before = await calls(token, 'before', 8)
    expect(before.map((r) => r.status)).toEqual(Array(8).fill(200))

    faults.failDatasyncs(SEGMENT)
    const during = await calls(token, 'during', 8)
    expect(during.map((r) => r.status)).toEqual(Array(8).fill(503))
    for (const r of during) expect(r.json.code).toBe('audit-unavailable')
    // The batch's bytes reached the file before its fsync failed: that is what must not count.
    const failedIds = faults.unsynced.flatMap((b) =>
      b
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as LogEntry).record.id),
    )
    expect(failedIds.length).toBeGreaterThan(0)

    // Still failing: recovery cannot sync its cut-back either, so the log stays broken and says so.
    const notReady = await h.get('/readyz')
    expect(notReady.status).toBe(503)
    expect(notReady.json.audit).toMatchObject({ writable: false, broken: true })
    expect((notReady.json.reasons as string[]).join(' ')).toMatch(/audit log broken/)
    expect((await calls(token, 'broken', 2)).map((r) => r.status)).toEqual([503, 503])

    // The disk works again: the background recovery reopens and re-checks the segment; no restart.
    faults.failDatasyncs(undefined)
    let ready = await h.get('/readyz')
    for (let i = 0; i < 100 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50))
      ready = await h.get('/readyz')
    }
    expect(ready.status).toBe(200)
    expect(ready.json.audit).toMatchObject({ writable: true, broken: false })
    const after = await calls(token, 'after', 8)
    expect(after.map((r) => r.status)).toEqual(Array(8).fill(200))

    const metrics = await h.gateway.deps.metrics.registry.metrics()
    expect(metric(metrics, 'qiao_audit_log_broken_total')).toBe(1)
    expect(metric(metrics, 'qiao_audit_log_recovered_total')).toBe(1)
    expect(metric(metrics, 'qiao_audit_free_bytes')).toBeGreaterThan(0)

    await h.gateway.deps.audit.checkpoint()
    const backend = createFileAuditBackend({ dir: h.config.auditDir, now: Date.now })
    const entries: LogEntry[] = []
    for await (const e of backend.query({})) entries.push(e)
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i))
    const ids = new Set(entries.map((e) => e.record.id))
    for (const id of failedIds) expect(ids.has(id), `record ${id} of the failed batch is in the log`).toBe(false)
    for (const r of [...before, ...after]) expect(ids.has(r.headers['qiao-audit-id'] as string)).toBe(true)
    const result = await verifyAuditLogs(backend, { keys: await h.gateway.deps.audit.publicKeys() })
    expect(result.problems).toEqual([])
  })
})
