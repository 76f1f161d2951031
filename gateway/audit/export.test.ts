import { describe, expect, it } from 'vitest'
import { parseCsv } from '../../test/support/csv.js'
import { adminRecord } from './admin.js'
import type { LogEntry } from './entry.js'
import { CSV_COLUMNS, chunkStream, csvCell, csvHeader, csvRow, exportChunks, jsonlLine, UTF8_BOM } from './export.js'
import type { AuditRecord, ExchangeAuditRecord } from './record.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')

function exchangeRecord(overrides: Partial<ExchangeAuditRecord> = {}): ExchangeAuditRecord {
  return {
    id: '019abcde-0000-7000-8000-000000000001',
    time: new Date(NOW).toISOString(),
    kind: 'exchange',
    requestId: 'req-1',
    requester: { dept: 'drc', sub: 'officer-001', clientId: 'tzxm-platform' },
    matter: 'QT00301001',
    case: 'NJ-2026-000123',
    resource: 'housing.construction-permit',
    provider: 'housing',
    action: 'read',
    decision: 'allow',
    reason: 'ok',
    status: 200,
    approvalRef: '宁住建共享〔2026〕3号',
    fields: ['permitNo', 'projectName'],
    masked: ['ownerLeadName', 'ownerLeadPhone'],
    recordCount: 2,
    upstreamMs: 12,
    totalMs: 15,
    catalogVersion: '2026.11-demo.2',
    ...overrides,
  }
}

function entry(record: AuditRecord, seq = 0): LogEntry {
  return {
    logId: 'gw-1',
    seq,
    segment: 1,
    index: seq,
    loggedAt: new Date(NOW).toISOString(),
    chain: 'ab'.repeat(32),
    record,
  }
}

async function collect(iterable: AsyncIterable<string>): Promise<string> {
  let out = ''
  for await (const chunk of iterable) out += chunk
  return out
}

async function* fromArray<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item
}

describe('CSV cells (RFC 4180)', () => {
  it('leaves plain text and numbers alone and empties absent values', () => {
    expect(csvCell('officer-001')).toBe('officer-001')
    expect(csvCell('宁住建共享〔2026〕3号')).toBe('宁住建共享〔2026〕3号')
    expect(csvCell(42)).toBe('42')
    expect(csvCell(undefined)).toBe('')
    expect(csvCell(null)).toBe('')
  })

  it('quotes commas, quotes and line breaks, doubling inner quotes', () => {
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('two\nlines')).toBe('"two\nlines"')
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"')
  })

  it('neutralises spreadsheet formulas: text starting with = + - @ (or tab, CR) gets a leading quote', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`)
    expect(csvCell('+1')).toBe("'+1")
    expect(csvCell('-2+3')).toBe("'-2+3")
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvCell('\tx')).toBe("'\tx")
    expect(csvCell('a=b')).toBe('a=b')
  })
})

describe('CSV rows', () => {
  it('has one cell per column, in header order, for exchange and admin records', () => {
    const header = parseCsv(csvHeader())[0]
    expect(header).toEqual([...CSV_COLUMNS])
    const exchange = parseCsv(csvRow(entry(exchangeRecord(), 7)))[0] as string[]
    expect(exchange).toHaveLength(CSV_COLUMNS.length)
    const cell = (name: (typeof CSV_COLUMNS)[number]) => exchange[CSV_COLUMNS.indexOf(name)]
    expect(cell('seq')).toBe('7')
    expect(cell('dept')).toBe('drc')
    expect(cell('fields')).toBe('permitNo;projectName')
    expect(cell('masked')).toBe('ownerLeadName;ownerLeadPhone')
    expect(cell('replayOf')).toBe('')
    expect(cell('chain')).toBe('ab'.repeat(32))

    const admin = parseCsv(csvRow(entry(adminRecord('gateway.start', NOW, { logId: 'gw-1' }))))[0] as string[]
    expect(admin).toHaveLength(CSV_COLUMNS.length)
    expect(admin[CSV_COLUMNS.indexOf('kind')]).toBe('admin')
    expect(admin[CSV_COLUMNS.indexOf('action')]).toBe('gateway.start')
    expect(admin[CSV_COLUMNS.indexOf('sub')]).toBe('system')
    expect(admin[CSV_COLUMNS.indexOf('reason')]).toBe('ok')
  })

  it('survives hostile values: the row reads back as the values, formulas defused', () => {
    const record = exchangeRecord({
      requester: { dept: 'drc', sub: '=cmd|"/c calc"!A1', clientId: 'a,b\r\nc' },
      case: '-1+1',
    })
    const row = parseCsv(csvRow(entry(record)))[0] as string[]
    expect(row).toHaveLength(CSV_COLUMNS.length)
    expect(row[CSV_COLUMNS.indexOf('sub')]).toBe(`'=cmd|"/c calc"!A1`)
    expect(row[CSV_COLUMNS.indexOf('clientId')]).toBe('a,b\r\nc')
    expect(row[CSV_COLUMNS.indexOf('case')]).toBe("'-1+1")
  })
})

describe('export chunks', () => {
  const entries = Array.from({ length: 50 }, (_, i) => entry(exchangeRecord({ id: `rec-${i}` }), i))

  it('CSV: BOM, header, one CRLF row per entry', async () => {
    const text = await collect(exportChunks(fromArray(entries), 'csv', { chunkSize: 256 }))
    expect(text.startsWith(`${UTF8_BOM}logId,seq,`)).toBe(true)
    const rows = parseCsv(text.slice(1))
    expect(rows).toHaveLength(51)
    expect(rows.slice(1).map((r) => r[CSV_COLUMNS.indexOf('id')])).toEqual(entries.map((e) => e.record.id))
  })

  it('JSON lines: each line is the stored entry', async () => {
    const text = await collect(exportChunks(fromArray(entries), 'jsonl', { chunkSize: 1000 }))
    expect(text).toBe(entries.map(jsonlLine).join(''))
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toEqual(entries)
  })

  it('pulls from the source only as the stream is read, and stops the source when cancelled', async () => {
    let produced = 0
    let stopped = false
    async function* source(): AsyncIterable<LogEntry> {
      try {
        for (let i = 0; ; i++) {
          produced++
          yield entry(exchangeRecord({ id: `rec-${i}` }), i)
        }
      } finally {
        stopped = true
      }
    }
    const chunks = exportChunks(source(), 'jsonl', { chunkSize: 1 })
    const ends: string[] = []
    const stream = chunkStream(chunks, undefined, (o) => ends.push(o.ok ? 'ok' : o.reason))
    const reader = stream.getReader()
    await reader.read()
    await reader.read()
    expect(produced).toBeLessThanOrEqual(3)
    await reader.cancel()
    expect(stopped).toBe(true)
    expect(ends).toEqual(['cancelled'])
  })
})
