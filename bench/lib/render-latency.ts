import { fmt, pct, table } from './format.js'
import type { Cell, Sample } from './measure.js'
import { PEER_NAMES, QIAO_IDS } from './peers.js'
import type { LatencyBreakdown, Timing } from './prom.js'
import type { BenchResults } from './results.js'
import { median } from './stats.js'
import { rateKept, rateNotKept, TARGET_RATE } from './targets.js'

/**
 * The latency breakdown: for Qiao at each fixed rate, where a call's time went according to the gateway's own
 * histograms over the same run (bench/lib/prom.ts) — in the gateway, at the upstream, waiting for the audit record
 * to be durable — and what the process went through meanwhile (event-loop delay, GC pauses, how busy its core was).
 */

/** Median over a cell's rounds of one breakdown figure (rounds without it left out). */
function med(c: Cell, f: (b: LatencyBreakdown) => number | undefined): number {
  return median(
    c.samples
      .map((s: Sample) => (s.breakdown ? f(s.breakdown) : undefined))
      .filter((v): v is number => v !== undefined && Number.isFinite(v)),
  )
}

const pair = (a: number, b: number, digits = 2) => `${fmt(a, digits)} / ${fmt(b, digits)}`

/** A p99 from a histogram, marked "≥" when it fell beyond the last bucket in any round. */
function p99Of(c: Cell, f: (b: LatencyBreakdown) => Timing | undefined): string {
  const capped = c.samples.some((s) => (s.breakdown ? f(s.breakdown)?.p99AtLeast : false))
  return `${capped ? '≥ ' : ''}${fmt(
    med(c, (b) => f(b)?.p99Ms),
    2,
  )}`
}

/** The peer core's busy share (the peer runs alone on core 1; P0 and the load on core 0). */
const peerBusy = (c: Cell) => c.core1Busy.median

function row(rate: number, id: string, c: Cell, p0: Cell | undefined): string[] {
  const gcMs = med(c, (b) => b.gc?.totalMs)
  return [
    fmt(rate),
    id,
    fmt(c.rps.median),
    pair(c.p50Ms.median, c.p99Ms.median),
    p0 ? pair(c.p50Ms.median - p0.p50Ms.median, c.p99Ms.median - p0.p99Ms.median) : '—',
    `${fmt(
      med(c, (b) => b.gateway?.p50Ms),
      2,
    )} / ${p99Of(c, (b) => b.gateway)} (${fmt(
      med(c, (b) => b.gateway?.meanMs),
      2,
    )})`,
    `${fmt(
      med(c, (b) => b.upstream?.p50Ms),
      2,
    )} / ${p99Of(c, (b) => b.upstream)}`,
    `${fmt(
      med(c, (b) => b.auditDurable?.p50Ms),
      2,
    )} / ${p99Of(c, (b) => b.auditDurable)}`,
    pair(
      med(c, (b) => b.eventLoopDelay?.p99Ms),
      med(c, (b) => b.eventLoopDelay?.maxMs),
      1,
    ),
    `${fmt(med(c, (b) => b.gc?.pauses))}, ${fmt(gcMs, 1)} ms (${fmt(100 * med(c, (b) => b.gc?.shareOfWall), 1)}%), ${fmt(med(c, (b) => b.gc?.over10ms))} > 10 ms`,
    pct(peerBusy(c)),
  ]
}

/** What explains the added p99 of one Qiao cell, in a paragraph. */
export function explainP99(id: string, rate: number, c: Cell, p0: Cell | undefined, saturated?: Cell): string {
  const client = c.p99Ms.median
  const inside = med(c, (b) => b.gateway?.p99Ms)
  const audit = med(c, (b) => b.auditDurable?.p99Ms)
  const upstream = med(c, (b) => b.upstream?.p99Ms)
  const loop = med(c, (b) => b.eventLoopDelay?.p99Ms)
  const loopMax = med(c, (b) => b.eventLoopDelay?.maxMs)
  const gcShare = med(c, (b) => b.gc?.shareOfWall)
  const gcLong = med(c, (b) => b.gc?.over10ms)
  const majorMs = med(c, (b) => b.gc?.byKind.major?.totalMs)
  const outside = client - inside
  const kept = rateKept(c, rate)
  const parts: Array<[string, number]> = [
    ['waiting outside the gateway’s clock (socket queue, event loop busy with other calls): queueing', outside],
    ['the audit record’s append → durable wait (group commit, fdatasync): fsync wait', audit],
    ['the upstream call', upstream],
  ]
  const largest = parts.filter(([, v]) => Number.isFinite(v)).sort((a, b) => b[1] - a[1])[0]
  const sentences = [
    `**${id} at ${fmt(rate)} req/s**: client p99 ${fmt(client, 2)} ms${p0 ? ` (P0 ${fmt(p0.p99Ms.median, 2)} ms, so ${fmt(client - p0.p99Ms.median, 2)} ms added)` : ''}${kept ? '' : `, ⚠ the rate was not kept (${rateNotKept(c, rate)})`}; Qiao's core ${pct(peerBusy(c))} busy, at ${fmt(c.cpuUsPerRequest.median)} µs CPU per call${saturated ? ` (${fmt(c.cpuUsPerRequest.median / saturated.cpuUsPerRequest.median, 1)} × its ${fmt(saturated.cpuUsPerRequest.median)} µs at saturation${c.cpuUsPerRequest.median >= 1.2 * saturated.cpuUsPerRequest.median ? ': at a paced rate fewer calls share each event-loop turn and each audit batch' : ''})` : ''} — the busier the core, the longer a call waits for the ones before it.`,
    `Inside the gateway (arrival to answer, its own histogram) p99 ${p99Of(c, (b) => b.gateway)} ms, of which the upstream call p99 ${p99Of(c, (b) => b.upstream)} ms and the audit append → durable p99 ${p99Of(c, (b) => b.auditDurable)} ms; ${
      outside > 0
        ? `the other ${fmt(outside, 2)} ms of the client's p99 pass before Qiao's clock starts or after it stops — in the socket queues while the event loop runs other calls`
        : `the client's p99 is not above the gateway's own (its buckets are coarse there), so no time is seen waiting outside Qiao's clock`
    } (event-loop delay p99 ${fmt(loop, 1)} ms, max ${fmt(loopMax, 1)} ms).`,
    `GC: ${fmt(100 * gcShare, 1)}% of the window in main-thread pauses, ${fmt(gcLong)} pause(s) over 10 ms${Number.isFinite(majorMs) ? `, ${fmt(majorMs, 0)} ms of it in major (mark-compact) GCs` : ''}; a call that arrives during a pause waits for it, so pauses reach the p99 when they take more than about 1% of the time.`,
    largest
      ? `The largest part of the p99 is ${largest[0]} (${fmt(largest[1], 2)} ms). Percentiles of parts do not add up to the percentile of the whole, and the gateway's figures are interpolated inside its histograms' buckets: read them as ± a bucket.`
      : '',
  ]
  return sentences.filter(Boolean).join(' ')
}

export function renderLatencyBreakdown(r: BenchResults): string[] {
  const rows: string[][] = []
  const explained: string[] = []
  for (const rate of r.profile.rates) {
    const byPeer = r.main?.fixedRate[String(rate)] ?? {}
    for (const id of QIAO_IDS) {
      const c = byPeer[id]
      if (!c?.samples.some((s) => s.breakdown)) continue
      rows.push(row(rate, id, c, byPeer.P0))
      if (rate === TARGET_RATE) explained.push(`- ${explainP99(id, rate, c, byPeer.P0, r.main?.saturation[id])}`)
    }
  }
  if (rows.length === 0) return []
  return [
    '### Latency breakdown (Qiao at fixed rates)',
    '',
    `From Qiao's own metrics, scraped just before and after each paced run (deltas of \`qiao_request_duration_seconds\`, \`qiao_upstream_duration_seconds\`, \`qiao_audit_write_duration_seconds\` and \`nodejs_gc_duration_seconds\`; \`nodejs_eventloop_lag_*\` over the run), medians over rounds. ${QIAO_IDS.map((id) => `${id}: ${PEER_NAMES[id]}`).join('; ')}. Histogram percentiles are interpolated inside their buckets.`,
    '',
    table(
      [
        'Rate req/s',
        'Peer',
        'Achieved',
        'Client p50 / p99 ms',
        'Added p50 / p99 ms',
        'In gateway p50 / p99 ms (mean)',
        'Upstream p50 / p99 ms',
        'Audit append→durable p50 / p99 ms',
        'Event-loop delay p99 / max ms',
        'GC pauses, total (share of wall), long',
        'Qiao core busy',
      ],
      rows,
    ),
    '',
    ...(explained.length ? ['What explains the p99:', '', ...explained, ''] : []),
  ]
}
