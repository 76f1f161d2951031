import type { AuditSearchResult } from '../audit-search.js'
import type { QueryFigures } from './audit-search-measure.js'
import type { Machine } from './machine.js'

/** bench/results/audit-search.md: the auditor's first page over a large log on both stores, against 1 s. */

export const TARGET_MS = 1000

export interface AuditSearchRun {
  /** The results' file name (without .md / .json). */
  readonly name: string
  readonly mode: string
  readonly command: string
  readonly startedAt: string
  readonly durationSeconds: number
  readonly machine: Machine
  readonly result: AuditSearchResult
}

export interface AuditSearchTarget {
  readonly store: string
  readonly query: string
  readonly medianMs: number
  readonly p95Ms: number
  readonly met: boolean
}

const n = (v: number) => v.toLocaleString('en-US')
const ms = (v: number) => (v < 10 ? v.toFixed(1) : v.toFixed(0))
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
const cell = (q: QueryFigures | undefined) => (q ? `${ms(q.medianMs)} / ${ms(q.p95Ms)}` : '—')

/** Every store × query measured, judged on its p95 (so the median is under the target too). */
export function auditSearchTargets(r: AuditSearchResult): AuditSearchTarget[] {
  const rows: Array<[string, readonly QueryFigures[]]> = [
    ['file (gateway)', r.file.queries],
    ['file (reader process)', r.file.readerQueries],
  ]
  if ('queries' in r.postgres) rows.push(['PostgreSQL', r.postgres.queries])
  return rows.flatMap(([store, queries]) =>
    queries.map((q) => ({ store, query: q.title, medianMs: q.medianMs, p95Ms: q.p95Ms, met: q.p95Ms < TARGET_MS })),
  )
}

export function renderAuditSearch(run: AuditSearchRun): string {
  const { result: r, machine: m } = run
  const pgQueries = 'queries' in r.postgres ? r.postgres.queries : []
  const targets = auditSearchTargets(r)
  const allMet = targets.every((t) => t.met)
  const lines = [
    `# Audit search over ${n(r.records)} records (${run.mode})`,
    '',
    `Run \`${run.command}\` on ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${(run.durationSeconds / 60).toFixed(1)} minutes. Raw values: [\`${run.name}.json\`](${run.name}.json).`,
    '',
    '|  |  |',
    '|---|---|',
    `| CPU | ${m.nproc} × ${m.cpuModel} (the measuring process pinned to core 1) |`,
    `| Memory | ${m.memoryGiB.toFixed(1)} GiB |`,
    `| OS / kernel | ${m.os} / ${m.kernel} |`,
    `| Filesystem | ${m.filesystem ?? 'unknown'} |`,
    `| Node | ${m.node} |`,
    `| Gateway commit | ${m.git.commit ?? 'unknown'}${(m.git.uncommittedGatewayFiles ?? 0) > 0 ? ` (+${m.git.uncommittedGatewayFiles} uncommitted files under gateway/)` : ''} |`,
    `| Load average at start | ${m.loadAverageAtStart.join(' ')} |`,
    '',
    '## Target',
    '',
    `Auditor search stays fast as the log grows: the first page for a subject over 1,000,000 records answers in under 1 s on both audit stores. **${allMet ? 'Met' : 'Missed'}**${r.records < 1_000_000 ? ` (this run has ${n(r.records)} records: the target is judged on the full run)` : ''}: every p95 below is under ${n(TARGET_MS)} ms.`,
    '',
    '## First page (50 records), milliseconds, median / p95',
    '',
    "Each cell: 5 warm-up queries, then 25 measured, each with another filter of its kind (another subject, department or day), read as the auditors' API reads a page (51 entries: the one past the page tells there is a next one).",
    '',
    '| Query | File store, in the gateway | File store, another process (`qiao audit export`) | PostgreSQL | Target |',
    '|---|---|---|---|---|',
    ...r.file.queries.map((q, i) => {
      const reader = r.file.readerQueries[i]
      const pgq = pgQueries[i]
      const worst = Math.max(q.p95Ms, reader?.p95Ms ?? 0, pgq?.p95Ms ?? 0)
      return `| ${q.title}; page of ${q.medianRecords} | ${cell(q)} | ${cell(reader)} | ${cell(pgq)} | ${worst < TARGET_MS ? 'met' : '**missed**'} (< ${n(TARGET_MS)} ms) |`
    }),
    '',
    '## Building the log and its index',
    '',
    '| | File store | PostgreSQL |',
    '|---|---|---|',
    `| Records | ${n(r.records)} (${n(r.subjects)} distinct subjects; 5 hot ones in 5% of the calls) | ${'writeSeconds' in r.postgres ? n(r.records) : r.postgres.skipped} |`,
    `| Bulk write through the store's own append, large batches | ${r.file.writeSeconds.toFixed(1)} s (index off) | ${'writeSeconds' in r.postgres ? `${r.postgres.writeSeconds.toFixed(1)} s (its indexes maintained by every insert)` : '—'} |`,
    `| Index built | ${r.file.indexBuildSeconds.toFixed(1)} s: the writer's open with no index file, until it covers every record (${n(Math.round(r.records / r.file.indexBuildSeconds))} records/s) | ${'analyzeSeconds' in r.postgres ? `ANALYZE ${r.postgres.analyzeSeconds.toFixed(1)} s` : '—'} |`,
    `| Catch-up after a crash | ${n(r.file.catchUp.records)} records the index never heard of: open + catch-up ${r.file.catchUp.seconds.toFixed(2)} s | — (one transaction per batch) |`,
    `| On disk | index.sqlite ${mb(r.file.bytes)} beside ${mb(r.file.segmentBytes)} of segments (${((100 * r.file.bytes) / r.file.segmentBytes).toFixed(0)}%) | ${'bytes' in r.postgres ? `entries with its indexes ${mb(r.postgres.bytes)}` : '—'} |`,
    `| Without the index | one rare-subject first page scanning the whole log: ${r.file.scanSeconds.toFixed(1)} s | — |`,
    '',
    "How it was measured: `bench/audit-search.ts` (records: `bench/lib/audit-search-data.ts`). The file store is written through `createFileAuditBackend(…).append` in batches of 4,000 entries with its index off, so that the index is then built by the product itself: a new backend's `open`, which finds no `index.sqlite` and builds it from the segments in the background, timed until `indexCaughtUp()`. The gateway column queries through that writer (as the auditors' API does); the other-process column through a backend that never opened the log (read-only SQLite connection, WAL), as `qiao audit export` beside a running gateway. PostgreSQL gets the same entries through `createPgAuditBackend(…).append` (2,000 a statement) into a schema of its own, then ANALYZE.",
    '',
  ]
  return lines.join('\n')
}
