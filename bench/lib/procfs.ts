import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * /proc sampling: CPU time of a process tree (utime + stime, all threads), peak and current RSS, and per-core busy
 * time from /proc/stat. Linux only, as the whole benchmark.
 */

let ticksPerSecond: number | undefined

/** Clock ticks per second (USER_HZ), almost always 100. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

function readStat(pid: number): string[] | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')')
  return text
    .slice(close + 2)
    .trim()
    .split(' ')
}

/** utime + stime of one process (all its threads), in seconds; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  const fields = readStat(pid)
  if (!fields) return 0
  // After the command: field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks()
}

/** The process and all its descendants (nginx master + worker). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fields = readStat(Number(entry))
    if (!fields) continue
    const ppid = Number(fields[1])
    const list = children.get(ppid) ?? []
    list.push(Number(entry))
    children.set(ppid, list)
  }
  const out: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    out.push(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return out
}

export function treeCpuSeconds(pids: readonly number[]): number {
  let total = 0
  for (const pid of pids) total += processCpuSeconds(pid)
  return total
}

function statusField(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Peak resident set size (VmHWM) in bytes, summed over the processes. */
export function peakRss(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0)
}

/** Current resident set size (VmRSS) in bytes, summed over the processes. */
export function currentRss(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0)
}

export interface CoreTimes {
  /** Per core: [busy ticks, total ticks, process ticks (user + nice + system)]. */
  readonly cores: ReadonlyArray<readonly [number, number, number]>
}

export function coreTimes(): CoreTimes {
  const cores: Array<readonly [number, number, number]> = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (!match) continue
    const v = (match[2] as string).split(/\s+/).map(Number)
    // user nice system idle iowait irq softirq steal (guest is already counted in user)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
    cores[Number(match[1])] = [total - idle, total, (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0)]
  }
  return { cores }
}

/** Busy share (0..1) of each core between two samples. */
export function coreBusy(before: CoreTimes, after: CoreTimes): number[] {
  return after.cores.map((a, i) => {
    const b = before.cores[i] ?? [0, 0, 0]
    const total = a[1] - b[1]
    return total > 0 ? (a[0] - b[0]) / total : 0
  })
}

/** Time spent in processes (user + nice + system, no interrupts) on each core between two samples, seconds. */
export function coreProcessSeconds(before: CoreTimes, after: CoreTimes): number[] {
  return after.cores.map((a, i) => (a[2] - (before.cores[i]?.[2] ?? 0)) / clockTicks())
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number)
  return [a ?? 0, b ?? 0, c ?? 0]
}
