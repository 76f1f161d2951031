/**
 * How the workers run (bench/sections/workers.ts) splits the machine: cores for the gateway's workers, cores for the
 * upstream and wrk. Per call Qiao costs some 20–40× what the upstream and wrk together do (see the side-by-side
 * table), so the load side needs about one core in four, and never less than one.
 */

export interface CoreSplit {
  /** Cores given to the bench, 0..total-1. */
  readonly total: number
  /** For the gateway's workers (taskset list). */
  readonly peer: readonly number[]
  /** For the upstream and wrk. */
  readonly load: readonly number[]
  /**
   * Worker counts to measure: 1, 2, … up to one per gateway core. With one gateway core, 1 and 2: two workers
   * sharing that core show what the cluster itself costs (primary, two processes), since nothing can scale.
   */
  readonly workerCounts: readonly number[]
}

/** The split for `total` cores (at least 2: the bench never runs the load beside the gateway on one core). */
export function coreSplit(total: number): CoreSplit {
  if (!Number.isInteger(total) || total < 2) throw new Error(`--cores: need at least 2 cores, got ${total}`)
  const loadCount = Math.max(1, Math.ceil(total / 4))
  const load = Array.from({ length: loadCount }, (_, i) => i)
  const peer = Array.from({ length: total - loadCount }, (_, i) => loadCount + i)
  return { total, peer, load, workerCounts: peer.length === 1 ? [1, 2] : peer.map((_, i) => i + 1) }
}

/** Throughput scaling needs a second worker on a core of its own: three cores at least (one for the load). */
export const MIN_CORES_FOR_SCALING = 3

export const cpuList = (cores: readonly number[]) => cores.join(',')
