import type { JSONWebKeySet, JWK } from 'jose'
import type { AuditBackend, AuditCursor, AuditFilter, SegmentListing } from '../backend.js'
import type { CheckpointBody, SignedCheckpoint } from '../checkpoint.js'
import type { LogEntry } from '../entry.js'
import { OUTCOME_STATUS } from '../filter.js'
import type { AuditRecord } from '../record.js'
import type { PgContext } from './context.js'

/** Rows per page when streaming (segment reads, queries). */
const PAGE = 1000

/** Columns read to rebuild a LogEntry. */
const ENTRY_COLUMNS = 'log_id, seq, segment, idx, logged_at_iso, chain, record'

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
export function toCheckpoint(jws: string): SignedCheckpoint {
  const payload = jws.split('.')[1] ?? ''
  return { jws, body: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as CheckpointBody }
}

/** The reads of the PostgreSQL audit store: queries, paging, records, segments' entries (proofs), checkpoints, keys. */
export interface PgReader
  extends Pick<
    AuditBackend,
    'findRecord' | 'segmentEntries' | 'checkpoints' | 'query' | 'logIds' | 'segments' | 'publishKey' | 'keys'
  > {
  /** Last stored entry of a segment. */
  lastEntryOf(logId: string, segment: number): Promise<LogEntry | undefined>
}

export function createPgReader(ctx: PgContext): PgReader {
  const { T, rows } = ctx

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
    // Status and reason have no column: they are read from the stored record, and no index covers them, so these
    // filters only narrow what the indexed ones (time, dept, matter, resource, case, sub, subject) or the walk in
    // log order find. Compared as jsonb, not cast to a number, so no stored value can make the query fail. Admin
    // records have neither key at the top level (NULL), so these exclude them too.
    if (filter.outcome !== undefined) {
      const [from, to] = OUTCOME_STATUS[filter.outcome]
      // jsonb sorts numbers after strings and before booleans, arrays and objects: the range holds numbers only.
      where.push(`record->'status' >= ${p(String(from))}::jsonb AND record->'status' < ${p(String(to))}::jsonb`)
    }
    if (filter.reason !== undefined) where.push(`record->>'reason' = ${p(filter.reason)}`)
    if (filter.status !== undefined) where.push(`record->'status' = ${p(String(filter.status))}::jsonb`)
    if (filter.subject !== undefined) where.push(`subjects @> ARRAY[${p(filter.subject)}]::text[]`)
    if (filter.bundle !== undefined) {
      // The items name the bundle in their record (entries_bundle indexes it); the bundle's own record is found by
      // its id and told apart from a plain record by its `bundleItems`, as inBundle does.
      const bundle = p(filter.bundle)
      where.push(
        `(record->>'bundle' = ${bundle} OR (record_id = ${bundle} AND jsonb_typeof(record->'bundleItems') = 'array'))`,
      )
    }
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
    async findRecord(id) {
      const [row] = await rows<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM ${T.entries} WHERE record_id = $1 LIMIT 1`, [id])
      return row ? toEntry(row) : undefined
    },

    segmentEntries: (logId, segment) => segmentRows(logId, segment),

    lastEntryOf,

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

    async publishKey(jwk: JWK) {
      if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) throw new Error('audit public key without kid')
      await ctx.ensureSchema()
      await ctx
        .readPool()
        .query(`INSERT INTO ${T.keys} (kid, jwk) VALUES ($1, $2::jsonb) ON CONFLICT (kid) DO NOTHING`, [
          jwk.kid,
          JSON.stringify(jwk),
        ])
    },

    async keys(): Promise<JSONWebKeySet> {
      const found = await rows<{ jwk: JWK }>(`SELECT jwk FROM ${T.keys} ORDER BY added`)
      return { keys: found.map((r) => r.jwk) }
    },
  }
}
