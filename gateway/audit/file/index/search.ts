import type { AuditCursor, AuditFilter } from '../../backend.js'
import type { LogEntry } from '../../entry.js'
import { type Manifest, readManifest, type SegmentInfo } from '../manifest.js'
import { entryOf, entryOfText, type Position, readAt, scanFrom, segmentFiles, segmentLimit } from './lines.js'
import { BLOCK_LINES } from './runs.js'
import { type Database, IndexUnusableError, type Progress, type Run, readProgress, type Statements } from './store.js'
import { filterNeedles, filterTerms, matchAll } from './terms.js'

/**
 * One log's entries that may match a filter, from its index: the seqs below the index's progress that carry every
 * term of the filter, each read from its segment by position, then the lines past the progress scanned (the writer
 * indexes after each fsync, so that stretch is short). A filter with no term is one sequential read from the first
 * line that can match. Time and the cursor narrow both: loggedAt never decreases within a log, so they bound seqs.
 *
 * What this yields is a superset in seq order; the merge (reader.ts) keeps what matches the filter and lies after
 * the cursor. Anything that shows the index does not describe the log (a line not where a run puts it, rows taken
 * away meanwhile) throws IndexUnusableError: the caller scans instead, from where this stopped.
 */

/** An open index: its connection and that connection's statements. */
export interface IndexSource {
  readonly db: Database
  readonly st: Statements
}

/** Blocks of hits fetched at a time: the first page is small, later ones grow. */
const FIRST_HITS = 64
const MAX_HITS = 4096
/** Blocks read at once. */
const PARALLEL_READS = 32

/** Epoch ms of an ISO time, only when it is in the canonical form (string order is then time order). */
function canonicalMs(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined
  const ms = Date.parse(iso)
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : undefined
}

/** Smallest seq whose run (holding it, or before it) has a line logged at `atMs` or later. */
function firstReaching(st: Statements, end: number, atMs: number): number {
  let lo = 0
  let hi = end
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    const r = st.runAt(mid)
    if (!r) lo = mid + 1
    else if (r.lastAt >= atMs) hi = Math.min(mid, r.first)
    else lo = Math.max(mid + 1, r.first + r.ends.length)
  }
  return lo
}

/** First seq of the first run logged wholly at `atMs` or later: no line from there on is earlier. */
function firstFrom(st: Statements, end: number, atMs: number): number {
  let lo = 0
  let hi = end
  let found = Number.POSITIVE_INFINITY
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    const r = st.runAt(mid)
    if (!r) lo = mid + 1
    else if (r.firstAt >= atMs) {
      found = r.first
      hi = Math.min(mid, r.first)
    } else lo = Math.max(mid + 1, r.first + r.ends.length)
  }
  return found
}

/** [lo, hi): the seqs that can hold a match after the cursor, by loggedAt. */
function seqBounds(st: Statements, p: Progress, filter: AuditFilter, after: AuditCursor | undefined) {
  let lo = 0
  let hi = Number.POSITIVE_INFINITY
  if (!p.ordered) return { lo, hi }
  // After the cursor means logged at its time or later; record.time ≥ from means logged at from − lead or later.
  const cursorMs = canonicalMs(after?.loggedAt)
  const fromMs = p.leadMs === null ? undefined : canonicalMs(filter.from)
  const toMs = p.lagMs === null ? undefined : canonicalMs(filter.to)
  const lower = Math.max(
    cursorMs ?? Number.NEGATIVE_INFINITY,
    fromMs === undefined ? Number.NEGATIVE_INFINITY : fromMs - (p.leadMs as number),
  )
  if (lower > Number.NEGATIVE_INFINITY) lo = firstReaching(st, p.nextSeq, lower)
  // record.time < to means logged before to + lag.
  if (toMs !== undefined) hi = firstFrom(st, p.nextSeq, toMs + (p.lagMs as number))
  return { lo, hi }
}

function lineSpan(run: Run, seq: number): { start: number; end: number } {
  const k = seq - run.first
  return { start: run.offset + (k > 0 ? (run.ends[k - 1] as number) : 0), end: run.offset + (run.ends[k] as number) }
}

export async function* searchLog(
  logDir: string,
  logId: string,
  manifest: Manifest,
  filter: AuditFilter,
  after: AuditCursor | undefined,
  source: IndexSource,
): AsyncIterable<LogEntry> {
  const { st } = source
  let m = manifest
  let segments = new Map(m.segments.map((s) => [s.segment, s]))
  const files = segmentFiles(logDir)
  /** A segment the manifest read at the start does not know yet was started since: read it again. */
  const segmentOf = async (segment: number): Promise<SegmentInfo | undefined> => {
    if (!segments.has(segment)) {
      m = (await readManifest(logDir)) ?? m
      segments = new Map(m.segments.map((s) => [s.segment, s]))
    }
    return segments.get(segment)
  }
  /** The entry at `seq` in `run`, or undefined when its segment is gone (purged) or no longer counts it. */
  const lineAt = async (run: Run, seq: number): Promise<LogEntry | undefined> => {
    const info = await segmentOf(run.segment)
    if (!info || info.purged || seq >= segmentLimit(info)) return undefined
    const file = await files.get(info)
    if (!file) return undefined
    const { start, end } = lineSpan(run, seq)
    const bytes = await readAt(file, start, end - start)
    const entry = bytes.at(-1) === 0x0a ? entryOf(bytes.subarray(0, -1), logId, seq) : undefined
    if (!entry) throw new IndexUnusableError(`seq ${seq} is not where the index has it`)
    return entry
  }

  /**
   * The entries of `run` from `from` to before `to` (one read) whose lines hold every needle, or none when its
   * segment is gone or no longer counts them.
   */
  const linesOf = async (run: Run, from: number, to: number, needles: readonly string[]): Promise<LogEntry[]> => {
    const info = await segmentOf(run.segment)
    if (!info || info.purged) return []
    const file = await files.get(info)
    const limit = Math.min(to, segmentLimit(info), run.first + run.ends.length)
    if (!file || from >= limit) return []
    const start = lineSpan(run, from).start
    const bytes = await readAt(file, start, lineSpan(run, limit - 1).end - start)
    const out: LogEntry[] = []
    for (let seq = from; seq < limit; seq++) {
      const span = lineSpan(run, seq)
      const line = bytes.subarray(span.start - start, span.end - start)
      if (line.at(-1) !== 0x0a) throw new IndexUnusableError(`seq ${seq} is not where the index has it`)
      const text = line.toString('utf8', 0, line.length - 1)
      if (!needles.every((needle) => text.includes(needle))) continue
      const entry = entryOfText(text, logId, seq)
      if (!entry) throw new IndexUnusableError(`seq ${seq} is not where the index has it`)
      out.push(entry)
    }
    return out
  }

  try {
    const p = readProgress(source.db)
    const last = st.lastRun()
    const firstLive = m.segments.find((s) => !s.purged)
    let indexedEnd = p.nextSeq
    let tail: Position = {
      segment: firstLive?.segment ?? 1,
      offset: 0,
      seq: Math.max(p.nextSeq, firstLive?.firstSeq ?? 0),
    }
    if (last) {
      if (last.first + last.ends.length !== p.nextSeq) throw new IndexUnusableError('rows and progress disagree')
      const info = await segmentOf(last.segment)
      if (!info) throw new IndexUnusableError(`segment ${last.segment} is not in the manifest`)
      const following = m.segments.find((s) => s.segment > info.segment)
      const limit = segmentLimit(info)
      if (info.purged || indexedEnd > limit) {
        // Its last lines no longer count (purged, or set aside past its verified prefix): the rest is scanned.
        indexedEnd = Math.min(indexedEnd, limit)
        tail = { segment: following?.segment ?? info.segment + 1, offset: 0, seq: indexedEnd }
      } else {
        const seq = p.nextSeq - 1
        const entry = await lineAt(last, seq)
        if (!entry || (p.lastChain !== null && entry.chain !== p.lastChain)) {
          throw new IndexUnusableError('the index does not end with this log’s record')
        }
        tail = { segment: last.segment, offset: lineSpan(last, seq).end, seq: p.nextSeq }
      }
    } else if (p.nextSeq > (firstLive?.firstSeq ?? 0)) {
      throw new IndexUnusableError('progress without rows')
    }

    const { lo, hi } = seqBounds(st, p, filter, after)
    const terms = filterTerms(filter)
    if (terms.length === 0) {
      // Nothing to look up: read in order from the first line that can match.
      yield* scanUntil(
        scanFrom(logDir, m, lo < indexedEnd ? startOf(st, lo, tail) : { ...tail, seq: Math.max(lo, tail.seq) }),
        hi,
      )
      return
    }
    const match = matchAll(terms)
    const needles = filterNeedles(filter)
    const stop = Math.min(hi, indexedEnd)
    // Blocks are found by their first seq: start at the block holding `lo`.
    const holding = st.runAt(lo)
    let from =
      holding && lo < holding.first + holding.ends.length
        ? holding.first + Math.floor((lo - holding.first) / BLOCK_LINES) * BLOCK_LINES
        : lo
    let size = FIRST_HITS
    let run: Run | undefined
    while (from < stop) {
      const blocks = st.search(match, from, stop, size)
      if (st.generation() !== p.generation) throw new IndexUnusableError('the index changed while it was read')
      for (let i = 0; i < blocks.length; i += PARALLEL_READS) {
        const slice = blocks.slice(i, i + PARALLEL_READS).map((first) => {
          if (!run || first < run.first || first >= run.first + run.ends.length) run = st.runAt(first)
          if (!run || first >= run.first + run.ends.length) throw new IndexUnusableError(`no run holds seq ${first}`)
          return { run, from: Math.max(lo, first), to: Math.min(stop, first + BLOCK_LINES) }
        })
        const found = await Promise.all(slice.map((b) => linesOf(b.run, b.from, b.to, needles)))
        for (const entries of found) yield* entries
      }
      if (blocks.length < size) break
      from = (blocks.at(-1) as number) + 1
      size = Math.min(size * 4, MAX_HITS)
    }
    yield* scanUntil(scanFrom(logDir, m, { ...tail, seq: Math.max(lo, tail.seq) }), hi)
  } finally {
    await files.close()
  }
}

/** Where the line of `seq` (below the index's progress) starts; past the rows: the tail. */
function startOf(st: Statements, seq: number, tail: Position): Position {
  const holding = st.runAt(seq)
  if (holding && seq < holding.first + holding.ends.length) {
    return { segment: holding.segment, offset: lineSpan(holding, seq).start, seq }
  }
  const later = st.runFrom(seq)
  return later ? { segment: later.segment, offset: later.offset, seq: later.first } : tail
}

async function* scanUntil(entries: AsyncIterable<LogEntry>, hi: number): AsyncIterable<LogEntry> {
  for await (const entry of entries) {
    if (entry.seq >= hi) return
    yield entry
  }
}
