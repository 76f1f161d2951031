import { median } from './stats.js'

/**
 * The statistics of the paired method (bench/sections/pair.ts): per round, two gateways on the same core at the
 * same time, each loaded at the same fixed rate, and the ratio of their CPU per call. The VM's speed drifts between
 * rounds; inside a round it is the same for both, so the ratio cancels it. An A/A pair (the same build twice) run
 * the same way says how far apart two identical builds come out — the noise floor a B/A ratio must clear.
 */

/** Two-sided 95% Student t quantiles for 1..30 degrees of freedom (beyond: the normal 1.96). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]

export function t95(degreesOfFreedom: number): number {
  if (degreesOfFreedom < 1) return Number.NaN
  return T95[degreesOfFreedom - 1] ?? 1.96
}

export interface RatioStats {
  readonly n: number
  readonly values: readonly number[]
  readonly median: number
  readonly min: number
  readonly max: number
  /** Geometric mean: ratios multiply, so their logs are averaged. */
  readonly mean: number
  /** Standard deviation of log(ratio), ≈ relative spread of one round. */
  readonly logStdev: number
  /** 95% confidence interval of the geometric mean (t on the logs); NaN bounds with fewer than 2 rounds. */
  readonly ci95: readonly [number, number]
  /** Largest |ratio − 1| of any round. */
  readonly maxDeviation: number
  /** Median |ratio − 1| over the rounds. */
  readonly medianDeviation: number
}

/** Ratio statistics over rounds; non-finite ratios (a round without requests) are left out. */
export function ratioStats(ratios: readonly number[]): RatioStats {
  const values = ratios.filter((r) => Number.isFinite(r) && r > 0)
  const n = values.length
  const logs = values.map(Math.log)
  const meanLog = n > 0 ? logs.reduce((a, b) => a + b, 0) / n : Number.NaN
  const logStdev = n > 1 ? Math.sqrt(logs.reduce((a, l) => a + (l - meanLog) ** 2, 0) / (n - 1)) : Number.NaN
  const half = n > 1 ? (t95(n - 1) * logStdev) / Math.sqrt(n) : Number.NaN
  return {
    n,
    values,
    median: median(values),
    min: n > 0 ? Math.min(...values) : Number.NaN,
    max: n > 0 ? Math.max(...values) : Number.NaN,
    mean: Math.exp(meanLog),
    logStdev,
    ci95: [Math.exp(meanLog - half), Math.exp(meanLog + half)],
    maxDeviation: n > 0 ? Math.max(...values.map((r) => Math.abs(r - 1))) : Number.NaN,
    medianDeviation: median(values.map((r) => Math.abs(r - 1))),
  }
}

/** One gateway's share of a paired round: what wrk got from it and what /proc says it spent. */
export interface PairSide {
  readonly requests: number
  readonly rps: number
  readonly cpuSeconds: number
  readonly cpuUsPerRequest: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  /** The paced schedule gave up slots (the gateway fell behind the rate). */
  readonly lateResets: number
}

export interface PairRound {
  readonly round: number
  /** Requests/s each gateway was paced at. */
  readonly rate: number
  /** CPU of both gateways together ÷ the phase's wall time: the share of the core they used (0..1). */
  readonly busy: number
  /** Which wrk was started first this round (alternates, so neither side always has the head start). */
  readonly firstStarted: 'x' | 'y'
  readonly x: PairSide
  readonly y: PairSide
  /** y's CPU per call ÷ x's. */
  readonly ratio: number
  /** CPU speed index of the shared core just before the round. */
  readonly speedIndex?: number
}

export function side(
  load: {
    requests: number
    rps: number
    errorCount: number
    lateResets: number
    latencyUs: { p50: number; p99: number }
  },
  cpuSeconds: number,
): PairSide {
  return {
    requests: load.requests,
    rps: load.rps,
    cpuSeconds,
    cpuUsPerRequest: load.requests > 0 ? (cpuSeconds * 1e6) / load.requests : Number.NaN,
    p50Ms: load.latencyUs.p50 / 1000,
    p99Ms: load.latencyUs.p99 / 1000,
    errors: load.errorCount,
    lateResets: load.lateResets,
  }
}

export function pairRatio(x: PairSide, y: PairSide): number {
  return y.cpuUsPerRequest / x.cpuUsPerRequest
}

export type PairVerdict = 'cheaper' | 'dearer' | 'within noise'

/**
 * What a B/A ratio says beside its A/A: B differs from A only when the B/A interval excludes 1 and its median lies
 * further from 1 than the largest A/A round did (two identical builds came out that far apart in this run).
 */
export function verdict(ab: RatioStats, aa: RatioStats): PairVerdict {
  const [low, high] = ab.ci95
  const noise = Number.isFinite(aa.maxDeviation) ? aa.maxDeviation : 0
  if (!Number.isFinite(low) || !Number.isFinite(high)) return 'within noise'
  if (high < 1 && 1 - ab.median > noise) return 'cheaper'
  if (low > 1 && ab.median - 1 > noise) return 'dearer'
  return 'within noise'
}

/**
 * The next rate of the pair's calibration: Qiao's CPU per call grows at low rates (its audit log's per-batch costs
 * are paid per call when batches hold one record), so the rate that keeps the core `target` busy is found by a few
 * proportional steps from a first guess, each at most halving or doubling it; rounded to 10 req/s, at least 20.
 */
export function nextRate(rate: number, busy: number, target: number): number {
  const factor = busy > 0 && Number.isFinite(busy) ? Math.min(2, Math.max(0.5, target / busy)) : 2
  return Math.max(20, Math.round((rate * factor) / 10) * 10)
}
