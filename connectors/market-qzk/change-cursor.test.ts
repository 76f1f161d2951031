import { describe, expect, it } from 'vitest'
import { ConnectorError } from '../kit/connector-error.js'
import { encodeChangeCursor, INVALID_CURSOR } from '../kit/types.js'
import { decodeQzkCursor, encodeQzkCursor, MAX_GAPS, nextQzkCursor, START } from './change-cursor.js'

/** The 前置库 change cursor: highest LSH handed out plus the skipped serials, waited for within the look-back. */

const LOOK_BACK = 600
const T0 = 1_764_468_000

describe('market-qzk change cursor', () => {
  it('moves to the highest LSH read and remembers the serials skipped on the way', () => {
    const next = nextQzkCursor(START, [1, 2, 5, 6, 9], T0, LOOK_BACK)
    expect(next).toEqual({
      after: 9,
      gaps: [
        { from: 3, to: 4, since: T0 },
        { from: 7, to: 8, since: T0 },
      ],
    })
    expect(decodeQzkCursor(encodeQzkCursor(next))).toEqual(next)
  })

  it('takes a serial that showed up out of its gap, keeping when the rest was first missed', () => {
    const cursor = nextQzkCursor(START, [1, 9], T0, LOOK_BACK)
    const later = nextQzkCursor(cursor, [4, 10, 12], T0 + 10, LOOK_BACK)
    expect(later).toEqual({
      after: 12,
      gaps: [
        { from: 2, to: 3, since: T0 },
        { from: 5, to: 8, since: T0 },
        { from: 11, to: 11, since: T0 + 10 },
      ],
    })
  })

  it('gives a gap up once the look-back window has passed since it was first missed', () => {
    const cursor = nextQzkCursor(START, [1, 3], T0, LOOK_BACK)
    expect(nextQzkCursor(cursor, [], T0 + LOOK_BACK, LOOK_BACK).gaps).toHaveLength(1)
    expect(nextQzkCursor(cursor, [], T0 + LOOK_BACK + 1, LOOK_BACK)).toEqual({ after: 3, gaps: [] })
  })

  it('keeps the cursor small: beyond MAX_GAPS the oldest gaps are given up', () => {
    const seen = Array.from({ length: MAX_GAPS + 5 }, (_, i) => 2 * (i + 1))
    const next = nextQzkCursor(START, seen, T0, LOOK_BACK)
    expect(next.gaps).toHaveLength(MAX_GAPS)
    expect(next.gaps[0]?.from).toBe(11)
    expect(decodeQzkCursor(encodeQzkCursor(next))).toEqual(next)
  })

  it('starts from the beginning only without a cursor, and refuses every cursor it did not issue', () => {
    expect(decodeQzkCursor(undefined)).toEqual(START)
    const foreign = [
      '',
      'garbage!',
      encodeChangeCursor('housing-gongai/permits/1', ['1']),
      encodeChangeCursor('market-qzk/changes/1', [-1, '']),
      encodeChangeCursor('market-qzk/changes/1', [5, '3:2:1']),
      encodeChangeCursor('market-qzk/changes/1', [5, '1:6:1']),
      encodeChangeCursor('market-qzk/changes/1', [9, '3:4:1;2:2:1']),
      encodeChangeCursor('market-qzk/changes/1', [5, 'x']),
      encodeChangeCursor('market-qzk/changes/1', ['5', '']),
    ]
    for (const text of foreign) {
      let error: unknown
      try {
        decodeQzkCursor(text)
      } catch (err) {
        error = err
      }
      expect(error, text).toBeInstanceOf(ConnectorError)
      expect((error as ConnectorError).kind).toBe('rejected')
      expect((error as ConnectorError).upstreamCode).toBe(INVALID_CURSOR)
    }
  })
})
