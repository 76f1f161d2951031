import type { Clock } from '../../../kernel/clock.js'
import type { AuditBackend } from '../backend.js'
import type { SignedCheckpoint } from '../checkpoint.js'
import type { TsaPolicy } from './policy.js'
import { checkpointImprint } from './token.js'

/**
 * Timestamps signed checkpoints off the append path: a checkpoint is signed and stored first, then queued here; one
 * request at a time, oldest first, retried with backoff while the TSA fails. At start the backlog (stored
 * checkpoints without a token) is queued again, so a restart while the TSA was down catches up in order.
 */
export type TimestampingState = 'ok' | 'behind' | 'refusing'

export interface TimestampingStatus {
  readonly state: TimestampingState
  /** ISO time of the oldest checkpoint still waiting for its token, while behind or refusing. */
  readonly behindSince?: string
  readonly backlog: number
  readonly policy: TsaPolicy
}

export interface Timestamper {
  /** Queues a checkpoint just signed and stored (the audit log's hook). */
  enqueue(checkpoint: SignedCheckpoint): void
  /** Queues the stored backlog and starts; resolves once the backlog is known (not timestamped). */
  start(): Promise<void>
  status(): TimestampingStatus
  /** Requests by outcome since start (`granted`, `failed`). */
  readonly requests: { readonly granted: number; readonly failed: number }
  /** Waits (at most `timeoutMs`) for the queue to empty, then stops: used before the store closes. */
  drain(timeoutMs: number): Promise<void>
}

export interface TimestamperOptions {
  readonly backend: Pick<AuditBackend, 'checkpoints' | 'timestamps' | 'storeTimestamp'>
  readonly logId: string
  readonly clock: Clock
  readonly policy: TsaPolicy
  readonly request: (jws: string) => Promise<Uint8Array>
  readonly onEvent?: (event: { level: 'info' | 'warn' | 'error'; msg: string; detail?: object }) => void
  readonly firstRetryMs?: number
  readonly maxRetryMs?: number
}

export function createTimestamper(options: TimestamperOptions): Timestamper {
  const firstRetryMs = options.firstRetryMs ?? 500
  const maxRetryMs = options.maxRetryMs ?? 5_000
  const queue: SignedCheckpoint[] = []
  const queued = new Set<string>()
  const requests = { granted: 0, failed: 0 }
  let failing = false
  let running = false
  let stopped = false
  let retryDelayMs = firstRetryMs
  let wake: (() => void) | undefined
  let retryTimer: NodeJS.Timeout | undefined
  const emptied: Array<() => void> = []

  function enqueue(checkpoint: SignedCheckpoint): void {
    const key = checkpointImprint(checkpoint.jws).toString('hex')
    if (stopped || queued.has(key)) return
    queued.add(key)
    queue.push(checkpoint)
    void pump()
  }

  async function pump(): Promise<void> {
    if (running) return
    running = true
    try {
      while (queue.length > 0 && !stopped) {
        const next = queue[0] as SignedCheckpoint
        try {
          const token = await options.request(next.jws)
          await options.backend.storeTimestamp(options.logId, next.jws, token)
          requests.granted++
          queue.splice(queue.indexOf(next), 1)
          queued.delete(checkpointImprint(next.jws).toString('hex'))
          if (failing)
            options.onEvent?.({ level: 'info', msg: 'audit timestamping resumed', detail: { backlog: queue.length } })
          failing = false
          retryDelayMs = firstRetryMs
        } catch (err) {
          requests.failed++
          if (!failing) {
            options.onEvent?.({
              level: 'warn',
              msg: 'audit checkpoint not timestamped; retrying',
              detail: { error: (err as Error).message },
            })
          }
          failing = true
          await new Promise<void>((resolve) => {
            wake = resolve
            retryTimer = setTimeout(resolve, retryDelayMs)
            retryTimer.unref()
          })
          retryDelayMs = Math.min(retryDelayMs * 2, maxRetryMs)
        }
      }
    } finally {
      running = false
      if (queue.length === 0 || stopped) for (const done of emptied.splice(0)) done()
    }
  }

  return {
    enqueue,
    requests,
    async start() {
      const [checkpoints, tokens] = await Promise.all([
        options.backend.checkpoints({ logId: options.logId }),
        options.backend.timestamps(options.logId),
      ])
      const backlog = checkpoints.filter((cp) => !tokens.has(checkpointImprint(cp.jws).toString('hex')))
      if (backlog.length > 0) {
        options.onEvent?.({
          level: 'info',
          msg: 'audit checkpoints without a timestamp queued',
          detail: { backlog: backlog.length },
        })
      }
      // Ahead of anything signed meanwhile: the backlog is older.
      const older = backlog.filter((cp) => !queued.has(checkpointImprint(cp.jws).toString('hex')))
      for (const cp of older) queued.add(checkpointImprint(cp.jws).toString('hex'))
      queue.splice(running ? 1 : 0, 0, ...older)
      void pump()
    },
    status() {
      const oldest = queue[0]
      const since = oldest ? Date.parse(oldest.body.time) : undefined
      const refusing =
        options.policy.kind === 'refuse-after' &&
        since !== undefined &&
        options.clock.now() - since >= options.policy.afterMs
      const behind = failing && since !== undefined
      return {
        state: refusing ? 'refusing' : behind ? 'behind' : 'ok',
        ...(refusing || behind ? { behindSince: oldest?.body.time } : {}),
        backlog: queue.length,
        policy: options.policy,
      }
    },
    async drain(timeoutMs) {
      if (queue.length > 0) {
        // Retry now rather than after the backoff: the store is about to close.
        clearTimeout(retryTimer)
        wake?.()
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs)
          timer.unref()
          emptied.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      stopped = true
      clearTimeout(retryTimer)
      wake?.()
    },
  }
}
