import { change, fmt, pct, range, table } from './format.js'
import type { Cell } from './measure.js'
import type { Stat } from './stats.js'
import { HELPER_THREADS } from './threads.js'

/**
 * Audit work off the request thread (bench/sections/offload.ts): the same gateway with its audit log's work inline on
 * one core (as P3) and in its own threads on the other core (as on a host with two or more cores), per call.
 */

export type OffloadVariant = 'inline' | 'threads'

export interface OffloadCell extends Cell {
  readonly variant: OffloadVariant
  /** CPU per call of the gateway's main thread: the request thread, whose core bounds the throughput. */
  readonly requestThreadUs: Stat
  /** CPU per call of the other threads, by name (medians over rounds). */
  readonly otherThreadsUs: Readonly<Record<string, number>>
}

export interface OffloadResult {
  readonly logLevel: string
  readonly cells: readonly OffloadCell[]
}

/** Both variants, when both were measured. */
function measuredPair(o: OffloadResult): { inline: OffloadCell; threads: OffloadCell } | undefined {
  const measured = (variant: OffloadVariant) => o.cells.find((c) => c.variant === variant && c.samples.length > 0)
  const inline = measured('inline')
  const threads = measured('threads')
  return inline && threads ? { inline, threads } : undefined
}

/** One sentence for the CPU target's note: what the request thread pays with and without the threads. */
export function offloadSummary(o: OffloadResult): string | undefined {
  const pair = measuredPair(o)
  if (!pair) return undefined
  const { inline, threads } = pair
  const ratio = threads.requestThreadUs.median / inline.requestThreadUs.median
  return `with the audit log's threads on a second core the request thread pays ${fmt(threads.requestThreadUs.median)} µs per call against ${fmt(inline.requestThreadUs.median)} µs inline (${change(ratio)})`
}

export function renderOffload(o: OffloadResult, haproxy: Cell | undefined): string[] {
  const out: string[] = []
  out.push('### Audit work off the request thread (measured next step)')
  out.push('')
  out.push(
    `P3 runs on one core, so its audit log serialises, hashes and indexes every batch on the request thread (the log's default when the process may use one CPU). On two or more cores the log does that in its hashing and index threads. The same gateway (log level ${o.logLevel}) both ways, in turn each round: **inline**, all of it on core 1, as P3; **threads**, started on both cores (so that the log starts its threads), then its main thread pinned to core 1 and every other thread (hashing, index, libuv's pool, V8's helpers) to core 0, beside the upstream and wrk. Saturation, 64 connections. CPU per call from /proc: of the process, of the main thread (the request thread: its core bounds the throughput), and of the other threads by name (\`node\` is libuv's pool, which writes and fdatasyncs, and V8's helpers).`,
  )
  out.push('')
  out.push(
    table(
      [
        'Variant',
        'Throughput req/s',
        'CPU µs/call (process)',
        'Request thread µs/call',
        'Other threads µs/call: hashing / index / libuv + V8',
        'Cores busy 0 / 1',
      ],
      o.cells.map((c) => [
        c.variant,
        range(c.rps),
        range(c.cpuUsPerRequest),
        range(c.requestThreadUs),
        HELPER_THREADS.map((name) =>
          c.otherThreadsUs[name] === undefined ? '—' : fmt(c.otherThreadsUs[name], 1),
        ).join(' / '),
        `${pct(c.core0Busy.median)} / ${pct(c.core1Busy.median)}`,
      ]),
    ),
  )
  out.push('')
  const pair = measuredPair(o)
  const summary = offloadSummary(o)
  if (pair && summary) {
    const { inline, threads } = pair
    const perCore = 1e6 / threads.requestThreadUs.median
    const vsHaproxy = haproxy ? `, ${fmt(perCore / haproxy.rps.median, 2)} × P2's ${fmt(haproxy.rps.median)} req/s` : ''
    out.push(
      `So ${summary}; throughput ${fmt(threads.rps.median)} against ${fmt(inline.rps.median)} req/s (${change(threads.rps.median / inline.rps.median)}), the process's CPU per call ${fmt(threads.cpuUsPerRequest.median)} against ${fmt(inline.cpuUsPerRequest.median)} µs. A request thread with a core of its own at that cost would serve about ${fmt(perCore)} calls/s (1 s ÷ its CPU per call${vsHaproxy}) — an upper bound, reached only while the other core keeps up with the helpers.`,
    )
    out.push('')
  }
  return out
}
