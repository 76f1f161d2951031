import { spawnSync } from 'node:child_process'
import { type LoadResult, type LoadSpec, runWrk } from './load.js'
import { coreBusy, coreProcessSeconds, coreTimes, currentRss, loadAverage, peakRss, treeCpuSeconds } from './procfs.js'
import { type LatencyBreakdown, latencyBreakdown, parseScrape, type Scrape, sumOf } from './prom.js'
import { type Stat, stat } from './stats.js'

/**
 * One measured load run against one peer: wrk's counts and latencies plus what /proc says about the peer's
 * processes (CPU time per request, RSS) and both cores (busy share) over the same window.
 */
export interface Sample {
  readonly round: number
  readonly load: LoadResult
  readonly cpuSeconds: number
  readonly cpuUsPerRequest: number
  /** Busy share of each core (0..1) during the run. */
  readonly coreBusy: readonly number[]
  /**
   * Share of each core (0..1) used by processes outside the benchmark (other work on the machine): process time on
   * the core minus the peer's, the upstream's and wrk's CPU on it. Interrupt time is not counted.
   */
  readonly foreignBusy: readonly number[]
  /** VmHWM at the end of the run (since the peer started), MB (10^6 bytes). */
  readonly peakRssMB: number
  readonly rssMB: number
  readonly loadAverage1: number
  /** Qiao only: /metrics deltas over the run. */
  readonly gateway?: GatewayCounters
  /** Qiao only: where the calls' time went over the run, from its own histograms (bench/lib/prom.ts). */
  readonly breakdown?: LatencyBreakdown
  /** CPU speed of the peer core just before the run (SHA-256 of 1 KiB per ms), when calibrated. */
  readonly speedIndex?: number
}

// A fixed CPU task on one core: how fast this (virtual) core is right now. Hosts shared with other VMs change speed
// without showing it as steal time; this makes such drifts visible next to the numbers they affect.
const CALIBRATION = `
const { createHash } = require('node:crypto')
const buf = Buffer.alloc(1024, 7)
const spin = (ms) => { let n = 0; const end = performance.now() + ms; while (performance.now() < end) { for (let i = 0; i < 50; i++) createHash('sha256').update(buf).digest(); n += 50 } return n / ms }
spin(100)
console.log(spin(250))
`

export function speedIndex(core: number): number {
  const r = spawnSync('taskset', ['-c', String(core), process.execPath, '-e', CALIBRATION], { encoding: 'utf8' })
  return Number(r.stdout.trim()) || Number.NaN
}

export interface GatewayCounters {
  readonly tokenCacheHits: number
  readonly tokenCacheMisses: number
  readonly auditRecords: number
  readonly auditSyncs: number
}

const MB = 1e6

export interface MeasureOptions {
  readonly round: number
  /** The peer's processes. */
  readonly pids: () => number[]
  /** Core the peer runs on (P0, the upstream, shares the load core); the one calibrated. */
  readonly peerCore: number
  /** All the peer's cores when it has several (the workers run); its CPU is spread evenly over them for "other work". */
  readonly peerCores?: readonly number[]
  /** Processes of the benchmark on the load core besides wrk (the upstream), when it is not the peer. */
  readonly loadCorePids: readonly number[]
  readonly loadCore: number
  readonly metricsUrl?: string | undefined
  /** Measure the peer core's speed first (0.4 s). */
  readonly calibrate?: boolean
}

export async function measure(options: MeasureOptions, spec: LoadSpec): Promise<Sample> {
  const { round, metricsUrl } = options
  const speed = options.calibrate ? speedIndex(options.peerCore) : undefined
  const scrapeBefore = metricsUrl ? await scrape(metricsUrl) : undefined
  const processes = options.pids()
  const others = options.loadCorePids.filter((p) => !processes.includes(p))
  const cpuBefore = treeCpuSeconds(processes)
  const othersBefore = treeCpuSeconds(others)
  const coresBefore = coreTimes()
  const wall = performance.now()
  const load = await runWrk(spec)
  const seconds = (performance.now() - wall) / 1000
  const coresAfter = coreTimes()
  const cpuSeconds = treeCpuSeconds(processes) - cpuBefore
  const othersSeconds = treeCpuSeconds(others) - othersBefore
  const scrapeAfter = metricsUrl ? await scrape(metricsUrl) : undefined
  const peerCores = options.peerCores ?? [options.peerCore]
  const ours = coreProcessSeconds(coresBefore, coresAfter).map((_, core) => {
    let s = 0
    if (peerCores.includes(core)) s += cpuSeconds / peerCores.length
    if (core === options.loadCore) s += othersSeconds + load.wrkCpuSeconds
    return s
  })
  const foreignBusy = coreProcessSeconds(coresBefore, coresAfter).map((t, core) =>
    Math.max(0, (t - (ours[core] ?? 0)) / seconds),
  )
  return {
    round,
    load,
    cpuSeconds,
    cpuUsPerRequest: load.requests > 0 ? (cpuSeconds * 1e6) / load.requests : Number.NaN,
    coreBusy: coreBusy(coresBefore, coresAfter),
    foreignBusy,
    peakRssMB: peakRss(processes) / MB,
    rssMB: currentRss(processes) / MB,
    loadAverage1: loadAverage()[0],
    ...(speed === undefined ? {} : { speedIndex: speed }),
    ...(scrapeBefore && scrapeAfter
      ? {
          gateway: counterDeltas(scrapeBefore, scrapeAfter),
          breakdown: latencyBreakdown(scrapeBefore, scrapeAfter, load.seconds),
        }
      : {}),
  }
}

async function scrape(url: string): Promise<Scrape> {
  return parseScrape(await (await fetch(url)).text())
}

function counterDeltas(before: Scrape, after: Scrape): GatewayCounters {
  const delta = (name: string, where: Record<string, string> = {}) =>
    sumOf(after, name, where) - sumOf(before, name, where)
  return {
    tokenCacheHits: delta('qiao_token_cache_lookups_total', { result: 'hit' }),
    tokenCacheMisses: delta('qiao_token_cache_lookups_total', { result: 'miss' }),
    auditRecords: delta('qiao_audit_records_total'),
    auditSyncs: delta('qiao_audit_syncs_total'),
  }
}

/** A cell over its rounds: medians with min and max, and the raw samples. */
export interface Cell {
  readonly rps: Stat
  readonly p50Ms: Stat
  readonly p99Ms: Stat
  readonly cpuUsPerRequest: Stat
  readonly core0Busy: Stat
  readonly core1Busy: Stat
  /** Other work on the machine, per core (0..1), max over rounds. */
  readonly foreignBusyMax: readonly number[]
  readonly peakRssMB: Stat
  /** CPU speed index of the peer core before the calibrated runs (see speedIndex). */
  readonly speedIndex?: Stat
  readonly requests: number
  readonly errors: number
  readonly wraps: number
  readonly lateResets: number
  readonly tokenCacheHitRatio?: number
  readonly auditRecordsPerSync?: number
  readonly samples: readonly Sample[]
}

export function cell(samples: readonly Sample[]): Cell {
  const pick = (f: (s: Sample) => number) => stat(samples.map(f))
  const sum = (f: (s: Sample) => number) => samples.reduce((a, s) => a + f(s), 0)
  const gw = samples.filter((s) => s.gateway)
  const hits = gw.reduce((a, s) => a + (s.gateway?.tokenCacheHits ?? 0), 0)
  const misses = gw.reduce((a, s) => a + (s.gateway?.tokenCacheMisses ?? 0), 0)
  const records = gw.reduce((a, s) => a + (s.gateway?.auditRecords ?? 0), 0)
  const syncs = gw.reduce((a, s) => a + (s.gateway?.auditSyncs ?? 0), 0)
  return {
    rps: pick((s) => s.load.rps),
    p50Ms: pick((s) => s.load.latencyUs.p50 / 1000),
    p99Ms: pick((s) => s.load.latencyUs.p99 / 1000),
    cpuUsPerRequest: pick((s) => s.cpuUsPerRequest),
    core0Busy: pick((s) => s.coreBusy[0] ?? Number.NaN),
    core1Busy: pick((s) => s.coreBusy[1] ?? Number.NaN),
    foreignBusyMax: [0, 1].map((core) => Math.max(0, ...samples.map((s) => s.foreignBusy[core] ?? 0))),
    peakRssMB: pick((s) => s.peakRssMB),
    ...(samples.some((s) => s.speedIndex !== undefined)
      ? { speedIndex: stat(samples.map((s) => s.speedIndex ?? Number.NaN)) }
      : {}),
    requests: sum((s) => s.load.requests),
    errors: sum((s) => s.load.errorCount),
    wraps: sum((s) => s.load.wraps),
    lateResets: sum((s) => s.load.lateResets),
    ...(gw.length > 0 && hits + misses > 0 ? { tokenCacheHitRatio: hits / (hits + misses) } : {}),
    ...(gw.length > 0 && syncs > 0 ? { auditRecordsPerSync: records / syncs } : {}),
    samples,
  }
}
