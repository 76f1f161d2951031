import type { AuditBackend, AuditFilter } from '../../gateway/audit/backend.js'
import type { QueryKind } from './audit-search-data.js'
import { percentile } from './stats.js'

/** How the audit search bench times a query kind: a warm-up, then the measured first pages. */

const WARMUP = 5
const MEASURED = 25
/** Filters each query kind needs: one per query. */
export const QUERIES_PER_KIND = WARMUP + MEASURED

export interface QueryFigures {
  readonly name: string
  readonly title: string
  readonly queries: number
  readonly medianMs: number
  readonly p95Ms: number
  readonly maxMs: number
  /** Records on the first pages (median), to show the page was full or the subject rare. */
  readonly medianRecords: number
}

export interface StoreFigures {
  readonly writeSeconds: number
  readonly queries: readonly QueryFigures[]
  readonly bytes: number
}

/** Progress lines (the bench section shows them as they come). */
export const log = (msg: string) => console.log(`[audit-search] ${msg}`)
/** The first page as the auditors' API reads it: limit + 1 entries (the one past the page says there is more). */
export async function firstPage(backend: Pick<AuditBackend, 'query'>, filter: AuditFilter): Promise<number> {
  let n = 0
  for await (const _ of backend.query(filter)) if (++n > 50) break
  return Math.min(n, 50)
}

/** Warm-up, then MEASURED queries of each kind, each filter in turn. */
export async function measureQueries(
  backend: () => Pick<AuditBackend, 'query'>,
  kinds: readonly QueryKind[],
): Promise<QueryFigures[]> {
  const out: QueryFigures[] = []
  for (const kind of kinds) {
    for (let i = 0; i < WARMUP; i++) await firstPage(backend(), kind.filters[i % kind.filters.length] as AuditFilter)
    const ms: number[] = []
    const records: number[] = []
    for (let i = 0; i < MEASURED; i++) {
      const filter = kind.filters[(WARMUP + i) % kind.filters.length] as AuditFilter
      const t = performance.now()
      records.push(await firstPage(backend(), filter))
      ms.push(performance.now() - t)
    }
    const figures = {
      name: kind.name,
      title: kind.title,
      queries: MEASURED,
      medianMs: percentile(ms, 50),
      p95Ms: percentile(ms, 95),
      maxMs: Math.max(...ms),
      medianRecords: percentile(records, 50),
    }
    log(`  ${kind.name}: median ${figures.medianMs.toFixed(1)} ms, p95 ${figures.p95Ms.toFixed(1)} ms`)
    out.push(figures)
  }
  return out
}

export const seconds = (from: number) => (performance.now() - from) / 1000
