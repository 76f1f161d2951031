import { describe, expect, it } from 'vitest'
import { USCC_KNOWN_EXCEPTIONS, usccCheckChar } from '../../kernel/identifiers.js'
import { problems } from '../errors/codes.js'
import { IDENTIFIER_FORMATS } from '../validation/formats.js'
import {
  decodeCheckpointCursor,
  decodeCursor,
  encodeCheckpointCursor,
  encodeCursor,
  isSubjectIdentifier,
  parseFilter,
  parseIsoTime,
  parseLimit,
  SUBJECT_KINDS,
} from './query.js'
import { subjectFieldsOf } from './subjects.js'

/** Valid identifiers of every kind a subject search takes (the USCC is the demo's 南京青溪城市发展有限公司). */
const USCC = '91320115MA1W2K7Q0P'
const RESIDENT_ID = '11010519491231002X'
const ORG_CODE = 'MA1W2K7Q-0'

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
      decision: 'allow',
      outcome: 'refused',
      reason: 'quota-exceeded',
      status: '429',
      subject: ` ${USCC.toLowerCase()} `,
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
      decision: 'allow',
      outcome: 'refused',
      reason: 'quota-exceeded',
      status: 429,
      logId: 'qiao-gw-1',
    })
    expect(parsed.value.subject).toBe(USCC.toLowerCase())
    expect(parsed.value.used).toContain('subject')
  })

  it('reports every bad parameter by name and never echoes the subject', () => {
    const parsed = parseFilter({
      from: '2026-02-30',
      to: '2026-11-26T10:00:00', // no zone: ambiguous
      kind: 'everything',
      decision: 'maybe',
      outcome: 'denied',
      reason: 'quota exceeded',
      status: '600',
      logId: '..',
      subject: 'DROP TABLE; 320102199001011234',
    })
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.errors.map((e) => e.split(':')[0])).toEqual([
      'from',
      'to',
      'kind',
      'decision',
      'outcome',
      'reason',
      'status',
      'subject',
      'logId',
    ])
    expect(parsed.errors.join(' ')).not.toContain('320102199001011234')
    expect(parsed.errors.join(' ')).not.toContain('quota exceeded')
  })

  it('outcome is ok, refused or failed', () => {
    for (const outcome of ['ok', 'refused', 'failed'] as const) {
      expect(parseFilter({ outcome })).toMatchObject({ ok: true, value: { filter: { outcome }, used: ['outcome'] } })
    }
    for (const bad of ['OK', 'deny', 'refusal', '4xx', 'error']) {
      expect(parseFilter({ outcome: bad }), bad).toEqual({
        ok: false,
        errors: ['outcome: expected ok (2xx), refused (4xx) or failed (5xx)'],
      })
    }
  })

  it('reason is ok or a problem code the gateway answers with', () => {
    for (const reason of ['ok', ...Object.keys(problems)]) {
      expect(parseFilter({ reason }), reason).toMatchObject({ ok: true, value: { filter: { reason } } })
    }
    for (const bad of ['OK', 'Quota-Exceeded', 'quota_exceeded', 'no-such-code', 'toString', '__proto__', 'allow']) {
      const parsed = parseFilter({ reason: bad })
      expect(parsed.ok, bad).toBe(false)
      if (!parsed.ok) expect(parsed.errors).toEqual(['reason: expected ok or a problem code (GET /problems/{code})'])
    }
  })

  it('bundle is an audit record id, the evidence bundle’s', () => {
    const id = '019abcde-0000-7000-8000-0000000000b0'
    expect(parseFilter({ bundle: id, case: 'NJ-2026-000123' })).toEqual({
      ok: true,
      value: { filter: { case: 'NJ-2026-000123', bundle: id }, subject: undefined, used: ['case', 'bundle'] },
    })
    for (const bad of ['../x', 'a b', 'x'.repeat(129), 'id;drop', '<b>']) {
      expect(parseFilter({ bundle: bad }), bad).toEqual({
        ok: false,
        errors: ['bundle: expected an audit record id (an evidence bundle’s Qiao-Audit-Id)'],
      })
    }
  })

  it('status is an HTTP status 100–599, as a number', () => {
    for (const status of ['100', '200', '429', '503', '599']) {
      expect(parseFilter({ status }), status).toMatchObject({ ok: true, value: { filter: { status: Number(status) } } })
    }
    for (const bad of ['99', '099', '600', '42', '4290', '429.0', ' 429', '4e2', 'ok', '-429']) {
      expect(parseFilter({ status: bad }).ok, bad).toBe(false)
    }
  })

  it('a subject must be a valid USCC, resident id or organisation code, and the error names those formats', () => {
    for (const id of [USCC, USCC.toLowerCase(), ` ${USCC}\t`, RESIDENT_ID, RESIDENT_ID.toLowerCase(), ORG_CODE]) {
      expect(parseFilter({ subject: id }), id).toMatchObject({ ok: true, value: { subject: id.trim() } })
    }
    // The compact spelling of an organisation code is the same format (`org-code` takes both).
    expect(isSubjectIdentifier(ORG_CODE.replace('-', ''))).toBe(true)
    // A real pilot-era USCC that fails the checksum, as the gateway's own `uscc` format accepts it.
    expect(isSubjectIdentifier(USCC_KNOWN_EXCEPTIONS[0] as string)).toBe(true)
    const wrongCheck = `${USCC.slice(0, 17)}${USCC.at(-1) === 'Q' ? 'R' : 'Q'}`
    const refused = [
      '12345',
      '91000000000000000X', // USCC-shaped, wrong check character
      wrongCheck,
      '110105194912310021', // resident id, wrong check digit
      '110105194913310024', // no 13th month
      'MA1W2K7Q-1', // organisation code, wrong check character
      '2303-320115-04-03-518275', // a valid investment project code: not a data subject
      'subject-3',
    ]
    for (const id of refused) {
      const parsed = parseFilter({ subject: id })
      expect(parsed.ok, id).toBe(false)
      if (parsed.ok) continue
      expect(parsed.errors).toHaveLength(1)
      const [error] = parsed.errors
      expect(error).toMatch(/^subject: expected a valid identifier/)
      for (const format of [
        'USCC',
        '统一社会信用代码',
        'resident id',
        '公民身份号码',
        'organisation code',
        '组织机构代码',
      ]) {
        expect(error).toContain(format)
      }
      expect(error).not.toContain(id)
    }
    // The catalog's own exceptions count when the caller passes them.
    const exception = `${USCC.slice(0, 17)}${usccCheckChar(USCC.slice(0, 17)) === 'A' ? 'B' : 'A'}`
    expect(isSubjectIdentifier(exception)).toBe(false)
    expect(parseFilter({ subject: exception }, { usccExceptions: new Set([exception]) }).ok).toBe(true)
    // A resident id born after "today" is no one yet.
    expect(isSubjectIdentifier(RESIDENT_ID, { today: new Date('1949-12-30T00:00:00Z') })).toBe(false)
  })

  it('takes exactly the identifier formats the gateway indexes as subjects', () => {
    const indexed = IDENTIFIER_FORMATS.filter(
      (format) => subjectFieldsOf({ type: 'object', properties: { v: { type: 'string', format } } }).length > 0,
    )
    expect(Object.keys(SUBJECT_KINDS).sort()).toEqual([...indexed].sort())
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
