import type { AuditBackend } from './backend.js'
import { createPgContext, type PgAuditBackendOptions } from './pg/context.js'
import { purgeSegments } from './pg/purge.js'
import { createPgReader } from './pg/reader.js'
import { createPgWriter } from './pg/writer.js'
import { pgTimestampStore } from './tsa/pg-store.js'

/**
 * The audit store in PostgreSQL, for several gateway instances sharing one database: each instance keeps its own
 * log (log id, hash chain, segments, checkpoints); the auditor's queries span all of them. The hashing, chaining,
 * Merkle trees and group commit live in audit-log.ts as for files; this is only the storage, in four parts:
 * pg/schema.ts (tables, DDL), pg/writer.ts (lock, reconnect, appends), pg/reader.ts (queries, paging, proofs' segment
 * reads, keys), pg/recovery.ts (reading the open segment back at open), composed here with pg/purge.ts (retention).
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

export type { PgAuditBackendOptions } from './pg/context.js'

export function createPgAuditBackend(options: PgAuditBackendOptions): AuditBackend & { readonly countsEntries: true } {
  const ctx = createPgContext(options)
  const reader = createPgReader(ctx)
  const writer = createPgWriter(ctx, reader)
  return {
    countsEntries: true,
    open: writer.open,
    append: writer.append,
    appendCheckpoint: writer.appendCheckpoint,
    ...pgTimestampStore(ctx),
    startSegment: writer.startSegment,
    probe: writer.probe,
    findRecord: reader.findRecord,
    segmentEntries: reader.segmentEntries,
    checkpoints: reader.checkpoints,
    query: reader.query,
    logIds: reader.logIds,
    segments: reader.segments,
    publishKey: reader.publishKey,
    keys: reader.keys,
    purge: (logId, before) => purgeSegments(ctx, reader, logId, before),
    async close() {
      await writer.closeLog()
      await ctx.end()
    },
  }
}
