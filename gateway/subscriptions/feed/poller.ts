import { randomUUID } from 'node:crypto'
import { ConnectorError } from '../../../connectors/kit/connector-error.js'
import type { Change, ChangesOperation, ConnectorLogger } from '../../../connectors/kit/types.js'
import type { Clock } from '../../../kernel/clock.js'
import { GatewayError } from '../../errors/gateway-error.js'
import type { UpstreamGuard } from '../../resilience/upstream-guard.js'
import type { StateStore } from '../../state/store.js'
import type { FeedTables } from './tables.js'

/**
 * Polls one resource's change feed (a connector operation of kind `changes`) and hands each page of changes to
 * `onChanges`. At least once: the cursor is saved only after `onChanges` resolved, so a crash or a failed hand-over
 * polls the same page again (the event id, from resource + key + version, makes a repeat a duplicate). One poller
 * per resource across instances: an expiring lease on the resource's `feed_cursors` row, renewed with every save;
 * the cursor is saved only while the lease is still this poller's, so a poller that lost it cannot move the cursor
 * back. A provider that is down is retried with exponential backoff, never in a tight loop.
 */
export interface FeedPollerOptions {
  /** Catalog resource id, the key of the cursor and lease. */
  readonly resource: string
  /** The resource's change operation on its live connector. */
  readonly operation: ChangesOperation
  /** The instance's guard (breaker, concurrency limit, retries), as the exchange uses it; optional. */
  readonly guard?: UpstreamGuard
  /** Deadline of one poll, ms (the resource's timeoutMs). */
  readonly timeoutMs: number
  readonly state: StateStore
  /** Receives each non-empty page; the cursor moves past it only once this resolves. */
  onChanges(resource: string, changes: readonly Change[]): Promise<void>
  readonly clock: Clock
  readonly log: ConnectorLogger
  /** Wait between polls once the feed is drained; default 2 s. */
  readonly intervalMs?: number
  /** `limit` of each poll; default 100. */
  readonly pageSize?: number
  /** Pages read in one round before the lease is checked again; default 20. */
  readonly maxPagesPerRound?: number
  /** How long a lease holds without renewal; default 30 s (must exceed a round). */
  readonly leaseMs?: number
  /** First wait after a failure, doubled per consecutive failure up to `maxBackoffMs`; default 1 s. */
  readonly minBackoffMs?: number
  /** Default 5 min. */
  readonly maxBackoffMs?: number
  /** Lease owner id; default a random one per poller. */
  readonly owner?: string
  /** After every round, for metrics and the operators' status: plain values, no message of the failure. */
  readonly onRound?: (report: FeedRoundReport) => void
}

/**
 * How a round went: `ok` with whether this poller held the lease (a follower polled nothing), or `error` with a
 * stable code — the connector's problem code, the gateway's, or `internal` (a hand-over or store failure).
 */
export type FeedRoundReport =
  | { readonly outcome: 'ok'; readonly leader: boolean }
  | { readonly outcome: 'error'; readonly code: string }

export interface FeedPoller {
  readonly resource: string
  readonly owner: string
  /** True while this poller holds the lease (as of its last round). */
  readonly leader: boolean
  /** Consecutive failed rounds (0 after a good one). */
  readonly failures: number
  /** The last failed round since start (its stable code, as in onRound, and when), kept after recovery. */
  readonly lastError?: { readonly code: string; readonly at: number }
  /** Stops polling, waits for the round in flight, and gives the lease up so another instance takes over at once. */
  close(): Promise<void>
}

export const DEFAULT_FEED_INTERVAL_MS = 2_000
export const DEFAULT_FEED_PAGE_SIZE = 100
export const DEFAULT_FEED_LEASE_MS = 30_000

/** The wait after `failures` consecutive failures: min·2^(failures−1), capped at max. */
export function feedBackoffMs(failures: number, minMs: number, maxMs: number): number {
  if (failures <= 0) return 0
  return Math.min(maxMs, minMs * 2 ** Math.min(30, failures - 1))
}

/** Starts polling at once (the first round runs right away). */
export function startFeedPoller(options: FeedPollerOptions): FeedPoller {
  const { resource, operation, guard, state, clock, log } = options
  const owner = options.owner ?? randomUUID()
  const intervalMs = options.intervalMs ?? DEFAULT_FEED_INTERVAL_MS
  const pageSize = options.pageSize ?? DEFAULT_FEED_PAGE_SIZE
  const maxPages = options.maxPagesPerRound ?? 20
  const leaseMs = options.leaseMs ?? DEFAULT_FEED_LEASE_MS
  const minBackoffMs = options.minBackoffMs ?? 1_000
  const maxBackoffMs = options.maxBackoffMs ?? 300_000
  const db = state.db.withTables<FeedTables>()

  let closed = false
  let leader = false
  let failures = 0
  let lastError: { code: string; at: number } | undefined
  let polls = 0
  let timer: NodeJS.Timeout | undefined
  let round: Promise<void> | undefined
  let inFlight: AbortController | undefined

  /** Takes (or renews) the lease when it is free, expired or ours; answers the cursor, or undefined without it. */
  async function acquire(): Promise<{ cursor: string | undefined } | undefined> {
    const now = clock.now()
    await db
      .insertInto('feed_cursors')
      .values({ resource, cursor: null, lease_owner: null, lease_until: 0, updated_at: now })
      .onConflict((oc) => oc.column('resource').doNothing())
      .execute()
    const taken = await db
      .updateTable('feed_cursors')
      .set({ lease_owner: owner, lease_until: now + leaseMs })
      .where('resource', '=', resource)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
      .returning(['cursor'])
      .executeTakeFirst()
    return taken && { cursor: taken.cursor ?? undefined }
  }

  /** Saves the cursor and renews the lease, only while the lease is still ours; false when it was lost. */
  async function save(cursor: string): Promise<boolean> {
    const now = clock.now()
    const result = await db
      .updateTable('feed_cursors')
      .set({ cursor, lease_until: now + leaseMs, updated_at: now })
      .where('resource', '=', resource)
      .where('lease_owner', '=', owner)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  async function release(): Promise<void> {
    await db
      .updateTable('feed_cursors')
      .set({ lease_owner: null, lease_until: 0 })
      .where('resource', '=', resource)
      .where('lease_owner', '=', owner)
      .execute()
  }

  async function poll(after: string | undefined) {
    const controller = new AbortController()
    inFlight = controller
    const deadline = clock.now() + options.timeoutMs
    const timeout = setTimeout(() => controller.abort(), options.timeoutMs)
    const call = (signal: AbortSignal) =>
      operation.handle({ after, limit: pageSize }, { signal, deadline, requestId: `feed:${resource}:${++polls}`, log })
    try {
      return await (guard ? guard.read(call, controller.signal, deadline) : call(controller.signal))
    } finally {
      clearTimeout(timeout)
      inFlight = undefined
    }
  }

  /** One round: take the lease, then read pages until the feed is drained (or the round's page budget is spent). */
  async function runRound(): Promise<'drained' | 'more' | 'follower'> {
    const lease = await acquire()
    const wasLeader = leader
    leader = lease !== undefined
    if (!lease) {
      // Lost between rounds (another instance took the expired lease before this one renewed it): said as when it
      // is lost mid-round, so that operators see every hand-over of a feed.
      if (wasLeader) log.warn({ resource, owner }, 'feed lease lost; another instance polls this feed')
      return 'follower'
    }
    let cursor = lease.cursor
    for (let pages = 0; pages < maxPages && !closed; pages++) {
      const page = await poll(cursor)
      if (page.changes.length > 0) await options.onChanges(resource, page.changes)
      if (page.next !== cursor || pages === 0) {
        if (!(await save(page.next))) {
          leader = false
          log.warn({ resource, owner }, 'feed lease lost; another instance polls this feed')
          return 'follower'
        }
      }
      cursor = page.next
      if (!page.more) return 'drained'
    }
    return 'more'
  }

  function schedule(delayMs: number): void {
    if (closed) return
    timer = setTimeout(() => {
      timer = undefined
      round = tick()
    }, delayMs)
    timer.unref?.()
  }

  async function tick(): Promise<void> {
    if (closed) return
    try {
      const outcome = await runRound()
      failures = 0
      options.onRound?.({ outcome: 'ok', leader: outcome !== 'follower' })
      schedule(outcome === 'more' ? 0 : intervalMs)
    } catch (err) {
      if (closed) return
      failures++
      const delayMs = feedBackoffMs(failures, minBackoffMs, maxBackoffMs)
      // Kind and code only: a connector's or the store's message could quote a value.
      log.warn({ resource, failures, retryInMs: delayMs, ...failureOf(err) }, 'feed poll failed; backing off')
      lastError = { code: failureCodeOf(err), at: clock.now() }
      options.onRound?.({ outcome: 'error', code: lastError.code })
      schedule(delayMs)
    }
  }

  round = tick()

  return {
    resource,
    owner,
    get leader() {
      return leader
    },
    get failures() {
      return failures
    },
    get lastError() {
      return lastError
    },
    async close() {
      if (closed) return
      closed = true
      if (timer) clearTimeout(timer)
      inFlight?.abort()
      await round?.catch(() => {})
      await release().catch((err: unknown) =>
        log.warn({ resource, ...failureOf(err) }, 'feed lease not released; it expires'),
      )
      leader = false
    },
  }
}

/** The problem code a read would answer with (connector kinds as the gateway maps them); no message. */
const CONNECTOR_KIND_CODES: Record<ConnectorError['kind'], string> = {
  timeout: 'upstream-timeout',
  unavailable: 'upstream-unavailable',
  'not-found': 'record-not-found',
  rejected: 'upstream-rejected',
  'bad-response': 'upstream-bad-response',
}

function failureCodeOf(err: unknown): string {
  if (err instanceof ConnectorError) return CONNECTOR_KIND_CODES[err.kind]
  if (err instanceof GatewayError) return err.code
  return 'internal'
}

function failureOf(err: unknown): Record<string, unknown> {
  if (err instanceof ConnectorError) return { errorKind: err.kind, upstreamCode: err.upstreamCode }
  if (err instanceof GatewayError) return { errorCode: err.code }
  return { errorName: err instanceof Error ? err.name : typeof err }
}
