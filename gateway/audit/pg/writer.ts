import pg from 'pg'
import type { AuditBackend } from '../backend.js'
import type { LogEntry } from '../entry.js'
import type { AuditRecord } from '../record.js'
import { CONNECT_TIMEOUT_MS, type PgContext } from './context.js'
import type { PgReader } from './reader.js'
import { recoverOpenLog } from './recovery.js'
import { lockKey } from './schema.js'

const PROBE_TIMEOUT_MS = 3_000

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

/** The writing side of the PostgreSQL audit store: the advisory lock, reconnecting, appends, checkpoints, segments. */
export type PgWriter = Pick<AuditBackend, 'open' | 'append' | 'appendCheckpoint' | 'startSegment'> & {
  probe(): Promise<string | undefined>
  /** Releases the lock and ends the writing connection. */
  closeLog(): Promise<void>
}

export function createPgWriter(ctx: PgContext, reader: PgReader): PgWriter {
  const { options, schemaName, T } = ctx
  /** The log this backend has open, and what this instance last wrote of it (to check after a reconnect). */
  let openLog: OpenLog | undefined
  /** The connection holding the log's advisory lock; every write of the log goes over it. */
  let writer: Writer | undefined
  let reconnecting: Promise<pg.Client> | undefined

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

  return {
    async open(logId, hasher) {
      if (openLog) throw new Error(`audit backend already has log ${openLog.logId} open`)
      await ctx.ensureSchema()
      const key = lockKey('qiao-audit-log', schemaName, logId)
      writer = await lockedConnection(logId, key)
      openLog = { logId, key, tail: '', segment: 0 }
      try {
        const recovered = await recoverOpenLog(ctx, reader, writer.client, logId, hasher)
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

    closeLog,
  }
}
