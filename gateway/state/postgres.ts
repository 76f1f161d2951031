import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { migrateState } from './migrate.js'
import type { StateDatabase, StateModule, StateStore } from './store.js'

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
  const db = new Kysely<StateDatabase>({ dialect: new PostgresDialect({ pool }) })
  try {
    const applied = await migrateState(db, options.modules, schema)
    return {
      dialect: 'postgres',
      db,
      applied,
      transaction: (work) => db.transaction().execute(work),
      close: () => db.destroy(),
    }
  } catch (err) {
    await db.destroy()
    throw err
  }
}
