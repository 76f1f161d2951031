import type { JSONWebKeySet } from 'jose'
import type { Clock } from '../../connectors/kit/types.js'
import {
  type AuditBackend,
  AuditBackendBrokenError,
  type AuditCursor,
  type AuditFilter,
  type RecoveredLog,
} from './backend.js'
import { type AuditSigningKey, type CheckpointBody, type SignedCheckpoint, signCheckpoint } from './checkpoint.js'
import { entryLineLength, type LogEntry, leafInput, leafText, nextChainBytes, writeEntryLine } from './entry.js'
import { createHasher, type HashAlgorithm, type Hasher, MerkleTree } from './merkle.js'
import type { AuditRecord } from './record.js'
import { type AuditStore, AuditUnavailableError } from './store.js'

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
  /** Readiness fails when the store's file system has less free space than this (file stores); default 0. */
  readonly minFreeBytes?: number
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

const RECOVERY_FIRST_DELAY_MS = 50
const RECOVERY_MAX_DELAY_MS = 2_000
const FREE_SPACE_CACHE_MS = 1_000
const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error'

interface Pending {
  readonly record: AuditRecord
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

/**
 * The tamper-evident audit log: RFC 8785 canonical records, an RFC 9162 Merkle tree per segment, a hash chain
 * across segments, signed checkpoints every N records or T seconds, sealed and linked segments.
 *
 * Fail closed: `append` resolves only after the record is durable in the backend. Group commit: records that
 * arrive while a batch is being written go out together in the next batch (one fsync / one transaction each).
 * One serial lane runs batches, checkpoints and segment rotation, so they never interleave.
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { backend, logId, clock } = options
  const hasher = createHasher(options.hashAlgorithm)
  const recovered: RecoveredLog = await backend.open(logId, hasher)
  let signingKey = options.signingKey
  await backend.publishKey(signingKey.publicJwk)
  for (const repair of recovered.repairs) options.onEvent?.({ level: 'warn', msg: repair })

  let nextSeq = recovered.nextSeq
  let chain = recovered.chain
  let segment = recovered.segment
  let segmentFirstSeq = recovered.segmentFirstSeq
  let segmentOpenedAt = recovered.segmentOpenedAt
  let segmentSize = recovered.segmentSize
  let tree = new MerkleTree(hasher)
  for (const leaf of recovered.segmentLeaves) tree.appendLeaf(leaf)
  let lastCheckpoint = recovered.lastCheckpoint
  let lastSeal = recovered.lastSeal
  let lastLoggedAt = recovered.lastLoggedAt
  // The last sealed segment's tree, for proofs just after a roll (about 64 bytes per record once compacted); trees
  // of older segments are rebuilt from disk when asked for. Keeping more grew the heap by one tree per segment.
  let lastSealed: { segment: number; tree: MerkleTree } | undefined

  let queue: Pending[] = []
  let lastWriteError: string | undefined
  let lane: Promise<void> = Promise.resolve()
  let flushScheduled = false
  let closed = false
  const stats = { appended: 0, syncs: 0, checkpoints: 0, brokenEvents: 0, recoveries: 0 }
  /** Set while the backend must be reopened and re-checked before anything is written again. */
  let broken: string | undefined
  let recoveryTimer: NodeJS.Timeout | undefined
  let recoveryDelayMs = RECOVERY_FIRST_DELAY_MS
  /** The open segment was sealed but the next one is not started yet: it is retried before the next batch. */
  let startPending = false

  /** Runs tasks one after another. */
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = lane.then(task)
    lane = run.then(
      () => {},
      () => {},
    )
    return run
  }

  async function flushBatch(): Promise<void> {
    flushScheduled = false
    const batch = queue
    queue = []
    if (batch.length === 0) return
    if (broken) {
      rejectBatch(batch, new AuditUnavailableError(`audit log broken: ${broken}`))
      return
    }
    if (startPending) {
      try {
        await rotate()
      } catch (err) {
        noteFailure(err)
        rejectBatch(batch, new AuditUnavailableError(`audit segment start failed: ${codeOf(err)}`, { cause: err }))
        return
      }
    }
    // Compute the entries against the committed state; commit only once the backend made them durable.
    const entries: LogEntry[] = new Array(batch.length)
    const inputs: Buffer[] = new Array(batch.length)
    const leaves: Buffer[] = new Array(batch.length)
    let bytes = 0
    let c: Buffer = Buffer.from(chain, 'hex')
    let cHex = chain
    lastLoggedAt = Math.max(lastLoggedAt, clock.now())
    const loggedAt = new Date(lastLoggedAt).toISOString()
    for (let i = 0; i < batch.length; i++) {
      const base = {
        logId,
        seq: nextSeq + i,
        segment,
        index: tree.size + i,
        loggedAt,
        record: (batch[i] as Pending).record,
      }
      // One canonical serialisation and one UTF-8 encoding per record: hashed as the leaf, and (with the chain
      // value spliced in) stored as the line.
      const input = Buffer.from(leafText(base), 'utf8')
      const leaf = hasher.leaf(input)
      c = nextChainBytes(hasher, c, leaf)
      cHex = c.toString('hex')
      inputs[i] = input
      leaves[i] = leaf
      entries[i] = { ...base, chain: cHex }
      bytes += entryLineLength(input, hasher.size)
    }
    const lines = Buffer.allocUnsafe(bytes)
    let at = 0
    for (let i = 0; i < batch.length; i++)
      at = writeEntryLine(lines, at, inputs[i] as Buffer, (entries[i] as LogEntry).chain)
    try {
      await backend.append(entries, lines)
      lastWriteError = undefined
    } catch (err) {
      // Nothing of the batch counts: seq, chain and tree stay as they were (the backend cut its bytes back).
      noteFailure(err)
      rejectBatch(batch, new AuditUnavailableError(`audit write failed: ${codeOf(err)}`, { cause: err }))
      options.onEvent?.({ level: 'error', msg: 'audit batch not written', detail: { records: batch.length } })
      return
    }
    for (const leaf of leaves) tree.appendLeaf(leaf)
    chain = cHex
    nextSeq += batch.length
    // Files rotate by bytes (the line lengths), other stores by entries.
    segmentSize += backendCountsEntries ? entries.length : bytes
    stats.appended += batch.length
    stats.syncs++
    for (const p of batch) p.resolve()

    if (
      tree.size - (lastCheckpoint?.body.segment === segment ? lastCheckpoint.body.size : 0) >=
      options.checkpointEvery
    ) {
      await makeCheckpoint(false).catch(reportCheckpointFailure)
    }
    if (segmentSize >= options.segmentMaxSize || clock.now() - segmentOpenedAt >= options.segmentMaxAgeMs) {
      await rotate().catch(reportCheckpointFailure)
    }
  }

  const backendCountsEntries = (backend as { countsEntries?: boolean }).countsEntries === true

  function rejectBatch(batch: readonly Pending[], failure: Error): void {
    for (const p of batch) p.reject(failure)
  }

  /** Remembers a failed write; a broken backend stops every write until it is recovered. */
  function noteFailure(err: unknown): void {
    lastWriteError = `the last audit write failed (${codeOf(err)})`
    if (err instanceof AuditBackendBrokenError && broken === undefined) {
      broken = err.message.replace(/^audit store broken: /, '')
      stats.brokenEvents++
      options.onEvent?.({
        level: 'error',
        msg: 'audit log broken: writes refused until it is recovered',
        detail: { error: err.message },
      })
      scheduleRecovery()
    }
  }

  function scheduleRecovery(): void {
    if (closed || recoveryTimer || !backend.recover) return
    recoveryTimer = setTimeout(() => {
      recoveryTimer = undefined
      void serial(recover)
    }, recoveryDelayMs)
    recoveryTimer.unref()
    recoveryDelayMs = Math.min(recoveryDelayMs * 2, RECOVERY_MAX_DELAY_MS)
  }

  /**
   * Reopens the backend (which cuts whatever was never acknowledged and re-reads the open segment) and goes on
   * only if it holds exactly what this log acknowledged; else tries again later.
   */
  async function recover(): Promise<void> {
    if (broken === undefined || !backend.recover) return
    let reopened: RecoveredLog
    try {
      reopened = await backend.recover()
    } catch (err) {
      if (closed) return
      options.onEvent?.({
        level: 'warn',
        msg: 'audit log recovery failed; retrying',
        detail: { error: (err as Error).message },
      })
      scheduleRecovery()
      return
    }
    if (reopened.nextSeq !== nextSeq || reopened.chain !== chain) {
      // Acknowledged records are not in the store as acknowledged: nothing more can honestly be added to it.
      broken = `the store does not hold what was acknowledged (seq ${nextSeq} expected next, found ${reopened.nextSeq})`
      options.onEvent?.({ level: 'error', msg: 'audit log cannot be recovered in process', detail: { error: broken } })
      return
    }
    if (reopened.segment !== segment) {
      // The reopen started the segment whose start had failed.
      tree.compact()
      lastSealed = { segment, tree }
      tree = new MerkleTree(hasher)
      for (const leaf of reopened.segmentLeaves) tree.appendLeaf(leaf)
    }
    segment = reopened.segment
    segmentFirstSeq = reopened.segmentFirstSeq
    segmentOpenedAt = reopened.segmentOpenedAt
    segmentSize = reopened.segmentSize
    lastCheckpoint = reopened.lastCheckpoint
    lastSeal = reopened.lastSeal
    startPending = false
    broken = undefined
    lastWriteError = undefined
    recoveryDelayMs = RECOVERY_FIRST_DELAY_MS
    stats.recoveries++
    for (const repair of reopened.repairs) options.onEvent?.({ level: 'warn', msg: repair })
    options.onEvent?.({ level: 'info', msg: 'audit log recovered', detail: { nextSeq, segment } })
  }

  function reportCheckpointFailure(err: unknown): void {
    noteFailure(err)
    options.onEvent?.({ level: 'error', msg: 'audit checkpoint failed', detail: { error: (err as Error).message } })
  }

  async function makeCheckpoint(sealed: boolean): Promise<SignedCheckpoint | undefined> {
    const size = tree.size
    if (!sealed && lastCheckpoint?.body.segment === segment && lastCheckpoint.body.size === size) return lastCheckpoint
    if (size === 0 && !sealed) return lastCheckpoint
    const body: CheckpointBody = {
      logId,
      segment,
      size,
      firstSeq: segmentFirstSeq,
      rootHash: tree.root(size).toString('hex'),
      chainHead: chain,
      hashAlg: hasher.algorithm,
      time: new Date(clock.now()).toISOString(),
      sealed,
      ...(lastSeal ? { prevSeal: hasher.digest(Buffer.from(lastSeal.jws)).toString('hex') } : {}),
    }
    const signed = await signCheckpoint(signingKey, body)
    await backend.appendCheckpoint(signed)
    lastCheckpoint = signed
    stats.checkpoints++
    return signed
  }

  /**
   * Seals the open segment (a final checkpoint) and starts the next one. The state moves to the new segment only
   * once the backend started it; if that fails after the seal is durable, the start is retried before the next
   * batch (nothing is ever appended to a sealed segment).
   */
  async function rotate(): Promise<void> {
    if (!startPending) {
      if (tree.size === 0) {
        segmentOpenedAt = clock.now()
        return
      }
      const seal = await makeCheckpoint(true)
      if (!seal) return
      lastSeal = seal
      startPending = true
    }
    const openedAt = clock.now()
    await backend.startSegment(segment + 1, nextSeq, openedAt)
    startPending = false
    tree.compact()
    lastSealed = { segment, tree }
    segment++
    segmentFirstSeq = nextSeq
    segmentOpenedAt = openedAt
    segmentSize = 0
    tree = new MerkleTree(hasher)
    options.onEvent?.({ level: 'info', msg: 'audit segment sealed', detail: { segment: segment - 1 } })
  }

  const timer = setInterval(() => {
    void serial(async () => {
      if (broken) return
      await makeCheckpoint(false)
      if (clock.now() - segmentOpenedAt >= options.segmentMaxAgeMs) await rotate()
    }).catch(reportCheckpointFailure)
  }, options.checkpointIntervalMs)
  timer.unref()

  const minFreeBytes = options.minFreeBytes ?? 0
  let freeCache: { at: number; value: Promise<number | undefined> } | undefined
  /** Free bytes, from one statfs a second at most (readiness and metrics may ask often). */
  function free(): Promise<number | undefined> {
    if (!backend.freeBytes) return Promise.resolve(undefined)
    const at = performance.now()
    if (!freeCache || at - freeCache.at >= FREE_SPACE_CACHE_MS) {
      freeCache = { at, value: backend.freeBytes().catch(() => undefined) }
    }
    return freeCache.value
  }

  async function probe(): Promise<string | undefined> {
    if (closed) return 'audit log closed'
    if (broken) return `audit log broken: ${broken}`
    // An active check when the backend has one (so readiness comes back once the store is fixed, even with no
    // traffic); otherwise the outcome of the last write.
    return backend.probe ? await backend.probe() : lastWriteError
  }

  async function treeOf(entrySegment: number, entryLogId: string): Promise<MerkleTree | undefined> {
    if (entryLogId === logId && entrySegment === segment) return tree
    if (entryLogId === logId && entrySegment === lastSealed?.segment) return lastSealed.tree
    const rebuilt = new MerkleTree(hasher)
    for await (const e of backend.segmentEntries(entryLogId, entrySegment))
      rebuilt.appendLeaf(hasher.leaf(leafInput(e)))
    return rebuilt
  }

  return {
    logId,
    hasher,
    repairs: recovered.repairs,
    get stats(): AuditLogStats {
      return { ...stats, queueDepth: queue.length, segment }
    },
    append(record) {
      if (closed) return Promise.reject(new AuditUnavailableError('audit log closed'))
      if (broken) return Promise.reject(new AuditUnavailableError(`audit log broken: ${broken}`))
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, resolve, reject })
        if (!flushScheduled) {
          flushScheduled = true
          // After the current turn of the event loop, so every call that finished in this turn joins the batch.
          setImmediate(() => void serial(flushBatch))
        }
      })
    },
    checkpoint: () => serial(() => makeCheckpoint(false)),
    checkpoints: (filter) => backend.checkpoints(filter),
    async proof(recordId) {
      const entry = await backend.findRecord(recordId)
      if (!entry) return undefined
      return serial(async () => {
        // The record's own checkpoint: the first one of its segment that covers it; sign one now if none does.
        let checkpoint = (await backend.checkpoints({ logId: entry.logId, segment: entry.segment })).find(
          (cp) => cp.body.size > entry.index,
        )
        if (!checkpoint && entry.logId === logId && entry.segment === segment) checkpoint = await makeCheckpoint(false)
        if (!checkpoint) return undefined
        const segmentTree = await treeOf(entry.segment, entry.logId)
        if (!segmentTree || segmentTree.size < checkpoint.body.size) return undefined
        return {
          entry,
          hashAlg: hasher.algorithm,
          leafIndex: entry.index,
          treeSize: checkpoint.body.size,
          proof: segmentTree.inclusionProof(entry.index, checkpoint.body.size).map((h) => h.toString('hex')),
          checkpoint,
        }
      })
    },
    query: (filter, after) => backend.query(filter, after),
    publicKeys: () => backend.keys(),
    rotateKey: (next) =>
      serial(async () => {
        // Close the old key's span with a checkpoint it signs, then publish the new key before it signs anything.
        await makeCheckpoint(false)
        await backend.publishKey(next.publicJwk)
        const previous = signingKey.kid
        signingKey = next
        return previous
      }),
    probe,
    freeBytes: free,
    async health() {
      const problems: string[] = []
      const problem = await probe()
      if (problem !== undefined) problems.push(problem)
      const freeBytes = await free()
      if (freeBytes !== undefined && freeBytes < minFreeBytes) {
        problems.push('free space on the audit file system is below QIAO_AUDIT_MIN_FREE')
      }
      return { problems, broken: broken !== undefined, ...(freeBytes === undefined ? {} : { freeBytes }) }
    },
    async seal() {
      if (closed) return
      closed = true
      clearInterval(timer)
      clearTimeout(recoveryTimer)
      await serial(async () => {
        // One last recovery attempt, so that a log broken a moment ago still ends sealed.
        await recover()
        await flushBatch()
        if (tree.size > 0 && !startPending && !broken) await makeCheckpoint(true).catch(reportCheckpointFailure)
      })
      await backend.close()
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      clearTimeout(recoveryTimer)
      await serial(async () => {
        await recover()
        await flushBatch()
        if (!broken) await makeCheckpoint(false).catch(reportCheckpointFailure)
      })
      await backend.close()
    },
  }
}
