import { loadWorkingCalendar, shanghaiDate, type WorkingCalendar } from '../../kernel/working-calendar.js'
import type { Config } from '../config/settings.js'

/**
 * Office hours, for the auditors' "calls after hours" count: 08:30 to 17:30 Beijing time on a working day of the
 * official calendar (so 调休 weekend days are working days and public holidays are not). A call at 17:30:00 or
 * later, before 08:30:00, or on any day that is not a working day is after hours.
 */
export const OFFICE_HOURS = { start: '08:30', end: '17:30' } as const

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
const BEIJING_OFFSET_MS = 8 * 3_600_000
const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))
const START_MS = minutesOf(OFFICE_HOURS.start) * MINUTE_MS
const END_MS = minutesOf(OFFICE_HOURS.end) * MINUTE_MS

/** Whether a call at `epochMs` came outside office hours. */
export function isAfterHours(epochMs: number, calendar: WorkingCalendar): boolean {
  const local = epochMs + BEIJING_OFFSET_MS
  const sinceMidnight = ((local % DAY_MS) + DAY_MS) % DAY_MS
  if (!calendar.isWorkingDay(shanghaiDate(epochMs))) return true
  return sinceMidnight < START_MS || sinceMidnight >= END_MS
}

const calendars = new WeakMap<Config, Promise<WorkingCalendar>>()

/**
 * The working calendar the sharing deadlines use (the shipped years plus QIAO_WORKING_CALENDAR), read once per
 * configuration.
 */
export function workingCalendarFor(config: Config): Promise<WorkingCalendar> {
  let calendar = calendars.get(config)
  if (calendar === undefined) {
    calendar = loadWorkingCalendar(config.workingCalendarFile)
    calendars.set(config, calendar)
    // A file gone since start is reported on this call and read again on the next one.
    calendar.catch(() => calendars.delete(config))
  }
  return calendar
}
