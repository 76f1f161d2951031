import { setTimeout as sleep } from 'node:timers/promises'
import ExcelJS from 'exceljs'
import { describe, expect, it } from 'vitest'
import type { LogEntry } from './entry.js'
import { CSV_COLUMNS, CSV_COLUMNS_ZH } from './export.js'
import { exportFile, xlsxChunks } from './export-xlsx.js'

/** A store's query over `n` synthetic exchange entries, counting what was read and whether it was closed. */
function store(n: number) {
  const seen = { read: 0, closed: false }
  async function* entries(): AsyncGenerator<LogEntry> {
    try {
      for (let i = 0; i < n; i++) {
        seen.read += 1
        const time = new Date(Date.UTC(2026, 10, 26, 2, 0, 0, i)).toISOString()
        yield {
          logId: 'gw-1',
          seq: i,
          segment: 1,
          index: i,
          loggedAt: time,
          chain: 'ab'.repeat(32),
          record: {
            id: `rec-${i}`,
            time,
            kind: 'exchange',
            requestId: `req-${i}`,
            requester: { dept: 'drc', sub: `officer-${i % 7}`, clientId: 'tzxm-platform' },
            matter: 'QT00301001',
            case: `=NJ-${i}`,
            resource: 'housing.construction-permit',
            provider: 'housing',
            action: 'read',
            decision: 'allow',
            reason: 'ok',
            status: 200,
            fields: ['permitNo', 'ownerLeadName'],
            masked: ['ownerLeadName'],
            recordCount: 1,
            totalMs: 12,
            catalogVersion: '2026.11-test',
          },
        } as LogEntry
      }
    } finally {
      seen.closed = true
    }
  }
  return { entries: entries(), seen }
}

async function workbookRows(chunks: AsyncIterable<string | Uint8Array>): Promise<unknown[][]> {
  const parts: Buffer[] = []
  for await (const chunk of chunks) parts.push(Buffer.from(chunk))
  const book = new ExcelJS.Workbook()
  await book.xlsx.load(Buffer.concat(parts) as unknown as ArrayBuffer)
  const rows: unknown[][] = []
  book.worksheets[0]?.eachRow((row) => {
    rows.push((row.values as unknown[]).slice(1))
  })
  return rows
}

describe('the XLSX export', () => {
  it('has the CSV columns and cells: Chinese headers, Beijing time, numbers as numbers, text never a formula', async () => {
    const rows = await workbookRows(exportFile(store(3).entries, 'xlsx'))
    expect(rows[0]).toStrictEqual([...CSV_COLUMNS_ZH])
    expect(rows).toHaveLength(4)
    const first = rows[1] as unknown[]
    const cell = (name: string) => first[CSV_COLUMNS.indexOf(name)]
    expect(cell('localTime')).toBe('2026-11-26 10:00:00.000')
    expect(cell('status')).toBe(200)
    expect(cell('fields')).toBe('permitNo;ownerLeadName')
    // A text cell that looks like a formula stays text (no `'` guard needed, unlike CSV).
    expect(cell('case')).toBe('=NJ-0')
    const english = await workbookRows(exportFile(store(1).entries, 'xlsx', { headers: 'en' }))
    expect(english[0]).toStrictEqual([...CSV_COLUMNS])
  })

  it('links an evidence bundle: an item’s row names its bundle’s record, the bundle’s row lists its items', async () => {
    const { entries } = store(3)
    // rec-0 and rec-1 are the items of the bundle whose own record is rec-2.
    async function* bundled(): AsyncGenerator<LogEntry> {
      for await (const entry of entries) {
        const links = entry.seq < 2 ? { bundle: 'rec-2' } : { bundleItems: ['rec-0', 'rec-1'] }
        yield { ...entry, record: { ...entry.record, ...links } } as LogEntry
      }
    }
    const rows = await workbookRows(exportFile(bundled(), 'xlsx', { headers: 'en' }))
    const column = (name: string) => rows.slice(1).map((row) => row[CSV_COLUMNS.indexOf(name)])
    expect(rows[0]).toEqual(expect.arrayContaining(['bundle', 'bundleItems']))
    expect(column('bundle')).toEqual(['rec-2', 'rec-2', undefined])
    expect(column('bundleItems')).toEqual([undefined, undefined, 'rec-0;rec-1'])
  })

  it('reads the store no faster than its reader: a reader that stops reading stops the reads, and cancelling closes them', async () => {
    const { entries, seen } = store(200_000)
    const chunks = xlsxChunks(entries)
    expect((await chunks.next()).done).toBe(false)
    // The writer runs ahead until the output is full, then waits, however many entries are left.
    let whilePaused = -1
    for (let i = 0; i < 50 && seen.read !== whilePaused; i++) {
      whilePaused = seen.read
      await sleep(200)
    }
    expect(seen.read).toBe(whilePaused)
    expect(whilePaused).toBeLessThan(20_000)
    await chunks.return()
    await sleep(50)
    expect(seen.closed).toBe(true)
    expect(seen.read).toBeLessThan(200_000)
  })

  it('fails before the first byte when the store cannot be read', async () => {
    async function* broken(): AsyncGenerator<LogEntry> {
      yield* []
      throw new Error('store unreadable')
    }
    await expect(xlsxChunks(broken()).next()).rejects.toThrow('store unreadable')
  })

  it('ends with the store’s error when the store fails half way', async () => {
    const { entries } = store(600)
    async function* failing(): AsyncGenerator<LogEntry> {
      let i = 0
      for await (const entry of entries) {
        if (++i === 500) throw new Error('segment unreadable')
        yield entry
      }
    }
    await expect(workbookRows(xlsxChunks(failing()))).rejects.toThrow('segment unreadable')
  })
})
