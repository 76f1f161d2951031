import { describe, expect, it } from 'vitest'
import type { LoadResult } from './load.js'
import { type Cell, cell, type Sample } from './measure.js'
import { QUICK } from './options.js'
import type { BenchResults } from './results.js'
import { evaluateTargets, rateNotKept } from './targets.js'
import { workersSummary } from './workers-report.js'

/** One measured run: req/s, CPU µs per call and client latencies (ms). */
function sample(rps: number, cpuUs: number, p50Ms = 1, p99Ms = 2): Sample {
  const load: LoadResult = {
    requests: rps * 10,
    seconds: 10,
    rps,
    bytes: 0,
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    errorCount: 0,
    latencyUs: { mean: 0, stdev: 0, max: 0, p50: p50Ms * 1000, p90: 0, p99: p99Ms * 1000, p999: 0 },
    wraps: 0,
    lateResets: 0,
    wrkCpuSeconds: 0,
  }
  return {
    round: 1,
    load,
    cpuSeconds: (rps * 10 * cpuUs) / 1e6,
    cpuUsPerRequest: cpuUs,
    coreBusy: [0.2, 0.9],
    foreignBusy: [0, 0],
    peakRssMB: 150,
    rssMB: 140,
    loadAverage1: 0,
  }
}

const withStartup = (c: Cell) => ({ ...c, startupSeconds: { median: 1, min: 1, max: 1, values: [1] } })

function results(): BenchResults {
  const sat = (rps: number, cpuUs: number) => withStartup(cell([sample(rps, cpuUs)]))
  return {
    schema: 'qiao-bench/1',
    mode: 'quick',
    profile: QUICK,
    peers: ['P0', 'P2', 'N1', 'P3W', 'P3'],
    main: {
      saturation: {
        P0: sat(20_000, 34),
        P2: sat(15_000, 60),
        N1: sat(9_000, 100),
        P3W: sat(3_000, 180),
        P3: sat(2_600, 230),
      },
      fixedRate: {
        '1000': {
          P0: cell([sample(1000, 80, 0.15, 0.4)]),
          P3: cell([sample(1000, 400, 0.95, 6.4)]),
        },
      },
    },
    notes: [],
    targets: [],
  } as unknown as BenchResults
}

describe('the issue 16 targets', () => {
  const targets = Object.fromEntries(evaluateTargets(results()).map((t) => [t.id, t]))

  it('judges CPU per call at info against twice the bare proxy, and reports warn beside it', () => {
    expect(targets['cpu-vs-bare-proxy']?.met).toBe(false) // 230 µs > 2 × 100 µs
    expect(targets['cpu-vs-bare-proxy']?.value).toContain('info 2.30 × N1')
    expect(targets['cpu-vs-bare-proxy']?.value).toContain('warn 1.80 × N1')
  })

  it('judges throughput per core against 0.35 × HAProxy', () => {
    expect(targets['throughput-per-core']?.met).toBe(false) // 2,600 / 15,000 = 0.17
    expect(targets['throughput-per-core']?.value).toMatch(/^0\.17 × P2/)
  })

  it('takes the added latency over P0 at 1,000 req/s', () => {
    expect(targets['added-p50-1000']?.met).toBe(true) // 0.80 ms
    expect(targets['added-p50-1000']?.value).toMatch(/^0\.80 ms/)
    expect(targets['added-p99-1000']?.met).toBe(false) // 6.00 ms
  })

  it('leaves what this run did not measure undecided, and keeps earlier checks apart', () => {
    expect(targets['soak-peak-rss']?.met).toBeUndefined()
    expect(targets['audit-store-cpu']?.met).toBeUndefined()
    expect(targets.workers?.met).toBeUndefined()
    expect(targets['catalog-10k']?.group).toBe('earlier')
    expect(targets['cpu-vs-bare-proxy']?.group).toBeUndefined()
  })

  it('uses the appending thread’s CPU per record that bench/audit-store.ts reports', () => {
    const r = results()
    const raw = { recordsPerSecond: 60_000, cpuUsPerRecord: 20, mainThreadCpuUsPerRecord: 12 }
    const stat1 = (v: number) => ({ median: v, min: v, max: v, values: [v] })
    r.audit = [
      {
        appenders: 256,
        recordsPerSecond: stat1(60_000),
        syncsPerSecond: stat1(200),
        recordsPerSync: stat1(256),
        p50Ms: stat1(4),
        p99Ms: stat1(9),
        cpuUsPerRecord: stat1(20),
        recordBytes: 1131,
        raw: [raw as unknown as NonNullable<BenchResults['audit']>[number]['raw'][number]],
      },
    ]
    const t = Object.fromEntries(evaluateTargets(r).map((x) => [x.id, x]))
    expect(t['audit-store-rate']?.met).toBe(true)
    expect(t['audit-store-cpu']?.met).toBe(true)
    expect(t['audit-store-cpu']?.value).toMatch(/^12\.0 µs\/record on the appending thread/)
  })

  it('reports the per-worker figure on two cores and scaling with more', () => {
    const one = { ...cell([sample(2_500, 240)]), workers: 1, processes: 2, startupSeconds: cell([]).rps }
    const three = { ...cell([sample(6_750, 250)]), workers: 3, processes: 4, startupSeconds: cell([]).rps }
    const two = workersSummary(
      {
        split: { total: 2, peer: [1], load: [0], workerCounts: [1] },
        scaling: false,
        minCoresForScaling: 3,
        logLevel: 'info',
        connectionsPerWorker: 64,
        cells: [one],
      },
      undefined,
    )
    expect(two).toMatch(/^1 worker on 1 core: 2,500 req\/s.*needs ≥ 3/)
    const four = workersSummary(
      {
        split: { total: 4, peer: [1, 2, 3], load: [0], workerCounts: [1, 2, 3] },
        scaling: true,
        minCoresForScaling: 3,
        logLevel: 'info',
        connectionsPerWorker: 64,
        cells: [one, three],
      },
      undefined,
    )
    expect(four).toContain('3 workers on 3 cores: 6,750 req/s, 2.70 × one worker (90% of linear)')
  })
})

describe('a paced run that did not keep its rate', () => {
  const paced = (rps: number, busy: number, lateResets: number) =>
    ({ rps: { median: rps }, core1Busy: { median: busy }, lateResets }) as unknown as Cell
  it('is at capacity only with the core nearly always busy', () => {
    expect(rateNotKept(paced(790, 0.99, 40), 1000)).toBe('at capacity, the added latency is queueing')
  })
  it('with the core partly idle, names what fell behind and says it is not capacity', () => {
    expect(rateNotKept(paced(974, 0.69, 17), 1000)).toBe(
      "17 late resets of wrk's schedule with the core 69% busy — not capacity: stalls, see the latency breakdown",
    )
    expect(rateNotKept(paced(900, 0.7, 0), 1000)).toBe(
      '900 of 1,000 req/s with the core 70% busy — not capacity: stalls, see the latency breakdown',
    )
  })
})
