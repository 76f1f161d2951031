import { cell, measure, type Sample } from '../lib/measure.js'
import type { OffloadCell, OffloadVariant } from '../lib/offload-report.js'
import { QIAO_DEFAULT_LOG_LEVEL, startQiao } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { stat } from '../lib/stats.js'
import { pinThreads, threadCpuNs, threadCpuPer } from '../lib/threads.js'
import { attempt, type BenchRun, LOAD_CORES, log, PEER_CORES } from './shared.js'

/**
 * The audit log's work inline (one core, as P3) against in its own threads on the other core (as on a host with two
 * or more cores): per call, the request thread's CPU, the other threads' and the process's (bench/lib/offload-report.ts).
 */

interface Measured {
  readonly sample: Sample
  readonly requestThreadUs: number
  readonly others: Record<string, number>
}

async function measureVariant(bench: BenchRun, round: number, variant: OffloadVariant): Promise<Measured> {
  const { ctx, mainCatalog, probeTokens, body, upstream, spec, mo, check, profile } = bench
  const peer = await startQiao(ctx, mainCatalog.file, [], {
    logLevel: QIAO_DEFAULT_LOG_LEVEL,
    // Both cores at start, so that the log sees two CPUs and starts its threads; moved apart below.
    ...(variant === 'threads' ? { cores: `${LOAD_CORES},${PEER_CORES}` } : {}),
  })
  try {
    const [pid] = peer.pids()
    if (pid === undefined) throw new Error('offload: the gateway has no process')
    await probePeer(peer, probeTokens, body, { negatives: false, expectRows: upstream.payloads['1k'].rows })
    await measure(mo(round, peer), spec(peer, { seconds: profile.warmupSeconds }))
    if (variant === 'threads') {
      // Every thread exists after the warm-up (the pool's and the log's start lazily at the latest by then).
      pinThreads(pid, PEER_CORES, (tid) => tid === pid)
      const moved = pinThreads(pid, LOAD_CORES, (tid) => tid !== pid)
      const names = new Set([...threadCpuNs(pid).values()].map((t) => t.name))
      if (!names.has('qiao-audit-hash')) throw new Error('offload: the gateway started no audit hashing thread')
      log(`  threads: main thread on core ${PEER_CORES}, ${moved} others on core ${LOAD_CORES}`)
    }
    const before = threadCpuNs(pid)
    const sample = check(`offload ${variant}`, await measure({ ...mo(round, peer), calibrate: true }, spec(peer, {})))
    const per = threadCpuPer(pid, before, threadCpuNs(pid), sample.load.requests)
    return { sample, requestThreadUs: per.main, others: per.others }
  } finally {
    await peer.stop()
  }
}

export async function runOffload(bench: BenchRun): Promise<void> {
  const { profile, results } = bench
  const measured = new Map<OffloadVariant, Measured[]>([
    ['inline', []],
    ['threads', []],
  ])
  for (let round = 1; round <= profile.rounds; round++) {
    // Alternating which goes first, so that a drift of the machine within a round falls on both.
    const order: OffloadVariant[] = round % 2 === 1 ? ['inline', 'threads'] : ['threads', 'inline']
    for (const variant of order) {
      log(`offload round ${round}/${profile.rounds}: ${variant}`)
      await attempt(`offload round ${round} ${variant}`, async (stage) => {
        const m = await measureVariant(bench, round, variant)
        stage(() => measured.get(variant)?.push(m))
        const others = Object.entries(m.others)
          .map(([name, us]) => `${name} ${us.toFixed(1)}`)
          .join(', ')
        log(
          `  ${m.sample.load.rps.toFixed(0)} req/s, ${m.sample.cpuUsPerRequest.toFixed(0)} µs CPU/call, request thread ${m.requestThreadUs.toFixed(0)} µs (${others})`,
        )
      })
      await sleep(profile.settleMs)
    }
  }
  results.offload = {
    logLevel: QIAO_DEFAULT_LOG_LEVEL,
    cells: [...measured].map(([variant, ms]): OffloadCell => {
      const names = new Set(ms.flatMap((m) => Object.keys(m.others)))
      const otherThreadsUs: Record<string, number> = {}
      for (const name of names) otherThreadsUs[name] = stat(ms.map((m) => m.others[name] ?? 0)).median
      return {
        ...cell(ms.map((m) => m.sample)),
        variant,
        requestThreadUs: stat(ms.map((m) => m.requestThreadUs)),
        otherThreadsUs,
      }
    }),
  }
}
