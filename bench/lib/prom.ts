/**
 * Qiao's own Prometheus metrics (/metrics on QIAO_METRICS_PORT), scraped before and after a load run: the deltas of
 * its histograms over the run say where a call's time went — inside the gateway, waiting for the upstream, waiting
 * for its audit record to be durable (fdatasync of its group), and the event-loop delay and GC pauses of the same
 * window. The numbers behind the latency breakdown of the results (what explains the added p99).
 */

/** One scrape: every sample line, by metric name, with its labels. */
export type Scrape = ReadonlyMap<
  string,
  ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>
>

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Parses the Prometheus text exposition format (comments skipped; escaped label values kept escaped). */
export function parseScrape(text: string): Scrape {
  const out = new Map<string, Array<{ labels: Record<string, string>; value: number }>>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = l[2] as string
    const value = m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3])
    const list = out.get(m[1] as string) ?? []
    list.push({ labels, value })
    out.set(m[1] as string, list)
  }
  return out
}

/** Sum of a metric's samples whose labels match `where` (all series when empty). */
export function sumOf(scrape: Scrape, name: string, where: Readonly<Record<string, string>> = {}): number {
  let total = 0
  let seen = false
  for (const s of scrape.get(name) ?? []) {
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) {
      total += s.value
      seen = true
    }
  }
  return seen ? total : Number.NaN
}

/** A histogram's change between two scrapes, summed over its label sets: cumulative counts per upper bound. */
export interface HistogramDelta {
  /** Upper bounds in seconds, ascending, the last one +Inf. */
  readonly bounds: readonly number[]
  /** Cumulative observation counts per bound over the window. */
  readonly cumulative: readonly number[]
  readonly count: number
  readonly sumSeconds: number
}

export function histogramDelta(
  before: Scrape,
  after: Scrape,
  name: string,
  where: Readonly<Record<string, string>> = {},
): HistogramDelta | undefined {
  const perBound = (scrape: Scrape) => {
    const m = new Map<number, number>()
    for (const s of scrape.get(`${name}_bucket`) ?? []) {
      if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
      m.set(le, (m.get(le) ?? 0) + s.value)
    }
    return m
  }
  const a = perBound(after)
  if (a.size === 0) return undefined
  const b = perBound(before)
  const bounds = [...a.keys()].sort((x, y) => x - y)
  const cumulative = bounds.map((le) => Math.max(0, (a.get(le) ?? 0) - (b.get(le) ?? 0)))
  const delta = (suffix: string) => {
    const v = sumOf(after, `${name}_${suffix}`, where) - (sumOf(before, `${name}_${suffix}`, where) || 0)
    return Number.isFinite(v) ? Math.max(0, v) : 0
  }
  return { bounds, cumulative, count: delta('count'), sumSeconds: delta('sum') }
}

/**
 * The q-quantile (0..1) of a histogram delta in seconds, interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile does (from 0 in the first bucket); the last finite bound when it falls in the +Inf bucket.
 * NaN with no observations. Only as precise as the buckets: between two bounds it is an estimate.
 */
export function histogramQuantile(h: HistogramDelta, q: number): number {
  const total = h.cumulative.at(-1) ?? 0
  if (total <= 0) return Number.NaN
  const rank = q * total
  for (let i = 0; i < h.bounds.length; i++) {
    const upper = h.bounds[i] as number
    const count = h.cumulative[i] as number
    if (count < rank) continue
    if (!Number.isFinite(upper)) return h.bounds[i - 1] ?? Number.NaN
    const lower = i === 0 ? 0 : (h.bounds[i - 1] as number)
    const below = i === 0 ? 0 : (h.cumulative[i - 1] as number)
    const inBucket = count - below
    return inBucket > 0 ? lower + (upper - lower) * ((rank - below) / inBucket) : upper
  }
  return Number.NaN
}

/** Observations above a bound (seconds) that is one of the histogram's bounds. */
export function countAbove(h: HistogramDelta, boundSeconds: number): number {
  const i = h.bounds.findIndex((b) => Math.abs(b - boundSeconds) < 1e-12)
  if (i < 0) return Number.NaN
  return (h.cumulative.at(-1) ?? 0) - (h.cumulative[i] as number)
}

/** p50 / p99 / mean of one histogram over the window, in ms; undefined when the gateway does not export it. */
export interface Timing {
  readonly count: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly meanMs: number
  /** The p99 fell in the +Inf bucket: p99Ms is the last finite bound, a lower bound of the true value. */
  readonly p99AtLeast?: true
}

export interface LatencyBreakdown {
  readonly windowSeconds: number
  /** qiao_request_duration_seconds: arrival to answer inside the gateway (audit included). */
  readonly gateway?: Timing
  /** qiao_upstream_duration_seconds: the connector's call to the legacy system (retries included). */
  readonly upstream?: Timing
  /** qiao_audit_write_duration_seconds: record handed to the log until durable (group commit, fdatasync). */
  readonly auditDurable?: Timing
  /** nodejs_gc_duration_seconds (perf_hooks): main-thread GC pauses in the window. */
  readonly gc?: {
    readonly pauses: number
    readonly totalMs: number
    /** Share of the window's wall time the main thread spent in GC pauses (0..1). */
    readonly shareOfWall: number
    readonly over1ms: number
    readonly over10ms: number
    /** Per kind (minor = scavenge, major = mark-compact, incremental marking steps, weakcb). */
    readonly byKind: Readonly<Record<string, { readonly pauses: number; readonly totalMs: number }>>
  }
  /**
   * nodejs_eventloop_lag_*: how late the event loop ran a 10 ms timer during the window (prom-client resets its
   * histogram at every scrape, so the scrape after the run reports the run).
   */
  readonly eventLoopDelay?: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number }
}

function timing(h: HistogramDelta | undefined): Timing | undefined {
  if (!h || h.count <= 0) return undefined
  const lastFinite = h.bounds.filter(Number.isFinite).at(-1)
  const aboveLast = lastFinite === undefined ? 0 : countAbove(h, lastFinite)
  return {
    count: h.count,
    p50Ms: 1000 * histogramQuantile(h, 0.5),
    p99Ms: 1000 * histogramQuantile(h, 0.99),
    meanMs: (1000 * h.sumSeconds) / h.count,
    ...(aboveLast > 0.01 * (h.cumulative.at(-1) ?? 0) ? { p99AtLeast: true as const } : {}),
  }
}

export function latencyBreakdown(before: Scrape, after: Scrape, windowSeconds: number): LatencyBreakdown {
  const gateway = timing(histogramDelta(before, after, 'qiao_request_duration_seconds'))
  const upstream = timing(histogramDelta(before, after, 'qiao_upstream_duration_seconds'))
  const auditDurable = timing(histogramDelta(before, after, 'qiao_audit_write_duration_seconds'))
  const gcAll = histogramDelta(before, after, 'nodejs_gc_duration_seconds')
  const kinds = new Set((after.get('nodejs_gc_duration_seconds_count') ?? []).map((s) => s.labels.kind ?? ''))
  const byKind: Record<string, { pauses: number; totalMs: number }> = {}
  for (const kind of kinds) {
    const h = histogramDelta(before, after, 'nodejs_gc_duration_seconds', { kind })
    if (h && h.count > 0) byKind[kind] = { pauses: h.count, totalMs: 1000 * h.sumSeconds }
  }
  const lag = (name: string) => 1000 * sumOf(after, `nodejs_eventloop_lag_${name}_seconds`)
  const lagP99 = lag('p99')
  return {
    windowSeconds,
    ...(gateway ? { gateway } : {}),
    ...(upstream ? { upstream } : {}),
    ...(auditDurable ? { auditDurable } : {}),
    // No GC pause in the window is a finding too: the metric is there, its count did not move.
    ...(gcAll
      ? {
          gc: {
            pauses: gcAll.count,
            totalMs: 1000 * gcAll.sumSeconds,
            shareOfWall: gcAll.sumSeconds / windowSeconds,
            over1ms: countAbove(gcAll, 0.001),
            over10ms: countAbove(gcAll, 0.01),
            byKind,
          },
        }
      : {}),
    ...(Number.isFinite(lagP99) ? { eventLoopDelay: { p50Ms: lag('p50'), p99Ms: lagP99, maxMs: lag('max') } } : {}),
  }
}
