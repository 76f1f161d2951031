import { shanghaiDate } from '../../kernel/working-calendar.js'
import type { LogEntry } from './entry.js'
import type { ExchangeAuditRecord } from './record.js'

/**
 * Usage of the exchange, counted from the audit log: calls per Beijing day, consuming department, providing
 * department, resource and matter — what `GET /v1/usage` shows a department and `GET /v1/audit/stats` an auditor.
 * Only the codes and the outcome of each record are read: never an officer, a subject or anything released. The
 * records are streamed from the store's query one by one, and memory grows with the number of distinct rows only,
 * which MAX_USAGE_ROWS bounds.
 */

export interface UsageCounts {
  /** Every exchange call. */
  readonly calls: number
  /** Answered: 2xx. */
  readonly allowed: number
  /** Refused, 4xx: access denied (token, scope, grant), over quota (429), bad parameters, no such record … */
  readonly refused: number
  /** Failed, 5xx: the provider's system (upstream) or the gateway. */
  readonly failed: number
}

export interface UsageRow extends UsageCounts {
  /** ISO date in Beijing time. */
  readonly day: string
  /** The calling department; '' when the call named none (no or a bad token). */
  readonly consumer: string
  /** The resource's provider; '' when the call named no resource of the catalog. */
  readonly provider: string
  readonly resource: string
  /** The declared matter (`Qiao-Matter`); '' when none was declared. */
  readonly matter: string
}

/**
 * Distinct (day, consumer, provider, resource, matter) rows kept at most; codes come from callers (a token's `dept`,
 * a `Qiao-Matter` header), so a flood of made-up ones could otherwise grow the tally without end. Further new
 * combinations are summed into one row per day whose codes are all OVERFLOW_CODE.
 */
export const MAX_USAGE_ROWS = 20_000
export const OVERFLOW_CODE = '*'

/** How a call ended, by its HTTP status: the same partition as the audit API's `outcome` filter (ok/refused/failed). */
export function outcomeCount(status: number): 'allowed' | 'refused' | 'failed' {
  return status < 400 ? 'allowed' : status < 500 ? 'refused' : 'failed'
}

type Tally = { -readonly [K in keyof UsageRow]: UsageRow[K] }
type RowCodes = Pick<UsageRow, 'consumer' | 'provider' | 'resource' | 'matter'>
const OVERFLOW_CODES: RowCodes = {
  consumer: OVERFLOW_CODE,
  provider: OVERFLOW_CODE,
  resource: OVERFLOW_CODE,
  matter: OVERFLOW_CODE,
}

/** Beijing day of a record. */
export function dayOf(record: ExchangeAuditRecord): string {
  return shanghaiDate(Date.parse(record.time))
}

/** The rows of a stream of exchange records, summed by (day, consumer, provider, resource, matter). */
export class UsageTally {
  private readonly rowsByKey = new Map<string, Tally>()

  add(record: ExchangeAuditRecord, day: string = dayOf(record)): void {
    let codes: RowCodes = {
      consumer: record.requester.dept ?? '',
      provider: record.provider ?? '',
      resource: record.resource ?? '',
      matter: record.matter ?? '',
    }
    let key = JSON.stringify([day, codes.consumer, codes.provider, codes.resource, codes.matter])
    let row = this.rowsByKey.get(key)
    if (row === undefined && this.rowsByKey.size >= MAX_USAGE_ROWS) {
      codes = OVERFLOW_CODES
      key = JSON.stringify([day, OVERFLOW_CODE])
      row = this.rowsByKey.get(key)
    }
    if (row === undefined) {
      row = { day, ...codes, calls: 0, allowed: 0, refused: 0, failed: 0 }
      this.rowsByKey.set(key, row)
    }
    row.calls += 1
    row[outcomeCount(record.status)] += 1
  }

  /** Rows by day, then consumer, provider, resource and matter. */
  rows(): UsageRow[] {
    return [...this.rowsByKey.values()].sort(
      (a, b) =>
        compare(a.day, b.day) ||
        compare(a.consumer, b.consumer) ||
        compare(a.provider, b.provider) ||
        compare(a.resource, b.resource) ||
        compare(a.matter, b.matter),
    )
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The exchange records of a query's entries (admin records are skipped: they are no calls). */
export async function* exchangeRecords(entries: AsyncIterable<LogEntry>): AsyncGenerator<ExchangeAuditRecord> {
  for await (const entry of entries) if (entry.record.kind === 'exchange') yield entry.record
}

/** Usage rows of the records `keep` selects (a department's own calls, or the calls to its resources). */
export async function usageRows(
  entries: AsyncIterable<LogEntry>,
  keep: (record: ExchangeAuditRecord) => boolean,
): Promise<{ rows: UsageRow[]; records: number }> {
  const tally = new UsageTally()
  let records = 0
  for await (const record of exchangeRecords(entries)) {
    if (!keep(record)) continue
    tally.add(record)
    records += 1
  }
  return { rows: tally.rows(), records }
}
