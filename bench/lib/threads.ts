import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * Threads of a process from /proc (Linux): CPU time per thread (`/proc/<pid>/task/<tid>/schedstat`, ns on CPU; Node 20
 * has no process.threadCpuUsage) with the thread's name (`comm`: `qiao-audit-hash`, `qiao-audit-idx`, `node` for
 * libuv's pool and V8's helpers), and moving threads between cores (taskset -p per tid).
 */

/** The gateway's helper threads as the bench reports them: audit hashing, audit index, the rest (libuv, V8). */
export const HELPER_THREADS = ['qiao-audit-hash', 'qiao-audit-idx', 'node'] as const

export interface ThreadTime {
  readonly name: string
  readonly ns: number
}

/** ns on CPU of each thread of `pid`, by tid. */
export function threadCpuNs(pid: number = process.pid): Map<number, ThreadTime> {
  const out = new Map<number, ThreadTime>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out // the process has ended
  }
  for (const tid of tids) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      out.set(Number(tid), { name, ns })
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out
}

/** CPU between two readings, in µs per `unit` (a call, a record): the main thread (tid = pid) and the rest by name. */
export function threadCpuPer(
  pid: number,
  before: ReadonlyMap<number, ThreadTime>,
  after: ReadonlyMap<number, ThreadTime>,
  units: number,
): { main: number; others: Record<string, number> } {
  const others: Record<string, number> = {}
  let main = 0
  if (units <= 0) return { main, others }
  for (const [tid, t] of after) {
    const us = (t.ns - (before.get(tid)?.ns ?? 0)) / 1000 / units
    if (tid === pid) main = us
    else others[t.name] = (others[t.name] ?? 0) + us
  }
  return { main, others }
}

/** Moves the threads of `pid` that `which` picks to `cores` (a taskset list); returns how many were moved. */
export function pinThreads(pid: number, cores: string, which: (tid: number, name: string) => boolean): number {
  let moved = 0
  for (const [tid, t] of threadCpuNs(pid)) {
    if (!which(tid, t.name)) continue
    const r = spawnSync('taskset', ['-p', '-c', cores, String(tid)], { encoding: 'utf8' })
    // A thread that ended meanwhile cannot be moved; any other refusal is a broken measurement.
    if (r.status !== 0 && threadCpuNs(pid).has(tid))
      throw new Error(`taskset of thread ${t.name} (${tid}) failed: ${r.stderr}`)
    moved++
  }
  return moved
}
