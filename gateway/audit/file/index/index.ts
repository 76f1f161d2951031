import { join, resolve } from 'node:path'
import type { AuditCursor, AuditFilter } from '../../backend.js'
import type { LogEntry } from '../../entry.js'
import { listLogs, type Manifest, readManifest } from '../manifest.js'
import { merge } from '../reader.js'
import { createLogIndexer, type IndexEvent, type IndexStatus, type LogIndexer } from './indexer.js'
import { scanFrom } from './lines.js'
import { type IndexSource, searchLog } from './search.js'
import { type Database, IndexUnusableError, openForReading, type Statements, statements } from './store.js'

export type { IndexEvent, IndexStatus } from './indexer.js'
export { INDEX_FILE } from './store.js'

/**
 * The file store's search index, one SQLite file per log beside its segments (store.ts): written by the process
 * that writes the log (indexer.ts), read by every query of the store, in that process or another one (`qiao audit
 * export` beside a running gateway reads it read-only through WAL). A query uses each log's index as far as it
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
  /** The writer made `entries` durable as `data` at `offset` of their segment. */
  appended(entries: readonly LogEntry[], data: Uint8Array, offset: number): void
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
  /** Rebuilds, catch-ups and failures of the index (never record contents); default: warnings to process warnings. */
  readonly onEvent?: (event: IndexEvent) => void
}

/** This process's writers, by log directory: other backends of the same directory query through their connection. */
const WRITERS = new Map<string, LogIndexer>()

/** Query-side problems already reported in this process (each once per log: queries are many). */
const TOLD = new Set<string>()

const cachedStatements = new WeakMap<Database, Statements>()
function statementsOf(db: Database): Statements {
  let st = cachedStatements.get(db)
  if (!st) {
    st = statements(db)
    cachedStatements.set(db, st)
  }
  return st
}

function defaultEvent(event: IndexEvent): void {
  if (event.level === 'info') return
  process.emitWarning(`${event.msg} ${JSON.stringify(event.detail)}`, { code: 'QIAO_AUDIT_INDEX' })
}

const isSqliteError = (err: unknown) => String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_')

export function createAuditIndex(dir: string, options: AuditIndexOptions = {}): AuditIndex {
  const enabled = options.enabled !== false
  const onEvent = options.onEvent ?? defaultEvent
  let writer: { readonly logDir: string; readonly indexer: LogIndexer } | undefined
  const tellOnce = (msg: string, detail: Record<string, string>) => {
    const key = `${msg}\0${resolve(dir, detail.log ?? '')}`
    if (TOLD.has(key)) return
    TOLD.add(key)
    onEvent({ level: 'warn', msg, detail })
  }

  /** The index to read a log by: this process's writer's, else the file opened read-only (closed after). */
  async function sourceFor(logDir: string, logId: string): Promise<(IndexSource & { close?: () => void }) | undefined> {
    const own = WRITERS.get(resolve(logDir))
    const db = own?.db
    if (own && db) {
      own.flush()
      return { db, st: statementsOf(db) }
    }
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
        await writer?.indexer.close()
        const indexer = createLogIndexer({ logDir, logId, acknowledged, onEvent })
        writer = { logDir, indexer }
        WRITERS.set(resolve(logDir), indexer)
      }
      await writer.indexer.start(recovered)
    },

    appended(entries, data, offset) {
      writer?.indexer.appended(entries, data, offset)
    },

    async caughtUp() {
      return writer?.indexer.caughtUp()
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
      const { logDir, indexer } = writer
      writer = undefined
      if (WRITERS.get(resolve(logDir)) === indexer) WRITERS.delete(resolve(logDir))
      await indexer.close()
    },
  }
}
