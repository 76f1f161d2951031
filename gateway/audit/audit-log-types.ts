import type { JSONWebKeySet } from 'jose'
import type { Clock } from '../../kernel/clock.js'
import type { AuditBackend, AuditCursor, AuditFilter } from './backend.js'
import type { AuditSigningKey, CheckpointBody, SignedCheckpoint } from './checkpoint.js'
import type { LogEntry } from './entry.js'
import type { HashAlgorithm, Hasher } from './merkle.js'
import type { AuditStore } from './store.js'

/** What the audit log (audit-log.ts) takes and offers, apart from how it does it. */

export interface AuditLogOptions {
  readonly backend: AuditBackend
  /** This gateway instance's log; each instance keeps its own chain and checkpoints. */
  readonly logId: string
  readonly hashAlgorithm: HashAlgorithm
  readonly signingKey: AuditSigningKey
  readonly clock: Clock
  /** A signed checkpoint after this many new records… */
  readonly checkpointEvery: number
  /** …or this many ms, whichever comes first. */
  readonly checkpointIntervalMs: number
  /** A segment is sealed and a new one started beyond this size (bytes for files, entries otherwise)… */
  readonly segmentMaxSize: number
  /** …or this age, ms. */
  readonly segmentMaxAgeMs: number
  /**
   * Where records are serialised and hashed (batch-hasher.ts): `thread`, in the process's hashing thread, off the
   * request thread; `inline`, on the calling thread. The stored bytes are the same. Default: `thread` when the
   * process may use more than one CPU (os.availableParallelism(), which follows its CPU affinity), else `inline`.
   */
  readonly hashing?: 'thread' | 'inline'
  /** Readiness fails when the store's file system has less free space than this (file stores); default 0. */
  readonly minFreeBytes?: number
  /** Called with each checkpoint once it is signed and stored (its RFC 3161 timestamp follows: tsa/). */
  readonly onCheckpoint?: (checkpoint: SignedCheckpoint) => void
  /** Reports repairs and failures (never record contents). */
  readonly onEvent?: (event: { level: 'info' | 'warn' | 'error'; msg: string; detail?: object }) => void
}

/** A receipt's proof: everything needed to check offline that the record is in the signed log. */
export interface InclusionProof {
  readonly entry: LogEntry
  readonly hashAlg: HashAlgorithm
  /** Index of the leaf in the segment tree and the tree size the proof is for (= checkpoint size). */
  readonly leafIndex: number
  readonly treeSize: number
  /** Hex hashes, RFC 9162 §2.1.3.1 order. */
  readonly proof: readonly string[]
  readonly checkpoint: SignedCheckpoint
}

export interface AuditLogStats {
  readonly appended: number
  /** Durable batch writes (each one fsync or one transaction); appended / syncs is the group-commit factor. */
  readonly syncs: number
  readonly checkpoints: number
  /** Records waiting for the next batch. */
  readonly queueDepth: number
  readonly segment: number
  /** Times the log broke (a failed fsync, a write that could not be cut back) and times it was recovered. */
  readonly brokenEvents: number
  readonly recoveries: number
  /** Size of the open segment: bytes for files, entries otherwise (as `segmentMaxSize`). */
  readonly segmentSize: number
  /** The latest signed checkpoint's body (time, segment, size), undefined before the first one. */
  readonly lastCheckpoint: CheckpointBody | undefined
  /**
   * `ok`; `recovering`: broken, a reopen of the store is scheduled; `broken`: broken with none scheduled (the
   * backend cannot reopen, or the store no longer holds what was acknowledged). A reopen under way shows `broken`.
   */
  readonly state: 'ok' | 'recovering' | 'broken'
  /** When the log was opened, last broke or was last recovered (clock ms): the state holds since then. */
  readonly since: number
}

/** What readiness reports about the log. */
export interface AuditHealth {
  /** Why records cannot be made durable now; empty when they can. */
  readonly problems: readonly string[]
  /** Every append is refused until the store is reopened and re-checked (done in the background). */
  readonly broken: boolean
  /** Free bytes on the store's file system (file stores only), at most about a second old. */
  readonly freeBytes?: number
}

export interface AuditLog extends AuditStore {
  readonly logId: string
  readonly hasher: Hasher
  readonly stats: AuditLogStats
  /** Signs a checkpoint now if anything was appended since the last one; returns the latest checkpoint. */
  checkpoint(): Promise<SignedCheckpoint | undefined>
  checkpoints(filter?: { logId?: string; segment?: number }): Promise<SignedCheckpoint[]>
  proof(recordId: string): Promise<InclusionProof | undefined>
  query(filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry>
  /** Every public audit key ever used with this store (verifiers check checkpoint signatures with these). */
  publicKeys(): Promise<JSONWebKeySet>
  /** Signs from now on with a new key (its public half is published first); returns the previous key id. */
  rotateKey(next: AuditSigningKey): Promise<string>
  /** Repairs done when the log was opened (e.g. a torn tail after a crash). */
  readonly repairs: readonly string[]
  /** undefined when records can be made durable now; else why not (the last write failed, the store refuses). */
  probe(): Promise<string | undefined>
  /** Readiness: broken, free space below the minimum, the backend's own probe. */
  health(): Promise<AuditHealth>
  /** Free bytes on the store's file system (file stores; undefined otherwise), at most about a second old. */
  freeBytes(): Promise<number | undefined>
  /** Flushes, then seals the open segment (a final checkpoint) and closes: a clean shutdown. */
  seal(): Promise<void>
}
