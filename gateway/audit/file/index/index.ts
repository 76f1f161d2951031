import { join, resolve } from 'node:path'
import type { AuditCursor, AuditFilter } from '../../backend.js'
import type { LogEntry } from '../../entry.js'
import { listLogs, type Manifest, readManifest } from '../manifest.js'
import { merge } from '../reader.js'
import type { IndexEvent, IndexStatus } from './indexer.js'
import { scanFrom } from './lines.js'
import { type IndexSource, searchLog } from './search.js'
import { IndexUnusableError, openForReading, statements } from './store.js'
import { threadIndexWriter } from './thread.js'
import { type DurableBatch, type IndexWriter, localIndexWriter } from './writer.js'

export type { IndexEvent, IndexStatus } from './indexer.js'
export { INDEX_FILE } from './store.js'

/**
 * The file store's search index, one SQLite file per log beside its segments (store.ts): written by the process
 * that writes the log, in a thread of its own (thread.ts, indexer.ts), read by every query of the store, in that
 * process or another one (`qiao audit export` beside a running gateway), read-only through WAL. A query uses each log's index as far as it
 * goes and scans the rest; with no usable index it scans the whole log, as the store did before it had one.
 * `qiao audit verify` never reads it.
 */
export interface AuditIndex {
  /** The writer opened `logId` (after recovery): check the index against the log and catch up in the background. */
  openLog(
    logId: string,
    recovered: { readonly nextSeq: number; readonly chain: string },
    acknowledged: () => { readonly segment: number; readonly bytes: number },
  ): Promise<void>
  /** The writer made `batch` durable as `data` at `offset` of its segment. */
  appended(data: Uint8Array, offset: number, batch: DurableBatch): void
  /** The writer's acknowledged position moved without an append (it started a segment). */
  acknowledgedMoved(): void
  /** Resolves once the open log's index covers every acknowledged record (undefined when no log is open). */
  caughtUp(): Promise<IndexStatus | undefined>
  /** Retention removed these sealed segments of `logId`. */
  purged(logId: string, segments: readonly number[]): Promise<void>
  /** Entries matching the filter in (loggedAt, logId, seq) order, after the cursor. */
  query(filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry>
  close(): Promise<void>
}

export interface AuditIndexOptions {
  /** false: never read or write an index (every query scans). */
  readonly enabled?: boolean
  /**
   * Where the index is written: in the process's index thread (true), or on the writing thread (false: for a
   * process with one CPU). Default: the thread when the process may use more than one CPU.
   */
  readonly thread?: boolean
  /** Rebuilds, catch-ups and failures of the index (never record contents); default: warnings to process warnings. */
  readonly onEvent?: (event: IndexEvent) => void
}

/** This process's index writers, by log directory: a query flushes the one of its log first. */
const WRITERS = new Map<string, IndexWriter>()

/** Query-side problems already reported in this process (each once per log: queries are many). */
const TOLD = new Set<string>()

function defaultEvent(event: IndexEvent): void {
  if (event.level === 'info') return
  process.emitWarning(`${event.msg} ${JSON.stringify(event.detail)}`, { code: 'QIAO_AUDIT_INDEX' })
}

const isSqliteError = (err: unknown) => String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_')

export function createAuditIndex(dir: string, options: AuditIndexOptions = {}): AuditIndex {
  const enabled = options.enabled !== false
  const onEvent = options.onEvent ?? defaultEvent
  let writer: { readonly logDir: string; readonly thread: IndexWriter } | undefined
  const tellOnce = (msg: string, detail: Record<string, string>) => {
    const key = `${msg}\0${resolve(dir, detail.log ?? '')}`
    if (TOLD.has(key)) return
    TOLD.add(key)
    onEvent({ level: 'warn', msg, detail })
  }

  /** The index to read a log by: the file opened read-only (closed after), once this process's writer flushed it. */
  async function sourceFor(logDir: string, logId: string): Promise<(IndexSource & { close?: () => void }) | undefined> {
    await WRITERS.get(resolve(logDir))?.flush()
    const opened = await openForReading(logDir, logId)
    return opened ? { db: opened, st: statements(opened), close: () => opened.close() } : undefined
  }

  async function* logEntries(
    logId: string,
    m: Manifest,
    filter: AuditFilter,
    after: AuditCursor | undefined,
  ): AsyncIterable<LogEntry> {
    const logDir = join(dir, logId)
    let lastSeq = -1
    let source: Awaited<ReturnType<typeof sourceFor>>
    try {
      source = enabled ? await sourceFor(logDir, logId) : undefined
    } catch (err) {
      if (!(err instanceof IndexUnusableError) && !isSqliteError(err)) throw err
      tellOnce('audit index unreadable; queries scan the log', { log: logId, reason: (err as Error).message })
    }
    try {
      if (source) {
        try {
          for await (const entry of searchLog(logDir, logId, m, filter, after, source)) {
            lastSeq = entry.seq
            yield entry
          }
          return
        } catch (err) {
          if (!(err instanceof IndexUnusableError) && !isSqliteError(err)) throw err
          tellOnce('audit index does not match the log; this query scans it', {
            log: logId,
            reason: (err as Error).message,
          })
        }
      }
      // No usable index: the whole log (or what is left of it after the index failed midway), in order.
      yield* scanFrom(logDir, m, { segment: 0, offset: 0, seq: lastSeq + 1 })
    } finally {
      source?.close?.()
    }
  }

  return {
    async openLog(logId, recovered, acknowledged) {
      if (!enabled) return
      const logDir = join(dir, logId)
      if (writer?.logDir !== logDir) {
        await writer?.thread.close()
        const start = options.thread === false ? localIndexWriter : threadIndexWriter
        const thread = start({ logDir, logId, acknowledged, onEvent })
        writer = { logDir, thread }
        WRITERS.set(resolve(logDir), thread)
      }
      await writer.thread.start(recovered)
    },

    appended(data, offset, batch) {
      if (batch.count > 0) writer?.thread.appended(data, offset, batch)
    },

    acknowledgedMoved() {
      writer?.thread.acknowledgedMoved()
    },

    async caughtUp() {
      return writer?.thread.caughtUp()
    },

    async purged(logId, segments) {
      await WRITERS.get(resolve(join(dir, logId)))?.purged(segments)
    },

    async *query(filter, after) {
      const logs = filter.logId !== undefined ? [filter.logId] : await listLogs(dir)
      const streams: AsyncIterator<LogEntry>[] = []
      for (const logId of logs) {
        const m = await readManifest(join(dir, logId))
        if (m) streams.push(logEntries(logId, m, filter, after)[Symbol.asyncIterator]())
      }
      try {
        yield* merge(streams, filter, after)
      } finally {
        // A consumer that stops early (one page) must not leave files or connections open.
        await Promise.all(streams.map((s) => s.return?.()))
      }
    },

    async close() {
      if (!writer) return
      const { logDir, thread } = writer
      writer = undefined
      if (WRITERS.get(resolve(logDir)) === thread) WRITERS.delete(resolve(logDir))
      await thread.close()
    },
  }
}
