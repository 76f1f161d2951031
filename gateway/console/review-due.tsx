/** @jsxImportSource hono/jsx */
import { shanghaiDate, type WorkingCalendar } from '../../kernel/working-calendar.js'
import { daysLeft, isOverdue } from '../sharing/deadlines.js'
import type { Application } from '../sharing/model.js'
import { t } from './i18n.js'
import type { View } from './layout.js'
import { tr } from './review-texts.js'

/**
 * The running check's deadline as the deciding officer needs it: the due date and working days left, overdue and
 * last-day ones said in words (and bold), not by colour only; a paused clock (awaiting the applicant) says so.
 */

export interface Due {
  readonly dueDate?: string
  /** Running: working days from today to the due date; paused: what the stage has left. */
  readonly left?: number
  readonly paused: boolean
  /** Working days past the due date (0 when only non-working days have passed), when overdue. */
  readonly overdueDays?: number
  readonly escalated: boolean
}

export function dueOf(app: Application, calendar: WorkingCalendar, now: number): Due {
  const clock = app.clock
  const escalated = app.escalatedAt !== undefined
  if (clock === undefined) return { paused: false, escalated }
  if (clock.paused || clock.dueDate === undefined) return { paused: true, left: daysLeft(clock), escalated }
  const today = shanghaiDate(now)
  if (isOverdue(clock, now)) {
    return {
      dueDate: clock.dueDate,
      paused: false,
      overdueDays: calendar.workingDaysBetween(clock.dueDate, today),
      escalated,
    }
  }
  return { dueDate: clock.dueDate, left: calendar.workingDaysBetween(today, clock.dueDate), paused: false, escalated }
}

export function DueText(props: { view: View; due: Due; withDate?: boolean }) {
  const { lang } = props.view
  const due = props.due
  const dated = (text: string) => (props.withDate && due.dueDate !== undefined ? `${due.dueDate} · ${text}` : text)
  const left = (n: number) => [tr(lang, 'leftPrefix'), String(n), tr(lang, 'leftSuffix')].filter(Boolean).join(' ')
  const escalated = due.escalated ? ` · ${tr(lang, 'escalated')}` : ''
  if (due.paused) return <>{`${t(lang, 'paused')} · ${t(lang, 'daysLeft')} ${due.left ?? '—'}`}</>
  if (due.overdueDays !== undefined) {
    const text =
      due.overdueDays > 0
        ? `${tr(lang, 'overdueBy')} ${due.overdueDays} ${tr(lang, 'workingDays')}`
        : tr(lang, 'overdue')
    return <strong class="warn">{dated(text) + escalated}</strong>
  }
  if (due.left === undefined) return <>—</>
  if (due.left === 0) return <strong class="warn">{dated(tr(lang, 'dueToday')) + escalated}</strong>
  if (due.left === 1) return <strong class="warn">{dated(`${left(1)} · ${tr(lang, 'dueSoon')}`) + escalated}</strong>
  return <>{dated(left(due.left)) + escalated}</>
}
