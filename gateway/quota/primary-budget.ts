import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import type { QuotaLimiter, QuotaStore, QuotaStoreLog, QuotaStoreStats } from './store.js'

/**
 * Quota counters held by the primary of `qiao serve --workers N` when there is no Redis (QIAO_QUOTA_REDIS_URL), so
 * that the workers of one gateway share one budget instead of N: each worker's limiter asks the primary over the
 * cluster's IPC channel, and the primary counts in its own memory (rate-limiter-flexible's RateLimiterMemory, as a
 * single process does). The counts outlive a worker's restart, since they live in the primary.
 *
 * rate-limiter-flexible has a cluster limiter of its own (RateLimiterCluster); it is not used because its primary
 * keeps a limiter per key prefix only, so a catalog reload that changes a quota's limit would go on counting against
 * the old one, and a late answer rejects with a bare Error that would fail the call. Here a limiter is identified by
 * (quota id, points, duration), as in a single process (store.ts `reusing`), and a primary that does not answer in
 * time is handled like an unreachable Redis: the worker counts in its own memory meanwhile (`stats.fallbacks`, one
 * warning), and the shared counts take over again with the next answer.
 */

/** The bucket a limiter counts: points per duration (seconds), under a quota id. */
export interface BudgetLimiter {
  readonly name: string
  readonly points: number
  readonly duration: number
}

export type BudgetOperation = 'consume' | 'reward' | 'get'

/** Worker → primary: one operation on one counter. */
export interface BudgetRequest {
  readonly type: 'qiao:quota'
  readonly id: number
  readonly op: BudgetOperation
  readonly limiter: BudgetLimiter
  readonly key: string
}

/** A RateLimiterRes as plain data (the class keeps its fields behind accessors, which JSON does not carry). */
export interface BudgetResult {
  readonly remainingPoints: number
  readonly msBeforeNext: number
  readonly consumedPoints: number
  readonly isFirstInDuration: boolean
}

/** Primary → worker: `resolved` / `rejected` as the limiter's promise settled (rejected = the bucket is empty). */
export interface BudgetAnswer {
  readonly type: 'qiao:quota-answer'
  readonly id: number
  readonly outcome: 'resolved' | 'rejected' | 'failed'
  readonly result: BudgetResult | null
}

/** How long a worker waits for the primary before it counts in its own memory. The primary is on the same host. */
export const BUDGET_ANSWER_TIMEOUT_MS = 1_000

export function isBudgetRequest(message: unknown): message is BudgetRequest {
  const m = message as Partial<BudgetRequest> | null
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === 'qiao:quota' &&
    typeof m.id === 'number' &&
    (m.op === 'consume' || m.op === 'reward' || m.op === 'get') &&
    typeof m.key === 'string' &&
    typeof m.limiter?.name === 'string' &&
    Number.isInteger(m.limiter.points) &&
    Number.isInteger(m.limiter.duration)
  )
}

export function isBudgetAnswer(message: unknown): message is BudgetAnswer {
  const m = message as Partial<BudgetAnswer> | null
  return typeof m === 'object' && m !== null && m.type === 'qiao:quota-answer' && typeof m.id === 'number'
}

function plain(res: RateLimiterRes): BudgetResult {
  return {
    remainingPoints: res.remainingPoints,
    msBeforeNext: res.msBeforeNext,
    consumedPoints: res.consumedPoints,
    isFirstInDuration: res.isFirstInDuration,
  }
}

function revived(result: BudgetResult): RateLimiterRes {
  return new RateLimiterRes(
    result.remainingPoints,
    result.msBeforeNext,
    result.consumedPoints,
    result.isFirstInDuration,
  )
}

const limiterKey = (l: BudgetLimiter) => `${l.name}\u0000${l.points}\u0000${l.duration}`

/** The primary's side: the counters, answering each worker's request. */
export interface QuotaBudget {
  answer(request: BudgetRequest): Promise<BudgetAnswer>
}

export function createQuotaBudget(): QuotaBudget {
  const limiters = new Map<string, RateLimiterMemory>()
  const limiterFor = (spec: BudgetLimiter) => {
    const key = limiterKey(spec)
    let limiter = limiters.get(key)
    if (limiter === undefined) {
      limiter = new RateLimiterMemory({ keyPrefix: spec.name, points: spec.points, duration: spec.duration })
      limiters.set(key, limiter)
    }
    return limiter
  }
  return {
    async answer(request) {
      const limiter = limiterFor(request.limiter)
      const base = { type: 'qiao:quota-answer', id: request.id } as const
      try {
        const res =
          request.op === 'consume'
            ? await limiter.consume(request.key)
            : request.op === 'reward'
              ? await limiter.reward(request.key)
              : await limiter.get(request.key)
        return { ...base, outcome: 'resolved', result: res === null ? null : plain(res) }
      } catch (err) {
        if (err instanceof RateLimiterRes) return { ...base, outcome: 'rejected', result: plain(err) }
        return { ...base, outcome: 'failed', result: null }
      }
    },
  }
}

/** The worker's way to the primary: the cluster IPC channel (or, in tests, a pair of functions). */
export interface BudgetChannel {
  /** False when the message could not be handed over (the channel is closed). */
  send(request: BudgetRequest): boolean
  /** Registers the handler of the primary's answers (once). */
  onAnswer(handler: (answer: BudgetAnswer) => void): void
}

export interface BudgetStoreOptions {
  readonly log?: QuotaStoreLog
  readonly timeoutMs?: number
}

/** The worker's side: a QuotaStore whose counters are the primary's. */
export function primaryBudgetStore(channel: BudgetChannel, options: BudgetStoreOptions = {}): QuotaStore {
  const timeoutMs = options.timeoutMs ?? BUDGET_ANSWER_TIMEOUT_MS
  const stats: QuotaStoreStats = { fallbacks: 0, redisErrors: 0 }
  const pending = new Map<number, { settle: (answer: BudgetAnswer | undefined) => void }>()
  let nextId = 1
  let degraded = false
  channel.onAnswer((answer) => pending.get(answer.id)?.settle(answer))

  const ask = (request: Omit<BudgetRequest, 'type' | 'id'>): Promise<BudgetAnswer | undefined> =>
    new Promise((resolve) => {
      const id = nextId++
      const timer = setTimeout(() => settle(undefined), timeoutMs)
      timer.unref()
      const settle = (answer: BudgetAnswer | undefined) => {
        if (!pending.delete(id)) return
        clearTimeout(timer)
        resolve(answer)
      }
      pending.set(id, { settle })
      if (!channel.send({ type: 'qiao:quota', id, ...request })) settle(undefined)
    })

  const fallBack = (reason: string) => {
    stats.fallbacks++
    if (degraded) return
    degraded = true
    options.log?.warn(
      { quotaStore: 'primary', reason },
      'quota budget of the primary unreachable: quotas are counted in this worker’s memory until it answers',
    )
  }
  const recovered = () => {
    if (!degraded) return
    degraded = false
    options.log?.info({ quotaStore: 'primary' }, 'quota budget of the primary answers again: quotas are shared again')
  }

  const made = new Map<string, QuotaLimiter>()
  const limiter = (name: string, points: number, duration: number): QuotaLimiter => {
    const spec: BudgetLimiter = { name, points, duration }
    const key = limiterKey(spec)
    const existing = made.get(key)
    if (existing !== undefined) return existing
    // What this worker counts while the primary does not answer: the whole budget, as a Redis outage gives.
    const local = new RateLimiterMemory({ keyPrefix: name, points, duration })
    const run = async (op: BudgetOperation, key: string, locally: () => Promise<RateLimiterRes | null>) => {
      const answer = await ask({ op, limiter: spec, key })
      if (answer === undefined || answer.outcome === 'failed') {
        fallBack(answer === undefined ? 'no answer in time' : 'the primary failed the operation')
        return locally()
      }
      recovered()
      if (answer.outcome === 'rejected') throw revived(answer.result ?? emptyBucket)
      return answer.result === null ? null : revived(answer.result)
    }
    const created: QuotaLimiter = {
      consume: async (k) => (await run('consume', k, () => local.consume(k))) as RateLimiterRes,
      reward: async (k) => (await run('reward', k, () => local.reward(k))) as RateLimiterRes,
      get: (k) => run('get', k, () => local.get(k)),
    }
    made.set(key, created)
    return created
  }

  return {
    kind: 'memory',
    get reachable() {
      return !degraded
    },
    stats,
    limiter,
    close: async () => {
      for (const { settle } of [...pending.values()]) settle(undefined)
    },
  }
}

const emptyBucket: BudgetResult = { remainingPoints: 0, msBeforeNext: 0, consumedPoints: 0, isFirstInDuration: false }

/**
 * Set by a worker of `qiao serve --workers N` before its gateway starts: openQuotaStore (store.ts) then counts
 * through the primary when no Redis is configured. Process-wide because the gateway opens its quota store itself.
 */
let primaryChannel: BudgetChannel | undefined

export function countQuotasInPrimary(channel: BudgetChannel): void {
  primaryChannel = channel
}

export function primaryBudgetChannel(): BudgetChannel | undefined {
  return primaryChannel
}
