import { type DatabaseIntrospector, Kysely, PostgresDialect, sql, type TableMetadata } from 'kysely'
import pg from 'pg'
import { migrateState } from './migrate.js'
import type { ListenOptions, StateDatabase, StateListener, StateModule, StateStore } from './store.js'

export interface PostgresStateOptions {
  /** postgres:// URL without our `schema` parameter. */
  readonly connectionString: string
  /** Schema of the tables; default `qiao_state`. */
  readonly schema?: string
  readonly modules: readonly StateModule[]
  /** Pool size; default 10. */
  readonly poolMax?: number
}

export const DEFAULT_STATE_SCHEMA = 'qiao_state'
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/
const INT8_OID = 20

/** int8 columns hold epoch milliseconds, well inside 2^53: read them as numbers, as SQLite gives them. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format as 'text')
  },
}

/**
 * The shared state store on PostgreSQL. Every connection's search_path is the store's schema, so the same
 * unqualified queries run here and on SQLite; the schema is created by the first instance's migration run.
 */
export async function openPostgresState(options: PostgresStateOptions): Promise<StateStore> {
  const schema = options.schema ?? DEFAULT_STATE_SCHEMA
  if (!SCHEMA_NAME.test(schema)) throw new Error('state store schema must match [a-z_][a-z0-9_]{0,62}')
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: 10_000,
    options: `-c search_path=${schema}`,
    types,
  })
  // An idle connection that breaks must not crash the process; the next query gets a new one (or fails closed).
  pool.on('error', () => {})
  const db = new Kysely<StateDatabase>({ dialect: new SchemaScopedPostgresDialect({ pool }, schema) })
  try {
    const applied = await migrateState(db, options.modules, schema)
    return {
      dialect: 'postgres',
      db,
      applied,
      transaction: (work) => db.transaction().execute(work),
      listen: (channel, onNotify, onReconnect, listenOptions = {}) =>
        listenOn({ connectionString: options.connectionString, schema }, channel, onNotify, onReconnect, listenOptions),
      close: () => db.destroy(),
    }
  } catch (err) {
    await db.destroy()
    throw err
  }
}

/**
 * LISTEN on a connection of its own, outside the pool: a pooled connection is handed to other queries and released,
 * and a LISTEN lives only as long as its session. When the session ends (server restart, failover, an idle
 * connection cut, pg_terminate_backend) a new one is opened after a backoff that doubles per failed attempt, and
 * `onReconnect` is called once it listens again. TCP keepalive notices a peer that vanished without closing.
 */
async function listenOn(
  server: { readonly connectionString: string; readonly schema: string },
  channel: string,
  onNotify: (payload: string) => void,
  onReconnect: () => void,
  options: ListenOptions,
): Promise<StateListener> {
  const minRetryMs = options.minRetryMs ?? 250
  const maxRetryMs = options.maxRetryMs ?? 10_000
  let closed = false
  let client: pg.Client | undefined
  let retry: NodeJS.Timeout | undefined
  let failures = 0

  const connect = async (): Promise<void> => {
    const candidate = new pg.Client({
      connectionString: server.connectionString,
      options: `-c search_path=${server.schema}`,
      // Names the session in pg_stat_activity: operators (and the tests) can tell the store's listener apart.
      application_name: `qiao listen ${server.schema}`.slice(0, 63),
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    })
    // A broken connection emits 'error' and then 'end'; reconnection hangs off 'end'.
    candidate.on('error', (err) => options.onError?.(err))
    candidate.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '')
    })
    try {
      await candidate.connect()
      await candidate.query(`LISTEN ${candidate.escapeIdentifier(channel)}`)
    } catch (err) {
      await candidate.end().catch(() => {})
      throw err
    }
    if (closed) {
      await candidate.end().catch(() => {})
      return
    }
    client = candidate
    candidate.once('end', () => {
      if (client === candidate) client = undefined
      if (!closed) reconnectLater()
    })
  }

  const reconnectLater = () => {
    const delay = Math.min(maxRetryMs, minRetryMs * 2 ** Math.min(failures, 16))
    retry = setTimeout(async () => {
      retry = undefined
      if (closed) return
      try {
        await connect()
        failures = 0
        if (!closed) onReconnect()
      } catch (err) {
        failures++
        options.onError?.(err as Error)
        if (!closed) reconnectLater()
      }
    }, delay)
    retry.unref()
  }

  await connect()
  return {
    async close() {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      await client?.end().catch(() => {})
      client = undefined
    },
  }
}

/**
 * Kysely's Migrator finds its own tables through the dialect's introspector, which by default lists every table of
 * every schema (with has_schema_privilege on each): a schema another user of the server drops meanwhile makes that
 * fail (3F000), and a start-up would fail with it. The store only ever needs its own schema, so only that is looked at.
 */
class SchemaScopedPostgresDialect extends PostgresDialect {
  readonly #schema: string
  constructor(config: ConstructorParameters<typeof PostgresDialect>[0], schema: string) {
    super(config)
    this.#schema = schema
  }
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    const schema = this.#schema
    const introspector: DatabaseIntrospector = {
      async getSchemas() {
        const { rows } = await sql<{ name: string }>`
          SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ${schema}`.execute(db)
        return rows
      },
      async getTables(): Promise<TableMetadata[]> {
        const { rows } = await sql<{ name: string; isView: boolean }>`
          SELECT table_name AS name, table_type = 'VIEW' AS "isView"
          FROM information_schema.tables WHERE table_schema = ${schema}`.execute(db)
        return rows.map((r) => ({ name: r.name, schema, isView: r.isView, isForeign: false, columns: [] }))
      },
      // Deprecated in Kysely's interface, still required by its type.
      async getMetadata(options) {
        return { tables: await introspector.getTables(options) }
      },
    }
    return introspector
  }
}
