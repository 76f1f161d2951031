import type { LogEntry } from './entry.js'
import type { AdminAuditRecord, ExchangeAuditRecord } from './record.js'

/**
 * Audit export, shared by `GET /v1/audit/records/export` and `qiao audit export`: JSON lines (one stored entry per
 * line, exactly as logged) or CSV (RFC 4180, UTF-8 with a BOM so that Excel in Chinese locales reads it as UTF-8).
 * Both are produced lazily from the query's async iterator, so memory does not grow with the number of records.
 */
export type ExportFormat = 'jsonl' | 'csv'

export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv']

export const UTF8_BOM = '\uFEFF'

type Cell = string | number | boolean | null | undefined

/** Spreadsheets run cells starting with these as formulas (CSV injection); such text cells get a leading `'`. */
const FORMULA_START = /^[=+\-@\t\r]/
const NEEDS_QUOTES = /[",\r\n]/

/** One RFC 4180 cell. Numbers stay numbers; text that a spreadsheet would take for a formula is neutralised. */
export function csvCell(value: Cell): string {
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string') return String(value)
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvLine(cells: readonly Cell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS)
}

type Column = readonly [name: string, cell: (entry: LogEntry, x: ExchangeAuditRecord | undefined) => Cell]
const ex = (name: string, cell: (x: ExchangeAuditRecord) => Cell): Column => [name, (_, x) => (x ? cell(x) : undefined)]

/**
 * The CSV columns, each with how its cell is read from an entry. Administrative records carry none of the exchange
 * fields: their `action` is the admin action, `sub` the actor and `reason` the outcome (details are in JSON lines).
 */
const COLUMNS: readonly Column[] = [
  ['logId', (e) => e.logId],
  ['seq', (e) => e.seq],
  ['loggedAt', (e) => e.loggedAt],
  ['id', (e) => e.record.id],
  ['time', (e) => e.record.time],
  ['kind', (e) => e.record.kind],
  ['action', (e) => e.record.action],
  ex('dept', (x) => x.requester.dept),
  ['sub', (e, x) => (x ? x.requester.sub : (e.record as AdminAuditRecord).actor)],
  ex('clientId', (x) => x.requester.clientId),
  ex('matter', (x) => x.matter),
  ex('case', (x) => x.case),
  ex('resource', (x) => x.resource),
  ex('provider', (x) => x.provider),
  ex('decision', (x) => x.decision),
  ['reason', (e, x) => (x ? x.reason : (e.record as AdminAuditRecord).outcome)],
  ex('status', (x) => x.status),
  ex('fields', (x) => x.fields.join(';')),
  ex('masked', (x) => x.masked.join(';')),
  ex('recordCount', (x) => x.recordCount),
  ex('upstreamMs', (x) => x.upstreamMs),
  ex('totalMs', (x) => x.totalMs),
  ex('approvalRef', (x) => x.approvalRef),
  ex('replayOf', (x) => x.replayOf),
  ex('catalogVersion', (x) => x.catalogVersion),
  ['chain', (e) => e.chain],
]

export const CSV_COLUMNS: readonly string[] = COLUMNS.map(([name]) => name)

export function csvRow(entry: LogEntry): string {
  const x = entry.record.kind === 'exchange' ? entry.record : undefined
  let line = ''
  for (let i = 0; i < COLUMNS.length; i++) {
    if (i > 0) line += ','
    line += csvCell((COLUMNS[i] as Column)[1](entry, x))
  }
  return `${line}\r\n`
}

export function jsonlLine(entry: LogEntry): string {
  return `${JSON.stringify(entry)}\n`
}

export function exportContentType(format: ExportFormat): string {
  return format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson'
}

/** Text chunks of about `chunkSize` characters each: BOM and header first for CSV, then one line per entry. */
export async function* exportChunks(
  entries: AsyncIterable<LogEntry>,
  format: ExportFormat,
  options: { chunkSize?: number; onEntry?: () => void } = {},
): AsyncGenerator<string, void, undefined> {
  const chunkSize = options.chunkSize ?? 64 * 1024
  let buffer = format === 'csv' ? `${UTF8_BOM}${csvHeader()}` : ''
  for await (const entry of entries) {
    buffer += format === 'csv' ? csvRow(entry) : jsonlLine(entry)
    options.onEntry?.()
    if (buffer.length >= chunkSize) {
      yield buffer
      buffer = ''
    }
  }
  if (buffer.length > 0) yield buffer
}

/**
 * A pull-driven byte stream over chunks: the next chunk is produced only when the consumer asks for it (HTTP
 * backpressure reaches the audit store), and cancelling the stream (client gone) stops the iterator.
 * `first` is a chunk already read (so that a failing store is reported before the response starts).
 */
export function chunkStream(
  chunks: AsyncIterator<string, void, undefined>,
  first: string | undefined,
  onEnd: (outcome: { ok: true } | { ok: false; reason: 'cancelled' | 'failed'; error?: unknown }) => void,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let pending = first
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending !== undefined) {
          controller.enqueue(encoder.encode(pending))
          pending = undefined
          return
        }
        try {
          const next = await chunks.next()
          if (next.done) {
            controller.close()
            onEnd({ ok: true })
          } else {
            controller.enqueue(encoder.encode(next.value))
          }
        } catch (error) {
          controller.error(error)
          onEnd({ ok: false, reason: 'failed', error })
        }
      },
      async cancel() {
        onEnd({ ok: false, reason: 'cancelled' })
        await chunks.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}
