// Over 400 lines: the results format (types), its targets and its Markdown rendering change together; one file keeps them in step.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AuditStoreResult } from '../audit-store.js'
import type { Payload } from '../upstream.js'
import type { Machine } from './machine.js'
import type { Cell } from './measure.js'
import { MATTER, PEER_NAMES, type PeerId } from './peers.js'
import type { ProfileSummary } from './profile.js'
import { median, type Stat } from './stats.js'

/** Results of one benchmark run: bench/results/<name>.json and a Markdown rendering of it. */

export interface Profile {
  readonly name: 'full' | 'quick'
  readonly rounds: number
  readonly warmupSeconds: number
  readonly saturationSeconds: number
  readonly fixedSeconds: number
  readonly rates: readonly number[]
  readonly curveWarmupSeconds: number
  readonly curveSeconds: number
  readonly connections: number
  readonly fixedConnections: number
  readonly payloadConnections: number
  readonly catalogSizes: readonly number[]
  readonly auditAppenders: readonly number[]
  readonly auditSeconds: number
  /** Size of the distinct-token mix (10,000; 1,000 in quick mode). */
  readonly distinctTokens: number
  readonly settleMs: number
}

/** Where the time goes: the stack's floor beside Qiao, and CPU profiles of Qiao and of the audit store. */
export interface CpuProfileResult {
  /** bench/floor.ts at saturation: Hono + @hono/node-server + undici passing the call on, nothing else. */
  readonly floor: Cell
  /** Qiao at saturation (one round) under --cpu-prof; the profiler itself costs a few per cent. */
  readonly gateway?: { readonly summary: ProfileSummary; readonly rps: number; readonly cpuUsPerRequest: number }
  /** The audit store alone, 256 appenders, under --cpu-prof; per "request" = per record. */
  readonly auditStore?: {
    readonly summary: ProfileSummary
    readonly recordsPerSecond: number
    readonly cpuUsPerRecord: number
  }
}

/** Issue 13: the side-by-side call with live grants (sharing approvals) compiled into the snapshot, and without. */
export interface LiveGrantsResult {
  /** Live grants in the live variant's state store. */
  readonly grants: number
  /** The catalog both variants serve: the demo plus one copy of the construction permits per live grant. */
  readonly catalog: { readonly resources: number; readonly matters: number; readonly grants: number }
  /** What each variant's gateway logged it compiled (`live grants compiled`, an instance started at info). */
  readonly compiled: Readonly<Record<'none' | 'live', { readonly liveGrants: number; readonly skipped: number }>>
  readonly none: Cell & { startupSeconds: Stat }
  readonly live: Cell & { startupSeconds: Stat }
}

/** The live variant is within the run's noise when its median lies in none's min–max widened by this share. */
export const LIVE_GRANTS_TOLERANCE = 0.03

export interface AuditCell {
  readonly appenders: number
  readonly recordsPerSecond: Stat
  readonly syncsPerSecond: Stat
  readonly recordsPerSync: Stat
  readonly p50Ms: Stat
  readonly p99Ms: Stat
  readonly cpuUsPerRecord: Stat
  readonly recordBytes: number
  readonly raw: readonly AuditStoreResult[]
}

export interface SoakResult {
  readonly seconds: number
  readonly rps: number
  readonly requests: number
  readonly errors: number
  readonly peakRssMB: number
  readonly rssAt60sMB: number
  readonly rssEndMB: number
  readonly growthMB: number
  readonly growthPct: number
  readonly series: Array<{ seconds: number; rssMB: number }>
}

/** Least-squares slope of RSS over the soak after its first minute, MB per minute. */
export function soakSlope(soak: SoakResult): number {
  const pts = soak.series.filter((p) => p.seconds >= 60)
  if (pts.length < 3) return Number.NaN
  const mx = pts.reduce((a, p) => a + p.seconds, 0) / pts.length
  const my = pts.reduce((a, p) => a + p.rssMB, 0) / pts.length
  let sxy = 0
  let sxx = 0
  for (const p of pts) {
    sxy += (p.seconds - mx) * (p.rssMB - my)
    sxx += (p.seconds - mx) ** 2
  }
  return (60 * sxy) / sxx
}

export interface Target {
  readonly id: string
  readonly title: string
  /** Measured value, as text with its unit. */
  readonly value: string
  readonly threshold: string
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined
}

export interface BenchResults {
  schema: 'qiao-bench/1'
  mode: 'full' | 'quick'
  command: string
  startedAt: string
  finishedAt: string
  durationSeconds: number
  machine: Machine
  installedPackages: string[]
  loadAverageAtEnd?: readonly number[]
  profile: Profile
  upstream: { projectCode: string; payloads: Record<Payload, { bytes: number; rows: number }> }
  peers: PeerId[]
  catalog: { main: { resources: number; matters: number; grants: number } }
  /** Cores used by other processes during 2 s before the run. */
  otherWorkAtStartCores: number
  main?: {
    saturation: Partial<Record<string, Cell & { startupSeconds: Stat }>>
    fixedRate: Record<string, Partial<Record<string, Cell>>>
  }
  curves?: {
    catalog?: Array<Cell & { resources: number; matters: number; grants: number; startupSeconds: Stat }>
    tokens?: Array<Cell & { mix: string; distinctTokens: number }>
    payload?: Array<{ payload: Payload; upstreamBytes: number; rows: number; P0: Cell; P3: Cell }>
  }
  liveGrants?: LiveGrantsResult
  audit?: AuditCell[]
  soak?: SoakResult
  cpuProfile?: CpuProfileResult
  notes: string[]
  targets: Target[]
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const pct = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${Math.round(n * 100)}%`)
/** "median (min–max)" */
const range = (s: Stat | undefined, digits = 0) =>
  !s
    ? '—'
    : s.values.length > 1
      ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
      : fmt(s.median, digits)

export function evaluateTargets(r: BenchResults): Target[] {
  const sat = r.main?.saturation
  const p3 = sat?.P3
  const p2 = sat?.P2
  const targets: Target[] = []
  const ratio = p3 && p2 ? p3.rps.median / p2.rps.median : undefined
  targets.push({
    id: 'throughput-vs-haproxy',
    title: 'Throughput ≥ 0.6 × P2 (HAProxy + JWT)',
    value:
      ratio === undefined
        ? 'not measured'
        : `${ratio.toFixed(2)} × P2 (${fmt(p3?.rps.median)} vs ${fmt(p2?.rps.median)} req/s)`,
    threshold: '≥ 0.60 × P2',
    met: ratio === undefined ? undefined : ratio >= 0.6,
  })
  targets.push({
    id: 'cpu-per-call',
    title: 'Qiao CPU ≤ 100 µs per call (cached token, 1 KB, at saturation)',
    value: p3 ? `${fmt(p3.cpuUsPerRequest.median)} µs` : 'not measured',
    threshold: '≤ 100 µs',
    met: p3 ? p3.cpuUsPerRequest.median <= 100 : undefined,
  })
  const at1000 = r.main?.fixedRate['1000']
  const added = at1000?.P3 && at1000.P0 ? at1000.P3.p99Ms.median - at1000.P0.p99Ms.median : undefined
  targets.push({
    id: 'added-p99-1000',
    title: 'Added p99 over P0 at 1,000 req/s ≤ 2 ms',
    value: added === undefined ? 'not measured' : `${fmt(added, 2)} ms`,
    threshold: '≤ 2 ms',
    met: added === undefined ? undefined : added <= 2,
  })
  // Peak RSS at saturation with 1 KB answers and the demo-size catalog: the side-by-side rounds, the token mixes and
  // the soak (the catalog and payload curves grow the inputs on purpose and are reported in their tables).
  const peaks: Array<[string, number]> = []
  if (p3) peaks.push(['side by side', p3.peakRssMB.max])
  for (const t of r.curves?.tokens ?? []) peaks.push([`${t.mix} tokens`, t.peakRssMB.max])
  if (r.soak) peaks.push(['soak', r.soak.peakRssMB])
  const worst = peaks.reduce<[string, number] | undefined>((w, p) => (!w || p[1] > w[1] ? p : w), undefined)
  targets.push({
    id: 'peak-rss',
    title: 'Qiao peak RSS ≤ 200 MB at saturation (1 KB answers, demo catalog)',
    value: worst
      ? `${fmt(worst[1])} MB (VmHWM, worst: ${worst[0]}; ${peaks.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`
      : 'not measured',
    threshold: '≤ 200 MB',
    met: worst ? worst[1] <= 200 : undefined,
  })
  const soak = r.soak
  const slope = soak ? soakSlope(soak) : Number.NaN
  const projected = soak ? (100 * slope * ((soak.seconds - 60) / 60)) / soak.rssAt60sMB : Number.NaN
  targets.push({
    id: 'rss-growth',
    title: `No RSS growth across a ${soak ? Math.round(soak.seconds / 60) : 5}-minute saturation run`,
    value: soak
      ? `${fmt(slope, 1)} MB/min after the first minute (${fmt(projected, 1)}% over the run); ${fmt(soak.rssAt60sMB)} MB at 60 s, ${fmt(soak.rssEndMB)} MB at the end`
      : 'not measured (run with --soak)',
    threshold: 'trend after the first minute ≤ 5% over the run',
    met: soak && Number.isFinite(projected) ? projected <= 5 : undefined,
  })
  const cat = r.curves?.catalog
  const small = cat?.find((c) => c.resources <= 10)
  const big = cat?.find((c) => c.resources >= 10_000)
  const catRatio = small && big ? big.rps.median / small.rps.median : undefined
  targets.push({
    id: 'catalog-10k',
    title: '10,000 catalog resources within 5% of 10 (throughput)',
    value:
      catRatio === undefined
        ? 'not measured'
        : `${fmt(100 * (catRatio - 1), 1)}% (${fmt(big?.rps.median)} vs ${fmt(small?.rps.median)} req/s)`,
    threshold: '≥ −5%',
    met: catRatio === undefined ? undefined : catRatio >= 0.95,
  })
  const tok = r.curves?.tokens
  const one = tok?.find((t) => t.mix === 'one')
  const tenK = tok?.find((t) => t.mix === 'distinct' && t.distinctTokens >= 10_000)
  const tokRatio = one && tenK ? tenK.rps.median / one.rps.median : undefined
  targets.push({
    id: 'tokens-10k',
    title: '10,000 distinct cached tokens within 10% of one token (throughput)',
    value:
      tokRatio === undefined
        ? 'not measured'
        : `${fmt(100 * (tokRatio - 1), 1)}% (${fmt(tenK?.rps.median)} vs ${fmt(one?.rps.median)} req/s)`,
    threshold: '≥ −10%',
    met: tokRatio === undefined ? undefined : tokRatio >= 0.9,
  })
  const lg = r.liveGrants
  const band =
    lg && Number.isFinite(lg.none.rps.min) && Number.isFinite(lg.live.rps.median)
      ? { low: lg.none.rps.min * (1 - LIVE_GRANTS_TOLERANCE), high: lg.none.rps.max * (1 + LIVE_GRANTS_TOLERANCE) }
      : undefined
  targets.push({
    id: 'live-grants-1000',
    title: `${fmt(lg?.grants ?? 1000)} live grants within the run's noise of none`,
    value:
      lg && band
        ? `${fmt(lg.live.rps.median)} vs ${fmt(lg.none.rps.median)} req/s (${fmt(100 * (lg.live.rps.median / lg.none.rps.median - 1), 1)}%); none ${fmt(lg.none.rps.min)}–${fmt(lg.none.rps.max)}, widened ${fmt(band.low)}–${fmt(band.high)} req/s`
        : 'not measured',
    threshold: `live median req/s within the none variant's min–max range over ≥ 2 rounds, widened by ${fmt(100 * LIVE_GRANTS_TOLERANCE)}%`,
    // One round (the quick run) has no spread between rounds to judge by: reported, not judged.
    met:
      lg && band && r.profile.rounds >= 2
        ? lg.live.rps.median >= band.low && lg.live.rps.median <= band.high
        : undefined,
  })
  const best = r.audit?.reduce<AuditCell | undefined>(
    (b, a) => (!b || a.recordsPerSecond.median > b.recordsPerSecond.median ? a : b),
    undefined,
  )
  targets.push({
    id: 'audit-store',
    title: 'Audit store ≥ 50,000 records/s durable with group commit',
    value: best ? `${fmt(best.recordsPerSecond.median)} records/s (${best.appenders} appenders)` : 'not measured',
    threshold: '≥ 50,000 records/s',
    met: best ? best.recordsPerSecond.median >= 50_000 : undefined,
  })
  return targets
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

const CORE0_LIMIT = 0.85
const FOREIGN_LIMIT = 0.1
/** Busy share of core 0 and core 1 (medians), and in brackets the largest share taken by other processes. */
const cores = (c: Cell) =>
  `${pct(c.core0Busy.median)} / ${pct(c.core1Busy.median)} (${pct(c.foreignBusyMax[0])} / ${pct(c.foreignBusyMax[1])})`
const flag = (c: Cell, wrapsExpected = false) =>
  [
    c.core0Busy.median > CORE0_LIMIT ? '⚠ core 0 saturated' : '',
    c.errors > 0 ? `⚠ ${fmt(c.errors)} errors` : '',
    c.wraps > 0 && !wrapsExpected ? `⚠ token pool used up ${c.wraps}× (tokens seen again)` : '',
    c.foreignBusyMax.some((f) => f > FOREIGN_LIMIT) ? '⚠ other work' : '',
  ]
    .filter(Boolean)
    .join('; ')

/** Pearson correlation. */
function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx
    const dy = (ys[i] as number) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxy / Math.sqrt(sxx * syy)
}

/** Notes computed from the data at render time. */
function derivedNotes(r: BenchResults): string[] {
  const notes: string[] = []
  // Qiao's 1 KB, one-token saturation runs: how much of their spread follows the core's speed.
  const cells = [r.main?.saturation.P3, r.curves?.catalog?.[0], r.curves?.tokens?.find((t) => t.mix === 'one')]
  const pts = cells
    .flatMap((c) => c?.samples ?? [])
    .filter((s) => s.speedIndex !== undefined && Number.isFinite(s.speedIndex) && Number.isFinite(s.cpuUsPerRequest))
  if (pts.length >= 5) {
    const speeds = pts.map((s) => s.speedIndex as number)
    const r2 = correlation(
      speeds,
      pts.map((s) => s.cpuUsPerRequest),
    )
    notes.push(
      `The (virtual) cores did not run at a constant speed: the speed index of core 1 before Qiao's 1 KB one-token runs ranged ${fmt(Math.min(...speeds))}–${fmt(Math.max(...speeds))}, and Qiao's CPU per request in those ${pts.length} runs correlates with it (r = ${r2.toFixed(2)}; a slower core, more CPU time per request). This, not other processes (see "other work"), is most of the spread between rounds; compare cells by their medians and ranges, not single rounds.`,
    )
  }
  return notes
}

function allCells(r: BenchResults): Cell[] {
  const cells: Cell[] = []
  for (const c of Object.values(r.main?.saturation ?? {})) if (c) cells.push(c)
  for (const byPeer of Object.values(r.main?.fixedRate ?? {}))
    for (const c of Object.values(byPeer)) if (c) cells.push(c)
  cells.push(...(r.curves?.catalog ?? []), ...(r.curves?.tokens ?? []))
  for (const p of r.curves?.payload ?? []) cells.push(p.P0, p.P3)
  if (r.liveGrants) cells.push(r.liveGrants.none, r.liveGrants.live)
  return cells
}

export function renderMarkdown(r: BenchResults, name: string): string {
  const m = r.machine
  const out: string[] = []
  out.push(`# Qiao benchmark results (${r.mode})`)
  out.push('')
  out.push(
    `Run \`${r.command}\` on ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${fmt(r.durationSeconds / 60, 1)} minutes; ${r.profile.rounds} round(s), peers in turn (A B A B …), **medians** with (min–max) over rounds. Raw values: [\`${name}.json\`](${name}.json).`,
  )
  out.push('')
  out.push('## Machine')
  out.push('')
  out.push(
    table(
      ['', ''],
      [
        ['CPU', `${m.nproc} × ${m.cpuModel}${m.cpuMHz ? ` (${fmt(Number(m.cpuMHz))} MHz)` : ''}`],
        ['Memory', `${m.memoryGiB} GiB`],
        ['OS / kernel', `${m.os} / ${m.kernel}`],
        ['Virtualization', m.virtualization ?? 'unknown'],
        ['Scaling governor', m.scalingGovernor],
        ['Filesystem (audit, data)', m.filesystem ?? 'unknown'],
        ['Node / OpenSSL', `${m.node} / ${m.openssl}`],
        ['nginx', m.nginx ?? '—'],
        ['HAProxy', m.haproxy ?? '—'],
        ['wrk', m.wrk ?? '—'],
        [
          'Gateway commit',
          `${m.git.commit ?? '?'}${m.git.uncommittedGatewayFiles ? ` + ${m.git.uncommittedGatewayFiles} uncommitted file(s)` : ''}`,
        ],
        [
          'Load average at start / end',
          `${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')} / ${(r.loadAverageAtEnd ?? []).map((x) => x.toFixed(2)).join(' ')}`,
        ],
      ],
    ),
  )
  out.push('')
  out.push('## Targets')
  out.push('')
  out.push(
    table(
      ['Target', 'Measured', 'Threshold', ''],
      r.targets.map((t) => [t.title, t.value, t.threshold, t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**']),
    ),
  )
  out.push('')

  out.push(
    'Cores busy 0 / 1: share of each core busy during the run (median over rounds): the peer under test runs alone on core 1, the upstream and wrk on core 0 (P0, the upstream, is on core 0). In brackets: the largest share of each core taken by processes outside the benchmark in any round; "⚠ other work" when above 10%. "⚠ core 0 saturated": core 0 above 85%, so the upstream and the load generator, not the peer, may set the limit.',
  )
  out.push('')
  const speeds = allCells(r)
    .flatMap((c) => c.samples.map((x) => x.speedIndex ?? Number.NaN))
    .filter(Number.isFinite)
  if (speeds.length > 0) {
    out.push(
      `Speed index: a fixed CPU task (SHA-256 of 1 KiB, hashes per ms) on the peer's core just before each measured saturation run, to show how fast the (virtual) core was at the time; across this run it ranged ${fmt(Math.min(...speeds))}–${fmt(Math.max(...speeds))} (median ${fmt(median(speeds))}).`,
    )
    out.push('')
  }
  const sat = r.main?.saturation
  if (sat && r.main) {
    const p2 = sat.P2?.rps.median
    out.push('## Side by side (1 KB answer, one cached token)')
    out.push('')
    out.push(
      `Upstream answer: ${fmt(r.upstream.payloads['1k'].bytes)} bytes (${r.upstream.payloads['1k'].rows} construction-permit rows). Saturation: wrk, 1 thread, ${r.profile.connections} connections, ${r.profile.saturationSeconds} s after ${r.profile.warmupSeconds} s of warm-up. Catalog: ${r.catalog.main.resources} resources.`,
    )
    out.push('')
    out.push(
      table(
        [
          'Peer',
          'Throughput req/s',
          '× P2',
          'CPU µs/req',
          'Peak RSS MB',
          'p50 / p99 ms (closed loop)',
          'Cores busy 0 / 1 (other work)',
          'Speed index',
          'Notes',
        ],
        r.peers
          .filter((id) => sat[id])
          .map((id) => {
            const c = sat[id] as Cell
            return [
              `${id} ${PEER_NAMES[id]}`,
              range(c.rps),
              p2 ? (c.rps.median / p2).toFixed(2) : '—',
              range(c.cpuUsPerRequest),
              id === 'P0' ? `${fmt(c.peakRssMB.median)} (upstream)` : range(c.peakRssMB),
              `${fmt(c.p50Ms.median, 2)} / ${fmt(c.p99Ms.median, 2)}`,
              cores(c),
              range(c.speedIndex),
              flag(c),
            ]
          }),
      ),
    )
    out.push('')
    out.push('### Latency at fixed rates, and what each proxy adds over P0')
    out.push('')
    out.push(
      `wrk paced at the rate (${r.profile.fixedConnections} connections, ${r.profile.fixedSeconds} s per rate). Added = peer − P0 (medians).`,
    )
    out.push('')
    const rows: string[][] = []
    for (const rate of r.profile.rates) {
      const byPeer = r.main.fixedRate[String(rate)] ?? {}
      const p0 = byPeer.P0
      for (const id of r.peers) {
        const c = byPeer[id]
        if (!c) continue
        const kept = c.rps.median >= rate * 0.95 && c.lateResets === 0
        rows.push([
          fmt(rate),
          id,
          fmt(c.rps.median),
          range(c.p50Ms, 2),
          range(c.p99Ms, 2),
          p0 && id !== 'P0' ? `+${fmt(c.p50Ms.median - p0.p50Ms.median, 2)}` : '—',
          p0 && id !== 'P0' ? `+${fmt(c.p99Ms.median - p0.p99Ms.median, 2)}` : '—',
          fmt(c.cpuUsPerRequest.median),
          cores(c),
          [kept ? '' : '⚠ rate not kept', flag(c)].filter(Boolean).join('; '),
        ])
      }
    }
    out.push(
      table(
        [
          'Rate req/s',
          'Peer',
          'Achieved',
          'p50 ms',
          'p99 ms',
          'Added p50 ms',
          'Added p99 ms',
          'CPU µs/req',
          'Cores busy 0 / 1 (other work)',
          'Notes',
        ],
        rows,
      ),
    )
    out.push('')
    out.push(
      'Startup (spawn to accepting connections): ' +
        r.peers
          .filter((id) => sat[id] && id !== 'P0')
          .map((id) => `${id} ${fmt(sat[id]?.startupSeconds.median, 2)} s`)
          .join(', ') +
        '.',
    )
    out.push('')
  }

  const cat = r.curves?.catalog
  if (cat) {
    out.push('## Curve: catalog size (Qiao)')
    out.push('')
    out.push(
      `Copies of housing.construction-permit, each with its own matter granting drc. ${r.profile.connections} connections, ${r.profile.curveSeconds} s.`,
    )
    out.push('')
    const base = cat[0]?.rps.median
    out.push(
      table(
        [
          'Resources',
          'Matters / grants',
          'Throughput req/s',
          'vs smallest',
          'CPU µs/req',
          'Peak RSS MB',
          'Startup s',
          'Cores busy 0 / 1 (other work)',
          'Notes',
        ],
        cat.map((c) => [
          fmt(c.resources),
          `${fmt(c.matters)} / ${fmt(c.grants)}`,
          range(c.rps),
          base ? `${fmt(100 * (c.rps.median / base - 1), 1)}%` : '—',
          range(c.cpuUsPerRequest),
          range(c.peakRssMB),
          range(c.startupSeconds, 1),
          cores(c),
          flag(c),
        ]),
      ),
    )
    out.push('')
  }
  const tok = r.curves?.tokens
  if (tok) {
    out.push('## Curve: token mix (Qiao)')
    out.push('')
    out.push(
      `RS256 tokens. "distinct": ${fmt(r.profile.distinctTokens)} distinct tokens round-robin, all verified and cached during the warm-up (the cache holds 10,000). "unique": every request carries a token never seen before (signature verified every time).`,
    )
    out.push('')
    const base = tok[0]?.rps.median
    out.push(
      table(
        [
          'Mix',
          'Distinct tokens',
          'Throughput req/s',
          'vs one token',
          'CPU µs/req',
          'Cache hit ratio',
          'Peak RSS MB',
          'Cores busy 0 / 1 (other work)',
          'Notes',
        ],
        tok.map((c) => [
          c.mix,
          fmt(c.distinctTokens),
          range(c.rps),
          base ? `${fmt(100 * (c.rps.median / base - 1), 1)}%` : '—',
          range(c.cpuUsPerRequest),
          c.tokenCacheHitRatio === undefined ? '—' : `${fmt(100 * c.tokenCacheHitRatio, 1)}%`,
          range(c.peakRssMB),
          cores(c),
          flag(c, c.mix !== 'unique'),
        ]),
      ),
    )
    out.push('')
  }
  const pay = r.curves?.payload
  if (pay) {
    out.push('## Curve: payload size (P0 and Qiao)')
    out.push('')
    out.push(
      `The upstream repeats the permit rows; Qiao validates, projects and masks every row. ${r.profile.payloadConnections} connections, ${r.profile.curveSeconds} s.`,
    )
    out.push('')
    out.push(
      table(
        [
          'Upstream answer',
          'Rows',
          'P0 req/s',
          'Qiao req/s',
          'Qiao CPU µs/req',
          'Qiao CPU µs/row',
          'Qiao p50 / p99 ms',
          'Qiao peak RSS MB',
          'Qiao cores busy 0 / 1 (other work)',
          'Notes',
        ],
        pay.map((p) => [
          `${fmt(p.upstreamBytes / 1024, 1)} KiB`,
          fmt(p.rows),
          range(p.P0.rps),
          range(p.P3.rps),
          range(p.P3.cpuUsPerRequest),
          fmt(p.P3.cpuUsPerRequest.median / p.rows, 1),
          `${fmt(p.P3.p50Ms.median, 1)} / ${fmt(p.P3.p99Ms.median, 1)}`,
          range(p.P3.peakRssMB),
          cores(p.P3),
          [flag(p.P0) && `P0: ${flag(p.P0)}`, flag(p.P3) && `Qiao: ${flag(p.P3)}`].filter(Boolean).join('; '),
        ]),
      ),
    )
    out.push('')
  }
  if (r.liveGrants) out.push(...renderLiveGrants(r, r.liveGrants))
  if (r.audit) {
    out.push('## Audit store alone')
    out.push('')
    out.push(
      `The built audit log (dist/gateway/audit) with the file backend and the gateway's defaults (sha256, checkpoint every 1,000 records or 10 s), N concurrent appenders, each append awaited until durable; ${r.profile.auditSeconds} s per run, pinned to core 1. Record: ${fmt(r.audit[0]?.recordBytes)} bytes of JSON.`,
    )
    out.push('')
    out.push(
      table(
        ['Appenders', 'Records/s', 'fsyncs/s', 'Records per fsync', 'Append→durable p50 / p99 ms', 'CPU µs/record'],
        r.audit.map((a) => [
          fmt(a.appenders),
          range(a.recordsPerSecond),
          range(a.syncsPerSecond),
          fmt(a.recordsPerSync.median, 1),
          `${fmt(a.p50Ms.median, 2)} / ${fmt(a.p99Ms.median, 2)}`,
          range(a.cpuUsPerRecord),
        ]),
      ),
    )
    out.push('')
  }
  if (r.soak) {
    const s = r.soak
    out.push(`## Soak (Qiao at saturation, ${fmt(r.profile.distinctTokens)} distinct tokens)`)
    out.push('')
    out.push(
      `${fmt(s.seconds)} s, ${fmt(s.rps)} req/s, ${fmt(s.errors)} errors. RSS after 60 s ${fmt(s.rssAt60sMB)} MB, at the end ${fmt(s.rssEndMB)} MB (${fmt(s.growthPct, 1)}%); trend after the first minute ${fmt(soakSlope(s), 1)} MB/min (least squares); peak ${fmt(s.peakRssMB)} MB.`,
    )
    out.push('')
    out.push(`RSS every 10 s (MB): ${s.series.map((p) => fmt(p.rssMB)).join(' ')}`)
    out.push('')
  }
  if (r.cpuProfile) out.push(...renderCpuProfile(r, r.cpuProfile, name))
  out.push('## Notes')
  out.push('')
  for (const n of [...r.notes, ...derivedNotes(r)]) out.push(`- ${n}`)
  out.push('')
  return out.join('\n')
}

function renderLiveGrants(r: BenchResults, lg: LiveGrantsResult): string[] {
  const base = lg.none.rps.median
  const row = (label: string, c: Cell & { startupSeconds: Stat }) => [
    label,
    range(c.rps),
    `${fmt(100 * (c.rps.median / base - 1), 1)}%`,
    range(c.cpuUsPerRequest),
    range(c.p50Ms, 2),
    range(c.p99Ms, 2),
    range(c.peakRssMB),
    range(c.startupSeconds, 1),
    flag(c),
  ]
  return [
    `## Live grants (Qiao, ${fmt(lg.grants)} vs none)`,
    '',
    `The side-by-side call (drc, matter ${MATTER}, granted by the catalog; 1 KB answer, one cached token) on a catalog of ${fmt(lg.catalog.resources)} resources, ${fmt(lg.catalog.matters)} matters and ${fmt(lg.catalog.grants)} catalog grants (the demo plus ${fmt(lg.grants)} copies of the construction permits) in both variants. The live variant's state store holds ${fmt(lg.grants)} approvals for 城管, one per copy, each with masks and a quota; its gateway logged ${fmt(lg.compiled.live.liveGrants)} live grants compiled, ${fmt(lg.compiled.live.skipped)} skipped (none: ${fmt(lg.compiled.none.liveGrants)}). Variants in turn (none, live, none, live …), ${r.profile.connections} connections, ${r.profile.saturationSeconds} s at saturation after ${r.profile.warmupSeconds} s of warm-up; latencies closed loop.`,
    '',
    table(
      ['Variant', 'Throughput req/s', 'vs none', 'CPU µs/req', 'p50 ms', 'p99 ms', 'Peak RSS MB', 'Startup s', 'Notes'],
      [row('none', lg.none), row(`${fmt(lg.grants)} live grants`, lg.live)],
    ),
    '',
    `How to read it: the none row's min–max is how much the same gateway varies between rounds in this run, so the live grants cost the exchange path nothing measurable when the live median lies within it (the target allows ${fmt(100 * LIVE_GRANTS_TOLERANCE)}% either side); startup includes reading and compiling the grants.`,
    '',
  ]
}

/** Interior local minima of a series (lower than the value before, not higher than the one after). */
function troughs(values: readonly number[]): number[] {
  return values.filter(
    (v, i) => i > 0 && i < values.length - 1 && v < (values[i - 1] as number) && v <= (values[i + 1] as number),
  )
}

function stageTable(summary: ProfileSummary, unit: string): string {
  return table(
    ['Stage', 'Share of busy CPU', `CPU µs per ${unit} (main thread)`],
    summary.stages.map((s) => [s.stage, pct(s.share), fmt(s.usPerRequest)]),
  )
}

function renderCpuProfile(r: BenchResults, p: CpuProfileResult, name: string): string[] {
  const out: string[] = []
  const qiao = r.main?.saturation?.P3
  const haproxy = r.main?.saturation?.P2
  const floorCpu = p.floor.cpuUsPerRequest.median
  const qiaoCpu = qiao?.cpuUsPerRequest.median
  out.push('## Where the time goes (CPU profiles)')
  out.push('')
  out.push(
    `The floor of Qiao's stack, measured in the same run (\`bench/floor.ts\`: the same @hono/node-server, Hono and undici \`request\` passing the call to the same upstream and re-serialising its JSON, with no token, decision, connector format, validation, masking or audit): **${range(p.floor.cpuUsPerRequest)} µs CPU per call, ${range(p.floor.rps)} req/s** on one core.` +
      (qiaoCpu !== undefined
        ? ` Qiao's full pipeline: ${fmt(qiaoCpu)} µs per call (side by side, median), so the pipeline adds ${fmt(qiaoCpu - floorCpu)} µs to the floor.`
        : '') +
      (haproxy ? ` HAProxy verifying RS256 per call: ${fmt(haproxy.cpuUsPerRequest.median)} µs.` : ''),
  )
  out.push('')
  if (p.gateway) {
    const g = p.gateway
    out.push(
      `### Qiao at saturation\n\nOne run under \`--cpu-prof\` (${fmt(g.rps)} req/s, ${fmt(g.cpuUsPerRequest)} µs CPU per call from /proc, profiler included). Each sample is charged to the innermost frame that names a stage; builtins (JSON, crypto, Buffer) count for the stage that called them. The profile is [\`${name}-qiao.cpuprofile\`](${name}-qiao.cpuprofile) (open it in Chrome DevTools → Performance, or speedscope, for the flame graph). Busy ${fmt(g.summary.busyMs)} ms, idle ${fmt(g.summary.idleMs)} ms.`,
    )
    out.push('')
    out.push(stageTable(g.summary, 'call'))
    out.push('')
    out.push('Functions with the most own time:')
    out.push('')
    out.push(
      table(
        ['Function', 'Share'],
        g.summary.topSelf.slice(0, 15).map((f) => [`\`${f.fn}\``, pct(f.share)]),
      ),
    )
    out.push('')
  }
  if (p.auditStore) {
    const a = p.auditStore
    out.push(
      `### The audit store alone\n\n256 appenders under \`--cpu-prof\`: ${fmt(a.recordsPerSecond)} records/s, ${fmt(a.cpuUsPerRecord)} µs CPU per record; the table covers the measured seconds (the driver's own share is its record generator and latency bookkeeping). Profile: [\`${name}-audit-store.cpuprofile\`](${name}-audit-store.cpuprofile).`,
    )
    out.push('')
    out.push(stageTable(a.summary, 'record'))
    out.push('')
    out.push(
      table(
        ['Function', 'Share'],
        a.summary.topSelf.slice(0, 12).map((f) => [`\`${f.fn}\``, pct(f.share)]),
      ),
    )
    out.push('')
  }
  out.push('### What the misses come from, and what would close them')
  out.push('')
  const floorRps = p.floor.rps.median
  // The stages the floor does not have: what the pipeline itself costs per call.
  const stackStages = /^(Node HTTP server|HTTP client|framework|HTTP server adapter|garbage|other)/
  const pipelineStages = p.gateway?.summary.stages
    .filter((st) => !stackStages.test(st.stage) && st.usPerRequest !== undefined)
    .map((st) => `${st.stage.split(' (')[0]} ${fmt(st.usPerRequest)} µs`)
    .join('; ')
  out.push(
    `- **CPU per call (target 100 µs) and throughput (target 0.6 × P2).** The floor alone costs ${fmt(floorCpu)} µs per call on this core, ${fmt(floorCpu / 100, 1)}× the CPU target, and reaches ${fmt(floorRps)} req/s${haproxy ? `, ${fmt(floorRps / haproxy.rps.median, 2)} × P2` : ''}: with this server, framework and client in one Node process, the targets cannot be met even with an empty pipeline. Closing the gap needs (1) one gateway process per core (node:cluster or SO_REUSEPORT; the audit log then needs one log id per process, which it supports), which multiplies throughput but not CPU per call; (2) a leaner HTTP layer on both sides (a native server such as uWebSockets.js, undici's \`Pool\` with pipelining to the legacy system), the largest rows in the table above besides audit; (3) the audit work (canonical JSON, SHA-256 leaf, chain and Merkle hashing, write and fdatasync) off the request thread, in a worker on another core. Within the pipeline no single stage dominates${pipelineStages ? ` (per call, profiled: ${pipelineStages})` : ''}: each is product work (the audit record before the answer, the legacy format, validation, masking), and its cost is spread over many functions of a few per cent each.`,
  )
  out.push(
    `- **Added p99 at 1,000 req/s (target 2 ms).** One Qiao process saturates near ${fmt(qiao?.rps.median)} req/s here, so a fixed 1,000 req/s is at or beyond capacity and the added latency is queueing, not processing. With capacity to spare (several processes, or a faster core) the added latency is about the CPU per call plus GC pauses, i.e. around 1 ms at p50.`,
  )
  const soak = r.soak
  const sideBySideRss = qiao?.peakRssMB.median
  if (soak)
    out.push(
      `- **Peak RSS (target 200 MB).** Side by side (10 s at saturation) Qiao peaks at ${fmt(sideBySideRss)} MB; over the ${fmt(soak.seconds)} s soak RSS rises and falls in a sawtooth (${fmt(Math.min(...soak.series.map((p) => p.rssMB)))}–${fmt(soak.peakRssMB)} MB, trend ${fmt(soakSlope(soak), 1)} MB/min): the V8 old generation fills with request objects that outlived two scavenges — with 64 connections a call lives tens of milliseconds, part of it waiting for its audit group's fdatasync — until a major GC empties it. It is not retained memory: after each drop RSS is back near ${fmt(Math.min(...soak.series.filter((p) => p.seconds >= 60).map((p) => p.rssMB)))}–${fmt(Math.max(...troughs(soak.series.filter((p) => p.seconds >= 60).map((p) => p.rssMB))))} MB, and the trend is flat (in a separate run with heap snapshots, the heap after a forced GC stayed at ~40 MB from the first to the fifth minute). Closing it means allocating less per call (the same work as CPU per call) or capping the heap (\`--max-old-space-size\`), which trades memory for more frequent major GCs.`,
    )
  out.push(
    `- **Audit store (target 50,000 records/s).** The profile above shows serialising the record and hashing it (leaf, chain, Merkle nodes) as the bulk of the per-record CPU, ahead of the file writes: ${p.auditStore ? `${fmt(p.auditStore.cpuUsPerRecord)} µs per record, i.e. at most ${fmt(1e6 / p.auditStore.cpuUsPerRecord)} records/s on one core` : 'see the audit table'}. Leaf hashes are independent of each other (only the chain is a sequential fold of 32-byte values), so hashing batches in worker threads would scale with cores; on this two-core machine one core is taken by the load generator.`,
  )
  out.push('')
  return out
}

export function writeResults(dir: string, name: string, r: BenchResults): string[] {
  const json = join(dir, `${name}.json`)
  const md = join(dir, `${name}.md`)
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`)
  writeFileSync(md, renderMarkdown(r, name))
  return [json, md]
}
