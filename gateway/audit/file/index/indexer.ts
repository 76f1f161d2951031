import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { LogEntry } from '../../entry.js'
import { fileOf, type Manifest, readManifest, type SegmentInfo } from '../manifest.js'
import { entryOf, type Position, readAt, segmentLimit } from './lines.js'
import { reconcile } from './reconcile.js'
import { type IndexedLine, indexedLines, type OpenRun, RunBuilder, runWriter } from './runs.js'
import {
  type Database,
  deleteRange,
  EMPTY_PROGRESS,
  IndexUnusableError,
  openForWriting,
  type Progress,
  removeIndexFiles,
  type Statements,
  statements,
  writeProgress,
} from './store.js'

/**
 * The writing side of one log's index, in the gateway that writes the log (in its index thread: thread.ts): lines
 * are indexed only once they are durable — after the batch's fsync, from the bytes the writer just made durable,
 * in batched inserts of many batches (not on the append's path: the batch is acknowledged first) — and, at open and
 * whenever the index is behind (a crash between the fsync and the index write, a missing or rebuilt index), by
 * reading the segments from where the index stops, a chunk per turn, in the background. Until it has caught up,
 * queries take what the index covers and scan the rest (search.ts), so answers never depend on how far it got.
 */

export interface IndexEvent {
  readonly level: 'info' | 'warn' | 'error'
  readonly msg: string
  readonly detail: Readonly<Record<string, string | number>>
}

export interface IndexStatus {
  /** Every seq below is indexed. */
  readonly nextSeq: number
  /** Why the index stopped following the log in this process, if it did (queries scan beyond `nextSeq`). */
  readonly stopped?: string
}

/** Bytes read per catch-up step (a step is indexed in one transaction, then the event loop turns). */
const CHUNK = 1 << 20
/** Live appends are written to the index in transactions of about this many records, or after this long. */
const FLUSH_RECORDS = 1024
const FLUSH_MS = 50
/** How long a segment file may be missing while its purge is recorded in the manifest. */
const MISSING_RETRIES = 100
const MISSING_WAIT_MS = 50
/** The chain value of the stored line at `at`: `{"chain":"<hex>",…` (entry.ts). */
function chainOf(data: Uint8Array, at: number): string {
  return Buffer.from(data.buffer, data.byteOffset + at + 10, 64).toString('latin1')
}

export interface LogIndexerOptions {
  readonly logDir: string
  readonly logId: string
  /** The open segment and its bytes that were written and synced (nothing past them is indexed). */
  readonly acknowledged: () => { readonly segment: number; readonly bytes: number }
  readonly onEvent: (event: IndexEvent) => void
}

export function createLogIndexer(options: LogIndexerOptions) {
  const { logDir, logId, acknowledged } = options
  let db: Database | undefined
  let st: Statements | undefined
  let write: ((runs: readonly OpenRun[], progress: Progress) => void) | undefined
  let progress: Progress = EMPTY_PROGRESS
  let next: Position = { segment: 1, offset: 0, seq: 0 }
  let runs = new RunBuilder(Number.NEGATIVE_INFINITY)
  /** Appends are indexed as they come only while the index is level with the writer. */
  let live = false
  let stopped: string | undefined
  let closed = false
  /** Bumped by every start: a catch-up of an earlier start ends at its next step. */
  let epoch = 0
  let catchingUp: Promise<void> | undefined
  let flushScheduled = false
  let flushTimer: NodeJS.Timeout | undefined
  const told = new Set<string>()

  const event = (level: IndexEvent['level'], msg: string, detail: Record<string, string | number> = {}) => {
    // Once per kind per process: a failing disk must not flood the operational log.
    if (told.has(msg)) return
    told.add(msg)
    options.onEvent({ level, msg, detail: { log: logId, ...detail } })
  }

  function stop(reason: string, err?: unknown): void {
    stopped = reason
    live = false
    runs.drain()
    const code = (err as { code?: unknown } | undefined)?.code
    event('error', 'audit index stopped; queries scan the log beyond it until the next start', {
      reason,
      ...(typeof code === 'string' ? { code } : {}),
    })
  }

  async function openDatabase(): Promise<Database> {
    try {
      return await openForWriting(logDir, logId)
    } catch (err) {
      if (!(err instanceof IndexUnusableError)) throw err
      event('warn', 'audit index unusable; rebuilding it from the segments', { reason: err.message })
      await removeIndexFiles(logDir)
      return openForWriting(logDir, logId)
    }
  }

  function prepare(d: Database): void {
    st = statements(d)
    write = runWriter(d)
  }

  /** Writes the runs indexed since the last flush, with the progress, in one transaction. */
  function flush(): void {
    flushScheduled = false
    if (flushTimer) clearTimeout(flushTimer)
    flushTimer = undefined
    if (!db || stopped || runs.records === 0) return
    try {
      write?.(runs.drain(), progress)
    } catch (err) {
      stop('index write failed', err)
    }
  }

  /**
   * Soon, in one transaction for many batches: at the next turn of the event loop once FLUSH_RECORDS are pending,
   * else after FLUSH_MS. A transaction per batch would cost twice as much per record (FTS5 writes a segment per
   * transaction and merges them later); queries in this process flush first, so they never wait for it.
   */
  function scheduleFlush(): void {
    if (runs.records >= FLUSH_RECORDS) {
      if (flushTimer) clearTimeout(flushTimer)
      flushTimer = undefined
      if (flushScheduled) return
      flushScheduled = true
      setImmediate(flush)
      return
    }
    if (flushScheduled || flushTimer) return
    flushTimer = setTimeout(() => {
      flushTimer = undefined
      flush()
    }, FLUSH_MS)
  }

  /**
   * Indexes durable lines of one segment starting at `offset`; `lengths` are their byte lengths, `lastChain` the
   * last one's chain value.
   */
  function take(
    lines: readonly IndexedLine[],
    lengths: readonly number[],
    segment: number,
    offset: number,
    lastChain: string,
  ): void {
    const taken = runs.take(lines, lengths, segment, offset, progress, lastChain)
    progress = taken.progress
    next = { segment, offset: taken.end, seq: progress.nextSeq }
  }

  /**
   * The writer made `lines` (from seq `first.seq` of segment `first.segment`) durable, as `data`, at `offset` of
   * their segment (called after the fsync).
   */
  function appended(
    first: { readonly seq: number; readonly segment: number },
    lines: readonly IndexedLine[],
    data: Uint8Array,
    offset: number,
  ): void {
    if (!live || stopped || lines.length === 0) return
    const inPlace =
      first.segment === next.segment ? offset === next.offset : first.segment > next.segment && offset === 0
    if (first.seq !== next.seq || !inPlace) {
      // Not where the index stands (it missed something): read it from the segment instead.
      live = false
      void catchUp()
      return
    }
    const lengths: number[] = []
    for (let from = 0; from < data.length; ) {
      const nl = data.indexOf(0x0a, from)
      const end = nl < 0 ? data.length : nl + 1
      lengths.push(end - from)
      from = end
    }
    if (lengths.length !== lines.length) {
      // Not the lines it was told of: read them from the segment instead.
      live = false
      void catchUp()
      return
    }
    const lastStart = data.length - (lengths[lengths.length - 1] as number)
    take(lines, lengths, first.segment, offset, chainOf(data, lastStart))
    scheduleFlush()
  }

  /** Off the append's path, but fed by it: whatever goes wrong here stops the index, never the append. */
  function appendedSafely(
    first: { readonly seq: number; readonly segment: number },
    lines: readonly IndexedLine[],
    data: Uint8Array,
    offset: number,
  ): void {
    try {
      appended(first, lines, data, offset)
    } catch (err) {
      stop('index update failed', err)
    }
  }

  /** Reads and indexes the complete lines of `info` from `next` up to `end` (one chunk); false when none is left. */
  async function indexChunk(info: SegmentInfo, end: number): Promise<boolean> {
    const limit = segmentLimit(info)
    const file = await open(join(logDir, fileOf(info)), 'r')
    try {
      let want = Math.min(end - next.offset, CHUNK)
      let bytes = await readAt(file, next.offset, want)
      // A line longer than a chunk: read further until it ends.
      while (bytes.lastIndexOf(0x0a) < 0 && want < end - next.offset) {
        want = Math.min(end - next.offset, want * 2)
        bytes = await readAt(file, next.offset, want)
      }
      const entries: LogEntry[] = []
      const lengths: number[] = []
      for (let from = 0, seq = next.seq; seq < limit; seq++) {
        const nl = bytes.indexOf(0x0a, from)
        if (nl < 0) break
        const entry = entryOf(bytes.subarray(from, nl), logId, seq)
        if (!entry) throw new IndexUnusableError(`segment ${info.segment} does not continue at seq ${seq}`)
        entries.push(entry)
        lengths.push(nl + 1 - from)
        from = nl + 1
      }
      const last = entries[entries.length - 1]
      if (!last) return false
      take(indexedLines(entries), lengths, info.segment, next.offset, last.chain)
      flush()
      return true
    } finally {
      await file.close()
    }
  }

  /** Follows the segments from `next` until level with the writer, a step per turn of the event loop. */
  async function follow(started: number): Promise<void> {
    let missing = 0
    while (!closed && !stopped && epoch === started) {
      const m = (await readManifest(logDir)) as Manifest
      const at = m.segments.findIndex((s) => s.segment === next.segment)
      const info = m.segments[at]
      if (!info) throw new IndexUnusableError(`segment ${next.segment} is not in the manifest`)
      const following = m.segments[at + 1]
      try {
        const ack = acknowledged()
        const end = info.purged ? 0 : info.segment === ack.segment ? ack.bytes : await sizeOf(info)
        if (!info.purged && next.seq < segmentLimit(info) && next.offset < end && (await indexChunk(info, end))) {
          missing = 0
          await nextTurn()
          continue
        }
      } catch (err) {
        // Retention removes a segment's file before the manifest says so: look again, for a while.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || ++missing > MISSING_RETRIES) throw err
        await sleep(MISSING_WAIT_MS)
        continue
      }
      if (following) {
        // This segment is done (sealed, set aside or purged): the next one starts where it ends.
        if (following.firstSeq < next.seq) throw new IndexUnusableError(`segment ${following.segment} starts too early`)
        next = { segment: following.segment, offset: 0, seq: following.firstSeq }
        if (progress.nextSeq !== next.seq) progress = { ...progress, nextSeq: next.seq, lastChain: null }
        continue
      }
      const now = acknowledged()
      if (now.segment === next.segment && now.bytes === next.offset) {
        live = true
        return
      }
      await nextTurn()
    }
  }

  async function sizeOf(info: SegmentInfo): Promise<number> {
    return (await stat(join(logDir, fileOf(info)))).size
  }

  function catchUp(): Promise<void> {
    catchingUp ??= follow(epoch)
      .catch((err: unknown) => stop((err as Error).message, err))
      .finally(() => {
        catchingUp = undefined
        flush()
      })
    return catchingUp
  }

  return {
    /** This process's connection, for queries (undefined until started, or when the index could not be opened). */
    get db(): Database | undefined {
      return stopped === undefined ? db : undefined
    },

    /**
     * After the writer opened the log (recovered: its next seq and chain): opens or rebuilds the index, checks it
     * against the log and starts catching up in the background.
     */
    async start(recovered: { readonly nextSeq: number; readonly chain: string }): Promise<void> {
      flush()
      epoch++
      await catchingUp
      live = false
      stopped = undefined
      try {
        if (!db) {
          db = await openDatabase()
          prepare(db)
        }
        const m = (await readManifest(logDir)) as Manifest
        const state = await reconcile(db, st as Statements, logDir, logId, m, recovered, (msg, reason) =>
          event('warn', msg, { reason }),
        )
        progress = state.progress
        next = state.next
        runs = new RunBuilder((st as Statements).lastRun()?.lastAt ?? Number.NEGATIVE_INFINITY)
        if (progress.nextSeq === 0 && recovered.nextSeq > 0) {
          event('info', 'audit index being built from the segments', { records: recovered.nextSeq })
        }
      } catch (err) {
        stop((err as Error).message, err)
        return
      }
      void catchUp()
    },

    appended: appendedSafely,

    /** Writes what is pending now (before a query in this process). */
    flush,

    /** Resolves once every acknowledged line is indexed (or the index stopped). */
    async caughtUp(): Promise<IndexStatus> {
      while (!live && !stopped && !closed && db) await catchUp()
      flush()
      return { nextSeq: progress.nextSeq, ...(stopped ? { stopped } : {}) }
    },

    /** Retention removed these segments: their rows go too. */
    async purged(removed: readonly number[]): Promise<void> {
      const d = db
      if (!d || stopped || removed.length === 0) return
      flush()
      const m = (await readManifest(logDir)) as Manifest
      try {
        d.transaction(() => {
          for (const segment of removed) {
            const at = m.segments.findIndex((s) => s.segment === segment)
            const info = m.segments[at]
            const following = m.segments[at + 1]
            if (info && following) deleteRange(d, info.firstSeq, following.firstSeq)
          }
          progress = { ...progress, generation: progress.generation + 1 }
          writeProgress(d, progress)
        })()
      } catch (err) {
        stop('index write failed', err)
      }
    },

    async close(): Promise<void> {
      closed = true
      await catchingUp
      flush()
      db?.close()
      db = undefined
    },
  }
}

export type LogIndexer = ReturnType<typeof createLogIndexer>
