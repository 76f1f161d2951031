import { availableParallelism } from 'node:os'
import type { AuditLog, AuditLogOptions, AuditLogStats } from './audit-log-types.js'
import { AuditBackendBrokenError, type RecoveredLog } from './backend.js'
import { inlineBatchHasher, threadBatchHasher, warmHashThread } from './batch-hasher.js'
import { type CheckpointBody, type SignedCheckpoint, signCheckpoint } from './checkpoint.js'
import { leafInput } from './entry.js'
import { cachedFreeBytes } from './free-space.js'
import { type CommittedLog, createGroupCommit } from './group-commit.js'
import { createHasher, MerkleTree } from './merkle.js'
import { AuditUnavailableError } from './store.js'

export type { AuditHealth, AuditLog, AuditLogOptions, AuditLogStats, InclusionProof } from './audit-log-types.js'

const RECOVERY_FIRST_DELAY_MS = 50
const RECOVERY_MAX_DELAY_MS = 2_000
const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error'

/**
 * The tamper-evident audit log: RFC 8785 canonical records, an RFC 9162 Merkle tree per segment, a hash chain
 * across segments, signed checkpoints every N records or T seconds, sealed and linked segments.
 *
 * Fail closed: `append` resolves only after the record is durable in the backend. Group commit (group-commit.ts):
 * records that arrive while a batch is being written go out together in the next batch (one fsync / one transaction
 * each); they are serialised and hashed in the hashing thread (batch-hasher.ts) meanwhile. One serial lane runs
 * batches, checkpoints and segment rotation, so they never interleave.
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { backend, logId, clock } = options
  const hasher = createHasher(options.hashAlgorithm)
  // On one CPU a thread only adds the cost of handing the records over.
  const hashing = options.hashing ?? (availableParallelism() > 1 ? 'thread' : 'inline')
  // The thread loads while the backend opens, so that the first batch does not wait for it.
  if (hashing === 'thread') warmHashThread()
  const recovered: RecoveredLog = await backend.open(logId, hasher)
  let signingKey = options.signingKey
  await backend.publishKey(signingKey.publicJwk)
  for (const repair of recovered.repairs) options.onEvent?.({ level: 'warn', msg: repair })

  // The committed position, shared with the group commit (which advances it once a batch is durable).
  const log: CommittedLog = {
    nextSeq: recovered.nextSeq,
    chain: recovered.chain,
    segment: recovered.segment,
    segmentSize: recovered.segmentSize,
    tree: new MerkleTree(hasher),
    lastLoggedAt: recovered.lastLoggedAt,
  }
  for (const leaf of recovered.segmentLeaves) log.tree.appendLeaf(leaf)
  let segmentFirstSeq = recovered.segmentFirstSeq
  let segmentOpenedAt = recovered.segmentOpenedAt
  let lastCheckpoint = recovered.lastCheckpoint
  let lastSeal = recovered.lastSeal
  // The last sealed segment's tree, for proofs just after a roll (about 64 bytes per record once compacted); trees
  // of older segments are rebuilt from disk when asked for. Keeping more grew the heap by one tree per segment.
  let lastSealed: { segment: number; tree: MerkleTree } | undefined

  let lastWriteError: string | undefined
  let lane: Promise<void> = Promise.resolve()
  let closed = false
  const stats = { appended: 0, syncs: 0, checkpoints: 0, brokenEvents: 0, recoveries: 0, since: clock.now() }
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

  const batchHasher =
    hashing === 'inline'
      ? inlineBatchHasher(logId, options.hashAlgorithm)
      : threadBatchHasher(logId, options.hashAlgorithm, (reason) =>
          options.onEvent?.({ level: 'error', msg: 'audit hashing thread failed; restarting it', detail: { reason } }),
        )
  const groups = createGroupCommit({
    logId,
    backend,
    hasher: batchHasher,
    // A thread that keeps failing does not fail the appends: their batches are then built here.
    ...(hashing === 'inline' ? {} : { fallback: inlineBatchHasher(logId, options.hashAlgorithm) }),
    now: clock.now,
    log,
    stats,
    serial,
    refusal: () => (broken ? new AuditUnavailableError(`audit log broken: ${broken}`) : undefined),
    async beforeWrite() {
      if (!startPending) return
      try {
        await rotate()
      } catch (err) {
        noteFailure(err)
        throw err
      }
    },
    async afterWrite() {
      lastWriteError = undefined
      const checkpointed = lastCheckpoint?.body.segment === log.segment ? lastCheckpoint.body.size : 0
      if (log.tree.size - checkpointed >= options.checkpointEvery) {
        await makeCheckpoint(false).catch(reportCheckpointFailure)
      }
      if (log.segmentSize >= options.segmentMaxSize || clock.now() - segmentOpenedAt >= options.segmentMaxAgeMs) {
        await rotate().catch(reportCheckpointFailure)
      }
    },
    writeFailed(err, records) {
      // Nothing of the batch counts: seq, chain and tree stay as they were (the backend cut its bytes back).
      noteFailure(err)
      options.onEvent?.({ level: 'error', msg: 'audit batch not written', detail: { records } })
    },
  })

  /** Remembers a failed write; a broken backend stops every write until it is recovered. */
  function noteFailure(err: unknown): void {
    lastWriteError = `the last audit write failed (${codeOf(err)})`
    if (err instanceof AuditBackendBrokenError && broken === undefined) {
      broken = err.message.replace(/^audit store broken: /, '')
      stats.brokenEvents++
      stats.since = clock.now()
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
    if (reopened.nextSeq !== log.nextSeq || reopened.chain !== log.chain) {
      // Acknowledged records are not in the store as acknowledged: nothing more can honestly be added to it.
      broken = `the store does not hold what was acknowledged (seq ${log.nextSeq} expected next, found ${reopened.nextSeq})`
      options.onEvent?.({ level: 'error', msg: 'audit log cannot be recovered in process', detail: { error: broken } })
      return
    }
    if (reopened.segment !== log.segment) {
      // The reopen started the segment whose start had failed.
      log.tree.compact()
      lastSealed = { segment: log.segment, tree: log.tree }
      log.tree = new MerkleTree(hasher)
      for (const leaf of reopened.segmentLeaves) log.tree.appendLeaf(leaf)
    }
    log.segment = reopened.segment
    segmentFirstSeq = reopened.segmentFirstSeq
    segmentOpenedAt = reopened.segmentOpenedAt
    log.segmentSize = reopened.segmentSize
    lastCheckpoint = reopened.lastCheckpoint
    lastSeal = reopened.lastSeal
    startPending = false
    broken = undefined
    lastWriteError = undefined
    recoveryDelayMs = RECOVERY_FIRST_DELAY_MS
    stats.recoveries++
    stats.since = clock.now()
    for (const repair of reopened.repairs) options.onEvent?.({ level: 'warn', msg: repair })
    options.onEvent?.({
      level: 'info',
      msg: 'audit log recovered',
      detail: { nextSeq: log.nextSeq, segment: log.segment },
    })
  }

  function reportCheckpointFailure(err: unknown): void {
    noteFailure(err)
    options.onEvent?.({ level: 'error', msg: 'audit checkpoint failed', detail: { error: (err as Error).message } })
  }

  async function makeCheckpoint(sealed: boolean): Promise<SignedCheckpoint | undefined> {
    const { tree, segment } = log
    const size = tree.size
    if (!sealed && lastCheckpoint?.body.segment === segment && lastCheckpoint.body.size === size) return lastCheckpoint
    if (size === 0 && !sealed) return lastCheckpoint
    const body: CheckpointBody = {
      logId,
      segment,
      size,
      firstSeq: segmentFirstSeq,
      rootHash: tree.root(size).toString('hex'),
      chainHead: log.chain,
      hashAlg: hasher.algorithm,
      time: new Date(clock.now()).toISOString(),
      sealed,
      ...(lastSeal ? { prevSeal: hasher.digest(Buffer.from(lastSeal.jws)).toString('hex') } : {}),
    }
    const signed = await signCheckpoint(signingKey, body)
    await backend.appendCheckpoint(signed)
    lastCheckpoint = signed
    stats.checkpoints++
    options.onCheckpoint?.(signed)
    return signed
  }

  /**
   * Seals the open segment (a final checkpoint) and starts the next one. The state moves to the new segment only
   * once the backend started it; if that fails after the seal is durable, the start is retried before the next
   * batch (nothing is ever appended to a sealed segment).
   */
  async function rotate(): Promise<void> {
    if (!startPending) {
      if (log.tree.size === 0) {
        segmentOpenedAt = clock.now()
        return
      }
      const seal = await makeCheckpoint(true)
      if (!seal) return
      lastSeal = seal
      startPending = true
    }
    const openedAt = clock.now()
    await backend.startSegment(log.segment + 1, log.nextSeq, openedAt)
    startPending = false
    log.tree.compact()
    lastSealed = { segment: log.segment, tree: log.tree }
    log.segment++
    segmentFirstSeq = log.nextSeq
    segmentOpenedAt = openedAt
    log.segmentSize = 0
    log.tree = new MerkleTree(hasher)
    options.onEvent?.({ level: 'info', msg: 'audit segment sealed', detail: { segment: log.segment - 1 } })
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
  /** Readiness and metrics may ask often. */
  const free = cachedFreeBytes(backend)

  async function probe(): Promise<string | undefined> {
    if (closed) return 'audit log closed'
    if (broken) return `audit log broken: ${broken}`
    // An active check when the backend has one (so readiness comes back once the store is fixed, even with no
    // traffic); otherwise the outcome of the last write.
    return backend.probe ? await backend.probe() : lastWriteError
  }

  async function treeOf(entrySegment: number, entryLogId: string): Promise<MerkleTree | undefined> {
    if (entryLogId === logId && entrySegment === log.segment) return log.tree
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
      const state = broken === undefined ? 'ok' : recoveryTimer === undefined ? 'broken' : 'recovering'
      const { segment, segmentSize } = log
      return { ...stats, queueDepth: groups.depth, segment, segmentSize, state, lastCheckpoint: lastCheckpoint?.body }
    },
    append(record) {
      if (closed) return Promise.reject(new AuditUnavailableError('audit log closed'))
      if (broken) return Promise.reject(new AuditUnavailableError(`audit log broken: ${broken}`))
      return groups.append(record)
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
        if (!checkpoint && entry.logId === logId && entry.segment === log.segment) {
          checkpoint = await makeCheckpoint(false)
        }
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
        await groups.flush()
        if (log.tree.size > 0 && !startPending && !broken) await makeCheckpoint(true).catch(reportCheckpointFailure)
      })
      await batchHasher.close()
      await backend.close()
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      clearTimeout(recoveryTimer)
      await serial(async () => {
        await recover()
        await groups.flush()
        if (!broken) await makeCheckpoint(false).catch(reportCheckpointFailure)
      })
      await batchHasher.close()
      await backend.close()
    },
  }
}
