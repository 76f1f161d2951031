import pg from 'pg'
import { type AuditTables, auditTables, createAuditSchema, isMissing } from './schema.js'

export const CONNECT_TIMEOUT_MS = 10_000

export interface PgAuditBackendOptions {
  readonly connectionString: string
  /** Schema of the tables; default `qiao_audit`. */
  readonly schema?: string
  readonly now: () => number
  /** Connections for reads (queries, proofs, verification); default 4. Writes use the log's own connection. */
  readonly poolMax?: number
}

/** What the writer, reader and recovery of one PostgreSQL audit backend share: the schema and the read pool. */
export interface PgContext {
  readonly options: PgAuditBackendOptions
  readonly schemaName: string
  readonly T: AuditTables
  /** Pool for reads, created on first use (also after close: reads of a closed backend still work, as for files). */
  readPool(): pg.Pool
  /** Rows of a read; a schema nothing was written to yet reads as empty. */
  rows<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>
  /** Creates the tables on first use. */
  ensureSchema(): Promise<void>
  /** Ends the read pool (a later read creates it again). */
  end(): Promise<void>
}

export function createPgContext(options: PgAuditBackendOptions): PgContext {
  const schemaName = options.schema ?? 'qiao_audit'
  const { quoted, T } = auditTables(schemaName)
  let pool: pg.Pool | undefined
  let schemaReady: Promise<void> | undefined

  function readPool(): pg.Pool {
    if (!pool) {
      pool = new pg.Pool({
        connectionString: options.connectionString,
        max: options.poolMax ?? 4,
        idleTimeoutMillis: 10_000,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        keepAlive: true,
        allowExitOnIdle: true,
      })
      // An idle connection dropped by the server must not crash the process; the next query reconnects.
      pool.on('error', () => {})
    }
    return pool
  }

  return {
    options,
    schemaName,
    T,
    readPool,
    async rows<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
      try {
        return (await readPool().query<R>(text, values)).rows
      } catch (err) {
        if (isMissing(err)) return []
        throw err
      }
    },
    ensureSchema() {
      schemaReady ??= createAuditSchema(readPool(), schemaName, quoted).catch((err) => {
        schemaReady = undefined
        throw err
      })
      return schemaReady
    },
    async end() {
      const p = pool
      pool = undefined
      schemaReady = undefined
      await p?.end()
    },
  }
}
