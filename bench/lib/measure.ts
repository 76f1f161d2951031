import { spawnSync } from 'node:child_process'
import { type LoadResult, type LoadSpec, runWrk } from './load.js'
import { coreBusy, coreProcessSeconds, coreTimes, currentRss, loadAverage, peakRss, treeCpuSeconds } from './procfs.js'
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
  /** Core the peer runs on (P0, the upstream, shares the load core). */
  readonly peerCore: number
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
  const countersBefore = metricsUrl ? await scrape(metricsUrl) : undefined
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
  const countersAfter = metricsUrl ? await scrape(metricsUrl) : undefined
  const ours = coreProcessSeconds(coresBefore, coresAfter).map((_, core) => {
    let s = 0
    if (core === options.peerCore) s += cpuSeconds
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
    ...(countersBefore && countersAfter
      ? {
          gateway: {
            tokenCacheHits: countersAfter.tokenCacheHits - countersBefore.tokenCacheHits,
            tokenCacheMisses: countersAfter.tokenCacheMisses - countersBefore.tokenCacheMisses,
            auditRecords: countersAfter.auditRecords - countersBefore.auditRecords,
            auditSyncs: countersAfter.auditSyncs - countersBefore.auditSyncs,
          },
        }
      : {}),
  }
}

async function scrape(url: string): Promise<GatewayCounters> {
  const text = await (await fetch(url)).text()
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN)
  return {
    tokenCacheHits: value(/^qiao_token_cache_lookups_total\{result="hit"\} (\S+)$/m),
    tokenCacheMisses: value(/^qiao_token_cache_lookups_total\{result="miss"\} (\S+)$/m),
    auditRecords: value(/^qiao_audit_records_total (\S+)$/m),
    auditSyncs: value(/^qiao_audit_syncs_total (\S+)$/m),
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
