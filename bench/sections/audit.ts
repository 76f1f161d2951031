import type { AuditStoreResult } from '../audit-store.js'
import { sleep } from '../lib/proc.js'
import type { AuditCell } from '../lib/results.js'
import { stat } from '../lib/stats.js'
import { append, attempt, type BenchRun, log, runAuditStore } from './shared.js'

/** Audit store alone: records/s, fsyncs, latency and CPU per record, of the process and of the appending thread. */
export async function runAudit(bench: BenchRun): Promise<void> {
  const { profile, runDir, results } = bench
  const raw = new Map<number, AuditStoreResult[]>()
  for (let round = 1; round <= profile.rounds; round++) {
    for (const appenders of profile.auditAppenders) {
      log(`audit store round ${round}/${profile.rounds}: ${appenders} appenders`)
      await attempt(`audit round ${round} ${appenders}`, async (stage) => {
        const r = await runAuditStore(runDir, appenders, profile.auditSeconds)
        stage(() => append(raw, appenders, r))
        const threads = Object.entries(r.otherThreadsCpuUsPerRecord ?? {})
          .map(([name, us]) => `${name} ${us.toFixed(1)}`)
          .join(', ')
        log(
          `  ${r.recordsPerSecond.toFixed(0)} records/s, ${r.syncsPerSecond.toFixed(0)} fsyncs/s, ${r.recordsPerSync.toFixed(0)} records/fsync, ${r.cpuUsPerRecord.toFixed(0)} µs CPU/record (appending thread ${r.mainThreadCpuUsPerRecord.toFixed(1)}; ${threads})`,
        )
      })
      await sleep(profile.settleMs)
    }
  }
  results.audit = profile.auditAppenders.map((appenders): AuditCell => {
    const rs = raw.get(appenders) ?? []
    return {
      appenders,
      recordsPerSecond: stat(rs.map((r) => r.recordsPerSecond)),
      syncsPerSecond: stat(rs.map((r) => r.syncsPerSecond)),
      recordsPerSync: stat(rs.map((r) => r.recordsPerSync)),
      p50Ms: stat(rs.map((r) => r.latencyUs.p50 / 1000)),
      p99Ms: stat(rs.map((r) => r.latencyUs.p99 / 1000)),
      cpuUsPerRecord: stat(rs.map((r) => r.cpuUsPerRecord)),
      mainThreadCpuUsPerRecord: stat(rs.map((r) => r.mainThreadCpuUsPerRecord)),
      recordBytes: rs[0]?.recordBytes ?? 0,
      raw: rs,
    }
  })
}
