import type { PairBuild } from '../sections/shared.js'
import { change, fmt, pct, table } from './format.js'
import type { Machine } from './machine.js'
import type { PairRound, PairVerdict, RatioStats } from './pair-stats.js'

/** The paired method's results: bench/results/pair-<name>.json and .md, and its summary in the main results. */

export interface PairResult {
  readonly a: PairBuild
  readonly b: PairBuild
  /** A and B are the same build: the A/B phase is a second A/A. */
  readonly sameBuild: boolean
  readonly logLevel: string
  /** The core both gateways share (taskset). */
  readonly core: string
  /** Requests/s each gateway is paced at. */
  readonly rate: number
  /** Each instance's throughput alone at saturation (its warm-up), req/s. */
  readonly saturationRps: { readonly a: number; readonly a2: number; readonly b: number }
  /** The share of the core both gateways together were to keep busy; absent when --pair-rate set the rate. */
  readonly busyTarget?: number
  readonly seconds: number
  readonly connections: number
  /** x = A (A and A′ in turn), y = B. */
  readonly ab: readonly PairRound[]
  /** x = A, y = A′. */
  readonly aa: readonly PairRound[]
  readonly abStats: RatioStats
  readonly aaStats: RatioStats
  readonly verdict: PairVerdict
}

export interface PairRun {
  readonly name: string
  readonly command: string
  readonly startedAt: string
  readonly durationSeconds: number
  readonly machine: Machine
  readonly result: PairResult
}

/** The paired method's files for a results name: pair-latest for latest; quick-pair and dev-pair (ignored by git). */
export function pairFileName(out: string): string {
  return out === 'quick' ? 'quick-pair' : out === 'dev' ? 'dev-pair' : `pair-${out}`
}

const ratio = (n: number) => fmt(n, 3)
const ci = (s: RatioStats) => (Number.isFinite(s.ci95[0]) ? `${ratio(s.ci95[0])}–${ratio(s.ci95[1])}` : '—')
const deviation = (n: number) => (Number.isFinite(n) ? `±${fmt(100 * n, 1)}%` : '—')

/** The method in one paragraph (both renderings). */
export function pairMethod(p: PairResult): string {
  return `Three gateways run on core ${p.core} at once (taskset): A, A′ (build A again) and B, each at log level ${p.logLevel}, as in the side-by-side table, each warmed up alone at saturation first (A ${fmt(p.saturationRps.a)}, A′ ${fmt(p.saturationRps.a2)}, B ${fmt(p.saturationRps.b)} req/s; closed loop, one at a time, so not a comparison). Each round has an A/B phase (A and A′ in turn against B) and an A/A phase (A against A′), in alternating order; in each phase the two gateways are loaded at the same time by a wrk of their own on the load core, both paced at ${fmt(p.rate)} req/s${p.busyTarget === undefined ? ' (--pair-rate)' : ` (found in a few steps so that the two together keep the core about ${pct(p.busyTarget)} busy: near saturation, where a call costs what it costs at saturation — at low rates Qiao's audit log pays its per-batch costs for every call — yet below it, so both get the load asked for)`}, ${p.connections} connections, ${p.seconds} s, which wrk starts first alternating. CPU per call = Δ(utime + stime) of each gateway from /proc ÷ the calls its wrk completed. Whatever the virtual core does during a phase — run slower, be shared with another VM — it does to both gateways, so the ratio of their CPU per call cancels it; the A/A phases say how far apart two identical builds come out under exactly the same conditions.`
}

/** What the A/B ratio says, in a sentence. */
export function pairConclusion(p: PairResult): string {
  const { abStats: ab, aaStats: aa } = p
  if (p.sameBuild) {
    return `A and B are the same build here, so both phases are A/A: B/A ${ratio(ab.median)} (${ratio(ab.min)}–${ratio(ab.max)}), A′/A ${ratio(aa.median)} (${ratio(aa.min)}–${ratio(aa.max)}) over ${aa.n} rounds; the largest A/A round was ${deviation(aa.maxDeviation)} from 1, the median one ${deviation(aa.medianDeviation)}. A change of the CPU per call larger than that is resolvable with this many rounds.`
  }
  const what =
    p.verdict === 'within noise'
      ? `B's CPU per call is within the noise of A's (${change(ab.median)})`
      : `B ${p.verdict === 'cheaper' ? 'is cheaper' : 'is dearer'}: ${change(ab.median)} CPU per call against A`
  return `${what}: B/A ${ratio(ab.median)} median, ${ratio(ab.min)}–${ratio(ab.max)} over ${ab.n} rounds, geometric mean 95% interval ${ci(ab)}; the A/A pair in the same rounds came out ${ratio(aa.median)} (${ratio(aa.min)}–${ratio(aa.max)}), at most ${deviation(aa.maxDeviation)} from 1. A difference counts when the B/A interval excludes 1 and its median lies further from 1 than the largest A/A round.`
}

function statsTable(p: PairResult): string {
  const row = (label: string, f: (s: RatioStats) => string) => [label, f(p.abStats), f(p.aaStats)]
  return table(
    ['', 'B/A (CPU per call)', 'A′/A (same build)'],
    [
      row('Median', (s) => ratio(s.median)),
      row('Min–max', (s) => `${ratio(s.min)}–${ratio(s.max)}`),
      row('Geometric mean (95% interval)', (s) => `${ratio(s.mean)} (${ci(s)})`),
      row('Largest / median deviation from 1', (s) => `${deviation(s.maxDeviation)} / ${deviation(s.medianDeviation)}`),
      row('Rounds', (s) => fmt(s.n)),
    ],
  )
}

function roundRows(p: PairResult): string[][] {
  const rows: string[][] = []
  const all = [...p.ab.map((r) => ({ phase: 'A/B', r })), ...p.aa.map((r) => ({ phase: 'A/A′', r }))].sort(
    (u, v) => u.r.round - v.r.round,
  )
  for (const { phase, r } of all) {
    rows.push([
      fmt(r.round),
      phase,
      r.firstStarted === 'x' ? 'A' : phase === 'A/B' ? 'B' : 'A′',
      fmt(r.x.cpuUsPerRequest),
      fmt(r.y.cpuUsPerRequest),
      ratio(r.ratio),
      `${fmt(r.x.rps)} / ${fmt(r.y.rps)}`,
      `${fmt(r.x.p50Ms, 2)} / ${fmt(r.x.p99Ms, 2)}`,
      `${fmt(r.y.p50Ms, 2)} / ${fmt(r.y.p99Ms, 2)}`,
      pct(r.busy),
      fmt(r.speedIndex),
      [
        r.x.lateResets + r.y.lateResets > 0 ? '⚠ rate not kept' : '',
        r.x.errors + r.y.errors > 0 ? `⚠ ${fmt(r.x.errors + r.y.errors)} errors` : '',
      ]
        .filter(Boolean)
        .join('; '),
    ])
  }
  return rows
}

export function renderPair(run: PairRun): string {
  const p = run.result
  const m = run.machine
  return [
    `# Paired comparison: ${p.a.label} (A) and ${p.b.label} (B)`,
    '',
    `Run \`${run.command}\` on ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${fmt(run.durationSeconds / 60, 1)} minutes, on ${m.nproc} × ${m.cpuModel} (${m.virtualization ?? 'unknown'}), Node ${m.node}. Raw values: [\`${run.name}.json\`](${run.name}.json).`,
    '',
    `- A: \`${p.a.cli}\``,
    `- B: \`${p.b.cli}\``,
    '',
    pairMethod(p),
    '',
    '## Result',
    '',
    pairConclusion(p),
    '',
    statsTable(p),
    '',
    '## Rounds',
    '',
    'x is A (A and A′ in turn in the A/B phases), y is B in the A/B phases and A′ in the A/A phases. Speed index: SHA-256 of 1 KiB per ms on the shared core just before the phase (both gateways idle).',
    '',
    table(
      [
        'Round',
        'Phase',
        'Started first',
        'x CPU µs/call',
        'y CPU µs/call',
        'y/x',
        'req/s x / y',
        'x p50 / p99 ms',
        'y p50 / p99 ms',
        'Core busy (both)',
        'Speed index',
        'Notes',
      ],
      roundRows(p),
    ),
    '',
  ].join('\n')
}

/** The paired method's section in the main results (latest.md): the A/A noise, and B/A when builds differ. */
export function renderPairSummary(p: PairResult, file: string): string[] {
  return [
    '## Paired method (two builds on one core at once)',
    '',
    `${pairMethod(p)} Per-round table: [\`${file}\`](${file}).`,
    '',
    pairConclusion(p),
    '',
    statsTable(p),
    '',
  ]
}
