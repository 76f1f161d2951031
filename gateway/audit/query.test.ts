import { describe, expect, it } from 'vitest'
import {
  decodeCheckpointCursor,
  decodeCursor,
  encodeCheckpointCursor,
  encodeCursor,
  parseFilter,
  parseIsoTime,
  parseLimit,
} from './query.js'

describe('records cursor codec', () => {
  const cursor = { loggedAt: '2026-11-26T02:00:00.000Z', logId: 'qiao-gw-1', seq: 41 }

  it('round-trips and is opaque base64url', () => {
    const raw = encodeCursor(cursor)
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(raw)).toEqual(cursor)
  })

  it('refuses anything it did not make', () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const bad = [
      '',
      'not a cursor',
      `${encodeCursor(cursor)}=`, // padding: not the canonical spelling
      `${encodeCursor(cursor)}A`, // trailing garbage
      Buffer.from('{"loggedAt":').toString('base64url'), // not JSON
      enc([1, 2, 3]),
      enc({ ...cursor, extra: 1 }),
      enc({ loggedAt: cursor.loggedAt, logId: cursor.logId }),
      enc({ ...cursor, seq: -1 }),
      enc({ ...cursor, seq: 1.5 }),
      enc({ ...cursor, seq: '41' }),
      enc({ ...cursor, loggedAt: '2026-11-26' }), // not the stored form
      enc({ ...cursor, loggedAt: 'yesterday' }),
      enc({ ...cursor, logId: '../etc' }),
      'A'.repeat(600),
    ]
    for (const raw of bad) expect(decodeCursor(raw), raw).toBeUndefined()
  })
})

describe('checkpoint cursor codec', () => {
  it('round-trips and refuses foreign shapes', () => {
    const c = { time: '2026-11-26T02:00:00.000Z', logId: 'gw-1', segment: 2, size: 10, sealed: true }
    expect(decodeCheckpointCursor(encodeCheckpointCursor(c))).toEqual(c)
    expect(decodeCheckpointCursor(encodeCursor({ loggedAt: c.time, logId: 'gw-1', seq: 1 }))).toBeUndefined()
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    expect(decodeCheckpointCursor(enc({ ...c, sealed: 'yes' }))).toBeUndefined()
  })
})

describe('filter parameters', () => {
  it('accepts every filter and normalises times to stored UTC form', () => {
    const parsed = parseFilter({
      from: '2026-11-26T10:00:00+08:00',
      to: '2026-11-27',
      kind: 'exchange',
      dept: 'drc',
      sub: 'officer 001',
      matter: 'QT00301001',
      case: 'NJ-2026-000123',
      resource: 'housing.construction-permit',
      decision: 'deny',
      subject: ' 91320100MA1XXXXX0X ',
      logId: 'qiao-gw-1',
    })
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.value.filter).toEqual({
      from: '2026-11-26T02:00:00.000Z',
      to: '2026-11-27T00:00:00.000Z',
      kind: 'exchange',
      dept: 'drc',
      sub: 'officer 001',
      matter: 'QT00301001',
      case: 'NJ-2026-000123',
      resource: 'housing.construction-permit',
      decision: 'deny',
      logId: 'qiao-gw-1',
    })
    expect(parsed.value.subject).toBe('91320100MA1XXXXX0X')
    expect(parsed.value.used).toContain('subject')
  })

  it('reports every bad parameter by name and never echoes the subject', () => {
    const parsed = parseFilter({
      from: '2026-02-30',
      to: '2026-11-26T10:00:00', // no zone: ambiguous
      kind: 'everything',
      decision: 'maybe',
      logId: '..',
      subject: 'DROP TABLE; 320102199001011234',
    })
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.errors.map((e) => e.split(':')[0])).toEqual(['from', 'to', 'kind', 'decision', 'subject', 'logId'])
    expect(parsed.errors.join(' ')).not.toContain('320102199001011234')
  })

  it('wants from before to', () => {
    expect(parseFilter({ from: '2026-11-27', to: '2026-11-26' }).ok).toBe(false)
  })

  it('checks dates strictly', () => {
    expect(parseIsoTime('2026-11-26T02:00:00Z')).toBe('2026-11-26T02:00:00.000Z')
    expect(parseIsoTime('2026-11-26T02:00Z')).toBe('2026-11-26T02:00:00.000Z')
    for (const bad of ['2026-13-01', '2026-11-31', '2026-11-26T24:00:00Z', '26-11-2026', '2026-11-26 02:00:00Z']) {
      expect(parseIsoTime(bad), bad).toBeUndefined()
    }
  })

  it('limit is 1–1000, default 100', () => {
    expect(parseLimit(undefined)).toEqual({ ok: true, value: 100 })
    expect(parseLimit('1000')).toEqual({ ok: true, value: 1000 })
    for (const bad of ['0', '1001', '-1', '1e3', '10.5', 'ten', '00001']) expect(parseLimit(bad).ok, bad).toBe(false)
  })
})
