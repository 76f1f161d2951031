import type { BatchTerms } from '../../backend.js'
import type { LogEntry } from '../../entry.js'
import { createLogIndexer, type IndexEvent, type IndexStatus } from './indexer.js'
import { entryOf } from './lines.js'
import { type IndexedLine, indexedLines } from './runs.js'
import { unpackTerms } from './terms.js'

/**
 * What the file store's index asks of the one that writes a log's index: in the process's index thread
 * (thread.ts), or on the writing thread itself when the process has one CPU to run on (localIndexWriter), where a
 * thread would only add the cost of handing the lines over and parsing them again.
 */
export interface IndexWriter {
  /** Checks the index against the log just opened (recovered: its next seq and chain) and starts catching up. */
  start(recovered: { readonly nextSeq: number; readonly chain: string }): Promise<void>
  /**
   * The writer made `batch.count` entries from `batch.first` durable, as `data`, at `offset` of their segment, with
   * the entries themselves when it has them, and their terms when the hashing thread computed them.
   */
  appended(data: Uint8Array, offset: number, batch: DurableBatch): void
  /** The writer's acknowledged position moved without an append (a segment started). */
  acknowledgedMoved(): void
  caughtUp(): Promise<IndexStatus>
  purged(segments: readonly number[]): Promise<void>
  /** Writes what is pending (before a query, so that it finds the latest records in the index). */
  flush(): Promise<void>
  close(): Promise<void>
}

export interface DurableBatch {
  readonly first: { readonly seq: number; readonly segment: number }
  readonly count: number
  readonly entries?: readonly LogEntry[]
  readonly terms?: readonly BatchTerms[]
}

/** The open segment and its bytes that were written and synced. */
export interface Acknowledged {
  readonly segment: number
  readonly bytes: number
}

export interface IndexWriterOptions {
  readonly logDir: string
  readonly logId: string
  readonly acknowledged: () => Acknowledged
  readonly onEvent: (event: IndexEvent) => void
}

/**
 * The entries of a durable batch's lines; none when they are not what the writer said (the indexer then reads them
 * from the segment: the next append is not where it stands, which makes it catch up).
 */
export function entriesOf(logId: string, data: Buffer, firstSeq: number, count: number): LogEntry[] {
  const entries: LogEntry[] = []
  let from = 0
  for (let k = 0; k < count; k++) {
    const nl = data.indexOf(0x0a, from)
    const entry = nl < 0 ? undefined : entryOf(data.subarray(from, nl), logId, firstSeq + k)
    if (!entry) return []
    entries.push(entry)
    from = nl + 1
  }
  return entries
}

/**
 * The lines of a durable batch as the index takes them: from the terms the hashing thread computed, else from the
 * entries, else parsed from the bytes (none when they are not what the writer said: the indexer then reads them
 * from the segment).
 */
export function durableLines(logId: string, data: Uint8Array, batch: DurableBatch): IndexedLine[] {
  const fromTerms = batch.terms ? linesOfTerms(batch.first.seq, batch.count, batch.terms) : undefined
  if (fromTerms) return fromTerms
  if (batch.entries) return indexedLines(batch.entries)
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return indexedLines(entriesOf(logId, bytes, batch.first.seq, batch.count))
}

function linesOfTerms(firstSeq: number, count: number, terms: readonly BatchTerms[]): IndexedLine[] | undefined {
  const lines: IndexedLine[] = []
  for (const chunk of terms) {
    const packed = chunk.packed.split('\n')
    if (packed.length !== chunk.count) return undefined
    for (const text of packed) {
      const t = unpackTerms(text)
      if (!t) return undefined
      lines.push({ seq: firstSeq + lines.length, loggedAt: chunk.loggedAt, terms: t })
    }
  }
  return lines.length === count ? lines : undefined
}

/** The log's indexer on the calling thread, fed with the entries the writer made durable. */
export function localIndexWriter(options: IndexWriterOptions): IndexWriter {
  const indexer = createLogIndexer(options)
  return {
    start: (recovered) => indexer.start(recovered),
    appended(data, offset, batch) {
      indexer.appended(batch.first, durableLines(options.logId, data, batch), data, offset)
    },
    acknowledgedMoved: () => {},
    caughtUp: () => indexer.caughtUp(),
    purged: (segments) => indexer.purged(segments),
    flush: async () => indexer.flush(),
    close: () => indexer.close(),
  }
}
