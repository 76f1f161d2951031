import { fileURLToPath } from 'node:url'
import { startProcess } from './proc.js'
import { clockTicks } from './procfs.js'
import { exitAfterOutput, type RawWrkResult, RESULT_PREFIX, readWrkOutcome, WrkRunError } from './wrk-result.js'

/**
 * Load generation with wrk (C, one thread unless told otherwise, pinned to the load core beside the upstream). Closed loop for saturation;
 * paced by a wall-clock schedule in the Lua script for fixed rates, so wrk's microsecond latency histogram is used
 * in both modes.
 */

const SCRIPT = fileURLToPath(new URL('./bench.lua', import.meta.url))

export interface LoadSpec {
  readonly url: string
  readonly body: string
  /** Extra request headers (Qiao-Matter, Qiao-Case …). */
  readonly headers: Readonly<Record<string, string>>
  /** One token for every request… */
  readonly token?: string
  /** …or a file of tokens used round-robin. */
  readonly tokensFile?: string
  readonly connections: number
  readonly seconds: number
  /** Requests/s in total; undefined = closed loop (saturation). */
  readonly rate?: number
  /** Core list for wrk. */
  readonly cores: string
  /** wrk threads (default 1; the workers run gives it one per load core). Closed loop only: bench.lua paces each
   * thread at the whole rate. */
  readonly threads?: number
  readonly timeoutSeconds?: number
}

export interface LoadResult {
  readonly requests: number
  readonly seconds: number
  readonly rps: number
  readonly bytes: number
  readonly errors: RawWrkResult['errors']
  readonly errorCount: number
  readonly latencyUs: RawWrkResult['latencyUs']
  /** Times the token file was used up and started again. */
  readonly wraps: number
  /** Paced runs: schedule resets because the peer fell more than 20 ms behind. */
  readonly lateResets: number
  /** CPU time of wrk itself (s). */
  readonly wrkCpuSeconds: number
}

export async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  if (spec.rate && (spec.threads ?? 1) > 1) throw new Error('wrk: a paced run takes one thread (bench.lua)')
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    BENCH_PATH: new URL(spec.url).pathname,
    BENCH_BODY: spec.body,
    BENCH_HEADERS: Object.entries(spec.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
    BENCH_TOKEN: spec.token ?? '',
    BENCH_TOKENS: spec.tokensFile ?? '',
    BENCH_RATE: String(spec.rate ?? 0),
  }
  const url = new URL(spec.url)
  const args = [
    `-t${spec.threads ?? 1}`,
    `-c${spec.connections}`,
    `-d${Math.max(1, Math.round(spec.seconds))}s`,
    `--timeout`,
    `${spec.timeoutSeconds ?? 10}s`,
    '-s',
    SCRIPT,
    `${url.protocol}//${url.host}${url.pathname}`,
  ]
  let line: string | undefined
  let wrkCpuSeconds = 0
  // Through sh, so wrk's own CPU time can be read from the shell's cutime/cstime once wrk has been reaped.
  const proc = startProcess({
    name: 'wrk',
    cores: spec.cores,
    command: 'sh',
    args: ['-c', 'wrk "$@"; rc=$?; echo "WRK_SELF $(cat /proc/$$/stat)"; exit $rc', 'sh', ...args],
    env,
    onLine: (l) => {
      if (l.startsWith(RESULT_PREFIX)) line = l.slice(RESULT_PREFIX.length)
      if (l.startsWith('WRK_SELF ')) {
        // Fields after the command name: cutime and cstime are fields 16 and 17, i.e. indexes 13 and 14.
        const fields = l.slice(l.lastIndexOf(')') + 2).split(' ')
        wrkCpuSeconds = (Number(fields[13]) + Number(fields[14])) / clockTicks()
      }
    },
  })
  const code = await exitAfterOutput(proc)
  const outcome = readWrkOutcome(code, line)
  // The cell decides whether to measure again (bench/sections/shared.ts attempt()): the CPU it counted around this
  // run includes the failed one.
  if (!outcome.ok) throw new WrkRunError(outcome.kind, outcome.summary, proc.tail())
  const { raw } = outcome
  const seconds = raw.durationUs / 1e6
  const e = raw.errors
  return {
    requests: raw.requests,
    seconds,
    rps: raw.requests / seconds,
    bytes: raw.bytes,
    errors: e,
    errorCount: e.connect + e.read + e.write + e.status + e.timeout,
    latencyUs: raw.latencyUs,
    wraps: raw.wraps,
    lateResets: raw.lateResets,
    wrkCpuSeconds,
  }
}
