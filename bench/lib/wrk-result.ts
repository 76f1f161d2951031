import { finished } from 'node:stream/promises'
import type { Started } from './proc.js'

/**
 * What one wrk run left behind, decided without wrk: its parsed result, or why there is none; and whether a failed
 * cell is worth measuring again. Pure functions, so the decisions are tested without running wrk.
 */

/** The line bench.lua's done() prints, after `BENCH_RESULT `. */
export interface RawWrkResult {
  readonly requests: number
  readonly durationUs: number
  readonly bytes: number
  readonly errors: {
    readonly connect: number
    readonly read: number
    readonly write: number
    readonly status: number
    readonly timeout: number
  }
  readonly latencyUs: {
    readonly mean: number
    readonly stdev: number
    readonly max: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly p999: number
  }
  readonly wraps: number
  readonly lateResets: number
}

export const RESULT_PREFIX = 'BENCH_RESULT '

/** no-result-line and unparsable-result: wrk ran but its report got lost or garbled — worth another try. */
export type WrkFailureKind = 'exit-status' | 'no-result-line' | 'unparsable-result'

export type WrkOutcome =
  | { readonly ok: true; readonly raw: RawWrkResult }
  | { readonly ok: false; readonly kind: WrkFailureKind; readonly summary: string }

/** A wrk run without a usable result. The message's first line is the summary, wrk's output tail follows. */
export class WrkRunError extends Error {
  override readonly name = 'WrkRunError'
  constructor(
    readonly kind: WrkFailureKind,
    readonly summary: string,
    outputTail: string,
  ) {
    super(outputTail.trim() === '' ? summary : `${summary}\n${outputTail}`)
  }
}

const ERROR_FIELDS = ['connect', 'read', 'write', 'status', 'timeout'] as const
const LATENCY_FIELDS = ['mean', 'stdev', 'max', 'p50', 'p90', 'p99', 'p999'] as const
const COUNT_FIELDS = ['requests', 'bytes', 'wraps', 'lateResets'] as const

const count = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0

function isRawResult(v: unknown): v is RawWrkResult {
  if (typeof v !== 'object' || v === null) return false
  const r = v as Record<string, unknown>
  const errors = r.errors as Record<string, unknown> | undefined
  const latency = r.latencyUs as Record<string, unknown> | undefined
  return (
    COUNT_FIELDS.every((f) => count(r[f])) &&
    // A run of no duration would give an infinite rate.
    count(r.durationUs) &&
    (r.durationUs as number) > 0 &&
    typeof errors === 'object' &&
    errors !== null &&
    ERROR_FIELDS.every((f) => count(errors[f])) &&
    typeof latency === 'object' &&
    latency !== null &&
    LATENCY_FIELDS.every((f) => count(latency[f]))
  )
}

/** Decides a finished wrk run from its exit (code or signal name) and its BENCH_RESULT line, if one came. */
export function readWrkOutcome(exit: string, resultLine: string | undefined): WrkOutcome {
  if (exit !== '0') return { ok: false, kind: 'exit-status', summary: `wrk failed (exit ${exit})` }
  if (resultLine === undefined) {
    return { ok: false, kind: 'no-result-line', summary: 'wrk exited 0 without its BENCH_RESULT line' }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(resultLine)
  } catch {
    return { ok: false, kind: 'unparsable-result', summary: 'wrk printed a BENCH_RESULT line that is not JSON' }
  }
  if (!isRawResult(parsed)) {
    return { ok: false, kind: 'unparsable-result', summary: 'wrk printed a BENCH_RESULT line without its figures' }
  }
  return { ok: true, raw: parsed }
}

/** Attempts of one cell: a lost wrk report gets two more (it says nothing of the peer); any other failure one. */
export const WRK_REPORT_ATTEMPTS = 3
export const OTHER_ATTEMPTS = 2

export interface RetryDecision {
  readonly retry: boolean
  /** The error's first line, short enough for the results' notes. */
  readonly reason: string
}

/** Whether a cell that failed on its `attempt`-th try (1-based) is measured again. */
export function retryDecision(error: unknown, attempt: number): RetryDecision {
  const lostReport = error instanceof WrkRunError && error.kind !== 'exit-status'
  const allowed = lostReport ? WRK_REPORT_ATTEMPTS : OTHER_ATTEMPTS
  return { retry: attempt < allowed, reason: shortReason(error) }
}

/** First line of an error's message, at most 200 characters: what notes and logs carry, never an output tail. */
export function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const first = (message.split('\n')[0] ?? '').trim() || 'unknown error'
  return first.length > 200 ? `${first.slice(0, 199)}…` : first
}

/**
 * Resolves with a process's exit once its stdout and stderr have been read to the end too: Node may report the
 * exit of a child before the last of its output has been read, and a result printed just before exiting would be
 * missed. Bounded, in case something else holds the pipes open. Call it right after starting the process.
 */
export function exitAfterOutput(proc: Started, graceMs = 5_000): Promise<string> {
  const streams = [proc.child.stdout, proc.child.stderr].filter((s) => s !== null)
  const drained = Promise.all(streams.map((s) => finished(s).catch(() => undefined)))
  return proc.exited.then(async (code) => {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
    return code
  })
}
