import { createHash } from 'node:crypto'
import type { JSONWebKeySet, JWK } from 'jose'
import pg from 'pg'
import type { AuditBackend, AuditCursor, AuditFilter, RecoveredLog, SegmentListing } from './backend.js'
import type { CheckpointBody, SignedCheckpoint } from './checkpoint.js'
import { genesisChain, type LogEntry, leafInput, nextChain } from './entry.js'
import type { Hasher } from './merkle.js'
import type { AuditRecord } from './record.js'

/**
 * The audit store in PostgreSQL, for several gateway instances sharing one database: each instance keeps its own
 * log (log id, hash chain, segments, checkpoints); the auditor's queries span all of them. The hashing, chaining,
 * Merkle trees and group commit live in audit-log.ts as for files; this is only the storage.
 *
 * Tables, in the schema given (default `qiao_audit`), created idempotently by the first `open`:
 *
 *   logs        (log_id PK, hash_alg, created_at)
 *   segments    (log_id, segment, first_seq, opened_at, purged; PK (log_id, segment))
 *   entries     (log_id, seq, segment, idx, logged_at timestamptz — the order, logged_at_iso — the exact ISO text the
 *                leaf hashes, record_id, record jsonb, chain; extracted for the auditor's filters: kind, record_time,
 *                dept, sub, matter, case_id, resource, decision, subjects text[]; PK (log_id, seq), UNIQUE (record_id))
 *   checkpoints (id identity — the order, log_id, segment, size, sealed, jws, body jsonb, created)
 *   keys        (kid PK, jwk jsonb, added identity — the order keys were published in)
 *
 * Indexes on entries: (logged_at, log_id, seq) for the stable order and cursor keyset, (log_id, segment, seq) for
 * segment reads, (dept, logged_at), (matter, logged_at), (resource, logged_at), (case_id), (sub), (record_time) for
 * from/to, GIN (subjects). Text that is compared or ordered (log ids, record times) is COLLATE "C": byte order, the
 * same as the string comparison in filter.ts.
 *
 * The stored record is the only source of a leaf: every reader recomputes `leafInput` from (log_id, seq, segment,
 * idx, logged_at_iso, record). jsonb reorders keys (JCS canonicalises them again) and keeps numbers as exact
 * decimals, so the record read back is the same JS value; jsonb cannot hold U+0000 in a string, so a record with one
 * fails to append (fail closed). The extracted columns and `checkpoints.body` are conveniences for SQL; readers take
 * the checkpoint body from the signed JWS.
 *
 * Locking: `open` takes a session-level advisory lock for (schema, log id) on a dedicated connection held until
 * `close`, so a second instance with the same log id is refused. Every write of the log (entries, checkpoints,
 * segment starts) goes over that same connection, so nothing is written without holding the lock: if the
 * connection drops, the lock is gone and so is the writer. The next write connects again, takes the lock again
 * and goes on only if the log's last entry and newest segment are still what this instance wrote (otherwise it
 * throws — fail closed — and a restart recovers from the database). The primary key (log_id, seq) would in any
 * case refuse a second writer's fork.
 *
 * Durability: one INSERT statement per batch (its own transaction, all values as parameters), acknowledged only
 * once its COMMIT returned. synchronous_commit stays as the server sets it (`on`, `local`, `remote_*` all flush the
 * WAL locally before COMMIT returns) except that `off` is raised to `on` for the writing connection. A transaction
 * either committed or did not, so there is no torn tail to repair (`repairs` is always empty).
 */

export interface PgAuditBackendOptions {
  readonly connectionString: string
  /** Schema of the tables; default `qiao_audit`. */
  readonly schema?: string
  readonly now: () => number
  /** Connections for reads (queries, proofs, verification); default 4. Writes use the log's own connection. */
  readonly poolMax?: number
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/
const CONNECT_TIMEOUT_MS = 10_000
const PROBE_TIMEOUT_MS = 3_000
/** Rows per page when streaming (segment reads, queries). */
const PAGE = 1000

/** Columns read to rebuild a LogEntry. */
const ENTRY_COLUMNS = 'log_id, seq, segment, idx, logged_at_iso, chain, record'

interface OpenLog {
  readonly logId: string
  /** Advisory-lock key of (schema, log id). */
  readonly key: string
  /** `seq:chain` of the last entry stored ('' for none) and the newest segment, as this instance left them. */
  tail: string
  segment: number
}

interface Writer {
  readonly client: pg.Client
  /** Set once the connection failed or ended: the session, and with it the lock, is gone. */
  lost?: Error
}

interface EntryRow {
  readonly log_id: string
  readonly seq: string | number
  readonly segment: number
  readonly idx: number
  readonly logged_at_iso: string
  readonly chain: string
  readonly record: AuditRecord
}

function toEntry(row: EntryRow): LogEntry {
  return {
    logId: row.log_id,
    seq: Number(row.seq),
    segment: row.segment,
    index: row.idx,
    loggedAt: row.logged_at_iso,
    chain: row.chain,
    record: row.record,
  }
}

/** The checkpoint as signed: the body is the JWS payload (the `body` column is only for SQL). */
function toCheckpoint(jws: string): SignedCheckpoint {
  const payload = jws.split('.')[1] ?? ''
  return { jws, body: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as CheckpointBody }
}

/** A signed 64-bit advisory-lock key from a name (namespaced by schema so schemas never collide). */
function lockKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0'), 'utf8').digest().readBigInt64BE(0).toString()
}

/** Undefined table / schema: a store nothing was ever written to reads as empty (as a missing directory does). */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code
  return code === '42P01' || code === '3F000'
}

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
    // Last: its presence means everything above exists (all of it is created in one transaction).
    `CREATE INDEX IF NOT EXISTS entries_subjects ON ${s}.entries USING gin (subjects)`,
  ]
}

/** Filter columns of a record (NULL for admin records, which carry none of the exchange fields). */
function extracted(record: AuditRecord) {
  if (record.kind !== 'exchange') {
    return { dept: null, sub: null, matter: null, caseId: null, resource: null, decision: null, subjects: null }
  }
  return {
    dept: record.requester.dept ?? null,
    sub: record.requester.sub ?? null,
    matter: record.matter ?? null,
    caseId: record.case ?? null,
    resource: record.resource ?? null,
    decision: record.decision ?? null,
    subjects: record.subjects ? JSON.stringify(record.subjects) : null,
  }
}

export function createPgAuditBackend(options: PgAuditBackendOptions): AuditBackend & { readonly countsEntries: true } {
  const schemaName = options.schema ?? 'qiao_audit'
  if (!SCHEMA_NAME.test(schemaName)) {
    throw new Error(`audit schema ${JSON.stringify(schemaName)}: expected ^[a-z_][a-z0-9_]{0,62}$`)
  }
  /** Safe to interpolate: checked against the pattern above, and quoted. */
  const s = `"${schemaName}"`
  const T = {
    logs: `${s}.logs`,
    segments: `${s}.segments`,
    entries: `${s}.entries`,
    checkpoints: `${s}.checkpoints`,
    keys: `${s}.keys`,
  }

  let pool: pg.Pool | undefined
  let schemaReady: Promise<void> | undefined
  /** The log this backend has open, and what this instance last wrote of it (to check after a reconnect). */
  let openLog: OpenLog | undefined
  /** The connection holding the log's advisory lock; every write of the log goes over it. */
  let writer: Writer | undefined
  let reconnecting: Promise<pg.Client> | undefined

  /** Pool for reads, created on first use (also after close: reads of a closed backend still work, as for files). */
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

  async function rows<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await readPool().query<R>(text, values)).rows
    } catch (err) {
      if (isMissing(err)) return []
      throw err
    }
  }

  async function transaction<R>(client: pg.ClientBase, work: () => Promise<R>): Promise<R> {
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

  function ensureSchema(): Promise<void> {
    schemaReady ??= (async () => {
      const client = await readPool().connect()
      try {
        const { rows: present } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
          `${s}.entries_subjects`,
        ])
        if (present[0]?.ok) return
        await transaction(client, async () => {
          // Two instances starting together: the second waits here, then finds everything in place.
          await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey('qiao-audit-schema', schemaName)])
          // One round trip (no parameters: DDL takes none; the schema name is checked above).
          await client.query(ddl(s).join(';\n'))
        })
      } finally {
        client.release()
      }
    })().catch((err) => {
      schemaReady = undefined
      throw err
    })
    return schemaReady
  }

  /** A new connection holding the log's advisory lock, or the error that another instance holds it. */
  async function lockedConnection(logId: string, key: string): Promise<Writer> {
    const client = new pg.Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      // Shows in pg_stat_activity which connection holds which log.
      application_name: `qiao-audit ${schemaName}/${logId}`.slice(0, 63),
    })
    const w: Writer = { client }
    client.on('error', (err) => {
      w.lost ??= err
    })
    client.on('end', () => {
      w.lost ??= new Error('connection ended')
    })
    try {
      await client.connect()
      const { rows: locked } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
        key,
      ])
      if (!locked[0]?.ok) throw new Error(`audit log ${logId} is already open by another gateway instance`)
      // A server default of synchronous_commit=off would acknowledge batches before they are on disk.
      await client.query(
        `SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'`,
      )
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    return w
  }

  /** Last stored entry of a log and its newest segment, as seen over `client`. */
  async function storedTail(client: pg.ClientBase, logId: string): Promise<Pick<OpenLog, 'tail' | 'segment'>> {
    const [last] = (
      await client.query<{ seq: string; chain: string }>(
        `SELECT seq, chain FROM ${T.entries} WHERE log_id = $1 ORDER BY seq DESC LIMIT 1`,
        [logId],
      )
    ).rows
    const [newest] = (
      await client.query<{ segment: number | null }>(
        `SELECT max(segment) AS segment FROM ${T.segments} WHERE log_id = $1`,
        [logId],
      )
    ).rows
    return { tail: last ? `${last.seq}:${last.chain}` : '', segment: newest?.segment ?? 0 }
  }

  /**
   * The writing connection. If it was lost (database restart, failover, network), the lock went with it: take it
   * again on a new connection, and continue only if the log is still exactly as this instance left it.
   */
  function writerClient(): Promise<pg.Client> {
    const log = openLog
    if (!log) return Promise.reject(new Error('audit log not open'))
    if (writer && !writer.lost) return Promise.resolve(writer.client)
    // One reconnect at a time (a readiness probe and a write may both find the connection lost).
    reconnecting ??= reconnect(log).finally(() => {
      reconnecting = undefined
    })
    return reconnecting
  }

  async function reconnect(log: OpenLog): Promise<pg.Client> {
    const old = writer
    writer = undefined
    await old?.client.end().catch(() => {})
    const w = await lockedConnection(log.logId, log.key)
    try {
      const now = await storedTail(w.client, log.logId)
      if (now.tail !== log.tail || now.segment !== log.segment) {
        throw new Error(
          `audit log ${log.logId} changed while this instance's database connection was lost; restart to recover it`,
        )
      }
    } catch (err) {
      await w.client.end().catch(() => {})
      throw err
    }
    writer = w
    return w.client
  }

  async function closeLog(): Promise<void> {
    const w = writer
    const log = openLog
    writer = undefined
    openLog = undefined
    if (!w) return
    // Unlock explicitly, so another instance can open the log as soon as close() returns.
    if (!w.lost && log) await w.client.query('SELECT pg_advisory_unlock($1::bigint)', [log.key]).catch(() => {})
    await w.client.end().catch(() => {})
  }

  /**
   * Streams a keyset-paged query: pages of PAGE rows, the next one fetched while the current one is consumed, so
   * neither a whole segment nor a whole answer sits in memory.
   */
  async function* paged(fetch: (after: EntryRow | undefined) => Promise<EntryRow[]>): AsyncIterable<LogEntry> {
    let next = fetch(undefined)
    for (;;) {
      const page = await next
      const last = page.length === PAGE ? (page.at(-1) as EntryRow) : undefined
      if (last) {
        next = fetch(last)
        next.catch(() => {}) // handled when awaited; not unhandled if the consumer stops early
      }
      for (const row of page) yield toEntry(row)
      if (!last) return
    }
  }

  function segmentRows(logId: string, segment: number): AsyncIterable<LogEntry> {
    return paged((after) =>
      rows<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM ${T.entries} WHERE log_id = $1 AND segment = $2 AND seq > $3
         ORDER BY seq LIMIT ${PAGE}`,
        [logId, segment, after ? Number(after.seq) : -1],
      ),
    )
  }

  async function lastEntryOf(logId: string, segment: number): Promise<LogEntry | undefined> {
    const [row] = await rows<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ${T.entries} WHERE log_id = $1 AND segment = $2 ORDER BY seq DESC LIMIT 1`,
      [logId, segment],
    )
    return row ? toEntry(row) : undefined
  }

  function queryRows(filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry> {
    const params: unknown[] = []
    const p = (value: unknown) => {
      params.push(value)
      return `$${params.length}`
    }
    const where: string[] = []
    if (filter.logId !== undefined) where.push(`log_id = ${p(filter.logId)}`)
    if (filter.from !== undefined) where.push(`record_time >= ${p(filter.from)}`)
    if (filter.to !== undefined) where.push(`record_time < ${p(filter.to)}`)
    if (filter.kind !== undefined) where.push(`kind = ${p(filter.kind)}`)
    // Admin rows hold NULL in these columns, so any exchange filter excludes them, as matchesFilter does.
    if (filter.dept !== undefined) where.push(`dept = ${p(filter.dept)}`)
    if (filter.sub !== undefined) where.push(`sub = ${p(filter.sub)}`)
    if (filter.matter !== undefined) where.push(`matter = ${p(filter.matter)}`)
    if (filter.case !== undefined) where.push(`case_id = ${p(filter.case)}`)
    if (filter.resource !== undefined) where.push(`resource = ${p(filter.resource)}`)
    if (filter.decision !== undefined) where.push(`decision = ${p(filter.decision)}`)
    if (filter.subject !== undefined) where.push(`subjects @> ARRAY[${p(filter.subject)}]::text[]`)
    const fixed = params.length
    const [a, b, c] = [fixed + 1, fixed + 2, fixed + 3]
    const text = `SELECT ${ENTRY_COLUMNS} FROM ${T.entries}
      WHERE ${[...where, `(logged_at, log_id, seq) > ($${a}::timestamptz, $${b}, $${c}::bigint)`].join(' AND ')}
      ORDER BY logged_at, log_id, seq LIMIT ${PAGE}`
    const textFirst = `SELECT ${ENTRY_COLUMNS} FROM ${T.entries}
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY logged_at, log_id, seq LIMIT ${PAGE}`
    return paged((last) => {
      const cursor = last ? { loggedAt: last.logged_at_iso, logId: last.log_id, seq: Number(last.seq) } : after
      return cursor
        ? rows<EntryRow>(text, [...params, cursor.loggedAt, cursor.logId, cursor.seq])
        : rows<EntryRow>(textFirst, params)
    })
  }

  return {
    countsEntries: true,

    async open(logId, hasher) {
      if (openLog) throw new Error(`audit backend already has log ${openLog.logId} open`)
      await ensureSchema()
      const key = lockKey('qiao-audit-log', schemaName, logId)
      writer = await lockedConnection(logId, key)
      openLog = { logId, key, tail: '', segment: 0 }
      try {
        const recovered = await recover(writer.client, logId, hasher)
        Object.assign(openLog, await storedTail(writer.client, logId))
        return recovered
      } catch (err) {
        await closeLog()
        throw err
      }
    },

    async append(entries) {
      if (entries.length === 0) return
      const client = await writerClient()
      const cols = {
        logId: [] as string[],
        seq: [] as number[],
        segment: [] as number[],
        idx: [] as number[],
        loggedAt: [] as string[],
        recordId: [] as string[],
        record: [] as string[],
        chain: [] as string[],
        kind: [] as string[],
        time: [] as string[],
        dept: [] as (string | null)[],
        sub: [] as (string | null)[],
        matter: [] as (string | null)[],
        caseId: [] as (string | null)[],
        resource: [] as (string | null)[],
        decision: [] as (string | null)[],
        subjects: [] as (string | null)[],
      }
      for (const e of entries) {
        const x = extracted(e.record)
        cols.logId.push(e.logId)
        cols.seq.push(e.seq)
        cols.segment.push(e.segment)
        cols.idx.push(e.index)
        cols.loggedAt.push(e.loggedAt)
        cols.recordId.push(e.record.id)
        cols.record.push(JSON.stringify(e.record))
        cols.chain.push(e.chain)
        cols.kind.push(e.record.kind)
        cols.time.push(e.record.time)
        cols.dept.push(x.dept)
        cols.sub.push(x.sub)
        cols.matter.push(x.matter)
        cols.caseId.push(x.caseId)
        cols.resource.push(x.resource)
        cols.decision.push(x.decision)
        cols.subjects.push(x.subjects)
      }
      // One statement, one transaction, every value a parameter (arrays unnested server-side).
      await client.query(
        `INSERT INTO ${T.entries} (log_id, seq, segment, idx, logged_at, logged_at_iso, record_id, record, chain, kind,
           record_time, dept, sub, matter, case_id, resource, decision, subjects)
         SELECT u.log_id, u.seq, u.segment, u.idx, u.logged_at::timestamptz, u.logged_at, u.record_id, u.record::jsonb,
           u.chain, u.kind, u.record_time, u.dept, u.sub, u.matter, u.case_id, u.resource, u.decision,
           CASE WHEN u.subjects IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.subjects::jsonb)) END
         FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
           $17::text[])
           AS u(log_id, seq, segment, idx, logged_at, record_id, record, chain, kind, record_time, dept, sub, matter,
             case_id, resource, decision, subjects)`,
        [
          cols.logId,
          cols.seq,
          cols.segment,
          cols.idx,
          cols.loggedAt,
          cols.recordId,
          cols.record,
          cols.chain,
          cols.kind,
          cols.time,
          cols.dept,
          cols.sub,
          cols.matter,
          cols.caseId,
          cols.resource,
          cols.decision,
          cols.subjects,
        ],
      )
      const last = entries.at(-1) as LogEntry
      if (openLog) openLog.tail = `${last.seq}:${last.chain}`
    },

    async appendCheckpoint(checkpoint) {
      const client = await writerClient()
      const b = checkpoint.body
      await client.query(
        `INSERT INTO ${T.checkpoints} (log_id, segment, size, sealed, jws, body, created)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::timestamptz)`,
        [
          b.logId,
          b.segment,
          b.size,
          b.sealed,
          checkpoint.jws,
          JSON.stringify(b),
          new Date(options.now()).toISOString(),
        ],
      )
    },

    async startSegment(segment, firstSeq, now) {
      const client = await writerClient()
      const log = openLog as OpenLog
      await client.query(
        `INSERT INTO ${T.segments} (log_id, segment, first_seq, opened_at) VALUES ($1, $2, $3, $4::timestamptz)`,
        [log.logId, segment, firstSeq, new Date(now).toISOString()],
      )
      log.segment = segment
    },

    async findRecord(id) {
      const [row] = await rows<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM ${T.entries} WHERE record_id = $1 LIMIT 1`, [id])
      return row ? toEntry(row) : undefined
    },

    segmentEntries: (logId, segment) => segmentRows(logId, segment),

    async checkpoints(filter = {}) {
      const found = await rows<{ jws: string }>(
        `SELECT jws FROM ${T.checkpoints}
         WHERE ($1::text IS NULL OR log_id = $1) AND ($2::int IS NULL OR segment = $2)
         ORDER BY log_id, id`,
        [filter.logId ?? null, filter.segment ?? null],
      )
      return found.map((r) => toCheckpoint(r.jws))
    },

    query: (filter, after) => queryRows(filter, after),

    async logIds() {
      return (await rows<{ log_id: string }>(`SELECT log_id FROM ${T.logs} ORDER BY log_id`)).map((r) => r.log_id)
    },

    async segments(logId) {
      const found = await rows<{ segment: number; first_seq: string; purged: boolean }>(
        `SELECT segment, first_seq, purged FROM ${T.segments} WHERE log_id = $1 ORDER BY segment`,
        [logId],
      )
      return found.map((r): SegmentListing => ({ segment: r.segment, firstSeq: Number(r.first_seq), purged: r.purged }))
    },

    async probe() {
      if (!openLog) return 'audit log not open'
      // Over the writing connection (taking the lock again if it was lost), so readiness returns once the database
      // is back even without traffic; a standby or read-only database takes no writes.
      const check = (async () => {
        const client = await writerClient()
        const { rows: state } = await client.query<{ ro: boolean }>(
          `SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS ro`,
        )
        return state[0]?.ro ? 'audit database is read-only' : undefined
      })()
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('audit database did not answer in time'), PROBE_TIMEOUT_MS)
      })
      try {
        return await Promise.race([check, timeout])
      } catch (err) {
        const { code, message } = err as { code?: string; message?: string }
        return `audit database unavailable (${code ?? message ?? 'error'})`
      } finally {
        clearTimeout(timer)
      }
    },

    async publishKey(jwk: JWK) {
      if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) throw new Error('audit public key without kid')
      await ensureSchema()
      await readPool().query(`INSERT INTO ${T.keys} (kid, jwk) VALUES ($1, $2::jsonb) ON CONFLICT (kid) DO NOTHING`, [
        jwk.kid,
        JSON.stringify(jwk),
      ])
    },

    async keys(): Promise<JSONWebKeySet> {
      const found = await rows<{ jwk: JWK }>(`SELECT jwk FROM ${T.keys} ORDER BY added`)
      return { keys: found.map((r) => r.jwk) }
    },

    async purge(logId, before) {
      const segments = await this.segments(logId)
      const sealed = new Set(
        (
          await rows<{ segment: number }>(
            `SELECT DISTINCT segment FROM ${T.checkpoints} WHERE log_id = $1 AND sealed`,
            [logId],
          )
        ).map((r) => r.segment),
      )
      const removed: number[] = []
      for (let i = 0; i < segments.length - 1; i++) {
        const info = segments[i] as SegmentListing
        if (info.purged || !sealed.has(info.segment)) continue
        // Only a sealed, checkpointed segment whose newest record is older than the cut-off goes.
        const last = await lastEntryOf(logId, info.segment)
        if (!last || Date.parse(last.loggedAt) >= before) break
        const client = await readPool().connect()
        try {
          // Marking it first takes the segment row's lock: of two concurrent purges, one removes it, once.
          const claimed = await transaction(client, async () => {
            const marked = await client.query(
              `UPDATE ${T.segments} SET purged = true WHERE log_id = $1 AND segment = $2 AND NOT purged`,
              [logId, info.segment],
            )
            if (marked.rowCount !== 1) return false
            await client.query(`DELETE FROM ${T.entries} WHERE log_id = $1 AND segment = $2`, [logId, info.segment])
            return true
          })
          if (claimed) removed.push(info.segment)
        } finally {
          client.release()
        }
      }
      return removed
    },

    async close() {
      await closeLog()
      const p = pool
      pool = undefined
      schemaReady = undefined
      await p?.end()
    },
  }

  /** Reads the open segment back under the lock and checks it against the chain; throws on any inconsistency. */
  async function recover(client: pg.Client, logId: string, hasher: Hasher): Promise<RecoveredLog> {
    const damaged = (what: string) => new Error(`audit log ${logId} damaged: ${what}; run \`qiao audit verify\``)
    // New log: its row and segment 1, in one statement.
    await client.query(
      `WITH l AS (
         INSERT INTO ${T.logs} (log_id, hash_alg, created_at) VALUES ($1, $2, $3::timestamptz)
         ON CONFLICT (log_id) DO NOTHING RETURNING log_id
       )
       INSERT INTO ${T.segments} (log_id, segment, first_seq, opened_at) SELECT log_id, 1, 0, $3::timestamptz FROM l`,
      [logId, hasher.algorithm, new Date(options.now()).toISOString()],
    )
    const [log] = (
      await client.query<{ hash_alg: string }>(`SELECT hash_alg FROM ${T.logs} WHERE log_id = $1`, [logId])
    ).rows
    if (log?.hash_alg !== hasher.algorithm) {
      throw new Error(`audit log ${logId} uses ${log?.hash_alg}; it cannot continue with ${hasher.algorithm}`)
    }
    const [current] = (
      await client.query<{ segment: number; first_seq: string; opened_at: Date; purged: boolean }>(
        `SELECT segment, first_seq, opened_at, purged FROM ${T.segments} WHERE log_id = $1 ORDER BY segment DESC LIMIT 1`,
        [logId],
      )
    ).rows
    if (!current) throw damaged('no segment')
    if (current.purged) throw damaged(`open segment ${current.segment} is marked purged`)
    const segment = current.segment
    const firstSeq = Number(current.first_seq)
    const lastOf = async (where: string, values: unknown[]) => {
      const [row] = (
        await client.query<{ jws: string }>(
          `SELECT jws FROM ${T.checkpoints} WHERE log_id = $1 AND ${where} ORDER BY id DESC LIMIT 1`,
          [logId, ...values],
        )
      ).rows
      return row ? toCheckpoint(row.jws) : undefined
    }
    const lastCheckpoint = await lastOf('segment = $2', [segment])
    const lastSeal = await lastOf('sealed', [])

    // The chain value before the open segment: the previous segment's last entry, or its seal.
    let chain = genesisChain(hasher, logId)
    let lastLoggedAt = 0
    if (segment > 1) {
      const previous = await lastEntryOf(logId, segment - 1)
      const seal = await lastOf('sealed AND segment = $2', [segment - 1])
      if (previous) {
        if (previous.seq + 1 !== firstSeq) {
          throw damaged(`segment ${segment} starts at seq ${firstSeq}, segment ${segment - 1} ends at ${previous.seq}`)
        }
        chain = previous.chain
        lastLoggedAt = Date.parse(previous.loggedAt)
      } else if (seal) chain = seal.body.chainHead
    }

    // The open segment, in seq order, against the chain.
    const leaves: Buffer[] = []
    /** Chain after the last checkpointed leaf, to check the checkpoint against. */
    let chainAtCheckpoint: string | undefined
    let nextSeq = firstSeq
    for await (const entry of segmentRows(logId, segment)) {
      const leaf = hasher.leaf(leafInput(entry))
      const expected = nextChain(hasher, chain, leaf)
      if (entry.logId !== logId || entry.seq !== nextSeq || entry.index !== leaves.length || entry.chain !== expected) {
        throw damaged(`at seq ${nextSeq} (segment ${segment} index ${leaves.length})`)
      }
      chain = expected
      leaves.push(leaf)
      if (lastCheckpoint && leaves.length === lastCheckpoint.body.size) chainAtCheckpoint = chain
      lastLoggedAt = Date.parse(entry.loggedAt)
      nextSeq++
    }
    // Entries past the open segment (or in it but not read above) would collide with the next appends.
    const [{ max } = { max: null }] = (
      await client.query<{ max: string | null }>(`SELECT max(seq) AS max FROM ${T.entries} WHERE log_id = $1`, [logId])
    ).rows
    if (max !== null && Number(max) !== nextSeq - 1) {
      throw damaged(`holds seq ${max}, but the open segment ${segment} ends before seq ${nextSeq}`)
    }
    if (lastCheckpoint && lastCheckpoint.body.size > leaves.length) {
      throw damaged(
        `checkpoint covers ${lastCheckpoint.body.size} records of segment ${segment}, only ${leaves.length} remain`,
      )
    }
    if (lastCheckpoint && lastCheckpoint.body.size > 0 && chainAtCheckpoint !== lastCheckpoint.body.chainHead) {
      throw damaged(`segment ${segment} differs from its checkpoint at size ${lastCheckpoint.body.size}`)
    }

    let recovered: RecoveredLog = {
      nextSeq,
      chain,
      lastLoggedAt,
      segment,
      segmentFirstSeq: firstSeq,
      segmentLeaves: leaves,
      segmentOpenedAt: current.opened_at.getTime(),
      segmentSize: leaves.length,
      lastCheckpoint,
      lastSeal: lastCheckpoint?.body.sealed ? lastCheckpoint : lastSeal,
      repairs: [],
    }
    // Stopped between sealing a segment and starting the next: start it now.
    if (lastCheckpoint?.body.sealed) {
      const openedAt = options.now()
      await client.query(
        `INSERT INTO ${T.segments} (log_id, segment, first_seq, opened_at) VALUES ($1, $2, $3, $4::timestamptz)`,
        [logId, segment + 1, nextSeq, new Date(openedAt).toISOString()],
      )
      recovered = {
        ...recovered,
        segment: segment + 1,
        segmentFirstSeq: nextSeq,
        segmentLeaves: [],
        segmentOpenedAt: openedAt,
        segmentSize: 0,
        lastCheckpoint: undefined,
      }
    }
    return recovered
  }
}
