import { describe, expect, it } from 'vitest'
import { type ColumnRule, MappingError, mapColumns } from './column-mapping.js'
import { isRealDate, isRealTimeOfDay, parseDecimalText } from './legacy-values.js'

describe('legacy values', () => {
  it('checks real dates in 1900–2199 and times of day', () => {
    expect(isRealDate('2024', '02', '29')).toBe(true)
    expect(isRealDate(2023, 2, 29)).toBe(false)
    expect(isRealDate('1899', '12', '31')).toBe(false)
    expect(isRealTimeOfDay('23', '59', '59')).toBe(true)
    expect(isRealTimeOfDay(24, 0, 0)).toBe(false)
  })

  it('parses decimal text, grouped only when asked', () => {
    expect(parseDecimalText('-12.50')).toBe(-12.5)
    expect(parseDecimalText('.5')).toBe(0.5)
    expect(parseDecimalText('1,234.5')).toBeUndefined()
    expect(parseDecimalText('1,234.5', { grouped: true })).toBe(1234.5)
    for (const bad of ['', '1e3', '12万', 'NaN', '1,23'])
      expect(parseDecimalText(bad, { grouped: true })).toBeUndefined()
  })
})

describe('mapColumns', () => {
  type Kind = 'text' | 'date'
  const rules: readonly ColumnRule<Kind>[] = [
    { column: 'MC', field: 'name', kind: 'text' },
    { column: 'RQ', field: 'date', kind: 'date' },
    { column: 'BZ', field: 'note', kind: 'text' },
  ]
  const convert = (raw: unknown, column: string, kind: Kind) => {
    const text = typeof raw === 'string' ? raw.trim() : undefined
    if (!text) return undefined
    if (kind === 'date' && !/^\d{8}$/.test(text)) throw new MappingError(column, 'is not a yyyyMMdd date')
    return text
  }

  it('maps the columns that have a rule, in rule order, leaving missing and empty ones out', () => {
    const record = mapColumns({ RQ: '20260115', XX: 'dropped', MC: ' 名称 ', BZ: '  ' }, rules, convert)
    expect(record).toStrictEqual({ name: '名称', date: '20260115' })
    expect(Object.keys(record)).toEqual(['name', 'date'])
  })

  it('lets a MappingError name the column, never the value', () => {
    expect(() => mapColumns({ RQ: '2026-13-45' }, rules, convert)).toThrow(
      expect.objectContaining({ name: 'MappingError', column: 'RQ', message: 'column RQ is not a yyyyMMdd date' }),
    )
  })
})
