import { describe, expect, it } from 'vitest'
import { coreSplit } from './cores.js'
import { nextRate, pairRatio, ratioStats, side, t95, verdict } from './pair-stats.js'

const load = (requests: number, p50 = 1000, p99 = 4000) => ({
  requests,
  rps: requests / 10,
  errorCount: 0,
  lateResets: 0,
  latencyUs: { p50, p99 },
})

describe('the paired method: one round', () => {
  it('is the ratio of CPU per call, B over A, whatever the two gateways completed', () => {
    // A: 4,000 calls for 2.0 s of CPU (500 µs each); B: 3,900 calls for 1.755 s (450 µs each).
    const a = side(load(4000), 2.0)
    const b = side(load(3900), 1.755)
    expect(a.cpuUsPerRequest).toBeCloseTo(500, 6)
    expect(b.cpuUsPerRequest).toBeCloseTo(450, 6)
    expect(pairRatio(a, b)).toBeCloseTo(0.9, 6)
    expect(a.p99Ms).toBe(4)
  })

  it('has no CPU per call without calls (NaN, left out of the statistics)', () => {
    const empty = side(load(0), 0.5)
    expect(Number.isNaN(empty.cpuUsPerRequest)).toBe(true)
    expect(ratioStats([pairRatio(side(load(100), 0.05), empty), 1.02, 0.98]).n).toBe(2)
  })
})

describe('ratio statistics over rounds', () => {
  it('gives the median, range, geometric mean and deviations from 1', () => {
    const s = ratioStats([0.9, 1.1, 1.0, 0.95, 1.05])
    expect(s.n).toBe(5)
    expect(s.median).toBeCloseTo(1.0, 12)
    expect([s.min, s.max]).toEqual([0.9, 1.1])
    // exp(mean(log r)) of values symmetric around 1 lies slightly below 1.
    expect(s.mean).toBeLessThan(1)
    expect(s.mean).toBeGreaterThan(0.99)
    expect(s.maxDeviation).toBeCloseTo(0.1, 12)
    expect(s.medianDeviation).toBeCloseTo(0.05, 12)
  })

  it('puts a 95% interval on the geometric mean with Student t on the logs', () => {
    const ratios = [0.96, 0.95, 0.97, 0.96, 0.95, 0.97]
    const s = ratioStats(ratios)
    const logs = ratios.map(Math.log)
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length
    const sd = Math.sqrt(logs.reduce((a, l) => a + (l - mean) ** 2, 0) / (logs.length - 1))
    const half = (2.571 * sd) / Math.sqrt(6)
    expect(s.ci95[0]).toBeCloseTo(Math.exp(mean - half), 12)
    expect(s.ci95[1]).toBeCloseTo(Math.exp(mean + half), 12)
    expect(s.ci95[1]).toBeLessThan(1)
  })

  it('has no interval from one round', () => {
    const s = ratioStats([1.03])
    expect(s.median).toBe(1.03)
    expect(s.ci95.every(Number.isNaN)).toBe(true)
  })

  it('uses t for small samples and 1.96 beyond 30 degrees of freedom', () => {
    expect(t95(1)).toBe(12.706)
    expect(t95(5)).toBe(2.571)
    expect(t95(30)).toBe(2.042)
    expect(t95(31)).toBe(1.96)
    expect(Number.isNaN(t95(0))).toBe(true)
  })
})

describe('what a B/A ratio says beside its A/A', () => {
  const aa = ratioStats([1.01, 0.99, 1.015, 0.985, 1.0, 1.005])

  it('resolves a 4% saving that clears the A/A noise', () => {
    expect(verdict(ratioStats([0.955, 0.96, 0.965, 0.958, 0.962, 0.96]), aa)).toBe('cheaper')
    expect(verdict(ratioStats([1.045, 1.04, 1.035, 1.042, 1.038, 1.04]), aa)).toBe('dearer')
  })

  it('calls a change no larger than the A/A rounds noise, even with a tight interval', () => {
    expect(verdict(ratioStats([0.99, 0.988, 0.992, 0.99, 0.989, 0.991]), aa)).toBe('within noise')
  })

  it('calls an interval that straddles 1 noise, and one round is never enough', () => {
    expect(verdict(ratioStats([0.9, 1.1, 0.95, 1.08, 0.93, 1.04]), aa)).toBe('within noise')
    expect(verdict(ratioStats([0.8]), aa)).toBe('within noise')
  })
})

describe('the pair rate and the core split', () => {
  it('steps the pair rate towards the busy share wanted, at most halving or doubling it', () => {
    expect(nextRate(200, 0.5, 0.85)).toBe(340)
    expect(nextRate(400, 1.0, 0.85)).toBe(340)
    expect(nextRate(100, 0.1, 0.85)).toBe(200)
    expect(nextRate(400, 1.7, 0.85)).toBe(200)
    expect(nextRate(30, 2, 0.85)).toBe(20)
    expect(nextRate(100, 0, 0.85)).toBe(200)
  })

  it('gives two cores one for the gateway (one process, and two workers sharing it) and more cores workers to scale', () => {
    expect(coreSplit(2)).toEqual({ total: 2, peer: [1], load: [0], workerCounts: [1, 2] })
    expect(coreSplit(3)).toEqual({ total: 3, peer: [1, 2], load: [0], workerCounts: [1, 2] })
    expect(coreSplit(8)).toEqual({ total: 8, peer: [2, 3, 4, 5, 6, 7], load: [0, 1], workerCounts: [1, 2, 3, 4, 5, 6] })
    expect(() => coreSplit(1)).toThrow(/at least 2 cores/)
  })
})
