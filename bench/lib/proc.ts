import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { closeSync, createWriteStream, fstatSync, openSync, readSync, type WriteStream } from 'node:fs'
import { createServer, connect as netConnect } from 'node:net'
import { processTree } from './procfs.js'

/**
 * Child processes of the benchmark: started pinned to a core with taskset, their output kept in a log file, and
 * stopped by pid (never by name). Every process started here is stopped when the benchmark exits, whatever happens.
 */

export interface Started {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Last lines of stdout + stderr, for error messages. */
  tail(): string
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<string>
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
}

const running = new Set<Started>()

export interface StartOptions {
  readonly name: string
  /** Core list for taskset (`0`, `1`); undefined = not pinned. */
  readonly cores?: string
  readonly command: string
  readonly args: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** File that receives stdout and stderr. */
  readonly logFile?: string
  /** Called with each stdout line. */
  readonly onLine?: (line: string) => void
  /**
   * stdout and stderr go straight to `logFile` (no pipe through this process, no onLine): for a peer that logs
   * every call, so that reading its log costs the benchmark process nothing on either core.
   */
  readonly direct?: boolean
}

/** The last lines of a file (from its last 8 KiB), for error messages. */
function fileTail(file: string): string {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const size = fstatSync(fd).size
    const buf = Buffer.alloc(Math.min(8192, size))
    const n = readSync(fd, buf, 0, buf.length, size - buf.length)
    return buf.subarray(0, n).toString('utf8').split('\n').slice(-40).join('\n').trim()
  } catch {
    return ''
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

export function startProcess(options: StartOptions): Started {
  const [command, args] =
    options.cores === undefined
      ? [options.command, [...options.args]]
      : ['taskset', ['-c', options.cores, options.command, ...options.args]]
  const directFd = options.direct && options.logFile ? openSync(options.logFile, 'a') : undefined
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: directFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', directFd, directFd],
  })
  if (directFd !== undefined) closeSync(directFd)
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${command}`)
  const log: WriteStream | undefined =
    options.logFile && directFd === undefined ? createWriteStream(options.logFile) : undefined
  const lines: string[] = []
  let partial = ''
  const keep = (chunk: Buffer, isStdout: boolean) => {
    log?.write(chunk)
    const text = partial + chunk.toString('utf8')
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) {
      lines.push(line)
      if (lines.length > 40) lines.shift()
      if (isStdout) options.onLine?.(line)
    }
  }
  child.stdout?.on('data', (c: Buffer) => keep(c, true))
  child.stderr?.on('data', (c: Buffer) => keep(c, false))
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      log?.end()
      resolve(signal ?? String(code))
    })
  })
  let done = false
  void exited.then(() => {
    done = true
    running.delete(started)
  })
  const started: Started = {
    name: options.name,
    pid: child.pid,
    child,
    exited,
    tail: () =>
      directFd !== undefined && options.logFile ? fileTail(options.logFile) : [...lines, partial].join('\n').trim(),
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      if (done) return
      const tree = processTree(child.pid as number).slice(1)
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
      // Children a killed parent left behind (an nginx worker whose master died).
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // gone with its parent, as it should be
        }
      }
    },
  }
  running.add(started)
  return started
}

/** Stops every process still running (used on exit and on errors). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGTERM', 3_000)))
}

/** Synchronous last resort for process exit handlers: every process started here and its descendants. */
export function killAllSync(): void {
  for (const p of running) {
    for (const pid of processTree(p.pid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
}

/** Runs a command to completion; throws with its output on a non-zero exit. */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: options.env ?? process.env, maxBuffer: 1 << 28 })
  if (result.error) throw new Error(`${command}: ${result.error.message}`)
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`)
  }
  return `${result.stdout}${result.stderr}`
}

/** Runs a command and returns stdout + stderr, or undefined if it cannot run. */
export function tryRun(command: string, args: readonly string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  if (result.error || result.status !== 0) return undefined
  return `${result.stdout}${result.stderr}`
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** A TCP port that is free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until something accepts TCP connections on the port, or the process dies, or the timeout passes. */
export async function waitForPort(proc: Started, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exitedWith: string | undefined
  void proc.exited.then((code) => {
    exitedWith = code
  })
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) {
      throw new Error(`${proc.name} exited (${exitedWith}) before listening on ${port}:\n${proc.tail()}`)
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    await sleep(50)
  }
  throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.tail()}`)
}
