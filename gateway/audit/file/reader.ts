import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { AuditBackend, AuditCursor, AuditFilter } from '../backend.js'
import type { SignedCheckpoint } from '../checkpoint.js'
import type { LogEntry } from '../entry.js'
import { compareEntries, isAfter, matchesFilter } from '../filter.js'
import { CHECKPOINTS, fileOf, linesOf, listLogs, readKeys, readManifest, segmentFile } from './manifest.js'

/** Checkpoints of one log (the body is the JWS payload; verifiers check the signature). */
export async function readCheckpoints(dir: string): Promise<SignedCheckpoint[]> {
  let text = ''
  try {
    text = await readFile(join(dir, CHECKPOINTS), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const out: SignedCheckpoint[] = []
  for (const line of text.split('\n')) {
    if (line.length === 0) continue
    try {
      const { jws } = JSON.parse(line) as { jws: string }
      const payload = jws.split('.')[1] as string
      out.push({ jws, body: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) })
    } catch {
      // A torn checkpoint line: that checkpoint was never acknowledged.
    }
  }
  return out
}

/**
 * Streams a segment's entries; with `needle`, lines not containing it are skipped before parsing; with `limit`,
 * only the first `limit` lines are read (the verified prefix of a set-aside file).
 */
export async function* readEntries(path: string, needle?: string, limit?: number): AsyncIterable<LogEntry> {
  let stream: ReturnType<typeof createReadStream>
  try {
    await stat(path)
    stream = createReadStream(path, { encoding: 'utf8' })
  } catch {
    return
  }
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  let read = 0
  try {
    for await (const line of lines) {
      if (limit !== undefined && read++ >= limit) return
      if (line.length === 0 || (needle !== undefined && !line.includes(needle))) continue
      try {
        yield JSON.parse(line) as LogEntry
      } catch {
        // torn tail: not an entry
      }
    }
  } finally {
    lines.close()
    stream.destroy()
  }
}

export async function lastEntry(path: string, limit?: number): Promise<LogEntry | undefined> {
  let last: LogEntry | undefined
  for await (const e of readEntries(path, undefined, limit)) last = e
  return last
}

/** Entries of every log, merged in (loggedAt, logId, seq) order, filtered, after the cursor. */
async function* queryLogs(dir: string, filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry> {
  const logs = filter.logId ? [filter.logId] : await listLogs(dir)
  const streams: AsyncIterator<LogEntry>[] = []
  for (const logId of logs) {
    const m = await readManifest(join(dir, logId))
    if (!m) continue
    const segments = m.segments.filter((s) => !s.purged)
    streams.push(
      (async function* () {
        for (const s of segments) yield* readEntries(join(dir, logId, fileOf(s)), undefined, linesOf(s))
      })()[Symbol.asyncIterator](),
    )
  }
  // k-way merge: each log is already in loggedAt order.
  try {
    yield* merge(streams, filter, after)
  } finally {
    // A consumer that stops early (one page) must not leave segment files open.
    await Promise.all(streams.map((s) => s.return?.()))
  }
}

/** Merges logs' entries (each stream in its log's order), keeping those after the cursor that match the filter. */
export async function* merge(
  streams: AsyncIterator<LogEntry>[],
  filter: AuditFilter,
  after?: AuditCursor,
): AsyncIterable<LogEntry> {
  const heads = await Promise.all(streams.map((s) => s.next()))
  for (;;) {
    let best = -1
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i] as IteratorResult<LogEntry>
      if (h.done) continue
      const bestHead = best < 0 ? undefined : (heads[best] as IteratorResult<LogEntry>)
      if (!bestHead || compareEntries(h.value, bestHead.value as LogEntry) < 0) best = i
    }
    if (best < 0) return
    const entry = (heads[best] as IteratorYieldResult<LogEntry>).value
    heads[best] = await (streams[best] as AsyncIterator<LogEntry>).next()
    if (isAfter(entry, after) && matchesFilter(entry, filter)) yield entry
  }
}

/** The reads of the file store: records, segments' entries (proofs), checkpoints, queries, segments, keys. */
export function createFileReader(
  dir: string,
): Pick<AuditBackend, 'findRecord' | 'segmentEntries' | 'checkpoints' | 'query' | 'logIds' | 'segments' | 'keys'> {
  return {
    async findRecord(id) {
      for (const logId of await listLogs(dir)) {
        const m = await readManifest(join(dir, logId))
        if (!m) continue
        for (const info of [...m.segments].reverse()) {
          if (info.purged) continue
          for await (const entry of readEntries(join(dir, logId, fileOf(info)), id, linesOf(info))) {
            if (entry.record.id === id) return entry
          }
        }
      }
      return undefined
    },

    async *segmentEntries(logId, segment) {
      const m = await readManifest(join(dir, logId))
      const info = m?.segments.find((s) => s.segment === segment)
      yield* readEntries(join(dir, logId, info ? fileOf(info) : segmentFile(segment)), undefined, info && linesOf(info))
    },

    async checkpoints(filter = {}) {
      const logs = filter.logId ? [filter.logId] : await listLogs(dir)
      const all: SignedCheckpoint[] = []
      for (const logId of logs) all.push(...(await readCheckpoints(join(dir, logId))))
      return all.filter((c) => filter.segment === undefined || c.body.segment === filter.segment)
    },

    query(filter, after) {
      return queryLogs(dir, filter, after)
    },

    logIds: () => listLogs(dir),

    async segments(logId) {
      const m = await readManifest(join(dir, logId))
      return (m?.segments ?? []).map((s) => ({
        segment: s.segment,
        firstSeq: s.firstSeq,
        purged: s.purged === true,
        ...(s.setAside ? { setAside: s.setAside } : {}),
      }))
    },

    keys: () => readKeys(dir),
  }
}
