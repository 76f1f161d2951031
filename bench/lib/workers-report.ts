import type { CoreSplit } from './cores.js'
import { fmt, pct, range, table } from './format.js'
import type { Cell } from './measure.js'
import type { Stat } from './stats.js'

/** The workers run (bench/sections/workers.ts): its results and their Markdown. */

export interface WorkersCell extends Cell {
  readonly workers: number
  /** Processes in the gateway's tree once started (primary + workers; 1 when the build ran it in one process). */
  readonly processes: number
  readonly startupSeconds: Stat
}

export interface WorkersResult {
  readonly split: CoreSplit
  /** At least two gateway cores: scaling is measured. */
  readonly scaling: boolean
  readonly minCoresForScaling: number
  readonly logLevel: string
  readonly connectionsPerWorker: number
  readonly cells: readonly WorkersCell[]
}

/** The one-worker figure: throughput of one worker on one core, with its primary's CPU counted. */
export function perWorker(w: WorkersResult): WorkersCell | undefined {
  return w.cells.find((c) => c.workers === 1 && c.samples.length > 0)
}

/** What the workers run says about scaling, in a sentence (also the workers target's value). */
export function workersSummary(w: WorkersResult, singleProcess: Cell | undefined): string {
  const one = perWorker(w)
  if (!one) return 'not measured'
  const vsSingle = singleProcess
    ? ` (P3 in the side-by-side table: ${fmt(singleProcess.rps.median)} req/s, ${fmt(singleProcess.cpuUsPerRequest.median)} µs)`
    : ''
  const head = `1 worker on 1 core: ${fmt(one.rps.median)} req/s, ${fmt(one.cpuUsPerRequest.median)} µs CPU/call${vsSingle}`
  const measured = w.cells.filter((c) => c.samples.length > 0)
  if (!w.scaling) {
    const shared = measured.find((c) => c.workers > 1)
    const cluster = shared
      ? `; ${shared.workers} workers sharing that core: ${fmt(shared.rps.median)} req/s, ${fmt(shared.cpuUsPerRequest.median)} µs CPU/call (${fmt(shared.rps.median / one.rps.median, 2)} × one: what the cluster itself costs)`
      : ''
    return `${head}${cluster}; scaling not measured: ${w.split.total} cores leave one for the gateway, it needs ≥ ${w.minCoresForScaling} (\`--cores N\` on a larger machine)`
  }
  const most = measured.at(-1) as WorkersCell
  return `${head}; ${most.workers} workers on ${w.split.peer.length} cores: ${fmt(most.rps.median)} req/s, ${fmt(most.rps.median / one.rps.median, 2)} × one worker (${pct(most.rps.median / (one.rps.median * most.workers))} of linear)`
}

export function renderWorkers(w: WorkersResult, singleProcess: Cell | undefined): string[] {
  const one = perWorker(w)
  const out = [
    '## Workers (`qiao serve` with QIAO_WORKERS=N)',
    '',
    `node:cluster workers sharing the port; the bench was given ${w.split.total} cores (\`--cores\`, default all): the gateway's on core(s) ${w.split.peer.join(', ')}, the upstream and wrk (${w.split.load.length} thread(s)) on core(s) ${w.split.load.join(', ')}. Saturation, ${w.connectionsPerWorker} connections per worker, log level ${w.logLevel}; CPU per call counts the primary and every worker. ${w.scaling ? '' : `With ${w.split.total} cores one is left for the gateway, so this is the per-worker figure (1 worker on 1 core), and two workers sharing that core for what the cluster itself costs; throughput scaling needs at least ${w.minCoresForScaling} cores and is reported wherever the bench runs on that many.`}`,
    '',
    table(
      [
        'Workers',
        'Processes',
        'Throughput req/s',
        'Per worker req/s',
        '× 1 worker',
        'CPU µs/call',
        'Peak RSS MB (all processes)',
        'Startup s',
        'Cores busy 0 / 1 (other work)',
      ],
      w.cells.map((c) => [
        fmt(c.workers),
        fmt(c.processes),
        range(c.rps),
        fmt(c.rps.median / c.workers),
        one ? fmt(c.rps.median / one.rps.median, 2) : '—',
        range(c.cpuUsPerRequest),
        range(c.peakRssMB),
        range(c.startupSeconds, 1),
        `${pct(c.core0Busy.median)} / ${pct(c.core1Busy.median)} (${pct(c.foreignBusyMax[0])} / ${pct(c.foreignBusyMax[1])})`,
      ]),
    ),
    '',
    `${workersSummary(w, singleProcess).replace(/^./, (ch) => ch.toUpperCase())}.`,
    '',
  ]
  if (w.cells.some((c) => c.workers > 1 && c.samples.length > 0 && c.processes <= 1)) {
    out.push(
      '⚠ A row with several workers ran as one process: this build does not read QIAO_WORKERS, so those rows measure a single process.',
      '',
    )
  }
  if (one && one.processes <= 1) {
    out.push('One worker ran as one process (N = 1 starts no primary), the same gateway as P3.', '')
  }
  return out
}
