import { describe, expect, it } from 'vitest'
import { builtInWorkingCalendar, endOfShanghaiDay } from '../../kernel/working-calendar.js'
import { daysLeft, isOverdue, pauseClock, resumeClock, startClock } from './deadlines.js'

// The real 2026 calendar (国办发明电〔2025〕7号): 中秋 25–27 September, 国庆 1–7 October, 调休 working days
// Sunday 20 September and Saturday 10 October.
const calendar = builtInWorkingCalendar()

describe('startClock: working days counted from the day after the check starts', () => {
  it('an application filed on Friday 2026-09-25 (中秋, a holiday) is due two working days later, Tuesday 09-29', () => {
    const clock = startClock(calendar, 'conformity', 2, '2026-09-25')
    expect(clock).toEqual({
      stage: 'conformity',
      budgetDays: 2,
      usedDays: 0,
      runStartedOn: '2026-09-25',
      dueDate: '2026-09-29',
      dueAt: endOfShanghaiDay('2026-09-29'),
      paused: false,
      calendarCovered: true,
    })
    expect(new Date(clock.dueAt as number).toISOString()).toBe('2026-09-29T15:59:59.999Z')
  })

  it('one filed on Wednesday 2026-09-30 skips the whole 国庆 week', () => {
    expect(startClock(calendar, 'conformity', 2, '2026-09-30').dueDate).toBe('2026-10-09')
  })

  it('counts the 调休 Saturday 2026-10-10 as a working day', () => {
    expect(startClock(calendar, 'review', 3, '2026-09-30').dueDate).toBe('2026-10-10')
    // Five working days: 10-08, 10-09, 10-10 (Saturday), 10-12, 10-13.
    expect(startClock(calendar, 'review', 5, '2026-09-30').dueDate).toBe('2026-10-13')
  })

  it('says when the due date lies in a year the calendar does not cover (weekends only were counted)', () => {
    const clock = startClock(calendar, 'review', 10, '2027-03-01')
    expect(clock.calendarCovered).toBe(false)
    expect(clock.dueDate).toBe('2027-03-15')
  })
})

describe('pauseClock and resumeClock: a notice stops the clock, the resubmission goes on with the days left', () => {
  it('spends the working days of the run so far (the start day not counted) and drops the due date', () => {
    const started = startClock(calendar, 'review', 5, '2026-09-30')
    const paused = pauseClock(calendar, started, '2026-10-09')
    expect(paused).toEqual({
      stage: 'review',
      budgetDays: 5,
      usedDays: 2,
      runStartedOn: '2026-09-30',
      paused: true,
      calendarCovered: true,
    })
    expect(isOverdue(paused, Date.parse('2027-01-01T00:00:00Z'))).toBe(false)
  })

  it('a notice on the day the check started spends nothing; pausing twice changes nothing', () => {
    const paused = pauseClock(calendar, startClock(calendar, 'conformity', 2, '2026-09-25'), '2026-09-25')
    expect(paused.usedDays).toBe(0)
    expect(pauseClock(calendar, paused, '2026-10-20')).toBe(paused)
  })

  it('resumes from the day of the resubmission with the budget unchanged and the days left', () => {
    const paused = pauseClock(calendar, startClock(calendar, 'review', 5, '2026-09-30'), '2026-10-09')
    const resumed = resumeClock(calendar, paused, '2026-10-12')
    // Three days left, counted from Tuesday 10-13: 10-13, 10-14, 10-15.
    expect(resumed).toEqual({
      stage: 'review',
      budgetDays: 5,
      usedDays: 2,
      runStartedOn: '2026-10-12',
      dueDate: '2026-10-15',
      dueAt: endOfShanghaiDay('2026-10-15'),
      paused: false,
      calendarCovered: true,
    })
  })

  it('gives at least one working day after a resubmission, even when the budget was spent', () => {
    // Filed on the 中秋 Friday, noticed on 10-09: 09-28, 09-29, 09-30, 10-08 and 10-09 were spent.
    const paused = pauseClock(calendar, startClock(calendar, 'conformity', 2, '2026-09-25'), '2026-10-09')
    expect(paused.usedDays).toBe(5)
    expect(daysLeft(paused)).toBe(1)
    // The next working day after Friday 10-09 is the 调休 Saturday.
    expect(resumeClock(calendar, paused, '2026-10-09').dueDate).toBe('2026-10-10')
  })
})

describe('isOverdue', () => {
  const clock = startClock(calendar, 'conformity', 2, '2026-09-25')
  const dueAt = clock.dueAt as number

  it('is overdue only once the due day has ended (Asia/Shanghai)', () => {
    expect(isOverdue(clock, dueAt)).toBe(false)
    expect(isOverdue(clock, dueAt + 1)).toBe(true)
    // 2026-09-29 23:00 in Shanghai is still the due day.
    expect(isOverdue(clock, Date.parse('2026-09-29T23:00:00+08:00'))).toBe(false)
    expect(isOverdue(clock, Date.parse('2026-09-30T00:00:00+08:00'))).toBe(true)
  })

  it('an application without a running check is never overdue', () => {
    expect(isOverdue(undefined, dueAt + 1)).toBe(false)
    expect(isOverdue(pauseClock(calendar, clock, '2026-09-28'), dueAt + 1)).toBe(false)
  })
})
