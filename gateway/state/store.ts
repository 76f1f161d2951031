import type { Kysely, Migration, Transaction } from 'kysely'
import type { IdempotencyKeysTable } from '../idempotency/state-store.js'
import type { SharingTables } from '../sharing/tables.js'

/**
 * What gateway instances must share (idempotency keys; the sharing workflow's applications, their history and live
 * grants), in one database: embedded SQLite for a single instance, PostgreSQL for several. Queries are
 * written once with Kysely for both dialects.
 *
 * A module that keeps state adds its tables here and registers its migrations as a StateModule (./modules.ts).
 */
export interface StateDatabase extends SharingTables {
  idempotency_keys: IdempotencyKeysTable
}

export type StateDialect = 'sqlite' | 'postgres'

/** One module's tables, created and changed by its own versioned migrations. */
export interface StateModule {
  /** Prefix of the module's migration names (`<name>/<version>`), e.g. `idempotency`. */
  readonly name: string
  /**
   * Migrations by version (`0001-keys`), applied in version order, each once. A released migration is never
   * edited: a change is a new version. Written with Kysely's schema builder so they run on both dialects.
   */
  readonly migrations: Readonly<Record<string, Migration>>
}

export interface StateStore {
  readonly dialect: StateDialect
  readonly db: Kysely<StateDatabase>
  /** Runs `work` in one transaction (SQLite: BEGIN IMMEDIATE, so it holds the write lock from its start). */
  transaction<T>(work: (trx: Transaction<StateDatabase>) => Promise<T>): Promise<T>
  /** Migration names applied by this open (empty when the schema was already current). */
  readonly applied: readonly string[]
  /**
   * PostgreSQL only (absent on SQLite): a dedicated connection that LISTENs on `channel` and hands each
   * notification's payload to `onNotify`. When the connection drops it reconnects with backoff and calls
   * `onReconnect` once it listens again (notifications sent meanwhile are lost: the caller catches up). Resolves
   * once it listens; rejects if that first connection fails.
   */
  listen?(
    channel: string,
    onNotify: (payload: string) => void,
    onReconnect: () => void,
    options?: ListenOptions,
  ): Promise<StateListener>
  close(): Promise<void>
}

export interface ListenOptions {
  /** First wait before reconnecting, doubled after each failed attempt up to `maxRetryMs`; default 250 ms. */
  readonly minRetryMs?: number
  /** Default 10 s. */
  readonly maxRetryMs?: number
  /** A lost connection or a failed reconnection attempt (for the operational log; the listener keeps trying). */
  readonly onError?: (err: Error) => void
}

export interface StateListener {
  /** Stops listening and reconnecting, and closes the connection. */
  close(): Promise<void>
}

export class StateMigrationError extends Error {
  constructor(migration: string | undefined, cause: unknown) {
    super(`state store migration ${migration ?? '(setup)'} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    })
    this.name = 'StateMigrationError'
  }
}
