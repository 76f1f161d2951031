import { describe, expect, it } from 'vitest'
import { parseFilter } from '../audit/query.js'
import { emptySearch, fieldProblems, filterParams, nextDay, recordsQuery, searchFrom } from './audit-filter.js'

describe('the access-search form as API filters', () => {
  it('turns a Beijing date range into [from 00:00, the day after to 00:00) at +08:00, as the API reads it', () => {
    const search = searchFrom({ from: '2026-11-26', to: '2026-11-30', kind: 'exchange' })
    const params = Object.fromEntries(filterParams(search))
    expect(params).toEqual({ kind: 'exchange', from: '2026-11-26T00:00:00+08:00', to: '2026-12-01T00:00:00+08:00' })
    const parsed = parseFilter(params)
    expect(parsed.ok && parsed.value.filter).toMatchObject({
      from: '2026-11-25T16:00:00.000Z',
      to: '2026-11-30T16:00:00.000Z',
    })
  })

  it('crosses months and leap days, and leaves a value that is no date for the API to refuse', () => {
    expect(nextDay('2028-02-28')).toBe('2028-02-29')
    expect(nextDay('2026-12-31')).toBe('2027-01-01')
    expect(nextDay('2026-02-30')).toBeUndefined()
    const params = filterParams(searchFrom({ from: '2026-02-30', to: 'soon' }))
    const parsed = parseFilter(Object.fromEntries(params))
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.errors.map((e) => e.split(':')[0])).toEqual(['from', 'to'])
  })

  it('sends only the filled filters, the page size and the cursor of a next page', () => {
    expect(recordsQuery(emptySearch())).toBe('/v1/audit/records?kind=exchange&limit=20')
    const next = searchFrom({ subject: ' 91320115MA1W2K7Q0P ', limit: '10', cursor: 'abc', page: '3', sub: '' })
    expect(next).toMatchObject({ limit: '10', cursor: 'abc', page: 4 })
    expect(recordsQuery(next)).toBe('/v1/audit/records?subject=91320115MA1W2K7Q0P&limit=10&cursor=abc')
    // An odd page size falls back to the default; a search without a cursor starts at page 1.
    expect(searchFrom({ limit: '5000', page: '7' })).toMatchObject({ limit: '20', cursor: undefined, page: 1 })
  })

  it('puts the API’s query-invalid messages at their fields, by the parameter each names first', () => {
    const problems = fieldProblems([
      'subject: expected a valid identifier of a company or person',
      'from: must be before to',
      'to: expected an ISO 8601 date',
      'reason: expected ok or a problem code',
      'format: expected jsonl or csv',
    ])
    expect(problems.map((p) => [p.field, p.kind])).toEqual([
      ['subject', 'badSubject'],
      ['from', 'fromAfterTo'],
      ['to', 'badDate'],
      ['reason', 'badValue'],
      [undefined, 'badValue'],
    ])
  })
})
