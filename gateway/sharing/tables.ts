import { type Kysely, sql } from 'kysely'
import type { StateModule } from '../state/store.js'
import { type ObjectionTables, objectionsMigration } from './objections-tables.js'

/**
 * The sharing workflow's tables. Each application and grant is kept whole as JSON (`doc`), with the columns the
 * queries filter and order on beside it: the documents change shape with the workflow, the columns do not. Times
 * are epoch milliseconds.
 */
export interface SharingApplicationsTable {
  id: string
  version: number
  state: string
  consumer: string
  provider: string
  resource: string
  matter: string
  submitted_at: number
  updated_at: number
  /** Stage of the running check; NULL once decided or withdrawn. */
  stage: string | null
  /** End of the running check's due day; NULL while paused (waiting for the applicant) or once decided. */
  due_at: number | null
  escalated_at: number | null
  doc: string
}

export interface SharingEventsTable {
  application_id: string
  seq: number
  at: number
  actor: string
  transition: string
  from_state: string | null
  to_state: string
  details: string
}

export interface SharingGrantsTable {
  id: string
  version: number
  state: string
  application_id: string
  matter: string
  resource: string
  action: string
  consumer: string
  provider: string
  /** ISO date, so that `valid_to <= '2027-01-31'` compares as dates. */
  valid_to: string
  created_at: number
  /** ISO times the 30- and 7-day expiry reminders were given. */
  reminded_30: string | null
  reminded_7: string | null
  doc: string
}

/** One row: bumped by every transaction that changes a grant, so instances know when to recompile. */
export interface SharingGrantEpochTable {
  id: number
  epoch: number
}

export interface SharingTables extends ObjectionTables {
  sharing_applications: SharingApplicationsTable
  sharing_events: SharingEventsTable
  sharing_grants: SharingGrantsTable
  sharing_grant_epoch: SharingGrantEpochTable
}

export const sharingState: StateModule = {
  name: 'sharing',
  migrations: {
    '0001-applications-grants': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('sharing_applications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('consumer', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('resource', 'text', (c) => c.notNull())
          .addColumn('matter', 'text', (c) => c.notNull())
          .addColumn('submitted_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('stage', 'text')
          .addColumn('due_at', 'bigint')
          .addColumn('escalated_at', 'bigint')
          .addColumn('doc', 'text', (c) => c.notNull())
          .execute()
        // Listing is newest first; the scheduler looks for running checks past their due time.
        await db.schema
          .createIndex('sharing_applications_submitted')
          .on('sharing_applications')
          .columns(['submitted_at', 'id'])
          .execute()
        await db.schema.createIndex('sharing_applications_due').on('sharing_applications').column('due_at').execute()
        await db.schema
          .createTable('sharing_events')
          .addColumn('application_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('transition', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text')
          .addColumn('to_state', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('sharing_events_pkey', ['application_id', 'seq'])
          .execute()
        await db.schema
          .createTable('sharing_grants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('application_id', 'text', (c) => c.notNull())
          .addColumn('matter', 'text', (c) => c.notNull())
          .addColumn('resource', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('consumer', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('valid_to', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('reminded_30', 'text')
          .addColumn('reminded_7', 'text')
          .addColumn('doc', 'text', (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('sharing_grants_key')
          .on('sharing_grants')
          .columns(['matter', 'resource', 'action', 'consumer'])
          .execute()
        await db.schema
          .createIndex('sharing_grants_state')
          .on('sharing_grants')
          .columns(['state', 'valid_to'])
          .execute()
        await db.schema
          .createTable('sharing_grant_epoch')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('epoch', 'bigint', (c) => c.notNull())
          .execute()
        await sql`INSERT INTO sharing_grant_epoch (id, epoch) VALUES (1, 0)`.execute(db)
      },
    },
    '0002-objections': objectionsMigration,
  },
}
