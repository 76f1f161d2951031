import { createReadStream } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { LogEntry } from '../../entry.js'
import { fileOf, type Manifest, type SegmentInfo } from '../manifest.js'

/** Reading segment lines by position: what the index points at, and the stretches it does not cover. */

/** A stored line parsed, if it is the entry expected there (another log's or a shifted line is not). */
export function entryOfText(text: string, logId: string, seq: number): LogEntry | undefined {
  try {
    const entry = JSON.parse(text) as LogEntry
    return entry?.logId === logId && entry.seq === seq && typeof entry.record === 'object' ? entry : undefined
  } catch {
    return undefined
  }
}

export const entryOf = (bytes: Buffer, logId: string, seq: number) => entryOfText(bytes.toString('utf8'), logId, seq)

/** `length` bytes at `offset` (fewer at the end of the file). */
export async function readAt(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await file.read(out, got, length - got, offset + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return got === length ? out : out.subarray(0, got)
}

/** One query's open segment files, closed together at the end. */
export function segmentFiles(logDir: string) {
  const handles = new Map<string, Promise<FileHandle | undefined>>()
  return {
    /** The segment's file, or undefined when it is gone (purged meanwhile). */
    get(info: SegmentInfo): Promise<FileHandle | undefined> {
      const name = fileOf(info)
      let h = handles.get(name)
      if (!h) {
        h = open(join(logDir, name), 'r').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined
          throw err
        })
        handles.set(name, h)
      }
      return h
    },
    async close(): Promise<void> {
      const all = [...handles.values()]
      handles.clear()
      for (const h of all) await (await h.catch(() => undefined))?.close().catch(() => {})
    },
  }
}

/** Where a log's line starts: a segment and a byte offset in its file, and the seq expected there. */
export interface Position {
  readonly segment: number
  readonly offset: number
  readonly seq: number
}

/** The seq after a segment's last line that belongs to the log (a set-aside file keeps only its verified prefix). */
export function segmentLimit(info: SegmentInfo): number {
  return info.setAside ? info.firstSeq + info.setAside.records : Number.POSITIVE_INFINITY
}

/**
 * Entries of a log from `from` on, in order, through the later segments, as the unindexed scan reads them: lines
 * that do not parse (a torn tail) are skipped, as are entries before `from.seq`; a set-aside file stops at its
 * verified prefix; purged segments are gone.
 */
export async function* scanFrom(logDir: string, m: Manifest, from: Position): AsyncIterable<LogEntry> {
  for (const info of m.segments) {
    if (info.segment < from.segment || info.purged) continue
    const limit = segmentLimit(info)
    if (limit <= from.seq) continue
    const start = info.segment === from.segment ? from.offset : 0
    for await (const entry of linesOf(join(logDir, fileOf(info)), start)) {
      if (entry.seq >= limit) break
      if (entry.seq >= from.seq) yield entry
    }
  }
}

async function* linesOf(path: string, start: number): AsyncIterable<LogEntry> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  const stream = createReadStream('', { fd: handle, start, encoding: 'utf8', autoClose: false })
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  try {
    for await (const line of lines) {
      if (line.length === 0) continue
      let entry: LogEntry
      try {
        entry = JSON.parse(line) as LogEntry
      } catch {
        continue
      }
      if (typeof entry?.seq === 'number') yield entry
    }
  } finally {
    lines.close()
    stream.destroy()
    await handle.close().catch(() => {})
  }
}
