import type { StateStore } from '../../state/store.js'
import type {
  DeadLetter,
  DeliveryPolicy,
  EngineOptions,
  PublishResult,
  ReplayPage,
  SubscriptionEngine,
  SubscriptionStatus,
} from '../engine.js'
import { SubscriptionError } from '../errors.js'
import {
  boundCount,
  boundReason,
  checkSubscriptionId,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_RETENTION_MS,
  decodeCursor,
  decodePayload,
  defaultRetryDelayMs,
  encodeCursor,
  encodeEvent,
  resolvePolicy,
} from '../validate.js'
import { claimEvents, failAttempt, type OutboxDb, parseReceipt } from './claims.js'
import type { SubscriptionsTable, SubscriptionTables } from './tables.js'
import { Wakeups } from './wakeups.js'

export interface OutboxEngineOptions extends EngineOptions {
  /** Opened with the `subscriptionsState` module among its modules. Not closed by the engine. */
  readonly state: StateStore
  /** While a fetch waits for events: how often it looks again (publishes on this instance wake it at once). */
  readonly pollIntervalMs?: number
  /** How often events past their retention are deleted; default 10 min (and once at open). 0 = only at open. */
  readonly purgeIntervalMs?: number
  readonly onPurgeError?: (err: unknown) => void
}

export interface OutboxEngine extends SubscriptionEngine {
  /** Deletes events published longer ago than the retention, whatever their state; answers how many. */
  purgeExpired(): Promise<number>
}

const MAX_BATCH = 1000

/**
 * The subscription engine as an outbox in the state store (SQLite for one instance, PostgreSQL for several); see
 * ../engine.ts for the contract and claims.ts for how events are handed out.
 */
export async function openOutboxEngine(options: OutboxEngineOptions): Promise<OutboxEngine> {
  const { state, clock } = options
  // Reads go straight to the store; every write goes through `transaction`, which on SQLite also takes turns with
  // the other connections of this process (see state/sqlite.ts).
  const db: OutboxDb = state.db.withTables<SubscriptionTables>()
  const transaction = <T>(work: (trx: OutboxDb) => Promise<T>) =>
    state.transaction((trx) => work(trx.withTables<SubscriptionTables>()))
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs
  const pollIntervalMs = options.pollIntervalMs ?? 250
  const wakeups = new Wakeups()
  let closed = false
  const forUpdate = state.dialect === 'postgres'

  const open = () => {
    if (closed) throw new SubscriptionError('engine-closed')
  }

  async function readSubscription(trx: OutboxDb, id: string, lock: boolean) {
    return trx
      .selectFrom('subscriptions')
      .selectAll()
      .where('id', '=', id)
      .$if(lock && forUpdate, (q) => q.forUpdate())
      .executeTakeFirst()
  }

  async function purgeExpired(): Promise<number> {
    const result = await transaction((trx) =>
      trx
        .deleteFrom('subscription_events')
        .where('published_at', '<=', clock.now() - retentionMs)
        .executeTakeFirst(),
    )
    return Number(result.numDeletedRows)
  }

  /**
   * Whether a claim could hand anything out, by reads alone: an idle subscription's polls take no write lock (SQLite)
   * and no row lock (PostgreSQL). The claim decides under its lock; this only spares it.
   */
  async function anythingDue(id: string, now: number): Promise<boolean> {
    const found = await db
      .selectFrom('subscriptions as s')
      .select((eb) => [
        's.state',
        eb
          .selectFrom('subscription_events as e')
          .select('e.seq')
          .whereRef('e.subscription_id', '=', 's.id')
          .where('e.state', '=', 'pending')
          .where((w) => w.or([w('e.lease_until', 'is', null), w('e.lease_until', '<=', now)]))
          .limit(1)
          .as('due'),
      ])
      .where('s.id', '=', id)
      .executeTakeFirst()
    if (found === undefined) throw new SubscriptionError('subscription-unknown', id)
    return found.state === 'active' && found.due !== null
  }

  /** Throws unless the subscription exists and is active (replay and dead letters are not shown while suspended). */
  async function activeSubscription(id: string): Promise<SubscriptionsTable> {
    checkSubscriptionId(id)
    open()
    const subscription = await readSubscription(db, id, false)
    if (subscription === undefined) throw new SubscriptionError('subscription-unknown', id)
    if (subscription.state !== 'active') throw new SubscriptionError('subscription-suspended', id)
    return subscription
  }

  await purgeExpired()
  const purgeEvery = options.purgeIntervalMs ?? 600_000
  const purgeTimer =
    purgeEvery > 0
      ? setInterval(() => {
          purgeExpired().catch((err: unknown) => options.onPurgeError?.(err))
        }, purgeEvery)
      : undefined
  purgeTimer?.unref()

  const engine: OutboxEngine = {
    backend: `outbox-${state.dialect}`,

    async create(id, asked) {
      checkSubscriptionId(id)
      open()
      const policy = resolvePolicy(options, asked)
      const now = clock.now()
      await transaction(async (trx) => {
        const inserted = await trx
          .insertInto('subscriptions')
          .values({
            id,
            state: 'active',
            max_in_flight: policy.maxInFlight,
            ack_wait_ms: policy.ackWaitMs,
            max_attempts: policy.maxAttempts,
            suspended_reason: null,
            created_at: now,
            updated_at: now,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst()
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) {
          await trx.insertInto('subscription_sequences').values({ subscription_id: id, next_seq: 1 }).execute()
        }
      })
      return (await engine.status(id)) as SubscriptionStatus
    },

    async status(id) {
      checkSubscriptionId(id)
      open()
      const row = await readSubscription(db, id, false)
      return row === undefined ? undefined : statusOf(row)
    },

    async publish(id, event): Promise<PublishResult> {
      checkSubscriptionId(id)
      const payload = encodeEvent(event, maxPayloadBytes)
      open()
      const now = clock.now()
      const result = await transaction(async (trx): Promise<PublishResult> => {
        // The sequence row first: publishes of one subscription take turns, so sequence order is commit order,
        // and a suspension (which takes it too) is either wholly before this publish or wholly after it.
        const sequence = await trx
          .selectFrom('subscription_sequences')
          .select('next_seq')
          .where('subscription_id', '=', id)
          .$if(forUpdate, (q) => q.forUpdate())
          .executeTakeFirst()
        const subscription = await readSubscription(trx, id, false)
        if (sequence === undefined || subscription === undefined)
          throw new SubscriptionError('subscription-unknown', id)
        if (subscription.state !== 'active') return { outcome: 'suspended' }
        const earlier = await trx
          .selectFrom('subscription_events')
          .select('seq')
          .where('subscription_id', '=', id)
          .where('event_id', '=', event.id)
          .executeTakeFirst()
        if (earlier !== undefined) return { outcome: 'duplicate', cursor: encodeCursor(earlier.seq) }
        const seq = sequence.next_seq
        await trx
          .insertInto('subscription_events')
          .values({
            subscription_id: id,
            seq,
            event_id: event.id,
            payload,
            published_at: now,
            state: 'pending',
            attempts: 0,
            lease_until: null,
            last_error: null,
            settled_at: null,
          })
          .execute()
        await trx
          .updateTable('subscription_sequences')
          .set({ next_seq: seq + 1 })
          .where('subscription_id', '=', id)
          .execute()
        return { outcome: 'stored', cursor: encodeCursor(seq) }
      })
      if (result.outcome === 'stored') wakeups.wake(id)
      return result
    },

    async fetch(id, fetchOptions = {}) {
      checkSubscriptionId(id)
      const max = boundCount(fetchOptions.max, 1, MAX_BATCH)
      const until = Date.now() + Math.max(0, fetchOptions.waitMs ?? 0)
      for (;;) {
        open()
        const now = clock.now()
        const deliveries = (await anythingDue(id, now))
          ? await transaction((trx) => claimEvents(trx, state.dialect, id, max, now))
          : []
        const left = until - Date.now()
        if (deliveries.length > 0 || left <= 0) return deliveries
        await wakeups.wait(id, Math.min(left, pollIntervalMs))
      }
    },

    async ack(delivery) {
      open()
      const receipt = parseReceipt(delivery)
      if (receipt === undefined) return false
      // Any current delivery's acknowledgement counts, even one past its lease: the event did reach the consumer.
      // One statement; on SQLite still inside `transaction`, to take turns with this process's other connections.
      const write = (target: OutboxDb) =>
        target
          .updateTable('subscription_events')
          .set({ state: 'acked', lease_until: null, settled_at: clock.now() })
          .where('subscription_id', '=', delivery.subscriptionId)
          .where('seq', '=', receipt.seq)
          .where('event_id', '=', delivery.eventId)
          .where('state', '=', 'pending')
          .where('attempts', '>=', 1)
          .executeTakeFirst()
      const result = state.dialect === 'sqlite' ? await transaction(write) : await write(db)
      return Number(result.numUpdatedRows) > 0
    },

    async nak(delivery, reason) {
      open()
      return transaction((trx) => failAttempt(trx, delivery, boundReason(reason), clock.now(), retryDelayMs))
    },

    async replay(id, after, limit): Promise<ReplayPage> {
      const from = decodeCursor(after)
      const count = boundCount(limit, 100, MAX_BATCH)
      await activeSubscription(id)
      const rows = await db
        .selectFrom('subscription_events')
        .select(['seq', 'event_id', 'payload', 'published_at'])
        .where('subscription_id', '=', id)
        .where('seq', '>', from)
        .where('state', '!=', 'dropped')
        .where('payload', 'is not', null)
        .orderBy('seq')
        .limit(count)
        .execute()
      const events = rows.map((row) => ({
        eventId: row.event_id,
        cursor: encodeCursor(row.seq),
        publishedAt: row.published_at,
        payload: decodePayload(row.payload ?? 'null'),
      }))
      return { events, next: events.at(-1)?.cursor ?? after }
    },

    async deadLetters(id, limit): Promise<DeadLetter[]> {
      checkSubscriptionId(id)
      open()
      if ((await readSubscription(db, id, false)) === undefined) throw new SubscriptionError('subscription-unknown', id)
      const rows = await db
        .selectFrom('subscription_events')
        .select(['seq', 'event_id', 'attempts', 'last_error', 'settled_at'])
        .where('subscription_id', '=', id)
        .where('state', '=', 'dead')
        .orderBy('seq')
        .limit(boundCount(limit, 100, MAX_BATCH))
        .execute()
      return rows.map((row) => ({
        eventId: row.event_id,
        cursor: encodeCursor(row.seq),
        attempts: row.attempts,
        reason: row.last_error ?? 'unspecified',
        at: row.settled_at ?? 0,
      }))
    },

    async suspend(id, reason) {
      checkSubscriptionId(id)
      open()
      const now = clock.now()
      await transaction(async (trx) => {
        // Both rows, claims' and publishes' (in that order, as nothing else takes both): in flight or not, no
        // claim or publish of this subscription commits after this.
        if ((await readSubscription(trx, id, true)) === undefined)
          throw new SubscriptionError('subscription-unknown', id)
        await trx
          .selectFrom('subscription_sequences')
          .select('next_seq')
          .where('subscription_id', '=', id)
          .$if(forUpdate, (q) => q.forUpdate())
          .execute()
        await trx
          .updateTable('subscriptions')
          .set({ state: 'suspended', suspended_reason: boundReason(reason), updated_at: now })
          .where('id', '=', id)
          .execute()
        // Projected under the grant that no longer holds: never delivered or replayed, ids kept for de-duplication.
        await trx
          .updateTable('subscription_events')
          .set({ state: 'dropped', payload: null, lease_until: null, settled_at: now })
          .where('subscription_id', '=', id)
          .where('state', 'in', ['pending', 'acked'])
          .execute()
        await trx
          .updateTable('subscription_events')
          .set({ payload: null })
          .where('subscription_id', '=', id)
          .where('state', '=', 'dead')
          .execute()
      })
    },

    async resume(id) {
      checkSubscriptionId(id)
      open()
      await transaction(async (trx) => {
        if ((await readSubscription(trx, id, true)) === undefined)
          throw new SubscriptionError('subscription-unknown', id)
        await trx
          .updateTable('subscriptions')
          .set({ state: 'active', suspended_reason: null, updated_at: clock.now() })
          .where('id', '=', id)
          .execute()
      })
      wakeups.wake(id)
    },

    async remove(id) {
      checkSubscriptionId(id)
      open()
      await transaction(async (trx) => {
        await readSubscription(trx, id, true)
        await trx.deleteFrom('subscription_events').where('subscription_id', '=', id).execute()
        await trx.deleteFrom('subscription_sequences').where('subscription_id', '=', id).execute()
        await trx.deleteFrom('subscriptions').where('id', '=', id).execute()
      })
    },

    purgeExpired,

    async close() {
      closed = true
      if (purgeTimer !== undefined) clearInterval(purgeTimer)
      wakeups.wakeAll()
    },
  }
  return engine
}

function statusOf(row: SubscriptionsTable): SubscriptionStatus {
  const policy: DeliveryPolicy = {
    maxInFlight: row.max_in_flight,
    ackWaitMs: row.ack_wait_ms,
    maxAttempts: row.max_attempts,
  }
  return row.state === 'active'
    ? { id: row.id, state: 'active', policy }
    : { id: row.id, state: 'suspended', policy, suspendedReason: row.suspended_reason ?? 'unspecified' }
}
