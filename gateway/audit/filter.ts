import type { AuditCursor, AuditFilter, AuditOutcome } from './backend.js'
import type { LogEntry } from './entry.js'
import type { ExchangeAuditRecord } from './record.js'

/** The statuses of each outcome, `[from, to)`: one definition for every backend (PostgreSQL filters by range). */
export const OUTCOME_STATUS: Readonly<Record<AuditOutcome, readonly [number, number]>> = {
  ok: [200, 300],
  refused: [400, 500],
  failed: [500, 600],
}

export function hasOutcome(status: number, outcome: AuditOutcome): boolean {
  const [from, to] = OUTCOME_STATUS[outcome]
  return status >= from && status < to
}

/** Whether an entry matches an auditor's filter (backends without an index evaluate it per entry). */
export function matchesFilter(entry: LogEntry, filter: AuditFilter): boolean {
  const r = entry.record
  if (filter.logId !== undefined && entry.logId !== filter.logId) return false
  if (filter.from !== undefined && r.time < filter.from) return false
  if (filter.to !== undefined && r.time >= filter.to) return false
  if (filter.kind !== undefined && r.kind !== filter.kind) return false
  if (r.kind === 'admin') {
    // Admin records carry none of the exchange fields; any exchange filter excludes them.
    return (
      filter.dept === undefined &&
      filter.sub === undefined &&
      filter.matter === undefined &&
      filter.case === undefined &&
      filter.resource === undefined &&
      filter.decision === undefined &&
      filter.outcome === undefined &&
      filter.reason === undefined &&
      filter.status === undefined &&
      filter.subject === undefined &&
      filter.bundle === undefined
    )
  }
  if (filter.dept !== undefined && r.requester.dept !== filter.dept) return false
  if (filter.sub !== undefined && r.requester.sub !== filter.sub) return false
  if (filter.matter !== undefined && r.matter !== filter.matter) return false
  if (filter.case !== undefined && r.case !== filter.case) return false
  if (filter.resource !== undefined && r.resource !== filter.resource) return false
  if (filter.decision !== undefined && r.decision !== filter.decision) return false
  if (filter.outcome !== undefined && !hasOutcome(r.status, filter.outcome)) return false
  if (filter.reason !== undefined && r.reason !== filter.reason) return false
  if (filter.status !== undefined && r.status !== filter.status) return false
  if (filter.subject !== undefined && !(r.subjects ?? []).includes(filter.subject)) return false
  if (filter.bundle !== undefined && !inBundle(r, filter.bundle)) return false
  return true
}

/** An item of the bundle (its `bundle` names it) or the bundle's own record (the one listing `bundleItems`). */
export function inBundle(record: ExchangeAuditRecord, bundle: string): boolean {
  return record.bundle === bundle || (record.id === bundle && Array.isArray(record.bundleItems))
}

/** Total order of the auditor's pages: (loggedAt, logId, seq). */
export function compareEntries(
  a: Pick<LogEntry, 'loggedAt' | 'logId' | 'seq'>,
  b: Pick<LogEntry, 'loggedAt' | 'logId' | 'seq'>,
): number {
  if (a.loggedAt !== b.loggedAt) return a.loggedAt < b.loggedAt ? -1 : 1
  if (a.logId !== b.logId) return a.logId < b.logId ? -1 : 1
  return a.seq - b.seq
}

export function isAfter(entry: LogEntry, cursor: AuditCursor | undefined): boolean {
  return cursor === undefined || compareEntries(entry, cursor) > 0
}
