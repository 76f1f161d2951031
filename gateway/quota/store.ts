import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible'
import { primaryBudgetChannel, primaryBudgetStore } from './primary-budget.js'

/**
 * Where quota counters live (rate-limiter-flexible).
 *
 * - No QIAO_QUOTA_REDIS_URL: in this process's memory (`RateLimiterMemory`); each gateway instance has its own budget.
 *   With `qiao serve --workers N`, in the primary's memory (primary-budget.ts): the workers of one instance share it.
 * - QIAO_QUOTA_REDIS_URL: in Redis (`RateLimiterRedis`, one atomic Lua script per call), so every instance shares
 *   one budget.
 *
 * A Redis outage neither takes data sharing down nor lifts the quotas silently: every limiter has an in-memory
 * `insuranceLimiter` with the same budget, which counts the calls while Redis cannot (not connected, or a command
 * fails or takes more than COMMAND_TIMEOUT_MS). During the outage each instance enforces the whole budget on its
 * own (with N instances a department may get up to N budgets), the first fallback logs a warning, each fallback
 * counts in `stats.fallbacks` (the metric), and when Redis is back the shared counters take over again.
 */
export interface QuotaStore {
  readonly kind: 'memory' | 'redis'
  /** Whether the counters' home answers now: always for memory; for Redis, a ready connection (else memory counts). */
  readonly reachable: boolean
  /** Counters for metrics: calls counted in memory because Redis was unreachable, Redis connection errors. */
  readonly stats: Readonly<QuotaStoreStats>
  /**
   * A counter of `points` calls per `duration` seconds; its keys are `<key prefix>:<name>:<key>`. The same
   * arguments give the same limiter, so a catalog reload that keeps a quota keeps its in-memory counts.
   */
  limiter(name: string, points: number, duration: number): QuotaLimiter
  close(): Promise<void>
}

export interface QuotaStoreStats {
  fallbacks: number
  redisErrors: number
}

/** The part of a rate-limiter-flexible limiter the quotas use. */
export interface QuotaLimiter {
  /** Takes one token; rejects with a RateLimiterRes when the bucket is empty. */
  consume(key: string): Promise<RateLimiterRes>
  /** Gives one token back. */
  reward(key: string): Promise<RateLimiterRes>
  /** Reads the bucket without taking a token (the operators' status); null before its window's first call. */
  get(key: string): Promise<RateLimiterRes | null>
}

export interface QuotaStoreLog {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export const DEFAULT_QUOTA_KEY_PREFIX = 'qiao:quota'

/** A Redis command slower than this counts as a failure (the in-memory fallback answers). */
const COMMAND_TIMEOUT_MS = 250
const CONNECT_TIMEOUT_MS = 1_000

export function memoryQuotaStore(keyPrefix = DEFAULT_QUOTA_KEY_PREFIX): QuotaStore {
  return {
    kind: 'memory',
    reachable: true,
    stats: { fallbacks: 0, redisErrors: 0 },
    limiter: reusing(
      (name, points, duration) => new RateLimiterMemory({ keyPrefix: `${keyPrefix}:${name}`, points, duration }),
    ),
    close: async () => {},
  }
}

/** One limiter per (name, points, duration), kept across catalog snapshots. */
function reusing(create: QuotaStore['limiter']): QuotaStore['limiter'] {
  const made = new Map<string, QuotaLimiter>()
  return (name, points, duration) => {
    const key = `${name}\u0000${points}\u0000${duration}`
    let limiter = made.get(key)
    if (!limiter) {
      limiter = create(name, points, duration)
      made.set(key, limiter)
    }
    return limiter
  }
}

export interface QuotaStoreOptions {
  /** redis:// or rediss:// URL; undefined = in memory. */
  readonly redisUrl: string | undefined
  readonly keyPrefix: string
  readonly log: QuotaStoreLog
}

/**
 * Opens the configured store. With Redis, waits for the first connection (at most about a second); if Redis is not
 * there, the gateway starts anyway on the in-memory fallback and keeps reconnecting.
 */
export async function openQuotaStore(options: QuotaStoreOptions): Promise<QuotaStore> {
  if (options.redisUrl === undefined) {
    const primary = primaryBudgetChannel()
    return primary === undefined
      ? memoryQuotaStore(options.keyPrefix)
      : primaryBudgetStore(primary, { log: options.log })
  }
  const { log, keyPrefix } = options
  const stats: QuotaStoreStats = { fallbacks: 0, redisErrors: 0 }
  const client = new Redis(options.redisUrl, {
    lazyConnect: true,
    // While disconnected, commands fail at once instead of queueing: the fallback answers without delay.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  })
  // The URL may hold a password: it is never logged.
  let degraded = false
  const degrade = (reason: string) => {
    if (degraded) return
    degraded = true
    log.warn(
      { quotaStore: 'redis', reason },
      'quota store unreachable: quotas are counted in this instance’s memory until Redis is back',
    )
  }
  client.on('error', (err: Error) => {
    stats.redisErrors++
    degrade(err.message)
  })
  client.on('ready', () => {
    if (degraded) log.info({ quotaStore: 'redis' }, 'quota store reachable again: quotas are shared again')
    degraded = false
  })
  try {
    await client.connect()
  } catch (err) {
    degrade((err as Error).message)
  }

  return {
    kind: 'redis',
    get reachable() {
      return client.status === 'ready'
    },
    stats,
    limiter: reusing((name, points, duration) => {
      const options = { keyPrefix: `${keyPrefix}:${name}`, points, duration }
      return new RateLimiterRedis({
        ...options,
        storeClient: client,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new FallbackLimiter(options, () => {
          stats.fallbacks++
          degrade(client.status === 'ready' ? 'command failed' : `connection ${client.status}`)
        }),
      })
    }),
    async close() {
      client.disconnect()
    },
  }
}

/** The insurance limiter: rate-limiter-flexible calls it only when the Redis operation failed. */
class FallbackLimiter extends RateLimiterMemory {
  constructor(
    options: { keyPrefix: string; points: number; duration: number },
    private readonly onFallback: () => void,
  ) {
    super(options)
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onFallback()
    return super.consume(key, points, options)
  }
}
