import type { PassThrough as PassThroughStream } from 'node:stream'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises'
import type { LogEntry } from './entry.js'
import {
  CSV_COLUMNS,
  CSV_COLUMNS_ZH,
  type ExportFormat,
  type ExportOptions,
  exportCells,
  exportChunks,
  NO_NAMES,
} from './export.js'

/**
 * XLSX export for people who work in Excel or WPS: the CSV's columns, cells and headers (Chinese, or `headers=en`),
 * names beside the codes and Beijing time, in one worksheet with a frozen header row; numbers are number cells.
 * Text is stored as text, never as a formula, so the CSV's formula guard is not needed here.
 *
 * Written with exceljs's streaming WorkbookWriter: each row is serialised and handed to the zip as soon as its entry
 * is read, so no workbook model grows with the log. The workbook is pulled: every ROWS_PER_CHECK rows the writer
 * waits until the deflate has caught up and the reader has taken the output, so the store is read no faster than
 * the reader reads and what sits in the zip's buffers stays bounded.
 */

/** Rows committed between two looks at the reader: how far the workbook may run ahead of it. */
const ROWS_PER_CHECK = 256
const CHUNK_BYTES = 64 * 1024

/** Column widths in characters, by column name; the others get DEFAULT_WIDTH. */
const WIDTHS: Readonly<Record<string, number>> = {
  id: 38,
  localTime: 24,
  deptName: 28,
  matterName: 36,
  case: 18,
  resource: 28,
  resourceName: 28,
  providerName: 28,
  fields: 40,
  masked: 24,
  approvalRef: 22,
  replayOf: 38,
  bundle: 38,
  bundleItems: 60,
  requestId: 38,
  catalogVersion: 20,
  time: 26,
  loggedAt: 26,
  chain: 66,
}
const DEFAULT_WIDTH = 14

/** The export in any format: the text formats as strings, XLSX as the workbook's bytes. */
export function exportFile(
  entries: AsyncIterable<LogEntry>,
  format: ExportFormat,
  options: ExportOptions = {},
): AsyncGenerator<string | Uint8Array, void, undefined> {
  return format === 'xlsx' ? xlsxChunks(entries, options) : exportChunks(entries, format, options)
}

/** The workbook's bytes, in chunks, as the reader asks for them. */
export async function* xlsxChunks(
  entries: AsyncIterable<LogEntry>,
  options: ExportOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const iterator = entries[Symbol.asyncIterator]()
  // Read before the first byte, so that a store that cannot be read fails the export before it starts (as CSV does).
  const first = await iterator.next()
  const out = new PassThrough({ highWaterMark: CHUNK_BYTES })
  writeWorkbook(out, iterator, first, options).catch((err: unknown) => {
    out.destroy(err instanceof Error ? err : new Error(String(err)))
  })
  try {
    for await (const chunk of out) yield chunk as Buffer
  } finally {
    // A reader gone before the end: the writer sees the output destroyed and stops reading the store.
    if (!out.readableEnded) out.destroy()
  }
}

async function writeWorkbook(
  out: PassThroughStream,
  iterator: AsyncIterator<LogEntry>,
  first: IteratorResult<LogEntry>,
  options: ExportOptions,
): Promise<void> {
  const english = options.headers === 'en'
  const names = options.names ?? NO_NAMES
  // Loaded on the first XLSX export only: it is large, and most starts of the gateway or the CLI never need it.
  const { default: ExcelJS } = await import('exceljs')
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false })
  const sheet = book.addWorksheet(english ? 'audit records' : '审计记录', {
    views: [{ state: 'frozen', ySplit: 1 }],
  })
  sheet.columns = CSV_COLUMNS.map((name) => ({ key: name, width: WIDTHS[name] ?? DEFAULT_WIDTH }))
  const header = sheet.addRow([...(english ? CSV_COLUMNS : CSV_COLUMNS_ZH)])
  header.font = { bold: true }
  header.commit()
  let rows = 0
  for (let next = first; !next.done; next = await iterator.next()) {
    if (out.destroyed) {
      await iterator.return?.()
      return
    }
    sheet.addRow(exportCells(next.value, names)).commit()
    options.onEntry?.()
    rows += 1
    if (rows % ROWS_PER_CHECK === 0) await roomIn(out, sheet)
  }
  sheet.commit()
  await book.commit()
}

/** XML handed to the zip and not yet compressed, at most (bytes): what the writer lets run ahead of the deflate. */
const MAX_ZIP_BACKLOG = 1024 * 1024

type Pending = NodeJS.EventEmitter & { writableLength?: number; _writableState?: { length?: number } }

/**
 * Where the worksheet's XML waits for the zip: exceljs writes it on without waiting (its stream ignores
 * backpressure), so the writer looks at the streams it writes into. None when exceljs's insides are not as
 * expected; then only the output's own backpressure paces the writer.
 */
function zipInputs(sheet: unknown): Pending[] {
  const pipes = (sheet as { stream?: { pipes?: unknown } }).stream?.pipes
  return Array.isArray(pipes) ? pipes.filter((p): p is Pending => typeof (p as Pending)?.once === 'function') : []
}

const pendingBytes = (stream: Pending): number => stream.writableLength ?? stream._writableState?.length ?? 0

/**
 * Lets the zip run, then waits while it is behind: XML piling up before the deflate (until half of it is
 * compressed, so that the deflate never runs dry while the writer catches up), or an output the reader has not
 * taken (it refused a write). Returns at once when the output is gone, so a cancelled export stops.
 */
async function roomIn(out: PassThroughStream, sheet: unknown): Promise<void> {
  await turn()
  const backlog = () => zipInputs(sheet).reduce((sum, input) => sum + pendingBytes(input), 0)
  if (backlog() > MAX_ZIP_BACKLOG) {
    while (!out.destroyed && backlog() > MAX_ZIP_BACKLOG / 2) await sleep(1)
  }
  if (out.destroyed || !out.writableNeedDrain) return
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done)
      out.off('close', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
  })
}
