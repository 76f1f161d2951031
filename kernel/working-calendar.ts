import { readFile } from 'node:fs/promises'
import type { ErrorObject } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import calendarSchema from '../schemas/working-calendar.schema.json' with { type: 'json' }
import shippedCalendar from './data/cn-working-calendar.json' with { type: 'json' }

/**
 * China's official working calendar (sharing-lifecycle §1): the deadlines of the sharing workflow (2 working days for
 * the conformity check, 5 or 10 for the provider's review) are counted in it. Weekends and public holidays are not
 * working days; the 调休 Saturdays and Sundays of the State Council's yearly notice are. Holidays are decided year by
 * year, so they are data (kernel/data/cn-working-calendar.json, extended by the operator's own file), never computed.
 * All arithmetic is on date-only values in UTC, so the machine's time zone never matters.
 */
export interface WorkingCalendar {
  /** ISO date (YYYY-MM-DD) is a working day: Mon–Fri not a public holiday, or a 调休 working weekend day. */
  isWorkingDay(date: string): boolean
  /** The n-th working day after `date` (which itself is not counted); covered=false if any day counted lies outside the covered years (weekends-only rule used there). */
  addWorkingDays(date: string, n: number): { readonly date: string; readonly covered: boolean }
  /** Working days in (from, to]: from excluded, to included; 0 when to <= from. */
  workingDaysBetween(from: string, to: string): number
  /** Years with official data, ascending. */
  readonly years: readonly number[]
}

/** One year as the notice gives it; the shape of the shipped file and of an operator's file. */
export interface WorkingCalendarYear {
  /** The notice: title and document number. */
  readonly source: string
  readonly holidays: readonly string[]
  readonly workdays: readonly string[]
}

export interface WorkingCalendarFile {
  readonly years: Readonly<Record<string, WorkingCalendarYear>>
}

/** A calendar file that fails validation; `problems` are the lines of the message, `<file>: <pointer> <message>`. */
export class WorkingCalendarError extends Error {
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(problems.join('\n'))
    this.name = 'WorkingCalendarError'
    this.problems = problems
  }
}

/** How the shipped data is named in problems, should a bad edit of it ever ship. */
export const SHIPPED_CALENDAR_FILE = 'kernel/data/cn-working-calendar.json'

const DAY_MS = 86_400_000
/** Asia/Shanghai is UTC+8 all year: China has had no daylight saving time since 1991. */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Days since 1970-01-01 of a real ISO date, or undefined (2026-02-30, 2026-2-3 and the like are no dates). */
function dayNumberOf(date: string): number | undefined {
  const m = ISO_DATE.exec(date)
  if (!m) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  // setUTCFullYear, unlike Date.UTC, takes years 0–99 as they are; 02-30 rolls over to March, so check the round trip.
  const at = new Date(0)
  at.setUTCFullYear(year, month - 1, day)
  if (at.getUTCFullYear() !== year || at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) return undefined
  return at.getTime() / DAY_MS
}

/** The argument is the caller's own value, so the message names the rule and not the value. */
function dayNumber(date: string): number {
  const day = dayNumberOf(date)
  if (day === undefined) throw new RangeError('expected a real ISO date (YYYY-MM-DD)')
  return day
}

function isoDate(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
}

/** 0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday. */
function weekday(dayNumber: number): number {
  return (((dayNumber + 4) % 7) + 7) % 7
}

function isWeekend(dayNumber: number): boolean {
  const d = weekday(dayNumber)
  return d === 0 || d === 6
}

function yearOf(dayNumber: number): number {
  return new Date(dayNumber * DAY_MS).getUTCFullYear()
}

/**
 * The calendar over already validated years. Holidays and 调休 days are kept as Sets of day numbers, so
 * `isWorkingDay` is a parse and two lookups; counting walks day by day, linear in the days spanned.
 */
function calendarOf(years: Readonly<Record<string, WorkingCalendarYear>>): WorkingCalendar {
  const holidays = new Set<number>()
  const workdays = new Set<number>()
  for (const entry of Object.values(years)) {
    for (const d of entry.holidays) holidays.add(dayNumber(d))
    for (const d of entry.workdays) workdays.add(dayNumber(d))
  }
  const covered = new Set(Object.keys(years).map(Number))
  const working = (day: number) => !holidays.has(day) && (workdays.has(day) || !isWeekend(day))
  return {
    years: Object.freeze([...covered].sort((a, b) => a - b)),
    isWorkingDay: (date) => working(dayNumber(date)),
    addWorkingDays(date, n) {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('working days to add must be a whole number ≥ 0')
      let day = dayNumber(date)
      // With nothing to count the answer is `date` itself, and it is covered when its own year is.
      let allCovered = n > 0 || covered.has(yearOf(day))
      for (let left = n; left > 0; ) {
        day += 1
        if (allCovered && !covered.has(yearOf(day))) allCovered = false
        if (working(day)) left -= 1
      }
      return { date: isoDate(day), covered: allCovered }
    },
    workingDaysBetween(from, to) {
      const last = dayNumber(to)
      let count = 0
      for (let day = dayNumber(from) + 1; day <= last; day += 1) if (working(day)) count += 1
      return count
    },
  }
}

// ajv-formats is CommonJS; under NodeNext its callable export sits on `.default`.
const addFormats = addFormatsModule.default
type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }
let validatorCache: Validator | undefined

/** Compiled once, on the first load; calendars are validated at load only, never per request. */
function validator(): Validator {
  if (!validatorCache) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false })
    addFormats(ajv, ['date'])
    validatorCache = ajv.compile(calendarSchema)
  }
  return validatorCache
}

function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** Ajv errors as `<pointer> <message>`; messages name the rule, never the offending value. */
function schemaProblems(errors: readonly ErrorObject[]): string[] {
  const out: string[] = []
  for (const e of errors) {
    // A bad year key is reported twice (the pattern, then propertyNames); the pattern error names the key.
    if (e.keyword === 'propertyNames') continue
    let pointer = e.instancePath
    let message = e.message ?? `fails ${e.keyword}`
    if (e.propertyName !== undefined) {
      pointer = `${pointer}/${escapePointer(e.propertyName)}`
      message = 'is not a four-digit year'
    } else if (e.keyword === 'required') {
      pointer = `${pointer}/${escapePointer(String(e.params.missingProperty))}`
      message = 'is required'
    } else if (e.keyword === 'additionalProperties') {
      pointer = `${pointer}/${escapePointer(String(e.params.additionalProperty))}`
      message = 'is not allowed'
    } else if (e.keyword === 'format') {
      message = 'is not a real date (YYYY-MM-DD)'
    } else if (e.keyword === 'uniqueItems') {
      const [first, second] = [Number(e.params.i), Number(e.params.j)].sort((a, b) => a - b)
      message = `lists the same date twice (items ${first} and ${second})`
    }
    out.push(pointer === '' ? message : `${pointer} ${message}`)
  }
  return out
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * What the schema cannot say: each date lies in its year's key, no date is both a holiday and a working day, and a
 * listed working day is a Saturday or Sunday (a weekday is a working day anyway; listing one is a typo). Runs on
 * whatever parts are well-formed, so one pass reports everything.
 */
function ruleProblems(data: unknown): string[] {
  if (!isObject(data) || !isObject(data.years)) return []
  const out: string[] = []
  for (const [key, entry] of Object.entries(data.years)) {
    if (!isObject(entry) || !/^\d{4}$/.test(key)) continue
    const base = `/years/${escapePointer(key)}`
    const holidayAt = new Map<string, number>()
    const lists = [
      ['holidays', entry.holidays],
      ['workdays', entry.workdays],
    ] as const
    for (const [list, dates] of lists) {
      if (!Array.isArray(dates)) continue
      dates.forEach((date: unknown, i) => {
        if (typeof date !== 'string') return
        const day = dayNumberOf(date)
        if (day === undefined) return
        const pointer = `${base}/${list}/${i}`
        if (date.slice(0, 4) !== key) out.push(`${pointer} lies outside the year ${key}`)
        if (list === 'holidays') {
          if (!holidayAt.has(date)) holidayAt.set(date, i)
          return
        }
        const alsoHoliday = holidayAt.get(date)
        if (alsoHoliday !== undefined) out.push(`${pointer} is also a holiday (${base}/holidays/${alsoHoliday})`)
        if (!isWeekend(day)) out.push(`${pointer} is not a Saturday or Sunday, so it cannot be a 调休 working day`)
      })
    }
  }
  return out
}

/** Validates a parsed calendar file; every problem at once, each as `<file>: <json pointer> <message>`. */
export function checkWorkingCalendarFile(data: unknown, file: string): WorkingCalendarFile {
  const validate = validator()
  const problems = validate(data) ? [] : schemaProblems(validate.errors ?? [])
  problems.push(...ruleProblems(data))
  if (problems.length > 0) throw new WorkingCalendarError(problems.map((p) => `${file}: ${p}`))
  return data as WorkingCalendarFile
}

let builtInCache: WorkingCalendar | undefined

/** The years Qiao ships (2025 and 2026 from the State Council's notices), validated and indexed once per process. */
export function builtInWorkingCalendar(): WorkingCalendar {
  if (!builtInCache) builtInCache = calendarOf(checkWorkingCalendarFile(shippedCalendar, SHIPPED_CALENDAR_FILE).years)
  return builtInCache
}

/**
 * The shipped years plus the operator's file (QIAO_WORKING_CALENDAR), read and validated once at start: its new years
 * are added, and a year in both replaces the shipped one, because the operator's copy is a correction.
 */
export async function loadWorkingCalendar(extraFile?: string): Promise<WorkingCalendar> {
  if (extraFile === undefined) return builtInWorkingCalendar()
  let text: string
  try {
    text = await readFile(extraFile, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error'
    throw new WorkingCalendarError([`${extraFile}: cannot be read (${code})`])
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    // V8's message quotes the text around the fault; the file's content stays out of errors and logs.
    throw new WorkingCalendarError([`${extraFile}: is not valid JSON`])
  }
  const extra = checkWorkingCalendarFile(data, extraFile)
  const shipped = checkWorkingCalendarFile(shippedCalendar, SHIPPED_CALENDAR_FILE)
  return calendarOf({ ...shipped.years, ...extra.years })
}

/** ISO date `days` calendar days after `date` (before it when negative). */
export function addCalendarDays(date: string, days: number): string {
  return isoDate(dayNumber(date) + days)
}

/** Calendar days from `from` to `to` (ISO dates); negative when `to` is earlier. */
export function calendarDaysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from)
}

/** Calendar day in Asia/Shanghai of an instant. */
export function shanghaiDate(epochMs: number): string {
  return new Date(epochMs + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10)
}

/** 23:59:59.999 Asia/Shanghai of an ISO date, epoch ms. */
export function endOfShanghaiDay(date: string): number {
  return (dayNumber(date) + 1) * DAY_MS - 1 - SHANGHAI_OFFSET_MS
}
