import { decodeChangeCursor, encodeChangeCursor, invalidCursor } from '../kit/types.js'

/**
 * The cursor of the 前置库 change feed, and why it looks like this.
 *
 * Rows are only ever appended (a correction or a 注销 is a new row), so a row's `LSH` serial is the natural
 * position. `SJGXSJ` is not: it is second-grained provider wall-clock text, and back-filled history rows carry an
 * old `SJGXSJ` under a new `LSH`, so "changed since a time" would miss them. But `LSH` alone loses rows too: the
 * serial is drawn when a row is inserted, not when its transaction commits, so a row with LSH 41 can become visible
 * after LSH 42 was read. Hence the cursor is the highest LSH handed out (`after`) plus the *gaps*: serial values at
 * or below it that were missing when we passed them, each with the time it was first missed (our clock, not
 * SJGXSJ, which back-filled rows make useless for this). Every poll reads the gaps again, so a late commit is
 * picked up; a gap is dropped once it is older than the look-back window (a serial value lost to a rollback or a
 * sequence cache never fills). Without gaps (the normal case: one ETL inserting in order) the cursor is one number,
 * and nothing is handed out twice.
 */
export interface QzkCursor {
  /** Highest LSH handed out; 0 from the beginning. */
  readonly after: number
  /** Serial ranges at or below `after` not seen yet, oldest first. */
  readonly gaps: readonly Gap[]
}

export interface Gap {
  readonly from: number
  readonly to: number
  /** Epoch seconds when the gap was first seen. */
  readonly since: number
}

const TAG = 'market-qzk/changes/1'
/** More open gaps than this and the oldest are given up (the cursor must stay small). */
export const MAX_GAPS = 64
const GAPS_TEXT = /^(?:\d{1,16}:\d{1,16}:\d{1,12}(?:;\d{1,16}:\d{1,16}:\d{1,12})*)?$/

export const START: QzkCursor = Object.freeze({ after: 0, gaps: Object.freeze([]) })

export function encodeQzkCursor(cursor: QzkCursor): string {
  const gaps = cursor.gaps.map((g) => `${g.from}:${g.to}:${g.since}`).join(';')
  return encodeChangeCursor(TAG, [cursor.after, gaps])
}

/** The cursor `text` stands for; invalidCursor() for anything this feed did not issue. */
export function decodeQzkCursor(text: string | undefined): QzkCursor {
  if (text === undefined) return START
  const [after, gapsText] = decodeChangeCursor(TAG, text, 2)
  if (typeof after !== 'number' || after < 0 || typeof gapsText !== 'string' || !GAPS_TEXT.test(gapsText)) {
    throw invalidCursor()
  }
  const gaps: Gap[] = []
  for (const part of gapsText === '' ? [] : gapsText.split(';')) {
    const [from, to, since] = part.split(':').map(Number) as [number, number, number]
    const previous = gaps.at(-1)
    const ordered = from >= 1 && from <= to && to <= after && (previous === undefined || previous.to < from)
    if (!ordered || !Number.isSafeInteger(to) || gaps.length >= MAX_GAPS) throw invalidCursor()
    gaps.push({ from, to, since })
  }
  return { after, gaps }
}

/**
 * The cursor after a page. `seen` are the LSHs the page read, ascending (gap rows and new rows alike: the page
 * reads in LSH order, so every visible row above `cursor.after` up to the highest it read is among them); `now`
 * epoch seconds; `lookBackSeconds` how long a gap is waited for.
 */
export function nextQzkCursor(
  cursor: QzkCursor,
  seen: readonly number[],
  now: number,
  lookBackSeconds: number,
): QzkCursor {
  const gaps: Gap[] = []
  for (const gap of cursor.gaps) {
    if (gap.since + lookBackSeconds < now) continue
    // What is left of the range once the serials that showed up are taken out.
    let from = gap.from
    for (const lsh of seen) {
      if (lsh < from || lsh > gap.to) continue
      if (lsh > from) gaps.push({ from, to: lsh - 1, since: gap.since })
      from = lsh + 1
    }
    if (from <= gap.to) gaps.push({ from, to: gap.to, since: gap.since })
  }
  let after = cursor.after
  for (const lsh of seen) {
    if (lsh <= cursor.after) continue
    if (lsh > after + 1) gaps.push({ from: after + 1, to: lsh - 1, since: now })
    after = lsh
  }
  return { after, gaps: gaps.slice(-MAX_GAPS) }
}
