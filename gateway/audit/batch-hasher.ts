import { type BatchBase, BatchBuilder, type HashedBatch } from './batch.js'
import type { HashAlgorithm } from './merkle.js'
import type { AuditRecord } from './record.js'
import { AuditUnavailableError } from './store.js'
import { type SharedThread, sharedThread } from './thread.js'

/**
 * Where a log's batches are built (batch.ts: canonical JSON, leaf and chain hashes, Merkle nodes, the stored lines):
 * in the process's hashing thread by default, so that the request thread only hands the records over (a structured
 * clone, about half the cost of serialising them) and writes the lines it gets back; or inline, on the calling
 * thread. Requests are answered in order, each building on the one before (or on `base`).
 */
export interface BatchHasher {
  hash(request: HashRequest): Promise<HashedBatch>
  close(): Promise<void>
}

export interface HashRequest {
  readonly records: readonly AuditRecord[]
  /** The batch's one loggedAt. */
  readonly loggedAt: string
  /** Where to build it; else on the batch before. */
  readonly base?: BatchBase
  /** With the entries' search terms (the file store's index in its thread asks for them). */
  readonly terms?: boolean
}

/** The OS name of the hashing thread (`top -H`, /proc/<pid>/task/<tid>/comm), at most 15 characters. */
export const HASH_THREAD_NAME = 'qiao-audit-hash'

/** A request to the hashing thread, for one of the process's logs (`log`: its key there). */
export type BatchRequest =
  | {
      readonly type: 'build'
      readonly log: number
      /** undefined where a record could not be copied to the thread (it fails alone). */
      readonly records: ReadonlyArray<AuditRecord | undefined>
      readonly loggedAt: string
      /** With a base, the log's identity, so that the thread can start building for it. */
      readonly base?: BatchBase & { readonly logId: string; readonly algorithm: HashAlgorithm }
      readonly terms?: boolean
    }
  | { readonly type: 'forget'; readonly log: number }

export function inlineBatchHasher(logId: string, algorithm: HashAlgorithm): BatchHasher {
  const builder = new BatchBuilder(logId, algorithm)
  return {
    hash({ records, loggedAt, base, terms }) {
      try {
        if (base) builder.rebase(base)
        return Promise.resolve(builder.build(records, loggedAt, terms))
      } catch (err) {
        return Promise.reject(err)
      }
    },
    close: async () => {},
  }
}

/** The logs of this process that hash in the thread, by key: each hears when the thread failed. */
const hashingLogs = new Map<number, (reason: string) => void>()
let nextLog = 0
let thread: SharedThread | undefined

function hashThread(): SharedThread {
  thread ??= sharedThread({
    importMetaUrl: import.meta.url,
    module: 'batch-worker',
    onLost: (reason) => {
      for (const lost of hashingLogs.values()) lost(reason)
    },
  })
  return thread
}

/**
 * Builds a log's batches in the process's hashing thread (batch-worker.ts). A thread that fails fails the batches
 * it had and is started again on the next one; it knows no position then, so its first batches come back unbuilt.
 * The log builds both kinds again from its committed position (group-commit.ts).
 */
export function threadBatchHasher(
  logId: string,
  algorithm: HashAlgorithm,
  onLost?: (reason: string) => void,
): BatchHasher {
  const log = nextLog++
  const shared = hashThread()
  hashingLogs.set(log, onLost ?? (() => {}))
  let closed = false

  async function build(request: Extract<BatchRequest, { type: 'build' }>): Promise<HashedBatch> {
    try {
      return received(await shared.call<HashedBatch>(request))
    } catch (err) {
      if ((err as Error).name !== 'DataCloneError') {
        throw new AuditUnavailableError('audit batch not built in the hashing thread', { cause: err })
      }
      // A record that cannot be cloned (a function in it, say) is left out, and only it fails.
      const records = request.records.map((r) => (cloneable(r) ? r : undefined))
      return received(await shared.call<HashedBatch>({ ...request, records }))
    }
  }

  return {
    hash({ records, loggedAt, base, terms }) {
      if (closed) return Promise.reject(new AuditUnavailableError('audit log closed'))
      return build({
        type: 'build',
        log,
        records,
        loggedAt,
        ...(base ? { base: { ...base, logId, algorithm } } : {}),
        ...(terms ? { terms } : {}),
      })
    },
    async close() {
      if (closed) return
      closed = true
      hashingLogs.delete(log)
      shared.tell({ type: 'forget', log })
    },
  }
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value)
    return true
  } catch {
    return false
  }
}

/** Typed arrays come back from the thread as plain Uint8Arrays: the same memory, as Buffers. */
function received(batch: HashedBatch): HashedBatch {
  const buffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
  return { ...batch, lines: buffer(batch.lines), leaves: buffer(batch.leaves), nodes: buffer(batch.nodes) }
}

/**
 * Ends the process's hashing thread as a crash would: the batches it had fail, the next one starts another. Tests
 * use it to stand for a thread that failed.
 */
export async function stopHashThread(): Promise<void> {
  await thread?.stop()
}

/** The process's hashing thread: running, idle (started on the next batch) or paused after failing repeatedly. */
export function hashThreadState(): SharedThread['state'] {
  return thread?.state ?? 'idle'
}

/** Starts the hashing thread now, so that the first batch does not wait for it (the log calls this at open). */
export function warmHashThread(): void {
  hashThread().warm()
}
