import type { AuditBackend, BatchTerms } from './backend.js'
import { type BatchStart, batchEnd, batchEntries, type HashedBatch, sameStart } from './batch.js'
import type { BatchHasher } from './batch-hasher.js'
import type { LogEntry } from './entry.js'
import { type MerkleTree, nodeHashesFor } from './merkle.js'
import type { AuditRecord } from './record.js'
import { AuditUnavailableError } from './store.js'

/** The log's committed position (what the backend made durable), as audit-log.ts keeps it. */
export interface CommittedLog {
  nextSeq: number
  chain: string
  segment: number
  /** Size of the open segment: bytes for files, entries otherwise. */
  segmentSize: number
  /** The open segment's tree (its size is the next leaf index). */
  tree: MerkleTree
  /** Epoch ms of the last batch's loggedAt (never decreases). */
  lastLoggedAt: number
}

export interface GroupCommitOptions {
  readonly logId: string
  readonly backend: AuditBackend
  readonly hasher: BatchHasher
  readonly now: () => number
  readonly log: CommittedLog
  readonly stats: { appended: number; syncs: number }
  /** Runs a task on the log's serial lane (batches, checkpoints and rotation never interleave). */
  readonly serial: (task: () => Promise<void>) => Promise<void>
  /** Why nothing may be written now (the store is broken), or undefined. */
  readonly refusal: () => AuditUnavailableError | undefined
  /** Before a group is written: the segment start retried, if one failed (throws: the group fails). */
  readonly beforeWrite: () => Promise<void>
  /** After a group is durable: checkpoints and rotation. */
  readonly afterWrite: () => Promise<void>
  /** A group was not written; nothing of it counts (the backend cut its bytes back). */
  readonly writeFailed: (err: unknown, records: number) => void
  /** Builds a batch the hasher could not build twice in a row (the calling thread's own, when hashing in a thread). */
  readonly fallback?: BatchHasher
}

/**
 * Records handed to the hasher at once: batches are built while the rest of the turn's records still come in.
 * Measured at 256 appenders (bench/audit-store.ts): 128 beat 32, 64 and 256 (smaller: more messages and fsyncs;
 * larger: hashing starts late).
 */
const CHUNK_RECORDS = 128

interface Waiter {
  readonly record: AuditRecord
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

interface Chunk {
  readonly waiters: Waiter[]
  readonly records: AuditRecord[]
  readonly loggedAt: string
  /** The batch as requested last (again, after a rebuild)… */
  hashed: Promise<HashedBatch | undefined>
  /** …and, once that settled, the batch (undefined until then, null when it could not be built). */
  built: HashedBatch | null | undefined
  /** Its appends were resolved or rejected. */
  finished: boolean
}

interface Ready {
  readonly chunk: Chunk
  readonly batch: HashedBatch
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error'

/**
 * Whether a batch can be written at `expected`: built there, with the hashes (`width` bytes each) its entries take
 * to join the tree — checked before the write, so that the tree cannot refuse them after it.
 */
function follows(batch: HashedBatch, expected: BatchStart, width: number): boolean {
  return (
    sameStart(batch.start, expected) &&
    batch.leaves.length === batch.count * width &&
    batch.nodes.length === nodeHashesFor(expected.index, batch.count) * width
  )
}

/**
 * Group commit with the hashing off the lane. Appends are handed to the hasher in chunks as they arrive, each built
 * on the chunk before, ahead of the writes; at its turn the lane writes every chunk already built (or waits for the
 * first one) in one backend append — one fsync, one transaction — then resolves them, while the next chunks are
 * being built: building and syncing overlap. A chunk is written only where the log stands exactly as it was built
 * for (seq, segment, leaf index, chain); after a failed write, a rotation or a recovery, it and every chunk after it
 * are built again from the committed position. An append resolves only once its group is durable.
 */
export function createGroupCommit(options: GroupCommitOptions) {
  const { backend, hasher, log, stats } = options
  const countsEntries = (backend as { countsEntries?: boolean }).countsEntries === true
  /** The backend's index takes the entries' terms from the batches (the file store's, in its thread). */
  const terms = backend.indexTerms === true
  let queue: Waiter[] = []
  const inFlight: Chunk[] = []
  /** Records handed over and not yet written or failed: none means the committed position is where hashing goes on. */
  let uncommitted = 0
  let handOverScheduled = false
  let writeScheduled = false

  const committed = (): BatchStart => ({
    seq: log.nextSeq,
    segment: log.segment,
    index: log.tree.size,
    chain: log.chain,
  })

  /** (Re)requests a chunk's batch, on `base` or on the chunk before it. */
  function request(chunk: Chunk, base?: BatchStart): void {
    const { records, loggedAt } = chunk
    const hashed = hasher
      .hash({ records, loggedAt, ...(base ? { base: { ...base, frontier: log.tree.frontier() } } : {}), terms })
      .catch(() => undefined)
    chunk.hashed = hashed
    chunk.built = undefined
    void hashed.then((batch) => {
      if (chunk.hashed === hashed) chunk.built = batch ?? null
    })
  }

  /** Builds a chunk on the committed position with the fallback hasher (the calling thread's own), if there is one. */
  function buildHere(chunk: Chunk): Promise<HashedBatch | undefined> {
    const base = { ...committed(), frontier: log.tree.frontier() }
    const request = { records: chunk.records, loggedAt: chunk.loggedAt, base, terms }
    return options.fallback?.hash(request).catch(() => undefined) ?? Promise.resolve(undefined)
  }

  /** Hands the queued records to the hasher as one chunk. */
  function handOver(): void {
    handOverScheduled = false
    const waiters = queue
    if (waiters.length === 0) return
    queue = []
    const refusal = options.refusal()
    if (refusal) {
      for (const w of waiters) w.reject(refusal)
      return
    }
    log.lastLoggedAt = Math.max(log.lastLoggedAt, options.now())
    const chunk: Chunk = {
      waiters,
      records: waiters.map((w) => w.record),
      loggedAt: new Date(log.lastLoggedAt).toISOString(),
      hashed: Promise.resolve(undefined),
      built: undefined,
      finished: false,
    }
    // With nothing in between, the batch is built on the committed position: a new hashing thread, or one that
    // built something since, starts from there.
    request(chunk, uncommitted === 0 ? committed() : undefined)
    uncommitted += chunk.records.length
    inFlight.push(chunk)
    scheduleWrite()
  }

  function scheduleWrite(): void {
    if (writeScheduled) return
    writeScheduled = true
    void options.serial(writeTurn)
  }

  /** The lane's turn: one group of what is built; the rest gets the next turn. */
  async function writeTurn(): Promise<void> {
    writeScheduled = false
    handOver()
    await writeOneGroup()
    if (inFlight.length > 0) scheduleWrite()
  }

  async function writeOneGroup(): Promise<void> {
    if (inFlight.length === 0) return
    try {
      await writeGroup()
    } catch (err) {
      // Not expected (every failure of a step is handled in it): still, no append may hang.
      rejectAll(inFlight.splice(0), new AuditUnavailableError(`audit write failed: ${codeOf(err)}`, { cause: err }))
    }
  }

  async function writeGroup(): Promise<void> {
    const refusal = options.refusal()
    if (refusal) return rejectAll(inFlight.splice(0), refusal)
    try {
      await options.beforeWrite()
    } catch (err) {
      const failure = new AuditUnavailableError(`audit segment start failed: ${codeOf(err)}`, { cause: err })
      return rejectAll(inFlight.splice(0), failure)
    }
    const ready = await takeBuilt()
    try {
      await writeReady(ready)
    } catch (err) {
      // Not expected either: what was taken must not hang.
      rejectAll(
        ready.map((r) => r.chunk),
        new AuditUnavailableError(`audit write failed: ${codeOf(err)}`, { cause: err }),
      )
    }
  }

  async function writeReady(ready: readonly Ready[]): Promise<void> {
    if (ready.length === 0) return
    let count = 0
    for (const r of ready) count += r.batch.count
    if (count === 0) {
      // Nothing serialisable in the group: its records fail, nothing is written.
      for (const { chunk, batch } of ready) settle(chunk, batch)
      return
    }
    const lines = ready.length === 1 ? (ready[0] as Ready).batch.lines : Buffer.concat(ready.map((r) => r.batch.lines))
    try {
      await backend.append(entriesOf(ready), lines, terms ? termsOf(ready) : undefined)
    } catch (err) {
      options.writeFailed(err, count)
      const failure = new AuditUnavailableError(`audit write failed: ${codeOf(err)}`, { cause: err })
      return rejectAll(
        ready.map((r) => r.chunk),
        failure,
      )
    }
    for (const { batch } of ready) log.tree.appendHashed(batch.leaves, batch.nodes)
    log.chain = (ready[ready.length - 1] as Ready).batch.chain
    log.nextSeq += count
    // Files rotate by bytes (the line lengths), other stores by entries.
    log.segmentSize += countsEntries ? count : lines.length
    stats.appended += count
    stats.syncs++
    for (const { chunk, batch } of ready) settle(chunk, batch)
    await options.afterWrite()
  }

  /**
   * Takes the chunks at the front that are built and follow on from the committed position one after the other,
   * waiting only when none is built yet. A first chunk built on anything else (a write failed, the segment
   * rotated, the log was recovered, a new hashing thread) is built again from the committed position, and every
   * chunk after it again on top of it, in order; if it still does not follow, it is built by the fallback hasher
   * (on this thread), or fails.
   */
  async function takeBuilt(): Promise<Ready[]> {
    const ready: Ready[] = []
    let expected = committed()
    let rebuilt: Chunk | undefined
    while (inFlight.length > 0) {
      const chunk = inFlight[0] as Chunk
      if (chunk.built === undefined && ready.length > 0) break
      const batch = chunk.built === undefined ? await chunk.hashed : chunk.built
      if (!batch || !follows(batch, expected, log.tree.hasher.size)) {
        if (ready.length > 0) break
        if (rebuilt === chunk) {
          // Built again and still not usable (the hashing thread keeps failing): built here, or it fails. It is
          // written alone; the next turn builds the chunks after it again on it.
          const here = await buildHere(chunk)
          inFlight.shift()
          if (here && follows(here, expected, log.tree.hasher.size)) {
            ready.push({ chunk, batch: here })
            break
          }
          rejectAll([chunk], new AuditUnavailableError('audit batch could not be built'))
          continue
        }
        rebuilt = chunk
        request(chunk, expected)
        for (let i = 1; i < inFlight.length; i++) request(inFlight[i] as Chunk)
        continue
      }
      inFlight.shift()
      ready.push({ chunk, batch })
      expected = batchEnd(expected, batch)
    }
    return ready
  }

  function termsOf(ready: readonly Ready[]): BatchTerms[] | undefined {
    const out: BatchTerms[] = []
    for (const { chunk, batch } of ready) {
      if (batch.terms === undefined) return undefined
      if (batch.count > 0) out.push({ loggedAt: chunk.loggedAt, count: batch.count, packed: batch.terms })
    }
    return out
  }

  function entriesOf(ready: readonly Ready[]): LogEntry[] {
    const entries: LogEntry[] = []
    for (const { chunk, batch } of ready) batchEntries(options.logId, chunk.loggedAt, chunk.records, batch, entries)
    return entries
  }

  /** A written chunk: its records resolve, but those that could not be serialised, which fail alone. */
  function settle(chunk: Chunk, batch: HashedBatch): void {
    if (chunk.finished) return
    chunk.finished = true
    uncommitted -= chunk.records.length
    let failedAt = 0
    for (let i = 0; i < chunk.waiters.length; i++) {
      const w = chunk.waiters[i] as Waiter
      if (batch.failed[failedAt]?.index === i) {
        failedAt++
        w.reject(new AuditUnavailableError('audit record cannot be serialised as canonical JSON'))
      } else w.resolve()
    }
  }

  function rejectAll(chunks: readonly Chunk[], failure: Error): void {
    for (const chunk of chunks) {
      if (chunk.finished) continue
      chunk.finished = true
      uncommitted -= chunk.records.length
      for (const w of chunk.waiters) w.reject(failure)
    }
  }

  return {
    append(record: AuditRecord): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, resolve, reject })
        if (queue.length >= CHUNK_RECORDS) handOver()
        else if (!handOverScheduled) {
          handOverScheduled = true
          // After the current turn of the event loop, so every call that finished in this turn joins the batch.
          setImmediate(handOver)
        }
      })
    },

    /** Writes everything appended so far, on the caller's lane task (seal and close: nothing may come after it). */
    async flush(): Promise<void> {
      handOver()
      while (inFlight.length > 0) await writeOneGroup()
    },

    /** Records appended and not yet durable. */
    get depth(): number {
      let n = queue.length
      for (const chunk of inFlight) n += chunk.records.length
      return n
    },
  }
}
