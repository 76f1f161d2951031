import type { Catalog } from '../catalog/types.js'
import type { AuditCursor, AuditFilter } from './backend.js'
import type { LogEntry } from './entry.js'
import { compareEntries } from './filter.js'
import type { ExchangeAuditRecord } from './record.js'

/**
 * "Who read my data" (Estonia's Data Tracker, for a trusted portal): the exchange calls that released data about
 * one data subject, newest first, read from the audit log by the subject's keyed digest — never from bodies. An
 * access says when, which department, for which matter, what resource of which provider, and read or write; never
 * the officer, the case, the token or what was released. Accesses under a matter with delayed disclosure stay
 * hidden until the delay has passed, and nothing of them shows before (no count, no gap in the cursor).
 */

export interface SubjectAccess {
  /** ISO 8601 UTC time of the call. */
  readonly time: string
  /** Names are those of the catalog in force; null when it no longer has the code. */
  readonly requester: { readonly dept: string; readonly deptName: string | null }
  readonly purpose: { readonly matter: string; readonly matterName: string }
  readonly resource: string
  readonly resourceName: string | null
  readonly provider: string
  readonly providerName: string | null
  /** `read`: the requester read the subject's data; `write`: it delivered data about the subject to the provider. */
  readonly action: 'read' | 'write'
}

export interface SubjectAccessPage {
  readonly accesses: readonly SubjectAccess[]
  /** Where the next (older) page starts: the position of this page's last access; undefined on the last page. */
  readonly next: AuditCursor | undefined
}

/**
 * The store filter for one subject's candidate accesses, before `before` when paging. Entries are stored in
 * (loggedAt, logId, seq) order and a call's `time` is never after its loggedAt, so an entry before the cursor has
 * `time` ≤ the cursor's loggedAt: `to` (exclusive) one millisecond past it lets the index skip the newer ones.
 */
export function subjectAccessFilter(subjectDigest: string, before: AuditCursor | undefined): AuditFilter {
  const filter: AuditFilter = { kind: 'exchange', subject: subjectDigest, decision: 'allow', outcome: 'ok' }
  if (before === undefined) return filter
  return { ...filter, to: new Date(Date.parse(before.loggedAt) + 1).toISOString() }
}

/**
 * Whether a call released data about its subjects: allowed and answered, a read that returned records or a write
 * that was delivered (a replayed write delivered nothing again). Denials and failures released nothing.
 */
export function releasedData(record: ExchangeAuditRecord): boolean {
  if (record.decision !== 'allow' || record.status < 200 || record.status >= 300) return false
  if (!record.requester.dept || !record.matter || !record.resource || !record.provider) return false
  if (record.action === 'read') return record.recordCount > 0
  return record.action === 'write' && record.replayOf === undefined
}

/**
 * Whether the subject may see the access now. A matter with `disclosure` shows its accesses once the delay has
 * passed. A matter the catalog no longer holds is not shown either: whether it was investigative is unknown, and
 * hiding can be undone by restoring the matter while disclosing cannot.
 */
export function disclosedAt(record: ExchangeAuditRecord, catalog: Catalog, now: number): boolean {
  const matter = record.matter === undefined ? undefined : catalog.matters.get(record.matter)
  if (matter === undefined) return false
  return matter.disclosure === undefined || Date.parse(record.time) + matter.disclosure.delayMs <= now
}

function accessOf(record: ExchangeAuditRecord, catalog: Catalog): SubjectAccess {
  const dept = record.requester.dept as string
  const matter = record.matter as string
  const resource = record.resource as string
  const provider = record.provider as string
  return {
    time: record.time,
    requester: { dept, deptName: catalog.departments.get(dept)?.name ?? null },
    purpose: { matter, matterName: catalog.matters.get(matter)?.name ?? matter },
    resource,
    resourceName: catalog.resources.get(resource)?.name ?? null,
    provider,
    providerName: catalog.departments.get(provider)?.name ?? null,
    action: record.action as 'read' | 'write',
  }
}

/**
 * One page, newest first, of the accesses among `entries` (the store's answer to subjectAccessFilter, oldest
 * first) that lie before `before`, released data and are disclosed at `now`. The store reads forward only, so the
 * page is the last `limit` of them, kept in a window of `limit + 1` (the extra one tells whether an older page
 * exists): memory stays bounded by the page, time grows with the subject's accesses before the cursor.
 */
export async function subjectAccessPage(
  entries: AsyncIterable<LogEntry>,
  options: { readonly catalog: Catalog; readonly now: number; readonly limit: number; readonly before?: AuditCursor },
): Promise<SubjectAccessPage> {
  const { catalog, now, limit, before } = options
  const window: LogEntry[] = []
  for await (const entry of entries) {
    const record = entry.record
    if (record.kind !== 'exchange') continue
    if (before !== undefined && compareEntries(entry, before) >= 0) break
    if (!releasedData(record) || !disclosedAt(record, catalog, now)) continue
    window.push(entry)
    if (window.length > limit + 1) window.shift()
  }
  const newestFirst = window.reverse()
  const page = newestFirst.slice(0, limit)
  const last = page.at(-1)
  const next =
    newestFirst.length > limit && last !== undefined
      ? { loggedAt: last.loggedAt, logId: last.logId, seq: last.seq }
      : undefined
  return { accesses: page.map((e) => accessOf(e.record as ExchangeAuditRecord, catalog)), next }
}
