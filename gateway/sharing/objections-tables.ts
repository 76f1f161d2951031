import { type Kysely, type Migration, sql } from 'kysely'

/**
 * The tables of data objections (module `sharing`, migration 0002). As with applications, each objection is kept
 * whole as JSON (`doc`) beside the columns the queries filter, order and count on. Times are epoch milliseconds.
 */
export interface SharingObjectionsTable {
  id: string
  version: number
  state: string
  resource: string
  provider: string
  consumer: string
  field: string
  /** The record's key value as keyText (JSON): what the exchange path matches released records on. */
  record_key: string
  raised_at: number
  due_at: number
  resolved_at: number | null
  /** Working days from raising to resolving, set once resolved (the quality figures). */
  resolution_days: number | null
  doc: string
}

/** One row, bumped by every transaction that opens or closes an objection, so instances know when to recompile. */
export interface SharingObjectionEpochTable {
  id: number
  epoch: number
}

export interface ObjectionTables {
  sharing_objections: SharingObjectionsTable
  sharing_objection_epoch: SharingObjectionEpochTable
}

export const objectionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('sharing_objections')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('consumer', 'text', (c) => c.notNull())
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('record_key', 'text', (c) => c.notNull())
      .addColumn('raised_at', 'bigint', (c) => c.notNull())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('resolved_at', 'bigint')
      .addColumn('resolution_days', 'integer')
      .addColumn('doc', 'text', (c) => c.notNull())
      .execute()
    // Instances compile the open ones; inboxes list by provider or consumer, newest first.
    await db.schema.createIndex('sharing_objections_state').on('sharing_objections').columns(['state']).execute()
    await db.schema
      .createIndex('sharing_objections_provider')
      .on('sharing_objections')
      .columns(['provider', 'raised_at', 'id'])
      .execute()
    await db.schema
      .createIndex('sharing_objections_consumer')
      .on('sharing_objections')
      .columns(['consumer', 'raised_at', 'id'])
      .execute()
    await db.schema
      .createTable('sharing_objection_epoch')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('epoch', 'bigint', (c) => c.notNull())
      .execute()
    await sql`INSERT INTO sharing_objection_epoch (id, epoch) VALUES (1, 0)`.execute(db)
  },
}
