import { describe, expect, it } from 'vitest'
import { parseCsv } from '../../test/support/csv.js'
import { adminRecord } from './admin.js'
import type { LogEntry } from './entry.js'
import {
  beijingTime,
  CSV_COLUMNS,
  CSV_COLUMNS_ZH,
  chunkStream,
  csvCell,
  csvHeader,
  csvRow,
  type ExportNames,
  exportChunks,
  jsonlLine,
  UTF8_BOM,
} from './export.js'
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

/** Names as a catalog holds them (only `name` is read). */
const NAMES: ExportNames = {
  departments: new Map([
    ['drc', { name: '南京市发展和改革委员会' }],
    ['housing', { name: '南京市住房和城乡建设局' }],
  ]),
  matters: new Map([['QT00301001', { name: '投资项目在线审批监管' }]]),
  resources: new Map([['housing.construction-permit', { name: '建筑工程施工许可信息' }]]),
}

/** The columns the CSV had before it got Chinese headers: scripts that read them by name keep finding them. */
const ENGLISH_COLUMNS = [
  'logId',
  'seq',
  'loggedAt',
  'id',
  'time',
  'kind',
  'action',
  'dept',
  'sub',
  'clientId',
  'matter',
  'case',
  'resource',
  'provider',
  'decision',
  'reason',
  'status',
  'fields',
  'masked',
  'recordCount',
  'upstreamMs',
  'totalMs',
  'approvalRef',
  'replayOf',
  'catalogVersion',
  'chain',
]

/** One CSV row read back as a spreadsheet would, by English column name. */
function cells(row: string): (name: string) => string | undefined {
  const read = parseCsv(row)[0] as string[]
  expect(read).toHaveLength(CSV_COLUMNS.length)
  return (name) => {
    expect(CSV_COLUMNS).toContain(name)
    return read[CSV_COLUMNS.indexOf(name)]
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
    expect(parseCsv(csvHeader())[0]).toEqual([...CSV_COLUMNS_ZH])
    expect(parseCsv(csvHeader('en'))[0]).toEqual([...CSV_COLUMNS])
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

  it('links an evidence bundle: an item names its bundle’s record, the bundle’s record lists its items', () => {
    const bundleId = '019abcde-0000-7000-8000-0000000000b0'
    const itemIds = ['019abcde-0000-7000-8000-0000000000b1', '019abcde-0000-7000-8000-0000000000b2']
    const item = cells(csvRow(entry(exchangeRecord({ id: itemIds[0], bundle: bundleId }))))
    expect([item('bundle'), item('bundleItems')]).toEqual([bundleId, ''])
    const own = cells(csvRow(entry(exchangeRecord({ id: bundleId, resource: undefined, bundleItems: itemIds }))))
    expect([own('bundle'), own('bundleItems')]).toEqual(['', itemIds.join(';')])
    const plain = cells(csvRow(entry(exchangeRecord())))
    expect([plain('bundle'), plain('bundleItems')]).toEqual(['', ''])
    const zh = parseCsv(csvHeader())[0] as string[]
    expect([zh[CSV_COLUMNS.indexOf('bundle')], zh[CSV_COLUMNS.indexOf('bundleItems')]]).toEqual([
      '所属证据包记录编号',
      '证据包条目记录编号',
    ])
  })
})

describe('CSV for auditors', () => {
  it('has Chinese headers by default and the English names on request, over the same columns', () => {
    expect(CSV_COLUMNS_ZH).toHaveLength(CSV_COLUMNS.length)
    expect(new Set(CSV_COLUMNS_ZH).size).toBe(CSV_COLUMNS_ZH.length)
    expect(new Set(CSV_COLUMNS).size).toBe(CSV_COLUMNS.length)
    expect(CSV_COLUMNS).toEqual(expect.arrayContaining(ENGLISH_COLUMNS))
    expect(CSV_COLUMNS_ZH.slice(0, 22)).toEqual([
      '记录编号',
      '时间（北京时间）',
      '类别',
      '操作',
      '请求部门代码',
      '请求部门',
      '经办人',
      '调用系统',
      '办理事项编码',
      '办理事项',
      '办件编号',
      '资源编码',
      '资源名称',
      '提供部门代码',
      '提供部门',
      '决定',
      '原因代码',
      'HTTP 状态',
      '放行字段',
      '脱敏字段',
      '记录数',
      '审批文号',
    ])
    expect(CSV_COLUMNS_ZH).toEqual(expect.arrayContaining(['请求编号', '时间（UTC）', '日志编号', '链哈希']))
    // Each name column stands right after its code.
    for (const code of ['dept', 'matter', 'resource', 'provider']) {
      expect(CSV_COLUMNS[CSV_COLUMNS.indexOf(code) + 1]).toBe(`${code}Name`)
    }
  })

  it('shows the time in Beijing time (UTC+8), across midnight and the new year, beside the ISO UTC time', () => {
    expect(beijingTime('2026-11-26T02:00:00.123Z')).toBe('2026-11-26 10:00:00.123')
    expect(beijingTime('2026-11-25T15:59:59.999Z')).toBe('2026-11-25 23:59:59.999')
    expect(beijingTime('2026-11-25T16:00:00.000Z')).toBe('2026-11-26 00:00:00.000')
    expect(beijingTime('2026-12-31T16:30:00.005Z')).toBe('2027-01-01 00:30:00.005')
    expect(beijingTime('not a time')).toBe('')

    const late = cells(csvRow(entry(exchangeRecord({ time: '2026-11-25T17:05:09.042Z' }))))
    expect(late('localTime')).toBe('2026-11-26 01:05:09.042')
    expect(late('time')).toBe('2026-11-25T17:05:09.042Z')
    const admin = cells(csvRow(entry(adminRecord('gateway.start', Date.parse('2026-11-25T16:00:00Z'), {}))))
    expect(admin('localTime')).toBe('2026-11-26 00:00:00.000')
  })

  it('names the departments, matter and resource beside their codes', () => {
    const cell = cells(csvRow(entry(exchangeRecord()), NAMES))
    expect(cell('dept')).toBe('drc')
    expect(cell('deptName')).toBe('南京市发展和改革委员会')
    expect(cell('matter')).toBe('QT00301001')
    expect(cell('matterName')).toBe('投资项目在线审批监管')
    expect(cell('resource')).toBe('housing.construction-permit')
    expect(cell('resourceName')).toBe('建筑工程施工许可信息')
    expect(cell('provider')).toBe('housing')
    expect(cell('providerName')).toBe('南京市住房和城乡建设局')
    expect(cell('requestId')).toBe('req-1')
  })

  it('leaves the name empty for a code the catalog no longer knows, for absent codes and without names', () => {
    const gone = exchangeRecord({
      requester: { dept: 'old-dept', sub: 'officer-001' },
      matter: 'QT99999999',
      resource: 'old.resource',
      provider: 'toString',
    })
    const cell = cells(csvRow(entry(gone), NAMES))
    expect([cell('dept'), cell('matter'), cell('resource'), cell('provider')]).toEqual([
      'old-dept',
      'QT99999999',
      'old.resource',
      'toString',
    ])
    expect([cell('deptName'), cell('matterName'), cell('resourceName'), cell('providerName')]).toEqual(['', '', '', ''])

    const refused = cells(
      csvRow(entry(exchangeRecord({ requester: {}, matter: undefined, resource: undefined })), NAMES),
    )
    expect([refused('deptName'), refused('matterName'), refused('resourceName')]).toEqual(['', '', ''])
    const unnamed = cells(csvRow(entry(exchangeRecord())))
    expect([unnamed('deptName'), unnamed('matterName'), unnamed('resourceName')]).toEqual(['', '', ''])
    const admin = cells(csvRow(entry(adminRecord('catalog.reload', NOW, {}, { actor: 'ops-1' })), NAMES))
    expect([admin('deptName'), admin('providerName'), admin('sub')]).toEqual(['', '', 'ops-1'])
  })

  it('exports the same rows under English headers, names included', async () => {
    const entries = [entry(exchangeRecord(), 0), entry(adminRecord('gateway.start', NOW, {}), 1)]
    const zh = await collect(exportChunks(fromArray(entries), 'csv', { names: NAMES }))
    const en = await collect(exportChunks(fromArray(entries), 'csv', { names: NAMES, headers: 'en' }))
    expect(en.startsWith(UTF8_BOM)).toBe(true)
    const zhRows = parseCsv(zh.slice(1))
    const enRows = parseCsv(en.slice(1))
    expect(zhRows[0]).toEqual([...CSV_COLUMNS_ZH])
    expect(enRows[0]).toEqual([...CSV_COLUMNS])
    expect(enRows.slice(1)).toEqual(zhRows.slice(1))
    expect(enRows[1]?.[CSV_COLUMNS.indexOf('deptName')]).toBe('南京市发展和改革委员会')
  })
})

describe('export chunks', () => {
  const entries = Array.from({ length: 50 }, (_, i) => entry(exchangeRecord({ id: `rec-${i}` }), i))

  it('CSV: BOM, header, one CRLF row per entry', async () => {
    const text = await collect(exportChunks(fromArray(entries), 'csv', { chunkSize: 256 }))
    expect(text.startsWith(`${UTF8_BOM}记录编号,时间（北京时间）,`)).toBe(true)
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
