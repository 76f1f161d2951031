import type { JSONWebKeySet, JWK } from 'jose'
import type { SignedCheckpoint } from './checkpoint.js'
import type { LogEntry } from './entry.js'
import type { Hasher } from './merkle.js'
import type { AuditDecision } from './record.js'

/**
 * The search terms of consecutive entries that share a loggedAt, as the hashing thread computed them from the
 * records (file/index/terms.ts: packTerms, one per entry, one per line).
 */
export interface BatchTerms {
  readonly loggedAt: string
  readonly count: number
  readonly packed: string
}

/** What the log was when the backend opened it, checked as it was read back. */
export interface RecoveredLog {
  /** `seq` the next entry gets. */
  readonly nextSeq: number
  /** Chain value after the last entry (genesis for an empty log). */
  readonly chain: string
  /** Epoch ms of the last entry's loggedAt (0 for an empty log). */
  readonly lastLoggedAt: number
  /** Open segment (1-based); 1 for a new log. */
  readonly segment: number
  /** `seq` of the open segment's leaf 0. */
  readonly segmentFirstSeq: number
  /** Leaf hashes of the open segment, recomputed from the stored entries. */
  readonly segmentLeaves: readonly Buffer[]
  /** Epoch ms the open segment was started. */
  readonly segmentOpenedAt: number
  /** Bytes (file store) or entries (others) in the open segment, for rotation. */
  readonly segmentSize: number
  readonly lastCheckpoint?: SignedCheckpoint
  /** The sealing checkpoint of the previous segment, if any. */
  readonly lastSeal?: SignedCheckpoint
  /** What had to be repaired on the way (e.g. a torn last line after a crash), in words. */
  readonly repairs: readonly string[]
}

export interface SegmentListing {
  readonly segment: number
  readonly firstSeq: number
  readonly purged: boolean
  /** Set when `qiao audit set-aside` moved the segment's damaged file aside (file store only). */
  readonly setAside?: SetAsideInfo
}

/**
 * A damaged open segment moved aside: its file was renamed (kept, never deleted), its first `records` lines —
 * the ones that verified — were sealed with a signed checkpoint, and the log went on in the next segment from
 * that seal's chain head. The lines from `line` on are not part of the verified log.
 */
export interface SetAsideInfo {
  /** The renamed file, in the log's directory. */
  readonly file: string
  /** ISO 8601 time it was set aside. */
  readonly at: string
  /** Lines that verified and were sealed. */
  readonly records: number
  /** 1-based line where the damage starts. */
  readonly line: number
  /** What was wrong there. */
  readonly reason: string
}

/**
 * The store can no longer be trusted to hold what it acknowledged until it is reopened and re-checked (a failed
 * fsync, or a failed write that could not be cut back): every write is refused until `recover()` succeeds.
 */
export class AuditBackendBrokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AuditBackendBrokenError'
  }
}

/**
 * How an exchange call ended, read from its HTTP status: `ok` (2xx) answered, `refused` (4xx) turned away — denied,
 * over quota (429), bad parameters (400) … —, `failed` (5xx) broke: the provider or the gateway failed.
 */
export type AuditOutcome = 'ok' | 'refused' | 'failed'

/**
 * Filters of the auditor's queries; all optional, combined with AND. Every filter but `from`, `to`, `kind` and
 * `logId` is about exchange calls: admin records (which have their own `outcome`) never match one.
 */
export interface AuditFilter {
  readonly from?: string
  readonly to?: string
  readonly kind?: 'exchange' | 'admin'
  readonly dept?: string
  readonly sub?: string
  readonly matter?: string
  readonly case?: string
  readonly resource?: string
  /**
   * The access decision only: was the caller allowed to call this resource for this matter (token, scope, grant,
   * role). An `allow` call can still be refused after it (429 quota-exceeded, 400 params-invalid) or fail (503
   * upstream-unavailable): `outcome`, `reason` and `status` find those; `decision: 'deny'` alone misses them.
   */
  readonly decision?: AuditDecision
  /** How the call ended, from its `status` (see AuditOutcome). */
  readonly outcome?: AuditOutcome
  /** The record's `reason`: `ok` or the problem code that ended the call (`quota-exceeded`, …). */
  readonly reason?: string
  /** The HTTP status the call was answered with. */
  readonly status?: number
  /** Keyed HMAC of a subject identifier (the gateway hashes what the auditor sends). */
  readonly subject?: string
  readonly logId?: string
  /** An evidence bundle's audit id: its items' records (their `bundle`) and the bundle's own record. */
  readonly bundle?: string
}

/** Position in the stable order (loggedAt, logId, seq): the last entry of the previous page. */
export interface AuditCursor {
  readonly loggedAt: string
  readonly logId: string
  readonly seq: number
}

/**
 * Storage under the audit log (the hashing, chaining, checkpointing and group commit live in audit-log.ts, the
 * same for every backend). Writes resolve only once durable. Implementations: file-backend.ts (JSON-lines segments
 * in the data directory) and pg-backend.ts (PostgreSQL, for several gateway instances). Both pass one suite.
 */
export interface AuditBackend {
  /** Opens (creating if needed) the log `logId`, reads its open segment back and repairs a torn tail. */
  open(logId: string, hasher: Hasher): Promise<RecoveredLog>
  /**
   * Appends entries durably, in order. `lines` are the same entries already serialised (canonical JSON lines,
   * UTF-8), for stores that keep them as text; `terms` their search terms, for a store that asked for them
   * (`indexTerms`), so that its index need not parse the lines again.
   */
  append(entries: readonly LogEntry[], lines?: Uint8Array, terms?: readonly BatchTerms[]): Promise<void>
  /** Whether `append` wants the entries' search terms (the file store's index in its own thread). */
  readonly indexTerms?: boolean
  appendCheckpoint(checkpoint: SignedCheckpoint): Promise<void>
  /** Keeps the RFC 3161 token of a stored checkpoint (tsa/), found by its JWS; a later token replaces it. */
  storeTimestamp(logId: string, checkpointJws: string, token: Uint8Array): Promise<void>
  /** The log's checkpoint timestamp tokens, by hex SHA-256 of the checkpoint's JWS; none for older stores. */
  timestamps(logId: string): Promise<Map<string, Uint8Array>>
  /** Starts a new segment after the previous one was sealed. */
  startSegment(segment: number, firstSeq: number, now: number): Promise<void>

  /** The entry of a record id, in any log of this backend. */
  findRecord(id: string): Promise<LogEntry | undefined>
  /** Entries of one segment, in order (for proofs and verification). */
  segmentEntries(logId: string, segment: number): AsyncIterable<LogEntry>
  /** Checkpoints, oldest first; optionally of one log / segment. */
  checkpoints(filter?: { logId?: string; segment?: number }): Promise<SignedCheckpoint[]>
  /** Entries matching the filter in stable order (loggedAt, logId, seq), after the cursor. */
  query(filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry>
  /** Log ids this backend holds. */
  logIds(): Promise<string[]>
  /** Segments of a log, in order; `purged` ones were removed by retention (their checkpoints remain). */
  segments(logId: string): Promise<SegmentListing[]>
  /** Adds a public audit key to the key history verifiers use (idempotent by kid). */
  publishKey(jwk: JWK): Promise<void>
  /** Every public audit key ever used with this store. */
  keys(): Promise<JSONWebKeySet>
  /** Whether the store can take writes now; a short problem description when not (readiness checks). */
  probe?(): Promise<string | undefined>
  /**
   * After an AuditBackendBrokenError: closes what is open, cuts everything never acknowledged, reopens the log and
   * reads it back as `open` does. The caller checks the result against what it knows was acknowledged.
   */
  recover?(): Promise<RecoveredLog>
  /** Free bytes on the file system holding the store (file stores only). */
  freeBytes?(): Promise<number>
  /** Deletes sealed segments whose records are all older than `before` (epoch ms); returns the segments removed. */
  purge(logId: string, before: number): Promise<number[]>
  close(): Promise<void>
}
