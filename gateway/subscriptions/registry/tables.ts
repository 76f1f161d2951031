import type { Kysely } from 'kysely'
import type { StateModule } from '../../state/store.js'

/**
 * What a consumer subscribed to (the product side; the delivery queue is the engine's, `subscriptions`). Times are
 * epoch milliseconds. The filter is JSON (`{ regions?, keys? }`); a webhook's secret is kept to sign deliveries and
 * shown only in the answer that created it.
 */
export interface SubscriptionRegistryTable {
  id: string
  consumer: string
  matter: string
  resource: string
  /** The grant it rests on: the live grant's id, or `catalog:<matter>:<resource>:read:<consumer>`. */
  grant_ref: string
  filter: string
  delivery_kind: 'pull' | 'webhook'
  webhook_url: string | null
  webhook_secret: string | null
  state: 'active' | 'suspended'
  suspended_reason: string | null
  /** The newest event published to it (its id and when), for the status answer. */
  last_event_id: string | null
  last_event_at: number | null
  created_at: number
  updated_at: number
}

/** A type, not an interface: Kysely's `withTables` wants an indexable record. */
export type SubscriptionRegistryTables = { subscription_registry: SubscriptionRegistryTable }

export const subscriptionRegistryState: StateModule = {
  name: 'subscription-registry',
  migrations: {
    '0001-registry': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('subscription_registry')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('consumer', 'text', (c) => c.notNull())
          .addColumn('matter', 'text', (c) => c.notNull())
          .addColumn('resource', 'text', (c) => c.notNull())
          .addColumn('grant_ref', 'text', (c) => c.notNull())
          .addColumn('filter', 'text', (c) => c.notNull())
          .addColumn('delivery_kind', 'text', (c) => c.notNull())
          .addColumn('webhook_url', 'text')
          .addColumn('webhook_secret', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('suspended_reason', 'text')
          .addColumn('last_event_id', 'text')
          .addColumn('last_event_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('subscription_registry_consumer')
          .on('subscription_registry')
          .columns(['consumer', 'created_at'])
          .execute()
        await db.schema
          .createIndex('subscription_registry_resource')
          .on('subscription_registry')
          .columns(['resource', 'state'])
          .execute()
      },
    },
  },
}
