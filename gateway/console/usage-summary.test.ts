import { describe, expect, it } from 'vitest'
import {
  daysOf,
  MAX_SERIES,
  outcomesPerDay,
  overall,
  totalsBy,
  trendBy,
  type UsageRow,
  usageAnswerOf,
} from './usage-summary.js'

const row = (over: Partial<UsageRow>): UsageRow => ({
  day: '2026-11-25',
  consumer: 'drc',
  provider: 'housing',
  resource: 'housing.construction-permit',
  matter: 'QT00301001',
  calls: 1,
  allowed: 1,
  refused: 0,
  failed: 0,
  ...over,
})

describe('reading the /v1/usage answer', () => {
  const answer = { view: 'consumer', dept: 'drc', from: '2026-11-24', to: '2026-11-26', rows: [row({})] }

  it('takes the documented shape', () => {
    expect(usageAnswerOf(answer)).toEqual(answer)
  })

  it('refuses anything else rather than drawing it: a bad row, a reversed range, an unknown view', () => {
    expect(usageAnswerOf({ ...answer, rows: [{ ...row({}), calls: -1 }] })).toBeUndefined()
    expect(usageAnswerOf({ ...answer, rows: [{ ...row({}), day: '25.11.2026' }] })).toBeUndefined()
    expect(usageAnswerOf({ ...answer, from: '2026-11-27' })).toBeUndefined()
    expect(usageAnswerOf({ ...answer, view: 'auditor' })).toBeUndefined()
    expect(usageAnswerOf({ type: '/problems/route-not-found', status: 404 })).toBeUndefined()
    expect(usageAnswerOf(null)).toBeUndefined()
  })
})

describe('summing usage rows', () => {
  const days = daysOf('2026-11-24', '2026-11-26')

  it('lists every day of the range, both ends included, across a month end', () => {
    expect(days).toEqual(['2026-11-24', '2026-11-25', '2026-11-26'])
    expect(daysOf('2026-11-30', '2026-12-01')).toEqual(['2026-11-30', '2026-12-01'])
  })

  it('draws one series per group with zeros on quiet days, the largest first', () => {
    const rows = [
      row({ day: '2026-11-24', resource: 'a', calls: 1 }),
      row({ day: '2026-11-26', resource: 'b', calls: 5 }),
      row({ day: '2026-11-26', resource: 'a', matter: 'other', calls: 2 }),
    ]
    const series = trendBy(
      rows,
      days,
      (r) => r.resource,
      (k) => `name ${k}`,
      'others',
    )
    expect(series).toEqual([
      { name: 'name b', data: [0, 0, 5] },
      { name: 'name a', data: [1, 0, 2] },
    ])
  })

  it('sums the groups past the series bound into one', () => {
    const rows = Array.from({ length: MAX_SERIES + 2 }, (_, i) => row({ consumer: `d${i}`, calls: 100 - i }))
    const series = trendBy(
      rows,
      days,
      (r) => r.consumer,
      (k) => k,
      'others',
    )
    expect(series).toHaveLength(MAX_SERIES)
    const rest = rows.slice(MAX_SERIES - 1).reduce((sum, r) => sum + r.calls, 0)
    expect(series.at(-1)).toEqual({ name: 'others', data: [0, rest, 0] })
  })

  it('totals per group and overall, with refusals and failures apart', () => {
    const rows = [
      row({ calls: 3, allowed: 2, refused: 1 }),
      row({ day: '2026-11-26', calls: 2, allowed: 1, failed: 1 }),
      row({ provider: 'drc', resource: 'drc.investment-project', calls: 1 }),
    ]
    expect(overall(rows)).toEqual({ calls: 6, allowed: 4, refused: 1, failed: 1 })
    expect(totalsBy(rows, ['provider', 'resource'])).toEqual([
      { keys: ['housing', 'housing.construction-permit'], calls: 5, allowed: 3, refused: 1, failed: 1 },
      { keys: ['drc', 'drc.investment-project'], calls: 1, allowed: 1, refused: 0, failed: 0 },
    ])
    const outcomes = outcomesPerDay(rows, days, { allowed: 'ok', refused: 'no', failed: 'err' })
    expect(outcomes).toEqual([
      { name: 'ok', data: [0, 3, 1] },
      { name: 'no', data: [0, 1, 0] },
      { name: 'err', data: [0, 0, 1] },
    ])
  })
})
