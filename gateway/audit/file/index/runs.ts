import type { LogEntry } from '../../entry.js'
import { utcIsoMs } from './iso-time.js'
import { type Database, encodeEnds, type Progress } from './store.js'
import { type RecordTerms, recordTerms, TermWriter } from './terms.js'

/**
 * What one flush writes: runs of up to RUN_LINES consecutive lines of one segment, each stored as one row saying
 * where its lines are and when they were logged (rather than a row per record), and the terms of each block of
 * BLOCK_LINES records of a run as one FTS document (rowid = the block's first seq). A document per record would
 * make the index exact but cost twice as much to write; a block of 8 keeps what an AND of two common terms finds
 * to a few lines more than those that match (search.ts reads a block's lines in one read and keeps those that hold
 * the filter's values). The builder also keeps what the progress says about time: the largest lead and lag of
 * record.time over loggedAt, and whether loggedAt never went back.
 */

export const RUN_LINES = 64
export const BLOCK_LINES = 8

/** One durable line as the index takes it: its seq, when it was logged, and its record's terms. */
export interface IndexedLine {
  readonly seq: number
  readonly loggedAt: string
  readonly terms: RecordTerms
}

/** The lines of entries read back or at hand. */
export function indexedLines(entries: readonly LogEntry[]): IndexedLine[] {
  return entries.map((e) => ({ seq: e.seq, loggedAt: e.loggedAt, terms: recordTerms(e.record) }))
}

export interface OpenRun {
  readonly first: number
  readonly segment: number
  readonly offset: number
  readonly firstAt: number
  lastAt: number
  /** Each line's end, relative to `offset`. */
  readonly ends: number[]
  /** The terms of each block of BLOCK_LINES lines. */
  readonly texts: string[]
}

export class RunBuilder {
  /** Runs built since the last drain; the last one may still grow. */
  #pending: OpenRun[] = []
  #records = 0
  #lastAt: number
  #logged: { text: string; ms: number } = { text: '', ms: Number.NaN }
  readonly #terms = new TermWriter()

  /** `lastAt`: loggedAt (epoch ms) of the last line indexed before. */
  constructor(lastAt: number) {
    this.#lastAt = lastAt
  }

  /** Records taken since the last drain. */
  get records(): number {
    return this.#records
  }

  /** Epoch ms of a loggedAt (a batch's entries share one), or NaN when it is not the canonical form. */
  #loggedMs(text: string): number {
    const logged = this.#logged
    if (text === logged.text) return logged.ms
    this.#logged = { text, ms: utcIsoMs(text) }
    return this.#logged.ms
  }

  /**
   * Adds durable lines of `segment` starting at `offset` (`lengths`: their bytes; `lastChain`: the last one's chain
   * value); returns the progress after them and where the next line starts.
   */
  take(
    lines: readonly IndexedLine[],
    lengths: readonly number[],
    segment: number,
    offset: number,
    before: Progress,
    lastChain: string,
  ) {
    let { leadMs, lagMs, ordered } = before
    let at = offset
    let run = this.#pending[this.#pending.length - 1]
    let runEnd = run ? run.offset + (run.ends[run.ends.length - 1] as number) : -1
    for (let i = 0; i < lines.length; i++) {
      const e = lines[i] as IndexedLine
      const logged = this.#loggedMs(e.loggedAt)
      if (!(logged >= this.#lastAt)) ordered = false
      const time = e.terms.timeMs
      if (Number.isNaN(time) || Number.isNaN(logged)) {
        leadMs = null
        lagMs = null
      } else {
        if (leadMs !== null && time - logged > leadMs) leadMs = time - logged
        if (lagMs !== null && logged - time > lagMs) lagMs = logged - time
      }
      if (
        run === undefined ||
        run.segment !== segment ||
        runEnd !== at ||
        run.first + run.ends.length !== e.seq ||
        run.ends.length >= RUN_LINES
      ) {
        run = { first: e.seq, segment, offset: at, firstAt: logged, lastAt: logged, ends: [], texts: [] }
        this.#pending.push(run)
      }
      at += lengths[i] as number
      runEnd = at
      run.ends.push(at - run.offset)
      if (logged > run.lastAt) run.lastAt = logged
      const newBlock = (run.ends.length - 1) % BLOCK_LINES === 0
      const text = this.#terms.textOf(e.terms, newBlock)
      if (newBlock) run.texts.push(text)
      else run.texts[run.texts.length - 1] += text
      if (logged > this.#lastAt) this.#lastAt = logged
    }
    this.#records += lines.length
    const last = lines[lines.length - 1] as IndexedLine
    const progress: Progress = { ...before, nextSeq: last.seq + 1, lastChain, leadMs, lagMs, ordered }
    return { progress, end: at }
  }

  /** The runs built since the last drain (the next take starts a new run). */
  drain(): OpenRun[] {
    const runs = this.#pending
    this.#pending = []
    this.#records = 0
    return runs
  }
}

/** Writes runs and the progress after them in one transaction (statements prepared once per connection). */
export function runWriter(db: Database): (runs: readonly OpenRun[], progress: Progress) => void {
  const terms = db.prepare('INSERT INTO terms (rowid, t) VALUES (?, ?)')
  const rows = db.prepare(
    'INSERT OR REPLACE INTO runs (first, segment, offset, first_at, last_at, ends) VALUES (?, ?, ?, ?, ?, ?)',
  )
  const progressRow = db.prepare(
    `INSERT OR REPLACE INTO progress (id, next_seq, last_chain, lead_ms, lag_ms, ordered, generation)
     VALUES (1, ?, ?, ?, ?, ?, ?)`,
  )
  return db.transaction((runs: readonly OpenRun[], p: Progress) => {
    for (const r of runs) {
      rows.run(r.first, r.segment, r.offset, r.firstAt, r.lastAt, encodeEnds(r.ends))
      for (let k = 0; k < r.texts.length; k++) terms.run(r.first + k * BLOCK_LINES, r.texts[k])
    }
    progressRow.run(p.nextSeq, p.lastChain, p.leadMs, p.lagMs, p.ordered ? 1 : 0, p.generation)
  })
}
