import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import shipped from './data/cn-working-calendar.json' with { type: 'json' }
import {
  addCalendarDays,
  builtInWorkingCalendar,
  calendarDaysBetween,
  checkWorkingCalendarFile,
  endOfShanghaiDay,
  loadWorkingCalendar,
  shanghaiDate,
  WorkingCalendarError,
} from './working-calendar.js'

/**
 * Facts from 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）, written out here by hand rather than read
 * from the data file, so a wrong date in the data fails the test.
 */
const HOLIDAYS_2026: readonly (readonly [string, string, string])[] = [
  ['元旦', '2026-01-01', '2026-01-03'],
  ['春节', '2026-02-15', '2026-02-23'],
  ['清明节', '2026-04-04', '2026-04-06'],
  ['劳动节', '2026-05-01', '2026-05-05'],
  ['端午节', '2026-06-19', '2026-06-21'],
  ['中秋节', '2026-09-25', '2026-09-27'],
  ['国庆节', '2026-10-01', '2026-10-07'],
]
/** 调休上班: Sun 01-04, Sat 02-14, Sat 02-28, Sat 05-09, Sun 09-20, Sat 10-10. */
const WORKDAYS_2026 = ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10']
/** Ordinary days around the holidays: weekdays that work, weekend days that do not. */
const ORDINARY_2026: readonly (readonly [string, boolean])[] = [
  ['2025-12-31', true],
  ['2026-01-05', true],
  ['2026-02-13', true],
  ['2026-02-24', true],
  ['2026-03-01', false],
  ['2026-09-19', false],
  ['2026-09-28', true],
  ['2026-09-30', true],
  ['2026-10-08', true],
  ['2026-10-09', true],
  ['2026-10-11', false],
]

/** Every date from `first` to `last`, both included (test helper: the notice gives ranges). */
function datesFrom(first: string, last: string): string[] {
  const out: string[] = []
  for (let ms = Date.parse(`${first}T00:00:00Z`); ms <= Date.parse(`${last}T00:00:00Z`); ms += 86_400_000) {
    out.push(new Date(ms).toISOString().slice(0, 10))
  }
  return out
}

/**
 * Deadlines worked out by hand from the notice: [start, n, the n-th working day after start]. 2026-09-25 (Fri) is
 * 中秋; 09-28..09-30 work; 10-01..10-07 国庆; 10-08 Thu, 10-09 Fri and 10-10 (调休 Sat) work; 10-11 Sun off.
 */
const DEADLINES: readonly (readonly [string, number, string])[] = [
  ['2026-09-25', 1, '2026-09-28'],
  ['2026-09-25', 2, '2026-09-29'],
  ['2026-09-25', 5, '2026-10-09'],
  ['2026-09-25', 10, '2026-10-15'],
  ['2026-09-30', 1, '2026-10-08'],
  ['2026-09-30', 2, '2026-10-09'],
  ['2026-09-30', 3, '2026-10-10'],
  ['2026-09-30', 4, '2026-10-12'],
  ['2026-09-30', 5, '2026-10-13'],
  ['2026-09-30', 10, '2026-10-20'],
  // 春节: 02-13 Fri works, 02-14 (调休 Sat) works, 02-15..02-23 off, 02-28 (调休 Sat) works.
  ['2026-02-13', 1, '2026-02-14'],
  ['2026-02-13', 2, '2026-02-24'],
  ['2026-02-13', 5, '2026-02-27'],
  ['2026-02-13', 6, '2026-02-28'],
  ['2026-02-13', 7, '2026-03-02'],
  ['2026-02-13', 10, '2026-03-05'],
  ['2026-02-14', 1, '2026-02-24'],
  ['2026-02-15', 2, '2026-02-25'],
  // 元旦 across the year boundary: 01-01..01-03 off, 01-04 (调休 Sun) works.
  ['2025-12-30', 2, '2026-01-04'],
  ['2025-12-31', 1, '2026-01-04'],
  ['2025-12-31', 2, '2026-01-05'],
  ['2026-01-01', 1, '2026-01-04'],
  // 劳动节: 05-01..05-05 off, 05-09 (调休 Sat) works.
  ['2026-04-30', 1, '2026-05-06'],
  ['2026-04-30', 4, '2026-05-09'],
  ['2026-04-30', 5, '2026-05-11'],
]

describe('the shipped calendar (2025 and 2026, from the State Council notices)', () => {
  const calendar = builtInWorkingCalendar()

  it('covers 2025 and 2026 and names each notice with its document number', () => {
    expect(calendar.years).toEqual([2025, 2026])
    expect(shipped.years['2025'].source).toContain('国办发明电〔2024〕12号')
    expect(shipped.years['2026'].source).toContain('国办发明电〔2025〕7号')
  })

  it('lists every 2026 holiday date, and only those', () => {
    const expected = HOLIDAYS_2026.flatMap(([, first, last]) => datesFrom(first, last))
    expect(expected).toHaveLength(33)
    expect(shipped.years['2026'].holidays).toEqual(expected)
    expect(shipped.years['2026'].workdays).toEqual(WORKDAYS_2026)
  })

  it.each(HOLIDAYS_2026)('%s %s..%s: no day is a working day', (_name, first, last) => {
    for (const date of datesFrom(first, last)) expect(calendar.isWorkingDay(date), date).toBe(false)
  })

  it.each(WORKDAYS_2026)('调休 %s is a working day although a weekend day', (date) => {
    expect(new Date(`${date}T00:00:00Z`).getUTCDay() % 6).toBe(0)
    expect(calendar.isWorkingDay(date)).toBe(true)
  })

  it.each(ORDINARY_2026)('%s working: %s', (date, working) => {
    expect(calendar.isWorkingDay(date)).toBe(working)
  })

  it('2025: 国庆+中秋 10-01..10-08 off, 09-28 (Sun) and 10-11 (Sat) work, 春节 01-26 (Sun) works', () => {
    for (const date of datesFrom('2025-10-01', '2025-10-08')) expect(calendar.isWorkingDay(date), date).toBe(false)
    for (const date of ['2025-09-28', '2025-10-11', '2025-01-26', '2025-02-08', '2025-04-27']) {
      expect(calendar.isWorkingDay(date), date).toBe(true)
    }
    expect(calendar.isWorkingDay('2025-01-01')).toBe(false)
    expect(calendar.isWorkingDay('2025-06-02')).toBe(false)
  })
})

describe('counting working days', () => {
  const calendar = builtInWorkingCalendar()

  it.each(DEADLINES)('%s + %i working days → %s', (start, n, due) => {
    expect(calendar.addWorkingDays(start, n)).toEqual({ date: due, covered: true })
    expect(calendar.workingDaysBetween(start, due)).toBe(n)
  })

  it('adding 0 gives the day itself', () => {
    expect(calendar.addWorkingDays('2026-09-25', 0)).toEqual({ date: '2026-09-25', covered: true })
  })

  it('workingDaysBetween counts (from, to]: the 国庆 week has none, 0 when to <= from', () => {
    expect(calendar.workingDaysBetween('2026-09-30', '2026-10-07')).toBe(0)
    expect(calendar.workingDaysBetween('2026-09-30', '2026-10-08')).toBe(1)
    expect(calendar.workingDaysBetween('2026-09-29', '2026-09-30')).toBe(1)
    expect(calendar.workingDaysBetween('2026-10-09', '2026-10-09')).toBe(0)
    expect(calendar.workingDaysBetween('2026-10-20', '2026-09-30')).toBe(0)
  })

  it('agrees with addWorkingDays from every day of 2026, and the due day is a working day', () => {
    for (const start of datesFrom('2026-01-01', '2026-12-20')) {
      for (let n = 1; n <= 12; n += 1) {
        const due = calendar.addWorkingDays(start, n)
        expect(calendar.isWorkingDay(due.date), `${start} + ${n}`).toBe(true)
        expect(calendar.workingDaysBetween(start, due.date), `${start} + ${n}`).toBe(n)
        expect(calendar.workingDaysBetween(start, calendar.addWorkingDays(start, n - 1).date)).toBe(n - 1)
      }
    }
  })

  it('rejects a date that is not a real ISO date, and a negative or fractional count', () => {
    for (const bad of ['2026-02-30', '2026-2-3', '20261001', '']) {
      expect(() => calendar.isWorkingDay(bad), bad).toThrow(RangeError)
    }
    expect(() => calendar.addWorkingDays('2026-10-09', -1)).toThrow(RangeError)
    expect(() => calendar.addWorkingDays('2026-10-09', 1.5)).toThrow(RangeError)
    expect(() => calendar.workingDaysBetween('2026-10-09', '2026-13-01')).toThrow(RangeError)
  })
})

describe('beyond the covered years', () => {
  const calendar = builtInWorkingCalendar()

  it('only weekends are days off, and results say covered: false', () => {
    expect(calendar.isWorkingDay('2027-01-01')).toBe(true)
    expect(calendar.isWorkingDay('2027-01-02')).toBe(false)
    expect(calendar.isWorkingDay('2024-10-01')).toBe(true)
    expect(calendar.addWorkingDays('2026-12-30', 1)).toEqual({ date: '2026-12-31', covered: true })
    expect(calendar.addWorkingDays('2026-12-31', 1)).toEqual({ date: '2027-01-01', covered: false })
    expect(calendar.addWorkingDays('2026-12-31', 2)).toEqual({ date: '2027-01-04', covered: false })
    expect(calendar.addWorkingDays('2027-02-05', 1)).toEqual({ date: '2027-02-08', covered: false })
    expect(calendar.addWorkingDays('2027-02-05', 0)).toEqual({ date: '2027-02-05', covered: false })
    expect(calendar.workingDaysBetween('2027-02-05', '2027-02-12')).toBe(5)
  })

  it('the start day is not counted: from 2024-12-31 only covered 2025 days are', () => {
    expect(calendar.addWorkingDays('2024-12-31', 1)).toEqual({ date: '2025-01-02', covered: true })
  })
})

describe("the operator's calendar file", () => {
  let dir: string
  const put = async (name: string, content: unknown) => {
    const file = join(dir, name)
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
    return file
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-calendar-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('without a file, the shipped calendar', async () => {
    expect(await loadWorkingCalendar()).toBe(builtInWorkingCalendar())
  })

  it('adds a year: 2027 becomes covered', async () => {
    // A made-up fixture in the file's shape, NOT the real 2027 notice (not published when this was written).
    const file = await put('fixture-2027.json', {
      years: {
        '2027': {
          source: 'test fixture, not an official notice',
          holidays: ['2027-01-01', '2027-01-04'],
          workdays: ['2027-01-09'],
        },
      },
    })
    const calendar = await loadWorkingCalendar(file)
    expect(calendar.years).toEqual([2025, 2026, 2027])
    expect(calendar.isWorkingDay('2027-01-04')).toBe(false)
    expect(calendar.isWorkingDay('2027-01-09')).toBe(true)
    expect(calendar.addWorkingDays('2026-12-31', 1)).toEqual({ date: '2027-01-05', covered: true })
    expect(calendar.addWorkingDays('2027-12-31', 1)).toEqual({ date: '2028-01-03', covered: false })
    expect(calendar.isWorkingDay('2026-10-01')).toBe(false)
  })

  it('replaces a year in both files: the operator’s copy is a correction', async () => {
    const file = await put('correction-2026.json', {
      $schema: 'https://example.invalid/working-calendar.schema.json',
      years: { '2026': { source: 'test fixture: a corrected 2026', holidays: ['2026-12-31'], workdays: [] } },
    })
    const calendar = await loadWorkingCalendar(file)
    expect(calendar.years).toEqual([2025, 2026])
    expect(calendar.isWorkingDay('2026-12-31')).toBe(false)
    expect(calendar.isWorkingDay('2026-10-01')).toBe(true)
    expect(calendar.isWorkingDay('2026-10-10')).toBe(false)
    expect(calendar.isWorkingDay('2025-10-01')).toBe(false)
    // The shipped calendar itself is untouched.
    expect(builtInWorkingCalendar().isWorkingDay('2026-10-01')).toBe(false)
  })

  it('reports every problem at once, one line each as <file>: <json pointer> <message>', async () => {
    const file = await put('invalid.json', {
      years: {
        '27': { source: 'fixture', holidays: [], workdays: [] },
        '2027': {
          holidays: ['2027-02-30', '2028-01-03', '2027-01-02', '2027-01-02'],
          workdays: ['2027-01-02', '2027-01-05'],
          note: 'x',
        },
      },
    })
    const error = await loadWorkingCalendar(file).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(WorkingCalendarError)
    const problems = (error as WorkingCalendarError).problems
    expect([...problems].sort()).toEqual(
      [
        `${file}: /years/27 is not a four-digit year`,
        `${file}: /years/2027/source is required`,
        `${file}: /years/2027/note is not allowed`,
        `${file}: /years/2027/holidays/0 is not a real date (YYYY-MM-DD)`,
        `${file}: /years/2027/holidays lists the same date twice (items 2 and 3)`,
        `${file}: /years/2027/holidays/1 lies outside the year 2027`,
        `${file}: /years/2027/workdays/0 is also a holiday (/years/2027/holidays/2)`,
        `${file}: /years/2027/workdays/1 is not a Saturday or Sunday, so it cannot be a 调休 working day`,
      ].sort(),
    )
    expect((error as Error).message).toBe(problems.join('\n'))
  })

  it('checks a parsed file the same way, and accepts the shipped one', () => {
    expect(checkWorkingCalendarFile(shipped, 'shipped').years['2026']?.workdays).toEqual(WORKDAYS_2026)
    expect(() => checkWorkingCalendarFile({ years: {} }, 'empty.json')).toThrow(
      'empty.json: /years must NOT have fewer than 1 properties',
    )
    expect(() => checkWorkingCalendarFile([], 'array.json')).toThrow('array.json: must be object')
  })

  it('a missing or non-JSON file is one problem, without the file content', async () => {
    const missing = join(dir, 'missing.json')
    await expect(loadWorkingCalendar(missing)).rejects.toThrow(`${missing}: cannot be read (ENOENT)`)
    const broken = await put('broken.json', '{"years": {"2027": secret-looking-text')
    const notJson = `${broken}: is not valid JSON`
    await expect(loadWorkingCalendar(broken)).rejects.toMatchObject({ message: notJson, problems: [notJson] })
  })
})

describe('Asia/Shanghai days', () => {
  it('shanghaiDate turns over at midnight UTC+8 (16:00 UTC)', () => {
    expect(shanghaiDate(Date.parse('2026-09-30T15:59:59.999Z'))).toBe('2026-09-30')
    expect(shanghaiDate(Date.parse('2026-09-30T16:00:00.000Z'))).toBe('2026-10-01')
    expect(shanghaiDate(Date.parse('2026-10-01T00:00:00+08:00'))).toBe('2026-10-01')
    expect(shanghaiDate(Date.parse('2026-09-30T23:59:59.999+08:00'))).toBe('2026-09-30')
    expect(shanghaiDate(Date.parse('2026-12-31T16:00:00Z'))).toBe('2027-01-01')
  })

  it('endOfShanghaiDay is 23:59:59.999 UTC+8 of the date', () => {
    expect(endOfShanghaiDay('2026-10-09')).toBe(Date.parse('2026-10-09T23:59:59.999+08:00'))
    expect(endOfShanghaiDay('2028-02-29')).toBe(Date.parse('2028-02-29T23:59:59.999+08:00'))
    const end = endOfShanghaiDay('2026-12-31')
    expect(shanghaiDate(end)).toBe('2026-12-31')
    expect(shanghaiDate(end + 1)).toBe('2027-01-01')
    expect(() => endOfShanghaiDay('2026-02-29')).toThrow(RangeError)
  })
})

describe('calendar-day arithmetic on ISO dates', () => {
  it('adds and counts calendar days across months, leap days and years, both ways', () => {
    expect(addCalendarDays('2026-11-26', 30)).toBe('2026-12-26')
    expect(addCalendarDays('2026-12-25', 7)).toBe('2027-01-01')
    expect(addCalendarDays('2028-02-28', 1)).toBe('2028-02-29')
    expect(addCalendarDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(calendarDaysBetween('2026-11-26', '2026-12-26')).toBe(30)
    expect(calendarDaysBetween('2027-01-01', '2026-12-25')).toBe(-7)
    expect(() => addCalendarDays('2026-02-30', 1)).toThrow(RangeError)
  })
})
