import { addCalendarDays, calendarDaysBetween, shanghaiDate } from '../../kernel/working-calendar.js'
import type { Parsed } from './query.js'

/**
 * The time window of the usage and audit statistics: whole days of Beijing time (Asia/Shanghai), `from` and `to`
 * both included, as officers and auditors count them ("from the 1st to the 30th"), at most MAX_WINDOW_DAYS days so
 * that one answer stays a page of rows. Without `to` the window ends today; without `from` it is DEFAULT_WINDOW_DAYS
 * days long.
 */

/** A quarter (92 days: the longest three consecutive months) at most. */
export const MAX_WINDOW_DAYS = 92
export const DEFAULT_WINDOW_DAYS = 30

export interface UsageWindow {
  /** First day, ISO date in Beijing time. */
  readonly from: string
  /** Last day (included), ISO date in Beijing time. */
  readonly to: string
  /** Every day of the window, in order. */
  readonly days: readonly string[]
  /** The audit filter's `from`: 00:00 Beijing time of `from`, in UTC ISO 8601 (inclusive). */
  readonly fromTime: string
  /** The audit filter's `to`: 00:00 Beijing time of the day after `to`, in UTC ISO 8601 (exclusive). */
  readonly toTime: string
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/
const BEIJING_OFFSET_MS = 8 * 3_600_000

/** A real calendar date (2026-02-30 is none), checked by a round trip through the calendar's arithmetic. */
function isDate(raw: string): boolean {
  if (!ISO_DATE.test(raw)) return false
  try {
    return addCalendarDays(raw, 0) === raw
  } catch {
    return false
  }
}

/** 00:00 Beijing time of an ISO date, as the UTC ISO 8601 string audit records are stored and filtered in. */
export function beijingMidnight(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - BEIJING_OFFSET_MS).toISOString()
}

/** `from` and `to` from a query string (absent or empty = the default); every problem at once, by name. */
export function parseUsageWindow(
  params: Readonly<Record<string, string | undefined>>,
  now: number,
): Parsed<UsageWindow> {
  const errors: string[] = []
  const given = (name: 'from' | 'to'): string | undefined => {
    const raw = params[name]
    if (raw === undefined || raw === '') return undefined
    if (isDate(raw)) return raw
    errors.push(`${name}: expected a date YYYY-MM-DD (Beijing time)`)
    return undefined
  }
  const fromGiven = given('from')
  const toGiven = given('to')
  if (errors.length > 0) return { ok: false, errors }
  const to = toGiven ?? shanghaiDate(now)
  const from = fromGiven ?? addCalendarDays(to, -(DEFAULT_WINDOW_DAYS - 1))
  const length = calendarDaysBetween(from, to) + 1
  if (length < 1) return { ok: false, errors: ['from: must not be after to'] }
  if (length > MAX_WINDOW_DAYS) {
    return { ok: false, errors: [`to: the window is at most ${MAX_WINDOW_DAYS} days, from and to included`] }
  }
  const days = Array.from({ length }, (_, i) => addCalendarDays(from, i))
  return {
    ok: true,
    value: { from, to, days, fromTime: beijingMidnight(from), toTime: beijingMidnight(addCalendarDays(to, 1)) },
  }
}
