import { readFileSync } from 'node:fs'
import { coreSplit, cpuList, MIN_CORES_FOR_SCALING } from '../lib/cores.js'
import { cell, measure, type Sample } from '../lib/measure.js'
import { type PeerHandle, QIAO_DEFAULT_LOG_LEVEL, startQiao } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { stat } from '../lib/stats.js'
import { append, attempt, type BenchRun, log } from './shared.js'

/**
 * `qiao serve` with node:cluster workers (QIAO_WORKERS=N) sharing the port, on the gateway cores of the split that
 * bench/lib/cores.ts makes of --cores (default: every core of the machine): 1, 2, … workers up to one per gateway
 * core, at saturation, 64 connections per worker, wrk with one thread per load core. On two cores that is one worker
 * on one core: the per-worker figure (the primary's CPU included) to set beside the one-process P3; the scaling
 * figure needs at least three cores and is measured wherever the bench runs on that many.
 */

/**
 * With several workers the port opens as soon as the first one listens: waits for the primary's `qiao cluster
 * listening` line (logged at info once every worker is ready, so their start-up is not measured), at most 60 s.
 * Returns the seconds waited and the processes seen then.
 */
async function clusterReady(peer: PeerHandle, workers: number): Promise<{ waited: number; processes: number }> {
  const started = performance.now()
  const deadline = started + 60_000
  while (workers > 1 && !readFileSync(peer.logFile as string, 'utf8').includes('qiao cluster listening')) {
    if (performance.now() > deadline) throw new Error(`workers: ${workers} workers not ready within 60 s`)
    await sleep(100)
  }
  return { waited: (performance.now() - started) / 1000, processes: peer.pids().length }
}

export async function runWorkers(bench: BenchRun): Promise<void> {
  const { opts, profile, ctx, upstream, probeTokens, body, mainCatalog, spec, check, busy, results } = bench
  const split = coreSplit(opts.cores)
  const peerCores = cpuList(split.peer)
  const loadCores = cpuList(split.load)
  log(
    `workers: ${split.total} cores, gateway on ${peerCores}, upstream and wrk on ${loadCores}; ${split.workerCounts.join(', ')} worker(s)`,
  )
  const samples = new Map<number, Sample[]>()
  const startups = new Map<number, number[]>()
  const processes = new Map<number, number>()
  const connectionsPerWorker = profile.connections
  for (let round = 1; round <= profile.rounds; round++) {
    for (const workers of split.workerCounts) {
      log(`workers round ${round}/${profile.rounds}: ${workers} worker(s)`)
      await attempt(`workers round ${round} ${workers}`, async (stage) => {
        const peer = await startQiao(ctx, mainCatalog.file, [], {
          id: 'workers',
          workers,
          cores: peerCores,
          logLevel: QIAO_DEFAULT_LOG_LEVEL,
          // Each worker would answer a scrape with its own counters only: nothing here reads them.
          metrics: false,
        })
        try {
          const { waited, processes: seen } = await clusterReady(peer, workers)
          stage(() => {
            append(startups, workers, peer.startupSeconds + waited)
            processes.set(workers, Math.max(processes.get(workers) ?? 0, seen))
          })
          await probePeer(peer, probeTokens, body, { negatives: false, expectRows: upstream.payloads['1k'].rows })
          const load = {
            connections: connectionsPerWorker * workers,
            cores: loadCores,
            threads: split.load.length,
          }
          const mo = {
            round,
            pids: peer.pids,
            peerCore: split.peer[0] as number,
            peerCores: split.peer,
            loadCorePids: [ctx.upstreamProc.pid],
            loadCore: split.load[0] as number,
          }
          await measure(mo, spec(peer, { ...load, seconds: profile.warmupSeconds }))
          const s = check(`${workers} worker(s)`, await measure({ ...mo, calibrate: true }, spec(peer, load)))
          stage(() => append(samples, workers, s))
          log(
            `  ${workers} worker(s), ${seen} process(es): ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req, ${busy(s)}`,
          )
        } finally {
          await peer.stop()
        }
      })
      await sleep(profile.settleMs)
    }
  }
  results.workers = {
    split,
    scaling: split.peer.length >= 2,
    minCoresForScaling: MIN_CORES_FOR_SCALING,
    logLevel: QIAO_DEFAULT_LOG_LEVEL,
    connectionsPerWorker,
    cells: split.workerCounts.map((workers) => ({
      workers,
      processes: processes.get(workers) ?? 0,
      startupSeconds: stat(startups.get(workers) ?? []),
      ...cell(samples.get(workers) ?? []),
    })),
  }
}
