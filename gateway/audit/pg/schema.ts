import { createHash } from 'node:crypto'
import type pg from 'pg'

/** Schema names are interpolated into SQL (DDL takes no parameters), so only this shape is accepted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Fully qualified table names of one audit schema. */
export interface AuditTables {
  readonly logs: string
  readonly segments: string
  readonly entries: string
  readonly checkpoints: string
  readonly keys: string
}

/** The quoted schema and its table names; throws on a schema name that is not a plain identifier. */
export function auditTables(schemaName: string): { readonly quoted: string; readonly T: AuditTables } {
  if (!SCHEMA_NAME.test(schemaName)) {
    throw new Error(`audit schema ${JSON.stringify(schemaName)}: expected ^[a-z_][a-z0-9_]{0,62}$`)
  }
  /** Safe to interpolate: checked against the pattern above, and quoted. */
  const s = `"${schemaName}"`
  return {
    quoted: s,
    T: {
      logs: `${s}.logs`,
      segments: `${s}.segments`,
      entries: `${s}.entries`,
      checkpoints: `${s}.checkpoints`,
      keys: `${s}.keys`,
    },
  }
}

/** A signed 64-bit advisory-lock key from a name (namespaced by schema so schemas never collide). */
export function lockKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0'), 'utf8').digest().readBigInt64BE(0).toString()
}

/** Undefined table / schema: a store nothing was ever written to reads as empty (as a missing directory does). */
export function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code
  return code === '42P01' || code === '3F000'
}

export async function transaction<R>(client: pg.ClientBase, work: () => Promise<R>): Promise<R> {
  await client.query('BEGIN')
  try {
    const result = await work()
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  }
}

/** The DDL of the audit schema `s` (quoted), every statement idempotent. */
function ddl(s: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.logs (
      log_id text COLLATE "C" PRIMARY KEY,
      hash_alg text NOT NULL,
      created_at timestamptz NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ${s}.segments (
      log_id text COLLATE "C" NOT NULL REFERENCES ${s}.logs (log_id),
      segment integer NOT NULL,
      first_seq bigint NOT NULL,
      opened_at timestamptz NOT NULL,
      purged boolean NOT NULL DEFAULT false,
      PRIMARY KEY (log_id, segment)
    )`,
    `CREATE TABLE IF NOT EXISTS ${s}.entries (
      log_id text COLLATE "C" NOT NULL,
      seq bigint NOT NULL,
      segment integer NOT NULL,
      idx integer NOT NULL,
      logged_at timestamptz NOT NULL,
      logged_at_iso text NOT NULL,
      record_id text COLLATE "C" NOT NULL,
      record jsonb NOT NULL,
      chain text NOT NULL,
      kind text NOT NULL,
      record_time text COLLATE "C" NOT NULL,
      dept text,
      sub text,
      matter text,
      case_id text,
      resource text,
      decision text,
      subjects text[],
      PRIMARY KEY (log_id, seq)
    )`,
    `CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      log_id text COLLATE "C" NOT NULL REFERENCES ${s}.logs (log_id),
      segment integer NOT NULL,
      size integer NOT NULL,
      sealed boolean NOT NULL,
      jws text NOT NULL,
      body jsonb NOT NULL,
      created timestamptz NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ${s}.keys (
      kid text PRIMARY KEY,
      jwk jsonb NOT NULL,
      added bigint GENERATED ALWAYS AS IDENTITY UNIQUE
    )`,
    `CREATE INDEX IF NOT EXISTS checkpoints_log ON ${s}.checkpoints (log_id, segment, id)`,
    `CREATE UNIQUE INDEX IF NOT EXISTS entries_record_id ON ${s}.entries (record_id)`,
    `CREATE INDEX IF NOT EXISTS entries_segment ON ${s}.entries (log_id, segment, seq)`,
    `CREATE INDEX IF NOT EXISTS entries_order ON ${s}.entries (logged_at, log_id, seq)`,
    `CREATE INDEX IF NOT EXISTS entries_dept ON ${s}.entries (dept, logged_at)`,
    `CREATE INDEX IF NOT EXISTS entries_matter ON ${s}.entries (matter, logged_at)`,
    `CREATE INDEX IF NOT EXISTS entries_resource ON ${s}.entries (resource, logged_at)`,
    `CREATE INDEX IF NOT EXISTS entries_case ON ${s}.entries (case_id)`,
    `CREATE INDEX IF NOT EXISTS entries_sub ON ${s}.entries (sub)`,
    // from/to filter the record's own time, which no other index orders by.
    `CREATE INDEX IF NOT EXISTS entries_time ON ${s}.entries (record_time)`,
    `CREATE INDEX IF NOT EXISTS entries_subjects ON ${s}.entries USING gin (subjects)`,
    // Last: its presence means everything above exists (all of it is created in one transaction). Added after the
    // others, so a store made before it lacks only this one and gets it at its next start, the rest left as it is.
    // Partial: only evidence-bundle items have a `bundle`, so the other records' inserts maintain nothing here, and
    // `record->>'bundle' = $1` (a strict operator) implies the predicate, so the planner uses it.
    `CREATE INDEX IF NOT EXISTS entries_bundle ON ${s}.entries ((record->>'bundle')) WHERE record->>'bundle' IS NOT NULL`,
  ]
}

/**
 * Creates the schema's tables and indexes if they are missing, once per pool: idempotent, and safe when two
 * instances start together.
 */
export async function createAuditSchema(pool: pg.Pool, schemaName: string, quoted: string): Promise<void> {
  const client = await pool.connect()
  try {
    const { rows: present } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
      `${quoted}.entries_bundle`,
    ])
    if (present[0]?.ok) return
    await transaction(client, async () => {
      // Two instances starting together: the second waits here, then finds everything in place.
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey('qiao-audit-schema', schemaName)])
      // One round trip (no parameters: DDL takes none; the schema name is checked by auditTables).
      await client.query(ddl(quoted).join(';\n'))
    })
  } finally {
    client.release()
  }
}
