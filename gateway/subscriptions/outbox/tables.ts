import type { Kysely } from 'kysely'
import type { StateModule } from '../../state/store.js'

/**
 * The outbox's tables in the state store. Times are epoch milliseconds (the engine's clock).
 *
 * Two rows per subscription, locked by different work so that publishing and claiming do not wait for each other:
 * `subscriptions` is taken by claims (`FOR UPDATE SKIP LOCKED`) and by suspend / resume / remove;
 * `subscription_sequences` by publishes (allocating the next sequence) and by suspend, so that no publish lands
 * after a suspension has committed.
 */
export interface SubscriptionsTable {
  id: string
  state: 'active' | 'suspended'
  max_in_flight: number
  ack_wait_ms: number
  max_attempts: number
  suspended_reason: string | null
  created_at: number
  updated_at: number
}

export interface SubscriptionSequencesTable {
  subscription_id: string
  /** The sequence the next published event gets; its cursor. */
  next_seq: number
}

/**
 * `pending`: not yet acknowledged — never delivered (`lease_until` NULL), in flight (`lease_until` in the future:
 * delivered and not answered, or waiting out a retry delay) or due again (`lease_until` passed).
 * `acked` and `dead` keep the payload for replay until the retention purge; `dropped` rows (a suspension) keep only
 * the id, so that the same change published again is still recognised.
 */
export type OutboxEventState = 'pending' | 'acked' | 'dead' | 'dropped'

export interface SubscriptionEventsTable {
  subscription_id: string
  seq: number
  event_id: string
  /** The payload as JSON; NULL once dropped by a suspension. */
  payload: string | null
  published_at: number
  state: OutboxEventState
  /** Deliveries so far. */
  attempts: number
  lease_until: number | null
  /** The last failure's reason; for a dead letter, why it was given up. */
  last_error: string | null
  /** When it was acknowledged, dead-lettered or dropped. */
  settled_at: number | null
}

/** A type, not an interface: Kysely's `withTables` wants an indexable record. */
export type SubscriptionTables = {
  subscriptions: SubscriptionsTable
  subscription_sequences: SubscriptionSequencesTable
  subscription_events: SubscriptionEventsTable
}

export const subscriptionsState: StateModule = {
  name: 'subscriptions',
  migrations: {
    '0001-outbox': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('subscriptions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('max_in_flight', 'integer', (c) => c.notNull())
          .addColumn('ack_wait_ms', 'bigint', (c) => c.notNull())
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('suspended_reason', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute()
        await db.schema
          .createTable('subscription_sequences')
          .addColumn('subscription_id', 'text', (c) => c.primaryKey())
          .addColumn('next_seq', 'bigint', (c) => c.notNull())
          .execute()
        await db.schema
          .createTable('subscription_events')
          .addColumn('subscription_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('payload', 'text')
          .addColumn('published_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('lease_until', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('settled_at', 'bigint')
          .addPrimaryKeyConstraint('subscription_events_pkey', ['subscription_id', 'seq'])
          .addUniqueConstraint('subscription_events_event_id', ['subscription_id', 'event_id'])
          .execute()
        // Claims read the first pending events of one subscription in order; the purge deletes by age.
        await db.schema
          .createIndex('subscription_events_pending')
          .on('subscription_events')
          .columns(['subscription_id', 'state', 'seq'])
          .execute()
        await db.schema
          .createIndex('subscription_events_published')
          .on('subscription_events')
          .column('published_at')
          .execute()
      },
    },
  },
}
