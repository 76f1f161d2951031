import { addCalendarDays, calendarDaysBetween } from '../../kernel/working-calendar.js'
import type { ChartSpec } from './chart.js'

/** The code the API gives the rows summed past its bound on distinct combinations. */
export { OVERFLOW_CODE } from '../audit/usage.js'

/**
 * The answer of `GET /v1/usage` (calls per day, consumer, provider, resource and matter; days in Asia/Shanghai)
 * read defensively — the console shows what it cannot read as such instead of failing — and summed into what the
 * usage pages draw: a trend per day and totals per group.
 */

export interface UsageRow {
  readonly day: string
  readonly consumer: string
  readonly provider: string
  readonly resource: string
  readonly matter: string
  readonly calls: number
  readonly allowed: number
  readonly refused: number
  readonly failed: number
}

export interface UsageAnswer {
  readonly view: 'consumer' | 'provider'
  readonly dept: string
  readonly from: string
  readonly to: string
  readonly rows: readonly UsageRow[]
}

/**
 * The API answers at most 92 days; an answer spanning more than a year is not one it gave, and drawing it would
 * only make the page huge.
 */
export const MAX_CHART_DAYS = 366

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/
const COUNTS = ['calls', 'allowed', 'refused', 'failed'] as const
const NAMES = ['consumer', 'provider', 'resource', 'matter'] as const

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isDate = (v: unknown): v is string => typeof v === 'string' && ISO_DATE.test(v)

function rowOf(value: unknown): UsageRow | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const r = value as Record<string, unknown>
  if (!isDate(r.day)) return undefined
  if (!NAMES.every((k) => typeof r[k] === 'string') || !COUNTS.every((k) => isCount(r[k]))) return undefined
  return r as unknown as UsageRow
}

/** The answer, or undefined when it is not the documented shape (every row checked). */
export function usageAnswerOf(body: unknown): UsageAnswer | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const b = body as Record<string, unknown>
  if ((b.view !== 'consumer' && b.view !== 'provider') || typeof b.dept !== 'string') return undefined
  if (!isDate(b.from) || !isDate(b.to) || b.from > b.to || !Array.isArray(b.rows)) return undefined
  if (calendarDaysBetween(b.from, b.to) >= MAX_CHART_DAYS) return undefined
  const rows = b.rows.map(rowOf)
  if (rows.some((r) => r === undefined)) return undefined
  return { view: b.view, dept: b.dept, from: b.from, to: b.to, rows: rows as UsageRow[] }
}

/** Every day from `from` to `to`, both included. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = []
  for (let day = from; day <= to && days.length < MAX_CHART_DAYS; day = addCalendarDays(day, 1)) days.push(day)
  return days
}

/** Series beyond this many are summed into one "others", so a chart stays readable. */
export const MAX_SERIES = 8

/**
 * Calls per day, one stacked series per group (`keyOf`), the largest first; days without calls count zero. The
 * groups past MAX_SERIES - 1 are summed into `othersName`.
 */
export function trendBy(
  rows: readonly UsageRow[],
  days: readonly string[],
  keyOf: (row: UsageRow) => string,
  nameOf: (key: string) => string,
  othersName: string,
): ChartSpec['series'] {
  const byKey = new Map<string, number[]>()
  const dayIndex = new Map(days.map((d, i) => [d, i]))
  for (const row of rows) {
    const i = dayIndex.get(row.day)
    if (i === undefined) continue
    const key = keyOf(row)
    const data = byKey.get(key) ?? days.map(() => 0)
    data[i] = (data[i] ?? 0) + row.calls
    byKey.set(key, data)
  }
  const total = (data: readonly number[]) => data.reduce((a, b) => a + b, 0)
  const ranked = [...byKey].sort(([ka, a], [kb, b]) => total(b) - total(a) || ka.localeCompare(kb))
  const shown = ranked.length > MAX_SERIES ? ranked.slice(0, MAX_SERIES - 1) : ranked
  const series = shown.map(([key, data]) => ({ name: nameOf(key), data }))
  const rest = ranked.slice(shown.length)
  if (rest.length > 0) {
    series.push({ name: othersName, data: days.map((_, i) => rest.reduce((sum, [, data]) => sum + (data[i] ?? 0), 0)) })
  }
  return series
}

export interface Counts {
  readonly calls: number
  readonly allowed: number
  readonly refused: number
  readonly failed: number
}

const zero: Counts = { calls: 0, allowed: 0, refused: 0, failed: 0 }

const plus = (a: Counts, b: Counts): Counts => ({
  calls: a.calls + b.calls,
  allowed: a.allowed + b.allowed,
  refused: a.refused + b.refused,
  failed: a.failed + b.failed,
})

/** Everything in the answer. */
export function overall(rows: readonly UsageRow[]): Counts {
  return rows.reduce<Counts>(plus, zero)
}

export type UsageGroupKey = (typeof NAMES)[number]

export interface UsageTotal extends Counts {
  /** The group's codes, in the order asked (`['provider', 'matter', 'resource']` …). */
  readonly keys: readonly string[]
}

/** Counts per group of `by`, most calls first. */
export function totalsBy(rows: readonly UsageRow[], by: readonly UsageGroupKey[]): UsageTotal[] {
  const groups = new Map<string, UsageTotal>()
  for (const row of rows) {
    const keys = by.map((k) => row[k])
    const id = JSON.stringify(keys)
    groups.set(id, { keys, ...plus(groups.get(id) ?? zero, row) })
  }
  return [...groups.values()].sort((a, b) => b.calls - a.calls || a.keys.join().localeCompare(b.keys.join()))
}

/** Calls per day by outcome (allowed 2xx, refused 4xx, failed 5xx: they add up to the calls), three series. */
export function outcomesPerDay(
  rows: readonly UsageRow[],
  days: readonly string[],
  names: Readonly<Record<'allowed' | 'refused' | 'failed', string>>,
): ChartSpec['series'] {
  const dayIndex = new Map(days.map((d, i) => [d, i]))
  const outcomes = ['allowed', 'refused', 'failed'] as const
  const data = Object.fromEntries(outcomes.map((o) => [o, days.map(() => 0)])) as Record<
    (typeof outcomes)[number],
    number[]
  >
  for (const row of rows) {
    const i = dayIndex.get(row.day)
    if (i === undefined) continue
    for (const o of outcomes) data[o][i] = (data[o][i] ?? 0) + row[o]
  }
  return outcomes.map((o) => ({ name: names[o], data: data[o] }))
}
