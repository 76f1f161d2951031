import type { WorkingCalendar } from '../../kernel/working-calendar.js'
import type { LogEntry } from './entry.js'
import { dayOf, exchangeRecords, outcomeCount, type UsageCounts, type UsageRow, UsageTally } from './usage.js'
import { isAfterHours, OFFICE_HOURS } from './usage-hours.js'
import { OFFICER_RULE, type OfficerSummary, OfficerTally } from './usage-officers.js'
import type { UsageWindow } from './usage-window.js'

/**
 * `GET /v1/audit/stats`: one pass over the exchange records of a window (as the audit filter selected them) into
 * the usage rows, a line per day (calls, denials, calls after office hours) and the officers who named the most
 * data subjects, flagged by OFFICER_RULE. What the auditor's dashboards draw.
 */

export interface DayStats extends UsageCounts {
  readonly day: string
  /** Refused by the access decision itself (`decision: deny`: token, scope, grant, role); part of `refused`. */
  readonly denied: number
  /** Calls outside office hours (OFFICE_HOURS) or on a day that is not a working day. */
  readonly afterHours: number
}

export interface AuditStats extends OfficerSummary {
  readonly from: string
  readonly to: string
  /** The filters the auditor gave besides the window. */
  readonly consumer?: string
  readonly resource?: string
  readonly officeHours: typeof OFFICE_HOURS
  readonly officerRule: typeof OFFICER_RULE
  /** Exchange records counted. */
  readonly records: number
  readonly rows: readonly UsageRow[]
  /** Every day of the window, in order, days without calls included. */
  readonly days: readonly DayStats[]
}

type DayTally = { -readonly [K in keyof DayStats]: DayStats[K] }

export async function auditStats(
  entries: AsyncIterable<LogEntry>,
  window: UsageWindow,
  calendar: WorkingCalendar,
  filters: { readonly consumer?: string; readonly resource?: string } = {},
): Promise<AuditStats> {
  const usage = new UsageTally()
  const officers = new OfficerTally()
  const days = new Map<string, DayTally>(
    window.days.map((day) => [
      day,
      { day, calls: 0, allowed: 0, refused: 0, failed: 0, denied: 0, afterHours: 0 } satisfies DayTally,
    ]),
  )
  let records = 0
  for await (const record of exchangeRecords(entries)) {
    const day = dayOf(record)
    const line = days.get(day)
    // The store's time filter already holds the window; a record outside it is not counted half.
    if (line === undefined) continue
    records += 1
    usage.add(record, day)
    officers.add(record)
    line.calls += 1
    line[outcomeCount(record.status)] += 1
    if (record.decision === 'deny') line.denied += 1
    if (isAfterHours(Date.parse(record.time), calendar)) line.afterHours += 1
  }
  return {
    from: window.from,
    to: window.to,
    ...filters,
    officeHours: OFFICE_HOURS,
    officerRule: OFFICER_RULE,
    records,
    rows: usage.rows(),
    days: [...days.values()],
    ...officers.summary(),
  }
}
