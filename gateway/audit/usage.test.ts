import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { builtInWorkingCalendar } from '../../kernel/working-calendar.js'
import type { ExchangeAuditRecord } from './record.js'
import { MAX_USAGE_ROWS, OVERFLOW_CODE, UsageTally } from './usage.js'
import { isAfterHours } from './usage-hours.js'
import { medianWithoutOne, OfficerTally } from './usage-officers.js'
import { MAX_WINDOW_DAYS, parseUsageWindow } from './usage-window.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')
const beijing = (local: string): number => Date.parse(`${local}+08:00`)

function record(overrides: Partial<ExchangeAuditRecord> = {}): ExchangeAuditRecord {
  return {
    id: 'r',
    time: '2026-11-26T02:00:00.000Z',
    kind: 'exchange',
    requestId: 'q',
    requester: { dept: 'drc', sub: 'officer-1' },
    matter: 'QT00301001',
    resource: 'housing.construction-permit',
    provider: 'housing',
    action: 'read',
    decision: 'allow',
    reason: 'ok',
    status: 200,
    fields: [],
    masked: [],
    recordCount: 1,
    totalMs: 1,
    catalogVersion: 'v',
    ...overrides,
  }
}

describe('the usage window', () => {
  it('is whole Beijing days, both ends included, 30 days ending today by default', () => {
    const parsed = parseUsageWindow({}, NOW)
    expect(parsed.ok && parsed.value).toMatchObject({ from: '2026-10-28', to: '2026-11-26' })
    expect(parsed.ok && parsed.value.days).toHaveLength(30)
    const one = parseUsageWindow({ from: '2026-11-26', to: '2026-11-26' }, NOW)
    expect(one.ok && one.value).toStrictEqual({
      from: '2026-11-26',
      to: '2026-11-26',
      days: ['2026-11-26'],
      fromTime: '2026-11-25T16:00:00.000Z',
      toTime: '2026-11-26T16:00:00.000Z',
    })
  })

  it(`takes at most ${MAX_WINDOW_DAYS} days and real dates, and says what is wrong by name`, () => {
    expect(parseUsageWindow({ from: '2026-09-02', to: '2026-12-02' }, NOW).ok).toBe(true)
    expect(parseUsageWindow({ from: '2026-09-01', to: '2026-12-02' }, NOW)).toStrictEqual({
      ok: false,
      errors: ['to: the window is at most 92 days, from and to included'],
    })
    expect(parseUsageWindow({ from: '2026-02-30', to: '26-11-01' }, NOW)).toStrictEqual({
      ok: false,
      errors: ['from: expected a date YYYY-MM-DD (Beijing time)', 'to: expected a date YYYY-MM-DD (Beijing time)'],
    })
    expect(parseUsageWindow({ from: '2026-11-27', to: '2026-11-26' }, NOW)).toStrictEqual({
      ok: false,
      errors: ['from: must not be after to'],
    })
  })
})

describe('office hours', () => {
  const calendar = builtInWorkingCalendar()
  it('are 08:30 to 17:30 Beijing time on working days of the official calendar', () => {
    expect(isAfterHours(beijing('2026-11-26T08:29:59.999'), calendar)).toBe(true)
    expect(isAfterHours(beijing('2026-11-26T08:30:00.000'), calendar)).toBe(false)
    expect(isAfterHours(beijing('2026-11-26T17:29:59.999'), calendar)).toBe(false)
    expect(isAfterHours(beijing('2026-11-26T17:30:00.000'), calendar)).toBe(true)
    // 国庆 is a holiday; Sunday 2026-09-20 is a 调休 working day of the 2026 notice.
    expect(isAfterHours(beijing('2026-10-01T10:00:00'), calendar)).toBe(true)
    expect(isAfterHours(beijing('2026-09-20T10:00:00'), calendar)).toBe(false)
    expect(isAfterHours(beijing('2026-11-28T10:00:00'), calendar)).toBe(true)
  })
})

describe('the usage rows', () => {
  it('partition calls by status: 2xx allowed, 4xx refused, 5xx failed; absent codes are empty', () => {
    const tally = new UsageTally()
    for (const status of [200, 403, 429, 404, 503, 502]) tally.add(record({ status }))
    tally.add(record({ requester: {}, matter: undefined, resource: undefined, provider: undefined, status: 401 }))
    expect(tally.rows()).toStrictEqual([
      {
        day: '2026-11-26',
        consumer: '',
        provider: '',
        resource: '',
        matter: '',
        calls: 1,
        allowed: 0,
        refused: 1,
        failed: 0,
      },
      {
        day: '2026-11-26',
        consumer: 'drc',
        provider: 'housing',
        resource: 'housing.construction-permit',
        matter: 'QT00301001',
        calls: 6,
        allowed: 1,
        refused: 3,
        failed: 2,
      },
    ])
  })

  it(`keep at most ${MAX_USAGE_ROWS} distinct rows; made-up codes beyond are summed into one row per day`, () => {
    const tally = new UsageTally()
    for (let i = 0; i < MAX_USAGE_ROWS + 5; i++) tally.add(record({ matter: `M${i}` }))
    tally.add(record({ matter: 'M1' }))
    const rows = tally.rows()
    expect(rows).toHaveLength(MAX_USAGE_ROWS + 1)
    expect(rows.find((r) => r.matter === OVERFLOW_CODE)).toMatchObject({ consumer: OVERFLOW_CODE, calls: 5 })
    expect(rows.find((r) => r.matter === 'M1')?.calls).toBe(2)
  })
})

describe('officers with many subjects', () => {
  it('compare each officer with the median of the other officers of the department', () => {
    expect(medianWithoutOne([1, 2, 3, 30], 30)).toBe(2)
    expect(medianWithoutOne([1, 2, 3, 30], 1)).toBe(3)
    expect(medianWithoutOne([2, 2, 4], 2)).toBe(3)
    expect(medianWithoutOne([7], 7)).toBeNull()
  })

  it('flag ≥ 20 distinct subjects above 3× the peers’ median; an officer alone is never flagged', () => {
    const tally = new OfficerTally()
    // Keyed digests look like random hex, as these do.
    const digest = (n: number) => createHash('sha256').update(String(n)).digest('hex')
    const call = (dept: string, sub: string, subjects: number[]) =>
      tally.add(record({ requester: { dept, sub }, subjects: subjects.map(digest) }))
    for (let i = 0; i < 21; i++) call('drc', 'bulk', [i])
    call('drc', 'bulk', [0, 1]) // the same subjects again count once
    call('drc', 'a', [1, 2, 3, 4, 5, 6, 7])
    call('drc', 'b', [1, 2, 3, 4, 5, 6, 7, 8])
    for (let i = 0; i < 40; i++) call('natres', 'alone', [i])
    call('housing', 'x', [1, 2, 3, 4, 5, 6, 7])
    call('housing', 'y', [1])
    call(
      'housing',
      'z',
      Array.from({ length: 19 }, (_, i) => i + 100),
    ) // > 3× its peers, but fewer than 20
    const summary = tally.summary()
    expect(summary.officers.map((o) => [o.officer, o.subjects, o.peerMedian, o.flagged])).toStrictEqual([
      ['natres/alone', 40, null, false],
      ['drc/bulk', 21, 7.5, false],
      ['housing/z', 19, 4, false],
      ['drc/b', 8, 14, false],
      ['drc/a', 7, 14.5, false],
      ['housing/x', 7, 10, false],
      ['housing/y', 1, 13, false],
    ])
    call('drc', 'bulk', [21, 22, 23])
    expect(tally.summary().officers[0]).toMatchObject({ officer: 'drc/bulk', subjects: 24, calls: 23, flagged: true })
    expect(tally.summary()).toMatchObject({ officerCount: 7, flaggedCount: 1, officersCapped: false })
  })
})
