import { RateLimiterRes } from 'rate-limiter-flexible'
import type { Quota } from '../catalog/types.js'
import type { QuotaLimiter, QuotaStore } from './store.js'

/**
 * Quotas (catalog `quotas`), built once per catalog snapshot; the per-request path only consumes.
 *
 * Each quota is a token bucket of `burst` calls refilled at `limit` per `per`. rate-limiter-flexible counts fixed
 * windows, so the bucket is kept as a counter of `burst` calls per refill time (`burst × per ÷ limit`, the time an
 * empty bucket takes to fill), whose window starts with the first call. With the default burst (= limit) that is
 * exactly `limit` calls per `per`: with 10/s, the 11th call within the second is refused. The long-run rate is the
 * bucket's; the difference is that tokens come back all at once at the end of the window rather than one by one,
 * so after the budget is spent a caller waits for the end of the window. (`execEvenly` would delay calls instead of
 * refusing them, holding connections open; `BurstyRateLimiter` would add a second budget on top of the rate, which
 * raises the long-run rate above `limit`.) The loader makes sure the refill time is whole seconds.
 */

/** What a call is counted by. */
export interface QuotaCall {
  /** The token's `dept`. */
  readonly dept: string
  /** The declared matter (Qiao-Matter). */
  readonly matter: string
  readonly resource: string
}

/** A quota's bucket after a call was counted. */
export interface QuotaState {
  readonly quota: Quota
  /** Bucket size as counted: `points` calls per `windowSeconds` (= limit per `per` with the default burst). */
  readonly points: number
  readonly windowSeconds: number
  /** Tokens left (0 when the call was refused). */
  readonly remaining: number
  /** Milliseconds until the window ends and the bucket is full again. */
  readonly resetMs: number
}

export type QuotaOutcome =
  | {
      readonly allowed: true
      /** The quota with the fewest tokens left: the one the RateLimit field reports. */
      readonly tightest: QuotaState
      /** Every matching quota, in catalog order. */
      readonly states: readonly QuotaState[]
    }
  | {
      readonly allowed: false
      /** Of the empty buckets, the one that refills last: the call can pass once it has. */
      readonly refusedBy: QuotaState
      readonly states: readonly QuotaState[]
    }

export interface QuotaEnforcer {
  readonly quotas: readonly Quota[]
  /** Where the counters live; its `stats` count the fallbacks to memory during a Redis outage. */
  readonly store: QuotaStore
  /**
   * Takes a token from every quota that matches the call. If any bucket is empty the call is refused and the
   * tokens taken from the others are given back. Undefined when no quota matches.
   */
  charge(call: QuotaCall): Promise<QuotaOutcome | undefined>
  /**
   * Each quota's bucket as it is now, without taking a token, for the first `max` quotas in catalog order (the
   * operators' status). Each read is one lookup by the quota's own key: in memory a map read, in Redis one round
   * trip, so callers bound `max` there.
   */
  usage(max?: number): Promise<QuotaUsage[]>
}

/** A quota's bucket as read by `usage`. */
export interface QuotaUsage {
  readonly quota: Quota
  /** The counter key below the quota id (quotaKey). */
  readonly key: string
  /** Bucket size and window as counted (see QuotaState). */
  readonly points: number
  readonly windowSeconds: number
  /** Tokens taken in the current window, at most `points`; 0 when no window is running. */
  readonly used: number
  /** Milliseconds until the current window ends; undefined when no window is running. */
  readonly resetMs: number | undefined
}

/** A quota applies when each of department, matter and resource that it names is the call's. */
export function quotaMatches(quota: Quota, call: QuotaCall): boolean {
  return (
    (quota.department === undefined || quota.department === call.dept) &&
    (quota.matter === undefined || quota.matter === call.matter) &&
    (quota.resource === undefined || quota.resource === call.resource)
  )
}

/** Seconds an empty bucket takes to fill: the counting window. Whole seconds (checked by the loader). */
export function refillSeconds(quota: Quota): number {
  return (quota.burst * quota.windowSeconds) / quota.limit
}

/** The counter key below `<key prefix>:<quota id>`: the department, or the matter for a matter-only quota. */
export function quotaKey(quota: Quota): string {
  return quota.department ?? quota.matter ?? '*'
}

/** Fewest tokens left; on a tie the one that refills last. */
export function tightest(states: readonly QuotaState[]): QuotaState {
  let best = states[0]
  if (best === undefined) throw new Error('no quota state')
  for (const s of states) {
    if (s.remaining < best.remaining || (s.remaining === best.remaining && s.resetMs > best.resetMs)) best = s
  }
  return best
}

/** Of the empty buckets, the one that refills last. */
function lastToRefill(states: readonly QuotaState[]): QuotaState {
  let best = states[0]
  if (best === undefined) throw new Error('no quota state')
  for (const s of states) if (s.resetMs > best.resetMs) best = s
  return best
}

interface Entry {
  /** Position in catalog order: matches are charged and reported in that order. */
  readonly index: number
  readonly quota: Quota
  readonly limiter: QuotaLimiter
  readonly key: string
  readonly points: number
  readonly windowSeconds: number
}

export function createQuotaEnforcer(quotas: readonly Quota[], store: QuotaStore): QuotaEnforcer {
  const entries: Entry[] = quotas.map((quota, index) => {
    const windowSeconds = refillSeconds(quota)
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new Error(`quota ${quota.id}: refill time ${windowSeconds} s is not whole seconds`)
    }
    return {
      index,
      quota,
      limiter: store.limiter(quota.id, quota.burst, windowSeconds),
      key: quotaKey(quota),
      points: quota.burst,
      windowSeconds,
    }
  })

  const index = indexQuotas(entries)

  const stateOf = (e: Entry, res: RateLimiterRes, refused: boolean): QuotaState => ({
    quota: e.quota,
    points: e.points,
    windowSeconds: e.windowSeconds,
    remaining: refused ? 0 : res.remainingPoints,
    resetMs: Math.max(0, res.msBeforeNext),
  })

  return {
    quotas,
    store,
    usage: (max = entries.length) =>
      Promise.all(
        entries.slice(0, max).map(async (e): Promise<QuotaUsage> => {
          const res = await e.limiter.get(e.key)
          const running = res !== null && res.msBeforeNext > 0
          return {
            quota: e.quota,
            key: e.key,
            points: e.points,
            windowSeconds: e.windowSeconds,
            used: running ? Math.min(e.points, res.consumedPoints) : 0,
            resetMs: running ? res.msBeforeNext : undefined,
          }
        }),
      ),
    async charge(call) {
      const matched = index(call)
      if (matched.length === 0) return undefined
      const settled = await Promise.allSettled(matched.map((e) => e.limiter.consume(e.key)))
      const states: QuotaState[] = []
      const refused: QuotaState[] = []
      const charged: Entry[] = []
      let failure: unknown
      for (const [i, result] of settled.entries()) {
        const e = matched[i] as Entry
        if (result.status === 'fulfilled') {
          charged.push(e)
          states.push(stateOf(e, result.value, false))
        } else if (result.reason instanceof RateLimiterRes) {
          const state = stateOf(e, result.reason, true)
          states.push(state)
          refused.push(state)
        } else {
          failure ??= result.reason
        }
      }
      if (refused.length > 0 || failure !== undefined) {
        // A refused call costs nothing: give back what the other buckets lent it.
        await Promise.allSettled(charged.map((e) => e.limiter.reward(e.key)))
        if (failure !== undefined) throw failure
        return { allowed: false, refusedBy: lastToRefill(refused), states }
      }
      return { allowed: true, tightest: tightest(states), states }
    },
  }
}

/**
 * Which quotas a call matches, without looking at every quota: each approved application may bring a quota of its
 * own (thousands of them), and the per-call cost must not grow with their number. Quotas are grouped by which of
 * department, matter and resource they name (at most 8 shapes); a call looks up one key per shape present.
 */
function indexQuotas(entries: readonly Entry[]): (call: QuotaCall) => Entry[] {
  const shapes = new Map<number, Map<string, Entry[]>>()
  const shapeOf = (q: Quota) =>
    (q.department === undefined ? 0 : 1) | (q.matter === undefined ? 0 : 2) | (q.resource === undefined ? 0 : 4)
  const keyOf = (shape: number, dept: string, matter: string, resource: string) =>
    `${shape & 1 ? dept : ''}\u0000${shape & 2 ? matter : ''}\u0000${shape & 4 ? resource : ''}`
  for (const e of entries) {
    const shape = shapeOf(e.quota)
    let byKey = shapes.get(shape)
    if (byKey === undefined) {
      byKey = new Map()
      shapes.set(shape, byKey)
    }
    const key = keyOf(shape, e.quota.department ?? '', e.quota.matter ?? '', e.quota.resource ?? '')
    const list = byKey.get(key)
    if (list === undefined) byKey.set(key, [e])
    else list.push(e)
  }
  const groups = [...shapes]
  return (call) => {
    let matched: Entry[] | undefined
    let several = false
    for (const [shape, byKey] of groups) {
      const found = byKey.get(keyOf(shape, call.dept, call.matter, call.resource))
      if (found === undefined) continue
      if (matched === undefined) matched = found
      else {
        matched = [...matched, ...found]
        several = true
      }
    }
    if (matched === undefined) return []
    return several ? matched.sort((x, y) => x.index - y.index) : matched
  }
}
