import type { Kysely } from 'kysely'
import type { StateModule } from '../../state/store.js'

/**
 * One row per resource with a change feed: its cursor and the lease that makes one poller, across every instance
 * on the shared store, the only one polling it. Times are epoch milliseconds (the poller's clock).
 */
export interface FeedCursorsTable {
  resource: string
  /** The connector's opaque cursor after the last page handed over; NULL: from the beginning. */
  cursor: string | null
  /** The poller holding the lease; NULL when released. */
  lease_owner: string | null
  /** The lease is free after this (a poller that died without releasing it). */
  lease_until: number
  updated_at: number
}

/** A type, not an interface: Kysely's `withTables` wants an indexable record. */
export type FeedTables = { feed_cursors: FeedCursorsTable }

export const feedState: StateModule = {
  name: 'feeds',
  migrations: {
    '0001-cursors': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('feed_cursors')
          .addColumn('resource', 'text', (c) => c.primaryKey())
          .addColumn('cursor', 'text')
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute()
      },
    },
  },
}
