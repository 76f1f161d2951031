import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AuditStoreResult } from '../audit-store.js'
import type { Payload } from '../upstream.js'
import { cores, flag, fmt, range, table } from './format.js'
import type { Machine } from './machine.js'
import type { Cell } from './measure.js'
import { type OffloadResult, renderOffload } from './offload-report.js'
import { type PairResult, pairFileName, renderPairSummary } from './pair-report.js'
import { PEER_NAMES, type PeerId } from './peers.js'
import type { ProfileSummary } from './profile.js'
import { renderCurves, renderLiveGrants } from './render-curves.js'
import { renderLatencyBreakdown } from './render-latency.js'
import { allCells, derivedNotes, runStatusLines } from './render-notes.js'
import { renderCpuProfile } from './render-profile.js'
import type { SectionFailure } from './section-runner.js'
import { median, type Stat } from './stats.js'
import { auditThreadCpu, soakSlope, TARGET_RATE } from './targets.js'
import { HELPER_THREADS } from './threads.js'
import { renderWorkers, type WorkersResult } from './workers-report.js'

/** The audit store's helper threads per record (medians over rounds), hashing / index / the rest. */
function otherThreadsText(a: AuditCell): string {
  const threadMedian = (name: string) => {
    const values = a.raw.map((r) => r.otherThreadsCpuUsPerRecord?.[name]).filter((v): v is number => v !== undefined)
    return values.length === 0 ? undefined : median(values)
  }
  const parts = HELPER_THREADS.map((name) => threadMedian(name))
  return parts.every((v) => v === undefined) ? '—' : parts.map((v) => (v === undefined ? '—' : fmt(v, 1))).join(' / ')
}

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
  /** The paired method (bench/sections/pair.ts): rounds, seconds per phase, the rate's calibration (steps, seconds
   * per phase) and the share of the core both gateways together should keep busy. */
  readonly pairRounds: number
  readonly pairSeconds: number
  readonly pairCalibrations: number
  readonly pairWarmupSeconds: number
  readonly pairBusy: number
}

/** Where the time goes: the stack's floor beside Qiao, and CPU profiles of Qiao and of the audit store. */
export interface CpuProfileResult {
  /** The Hono floor (bench/floor.ts, N3) at saturation: the side-by-side N3 cell when main measured it. */
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

export interface AuditCell {
  readonly appenders: number
  readonly recordsPerSecond: Stat
  readonly syncsPerSecond: Stat
  readonly recordsPerSync: Stat
  readonly p50Ms: Stat
  readonly p99Ms: Stat
  readonly cpuUsPerRecord: Stat
  /**
   * CPU per record on the thread that appends (the request thread in the gateway), when bench/audit-store.ts
   * reports it (`mainThreadCpuUsPerRecord` of its result); hashing moved to worker threads is left out of it.
   */
  readonly mainThreadCpuUsPerRecord?: Stat
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

export interface Target {
  readonly id: string
  readonly title: string
  /** Measured value, as text with its unit. */
  readonly value: string
  readonly threshold: string
  /** undefined: not measured in this run (or reported, not judged). */
  readonly met: boolean | undefined
  /** `earlier`: a check kept from an earlier issue (catalog size, token mix, live grants), in a table of its own. */
  readonly group?: 'earlier'
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
  /** The paired method's A/A (and A/B with --pair) figures; the rounds are in results/pair-<name>.*. */
  pair?: PairResult
  workers?: WorkersResult
  /** The audit log's work inline against in its threads on another core, per call (bench/sections/offload.ts). */
  offload?: OffloadResult
  /** Sections that failed; the others ran on (issue 16). */
  sectionFailures?: SectionFailure[]
  /** Set in the results written after each section while the run goes on (<name>.partial.*). */
  partial?: { completed: string[]; pending: string[] }
  notes: string[]
  targets: Target[]
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
  out.push(...runStatusLines(r))
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
  const targetRows = (ts: readonly Target[]) =>
    ts.map((t) => [t.title, t.value, t.threshold, t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**'])
  out.push('## Targets (issue 16)')
  out.push('')
  out.push(
    "Ratios inside this one run (same machine, peers in turn), never asserted in tests. N1 is the bare Node proxy (node:http + undici passing bytes through, the floor of any Node gateway); P3 is Qiao at README's default log level (info), P3W the same at warn.",
  )
  out.push('')
  out.push(table(['Target', 'Measured', 'Threshold', ''], targetRows(r.targets.filter((t) => t.group !== 'earlier'))))
  out.push('')
  const earlier = r.targets.filter((t) => t.group === 'earlier')
  if (earlier.length > 0) {
    out.push('Checks kept from earlier issues:')
    out.push('')
    out.push(table(['Check', 'Measured', 'Threshold', ''], targetRows(earlier)))
    out.push('')
  }

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
    const n1 = sat.N1?.cpuUsPerRequest.median
    out.push('## Side by side (1 KB answer, one cached token)')
    out.push('')
    out.push(
      `Upstream answer: ${fmt(r.upstream.payloads['1k'].bytes)} bytes (${r.upstream.payloads['1k'].rows} construction-permit rows). Saturation: wrk, 1 thread, ${r.profile.connections} connections, ${r.profile.saturationSeconds} s after ${r.profile.warmupSeconds} s of warm-up. Catalog: ${r.catalog.main.resources} resources.`,
    )
    out.push('')
    out.push(
      `The Node floors: N1 (\`bench/bare-proxy.ts\`) is node:http receiving the call and undici \`request\` passing its bytes to the upstream and the answer's bytes back — the floor of any Node gateway; N2 the same with the request and the answer parsed and re-serialised as JSON; N3 (\`bench/floor.ts\`) is the Hono floor: Hono on @hono/node-server with undici, the floor of Qiao's own stack, not of a Node gateway. They are measured at saturation and at ${fmt(TARGET_RATE)} req/s only. Qiao runs at log level info (P3, README's default: one log line per call) and warn (P3W) side by side; its output goes to a file, not through the benchmark.`,
    )
    out.push('')
    out.push(
      table(
        [
          'Peer',
          'Throughput req/s',
          '× P2',
          'CPU µs/req',
          'CPU × N1',
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
              n1 && id !== 'P0' ? fmt(c.cpuUsPerRequest.median / n1, 2) : '—',
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
    out.push(...renderLatencyBreakdown(r))
  }

  out.push(...renderCurves(r))
  if (r.liveGrants) out.push(...renderLiveGrants(r, r.liveGrants))
  if (r.audit) {
    out.push('## Audit store alone')
    out.push('')
    out.push(
      `The built audit log (dist/gateway/audit) with the file backend and the gateway's defaults (sha256, checkpoint every 1,000 records or 10 s), N concurrent appenders, each append awaited until durable; ${r.profile.auditSeconds} s per run, pinned to core 1, the log's hashing and index threads moved to the other core (as on a two-core gateway). Record: ${fmt(r.audit[0]?.recordBytes)} bytes of JSON.`,
    )
    out.push('')
    out.push(
      table(
        [
          'Appenders',
          'Records/s',
          'fsyncs/s',
          'Records per fsync',
          'Append→durable p50 / p99 ms',
          'CPU µs/record (process)',
          'CPU µs/record (appending thread)',
          'Other threads µs/record: hashing / index / libuv + V8',
          'CPU µs per fsync (process)',
        ],
        r.audit.map((a) => [
          fmt(a.appenders),
          range(a.recordsPerSecond),
          range(a.syncsPerSecond),
          fmt(a.recordsPerSync.median, 1),
          `${fmt(a.p50Ms.median, 2)} / ${fmt(a.p99Ms.median, 2)}`,
          range(a.cpuUsPerRecord),
          range(auditThreadCpu(a), 1),
          otherThreadsText(a),
          fmt(a.cpuUsPerRecord.median * a.recordsPerSync.median),
        ]),
      ),
    )
    out.push('')
    const single = r.audit.find((a) => a.appenders === 1)
    const widest = r.audit.reduce((w, a) => (a.appenders > w.appenders ? a : w))
    if (single && widest !== single) {
      const batch = single.cpuUsPerRecord.median * single.recordsPerSync.median
      // The gateway's own records per fsync at the paced rates (Qiao at README's default level).
      const paced = (r.main ? Object.entries(r.main.fixedRate) : [])
        .map(([rate, byPeer]) => [rate, byPeer.P3?.auditRecordsPerSync] as const)
        .filter((e): e is readonly [string, number] => e[1] !== undefined)
      const pacedText =
        paced.length === 0
          ? ''
          : ` In this run Qiao (P3) wrote ${paced.map(([rate, n]) => `${fmt(n, 1)} records per fsync at ${fmt(Number(rate))} req/s`).join(', ')}: at such rates a call also pays a good part of a batch of its own (the other peers' CPU per call grows at paced rates too: wake-ups cost on a virtual core whoever runs).`
      out.push(
        `What a batch costs: with one appender every record is a batch of its own, and the process spends ${fmt(batch)} µs of CPU on it (write, fdatasync, the hops to the hashing and index threads, checkpoint bookkeeping); at ${fmt(widest.appenders)} appenders ${fmt(widest.recordsPerSync.median, 1)} records share a batch and a record costs ${fmt(widest.cpuUsPerRecord.median, 1)} µs.${pacedText}`,
      )
      out.push('')
    }
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
  if (r.pair) out.push(...renderPairSummary(r.pair, `${pairFileName(name)}.md`))
  if (r.workers) out.push(...renderWorkers(r.workers, r.main?.saturation.P3))
  if (r.cpuProfile) out.push(...renderCpuProfile(r, r.cpuProfile, name))
  if (r.offload) out.push(...renderOffload(r.offload, r.main?.saturation.P2))
  out.push('## Notes')
  out.push('')
  for (const n of [...r.notes, ...derivedNotes(r)]) out.push(`- ${n}`)
  out.push('')
  return out.join('\n')
}

export function writeResults(dir: string, name: string, r: BenchResults): string[] {
  const json = join(dir, `${name}.json`)
  const md = join(dir, `${name}.md`)
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`)
  writeFileSync(md, renderMarkdown(r, name))
  return [json, md]
}
