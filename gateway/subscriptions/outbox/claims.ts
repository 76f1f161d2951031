import type { Kysely } from 'kysely'
import type { StateDatabase, StateDialect } from '../../state/store.js'
import { ACK_DEADLINE_REASON, type Delivery, type NakResult } from '../engine.js'
import { SubscriptionError } from '../errors.js'
import { decodePayload, encodeCursor } from '../validate.js'
import type { SubscriptionsTable, SubscriptionTables } from './tables.js'

/** The state store's connection or a transaction on it, with the outbox's tables. */
export type OutboxDb = Kysely<StateDatabase & SubscriptionTables>

/**
 * Hands out the next events of one subscription, in one transaction. The subscription's row is taken first — on
 * PostgreSQL with `FOR UPDATE SKIP LOCKED`: while another instance claims for the same subscription this one gets
 * nothing instead of waiting, and the two never see the same free events (SQLite's write lock serialises claims
 * anyway). Under that lock:
 *
 * 1. the window is the first `maxInFlight` pending events in sequence order — everything in flight is inside it,
 *    so at most `maxInFlight` are out at once and nothing is handed out ahead of an earlier unfinished event;
 * 2. events of the window whose last allowed attempt passed its deadline unanswered become dead letters
 *    (`ack-deadline`), and the window is read again;
 * 3. the free or due events of the window, up to `max`, get one more attempt and a lease until `now + ackWaitMs`.
 */
export async function claimEvents(
  trx: OutboxDb,
  dialect: StateDialect,
  subscriptionId: string,
  max: number,
  now: number,
): Promise<Delivery[]> {
  const subscription = await trx
    .selectFrom('subscriptions')
    .selectAll()
    .where('id', '=', subscriptionId)
    .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked())
    .executeTakeFirst()
  if (subscription === undefined) {
    const exists = await trx
      .selectFrom('subscriptions')
      .select('id')
      .where('id', '=', subscriptionId)
      .executeTakeFirst()
    if (exists === undefined) throw new SubscriptionError('subscription-unknown', subscriptionId)
    return [] // another instance is claiming (or suspending) right now
  }
  if (subscription.state !== 'active') return []

  const window = await readWindow(trx, subscription, now)
  const due = window.filter((e) => e.lease_until === null || e.lease_until <= now).slice(0, max)
  if (due.length === 0) return []
  const claimed = await trx
    .updateTable('subscription_events')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), lease_until: now + subscription.ack_wait_ms }))
    .where('subscription_id', '=', subscriptionId)
    .where(
      'seq',
      'in',
      due.map((e) => e.seq),
    )
    // An acknowledgement or a failure reported meanwhile (they do not take the subscription's row) wins.
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .returning(['seq', 'event_id', 'attempts', 'payload', 'published_at'])
    .execute()
  return claimed
    .sort((a, b) => a.seq - b.seq)
    .map(
      (row): Delivery => ({
        subscriptionId,
        eventId: row.event_id,
        cursor: encodeCursor(row.seq),
        attempt: row.attempts,
        publishedAt: row.published_at,
        payload: decodePayload(row.payload ?? 'null'),
        receipt: `${row.seq}.${row.attempts}`,
      }),
    )
}

async function readWindow(trx: OutboxDb, subscription: SubscriptionsTable, now: number) {
  for (;;) {
    const window = await trx
      .selectFrom('subscription_events')
      .select(['seq', 'attempts', 'lease_until'])
      .where('subscription_id', '=', subscription.id)
      .where('state', '=', 'pending')
      .orderBy('seq')
      .limit(subscription.max_in_flight)
      .execute()
    const givenUp = window.filter(
      (e) => e.lease_until !== null && e.lease_until <= now && e.attempts >= subscription.max_attempts,
    )
    if (givenUp.length === 0) return window
    await trx
      .updateTable('subscription_events')
      .set({ state: 'dead', last_error: ACK_DEADLINE_REASON, lease_until: null, settled_at: now })
      .where('subscription_id', '=', subscription.id)
      .where(
        'seq',
        'in',
        givenUp.map((e) => e.seq),
      )
      .execute()
  }
}

/** The sequence and attempt a delivery's receipt names; undefined when it is not one of ours. */
export function parseReceipt(delivery: Delivery): { seq: number; attempt: number } | undefined {
  const match = /^(\d{1,16})\.(\d{1,4})$/.exec(delivery.receipt)
  if (match === null) return undefined
  return { seq: Number(match[1]), attempt: Number(match[2]) }
}

/**
 * A failed attempt, applied only while it is the event's current one (`attempts` unchanged): a late failure from a
 * consumer whose lease passed must not cut short the delivery another instance has in flight. The last allowed
 * attempt makes the event a dead letter with the reason; an earlier one holds it back for the retry delay.
 */
export async function failAttempt(
  trx: OutboxDb,
  delivery: Delivery,
  reason: string,
  now: number,
  retryDelayMs: (attempt: number) => number,
): Promise<NakResult> {
  const receipt = parseReceipt(delivery)
  if (receipt === undefined) return 'stale'
  const subscription = await trx
    .selectFrom('subscriptions')
    .select(['max_attempts', 'state'])
    .where('id', '=', delivery.subscriptionId)
    .executeTakeFirst()
  if (subscription === undefined || subscription.state !== 'active') return 'stale'
  const last = receipt.attempt >= subscription.max_attempts
  const current = trx
    .updateTable('subscription_events')
    .where('subscription_id', '=', delivery.subscriptionId)
    .where('seq', '=', receipt.seq)
    .where('state', '=', 'pending')
    .where('attempts', '=', receipt.attempt)
  const result = last
    ? await current.set({ state: 'dead', last_error: reason, lease_until: null, settled_at: now }).executeTakeFirst()
    : await current
        .set({ last_error: reason, lease_until: now + Math.max(0, retryDelayMs(receipt.attempt)) })
        .executeTakeFirst()
  if (Number(result.numUpdatedRows) === 0) return 'stale'
  return last ? 'dead-lettered' : 'retry'
}
