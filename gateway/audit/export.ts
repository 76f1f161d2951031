import type { LogEntry } from './entry.js'
import type { AdminAuditRecord, ExchangeAuditRecord } from './record.js'

/**
 * Audit export, shared by `GET /v1/audit/records/export` and `qiao audit export`: JSON lines (one stored entry per
 * line, exactly as logged: what proofs verify) or CSV for people (RFC 4180, UTF-8 with a BOM so that Excel in Chinese
 * locales reads it as UTF-8; Chinese headers, Beijing time, names beside the codes). Both are produced lazily from the query's async iterator, so memory does not grow with the number of records.
 * XLSX (export-xlsx.ts) has the CSV's columns and cells, as a streamed workbook.
 */
export type ExportFormat = 'jsonl' | 'csv' | 'xlsx'
/** The formats written as text, here; XLSX is bytes (export-xlsx.ts). */
export type TextExportFormat = Exclude<ExportFormat, 'xlsx'>

export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv', 'xlsx']

export const UTF8_BOM = '\uFEFF'

export type Cell = string | number | boolean | null | undefined

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

/** Header language: Chinese for people (the default), or the English names scripts rely on; the same columns. */
export type CsvHeaders = 'zh' | 'en'

export const CSV_HEADER_LANGUAGES: readonly CsvHeaders[] = ['zh', 'en']

interface Named {
  readonly name: string
}

/**
 * Names shown beside the codes, looked up when the export runs (a catalog fits as it is). Records keep codes only,
 * so a name is the one the catalog gives the code at export time; a code the catalog no longer knows gets an empty name, never an error.
 */
export interface ExportNames {
  readonly departments: ReadonlyMap<string, Named>
  readonly matters: ReadonlyMap<string, Named>
  readonly resources: ReadonlyMap<string, Named>
}

export const NO_NAMES: ExportNames = { departments: new Map(), matters: new Map(), resources: new Map() }

/**
 * Beijing time (北京时间, Asia/Shanghai) as `2026-11-26 10:00:00.123`, the way an auditor reads a timestamp. A fixed
 * UTC+8: Asia/Shanghai has kept it since 1991, long before any record, and a fixed offset needs no time zone data.
 */
export function beijingTime(iso: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return ''
  return new Date(ms + 8 * 3_600_000).toISOString().slice(0, 23).replace('T', ' ')
}

type Read = (entry: LogEntry, x: ExchangeAuditRecord | undefined, names: ExportNames) => Cell
type Column = readonly [en: string, zh: string, cell: Read]
const ex = (en: string, zh: string, cell: (x: ExchangeAuditRecord, names: ExportNames) => Cell): Column => [
  en,
  zh,
  (_, x, names) => (x ? cell(x, names) : undefined),
]
const nameOf = (known: ReadonlyMap<string, Named>, code: string | undefined): string | undefined =>
  code === undefined ? undefined : known.get(code)?.name

/**
 * The CSV columns, each with its English and Chinese header and how its cell is read from an entry: what an auditor
 * reads first (record, Beijing time, who, for which matter and case, what, the decision), then the machine columns
 * (UTC times, log position, chain). Administrative records carry none of the exchange fields: their `action` is the
 * admin action, `sub` the actor and `reason` the outcome (details are in JSON lines).
 */
const COLUMNS: readonly Column[] = [
  ['id', '记录编号', (e) => e.record.id],
  ['localTime', '时间（北京时间）', (e) => beijingTime(e.record.time)],
  ['kind', '类别', (e) => e.record.kind],
  ['action', '操作', (e) => e.record.action],
  ex('dept', '请求部门代码', (x) => x.requester.dept),
  ex('deptName', '请求部门', (x, n) => nameOf(n.departments, x.requester.dept)),
  ['sub', '经办人', (e, x) => (x ? x.requester.sub : (e.record as AdminAuditRecord).actor)],
  ex('clientId', '调用系统', (x) => x.requester.clientId),
  ex('matter', '办理事项编码', (x) => x.matter),
  ex('matterName', '办理事项', (x, n) => nameOf(n.matters, x.matter)),
  ex('case', '办件编号', (x) => x.case),
  ex('resource', '资源编码', (x) => x.resource),
  ex('resourceName', '资源名称', (x, n) => nameOf(n.resources, x.resource)),
  ex('provider', '提供部门代码', (x) => x.provider),
  ex('providerName', '提供部门', (x, n) => nameOf(n.departments, x.provider)),
  ex('decision', '决定', (x) => x.decision),
  ['reason', '原因代码', (e, x) => (x ? x.reason : (e.record as AdminAuditRecord).outcome)],
  ex('status', 'HTTP 状态', (x) => x.status),
  ex('fields', '放行字段', (x) => x.fields.join(';')),
  ex('masked', '脱敏字段', (x) => x.masked.join(';')),
  ex('recordCount', '记录数', (x) => x.recordCount),
  ex('approvalRef', '审批文号', (x) => x.approvalRef),
  ex('replayOf', '重放原记录编号', (x) => x.replayOf),
  // 一件事: an item names its evidence bundle's record; the bundle's own record lists its items' records.
  ex('bundle', '所属证据包记录编号', (x) => x.bundle),
  ex('bundleItems', '证据包条目记录编号', (x) => x.bundleItems?.join(';')),
  ['requestId', '请求编号', (e) => e.record.requestId],
  ex('upstreamMs', '上游耗时（毫秒）', (x) => x.upstreamMs),
  ex('totalMs', '总耗时（毫秒）', (x) => x.totalMs),
  ex('catalogVersion', '目录版本', (x) => x.catalogVersion),
  ['time', '时间（UTC）', (e) => e.record.time],
  ['logId', '日志编号', (e) => e.logId],
  ['seq', '日志序号', (e) => e.seq],
  ['loggedAt', '入日志时间（UTC）', (e) => e.loggedAt],
  ['chain', '链哈希', (e) => e.chain],
]

/** English header names: also the stable names of the columns. */
export const CSV_COLUMNS: readonly string[] = COLUMNS.map(([en]) => en)

/** Chinese header names, in the same order. */
export const CSV_COLUMNS_ZH: readonly string[] = COLUMNS.map(([, zh]) => zh)

export function csvHeader(headers: CsvHeaders = 'zh'): string {
  return csvLine(headers === 'en' ? CSV_COLUMNS : CSV_COLUMNS_ZH)
}

export function csvRow(entry: LogEntry, names: ExportNames = NO_NAMES): string {
  const x = entry.record.kind === 'exchange' ? entry.record : undefined
  let line = ''
  for (let i = 0; i < COLUMNS.length; i++) {
    if (i > 0) line += ','
    line += csvCell((COLUMNS[i] as Column)[2](entry, x, names))
  }
  return `${line}\r\n`
}

/** One entry's cells in column order, as values (numbers stay numbers): what XLSX stores in typed cells. */
export function exportCells(entry: LogEntry, names: ExportNames = NO_NAMES): Cell[] {
  const x = entry.record.kind === 'exchange' ? entry.record : undefined
  return COLUMNS.map((column) => column[2](entry, x, names))
}

export function jsonlLine(entry: LogEntry): string {
  return `${JSON.stringify(entry)}\n`
}

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

export function exportContentType(format: ExportFormat): string {
  if (format === 'xlsx') return XLSX_CONTENT_TYPE
  return format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson'
}

export interface ExportOptions {
  readonly chunkSize?: number
  readonly onEntry?: () => void
  /** CSV and XLSX: names beside the codes (default none: empty name cells). */
  readonly names?: ExportNames
  /** CSV and XLSX: header language (default `zh`). */
  readonly headers?: CsvHeaders
}

/** Text chunks of about `chunkSize` characters each: BOM and header first for CSV, then one line per entry. */
export async function* exportChunks(
  entries: AsyncIterable<LogEntry>,
  format: TextExportFormat,
  options: ExportOptions = {},
): AsyncGenerator<string, void, undefined> {
  const chunkSize = options.chunkSize ?? 64 * 1024
  const names = options.names ?? NO_NAMES
  let buffer = format === 'csv' ? `${UTF8_BOM}${csvHeader(options.headers)}` : ''
  for await (const entry of entries) {
    buffer += format === 'csv' ? csvRow(entry, names) : jsonlLine(entry)
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
  chunks: AsyncIterator<string | Uint8Array, void, undefined>,
  first: string | Uint8Array | undefined,
  onEnd: (outcome: { ok: true } | { ok: false; reason: 'cancelled' | 'failed'; error?: unknown }) => void,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const bytes = (chunk: string | Uint8Array) => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
  let pending = first
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending !== undefined) {
          controller.enqueue(bytes(pending))
          pending = undefined
          return
        }
        try {
          const next = await chunks.next()
          if (next.done) {
            controller.close()
            onEnd({ ok: true })
          } else {
            controller.enqueue(bytes(next.value))
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
