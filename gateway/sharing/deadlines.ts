import { endOfShanghaiDay, type WorkingCalendar } from '../../kernel/working-calendar.js'
import type { Stage, StageClock } from './model.js'

/**
 * The deadlines of the two checks, in working days of the official calendar (条例: the authority checks within 2
 * working days, the provider answers within 5, or 10 for a resource not yet published). Counting starts on the
 * working day after the check starts, so an application filed on a holiday or after hours loses no day; a notice
 * (一次性告知) stops the clock and the resubmission starts it again with the days left, never fewer than one.
 *
 * Pure functions over the calendar and ISO dates (Asia/Shanghai): the workflow passes today's date in, so a frozen
 * clock in tests gives exact due dates.
 */

/** A new check: its whole budget lies ahead, counted from the working day after `today`. */
export function startClock(calendar: WorkingCalendar, stage: Stage, budgetDays: number, today: string): StageClock {
  return running(calendar, { stage, budgetDays, usedDays: 0, runStartedOn: today })
}

/**
 * The application goes back to the applicant: the working days of this run so far are spent (the day the run
 * started is not counted, today is), and no due date stands until the applicant answers.
 */
export function pauseClock(calendar: WorkingCalendar, clock: StageClock, today: string): StageClock {
  if (clock.paused) return clock
  const spent = Math.max(0, calendar.workingDaysBetween(clock.runStartedOn, today))
  return {
    stage: clock.stage,
    budgetDays: clock.budgetDays,
    usedDays: clock.usedDays + spent,
    runStartedOn: clock.runStartedOn,
    paused: true,
    calendarCovered: clock.calendarCovered,
  }
}

/** The applicant resubmitted: a new run from today with the days left (at least one), the budget unchanged. */
export function resumeClock(calendar: WorkingCalendar, clock: StageClock, today: string): StageClock {
  return running(calendar, {
    stage: clock.stage,
    budgetDays: clock.budgetDays,
    usedDays: clock.usedDays,
    runStartedOn: today,
  })
}

/** Working days the current run has: what the budget leaves, but one day at least (a resubmission is never late). */
export function daysLeft(clock: Pick<StageClock, 'budgetDays' | 'usedDays'>): number {
  return Math.max(clock.budgetDays - clock.usedDays, 1)
}

/** A running check whose due day has ended; a paused one is never overdue (the applicant holds it). */
export function isOverdue(clock: StageClock | undefined, now: number): boolean {
  return clock !== undefined && !clock.paused && clock.dueAt !== undefined && clock.dueAt < now
}

function running(
  calendar: WorkingCalendar,
  base: Pick<StageClock, 'stage' | 'budgetDays' | 'usedDays' | 'runStartedOn'>,
): StageClock {
  const due = calendar.addWorkingDays(base.runStartedOn, daysLeft(base))
  return {
    ...base,
    dueDate: due.date,
    dueAt: endOfShanghaiDay(due.date),
    paused: false,
    calendarCovered: due.covered,
  }
}
