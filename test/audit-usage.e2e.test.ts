import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ExcelJS from 'exceljs'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort } from '../connectors/kit/conformance/ports.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { CSV_COLUMNS, CSV_COLUMNS_ZH, XLSX_CONTENT_TYPE } from '../gateway/audit/export.js'
import { isSubjectIdentifier } from '../gateway/audit/query.js'
import type { AdminAuditRecord, ExchangeAuditRecord } from '../gateway/audit/record.js'
import type { UsageRow } from '../gateway/audit/usage.js'
import type { AuditStats } from '../gateway/audit/usage-stats.js'
import { usccCheckChar } from '../kernel/identifiers.js'
import { type Harness, type HttpResult, NOW, startHarness } from './support/gateway.js'
import { runQiao } from './support/gateway-process.js'
import { signToken, type TokenClaims } from './support/keys.js'

/**
 * Usage counts and audit statistics end to end: a real gateway, JWKS and simulators on loopback, a clock moved by
 * hand across office hours, a weekend and the days of an operator's calendar file. Exchange calls are answered,
 * denied, refused over quota and failed upstream; the department views (`GET /v1/usage`), the auditor's statistics
 * (`GET /v1/audit/stats`) and the XLSX export (API and CLI) are then checked against exactly those calls.
 */

const PERMITS = 'housing.construction-permit'
const PROJECTS = 'drc.company-projects'
const DRC_MATTER = 'QT00301001'
/** drc holds no scope for this matter on the permits: each call with it is denied (and never reaches upstream). */
const DENIED_MATTER = 'XK00208001'
const ONCE_A_DAY = '  - { id: natres-qr00112001-once, department: natres, matter: QR00112001, limit: 1, per: day }\n'
/** The operator's calendar file: 2027-01-01 a holiday, Saturday 2027-01-02 a 调休 working day. */
const CALENDAR_2027 = {
  years: { '2027': { source: 'test notice', holidays: ['2027-01-01'], workdays: ['2027-01-02'] } },
}
const WINDOW = 'from=2026-11-26&to=2027-01-02'
const BULK = 25

/** An instant given in Beijing time. */
const beijing = (local: string): number => Date.parse(`${local}+08:00`)

let h: Harness
let work: string
let now = beijing('2026-11-26T08:29:59.999')
let auditor: string
let exchange: ExchangeAuditRecord[]

/** A token issued at the gateway's current time (the harness's own are issued at NOW). */
const token = (claims: TokenClaims) => signToken(h.ed, claims, { now })
const drcOfficer = (sub: string) => token({ dept: 'drc', sub, scope: `${DRC_MATTER}:${PERMITS}:read` })

async function expectProblem(res: HttpResult | Promise<HttpResult>, status: number, code: string) {
  const answer = await res
  expect(answer.status, answer.text).toBe(status)
  expect(answer.json).toMatchObject({ status, code })
}

/** Valid USCCs (GB 32100 check character) of companies no simulator knows. */
function unknownCompanies(n: number): string[] {
  const out: string[] = []
  for (let i = 0; out.length < n; i++) {
    const first17 = `91320100MA1Q${String(i).padStart(5, '0')}`
    const id = `${first17}${usccCheckChar(first17)}`
    if (isSubjectIdentifier(id)) out.push(id)
  }
  return out
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'qiao-usage-'))
  const calendarFile = join(work, 'calendar.json')
  await writeFile(calendarFile, JSON.stringify(CALENDAR_2027))
  h = await startHarness({
    clock: { now: () => now },
    catalog: (text) => text.replace('\nquotas:\n', `\nquotas:\n${ONCE_A_DAY}`),
    // 发改's system is down: 自然资源's call to it fails upstream.
    vars: { QIAO_DRC_URL: `http://127.0.0.1:${await closedPort()}` },
    env: { QIAO_WORKING_CALENDAR: calendarFile },
  })
  const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
  const permits = (t: string, matter: string, caseId: string, params: unknown = { projectCode }) =>
    h.query(PERMITS, params, { token: t, matter, caseId })
  let deniedCalls = 0
  const denied = async (at: string) => {
    now = beijing(at)
    const res = await permits(await drcOfficer('officer-a'), DENIED_MATTER, `NJ-DENIED-${++deniedCalls}`)
    expect(res.status, res.text).toBe(403)
  }

  await denied('2026-11-26T08:29:59.999') // before office hours
  await denied('2026-11-26T08:30:00.000') // the first minute of them

  now = NOW // 10:00 in Nanjing
  for (const [sub, calls] of [
    ['officer-a', 2],
    ['officer-b', 1],
    ['officer-c', 1],
  ] as const) {
    const t = await drcOfficer(sub)
    for (let i = 0; i < calls; i++) expect((await permits(t, DRC_MATTER, `NJ-${sub}-${i}`)).status).toBe(200)
  }
  // One officer looks up 25 companies, one call each; 住建 holds no permit of theirs (404 record-not-found).
  const bulk = await drcOfficer('officer-bulk')
  for (const [i, ownerUscc] of unknownCompanies(BULK).entries()) {
    const res = await permits(bulk, DRC_MATTER, `NJ-BULK-${i}`, { ownerUscc })
    expect(res.status, res.text).toBe(404)
  }
  const natres = await token({
    dept: 'natres',
    sub: 'officer-natres-7',
    scope: `QR00112001:${PERMITS}:read XK00102001:${PROJECTS}:read`,
  })
  expect((await permits(natres, 'QR00112001', 'ZR-1')).status).toBe(200)
  expect((await permits(natres, 'QR00112001', 'ZR-2')).status).toBe(429)
  const owner = h.sim.data.permits.find((p) => p.XMDM === projectCode)?.JSDWDM as string
  const failed = await h.query(
    PROJECTS,
    { companyUscc: owner },
    { token: natres, matter: 'XK00102001', caseId: 'ZR-3' },
  )
  expect(failed.status, failed.text).toBe(503)

  await denied('2026-11-26T17:29:59.999') // the last moment of office hours
  await denied('2026-11-26T17:30:00.000') // after them
  await denied('2026-11-28T10:00:00.000') // a Saturday
  await denied('2027-01-01T10:00:00.000') // a holiday of the operator's file
  await denied('2027-01-02T10:00:00.000') // a Saturday the operator's file makes a working day
  await denied('2027-01-02T20:00:00.000') // after its office hours
  exchange = await h.auditRecords()
  auditor = await token({ dept: 'data', sub: 'auditor-01', scope: 'audit:read' })
}, 60_000)

afterAll(async () => {
  await h?.close()
  await rm(work, { recursive: true, force: true })
})

const row =
  (day: string, consumer: string, provider: string, resource: string, matter: string) =>
  (counts: Partial<UsageRow>): UsageRow => ({
    day,
    consumer,
    provider,
    resource,
    matter,
    calls: 0,
    allowed: 0,
    refused: 0,
    failed: 0,
    ...counts,
  })
const drcPermits = (day: string, matter: string) => row(day, 'drc', 'housing', PERMITS, matter)
const DRC_ROWS: UsageRow[] = [
  drcPermits('2026-11-26', DRC_MATTER)({ calls: 4 + BULK, allowed: 4, refused: BULK }),
  drcPermits('2026-11-26', DENIED_MATTER)({ calls: 4, refused: 4 }),
  drcPermits('2026-11-28', DENIED_MATTER)({ calls: 1, refused: 1 }),
  drcPermits('2027-01-01', DENIED_MATTER)({ calls: 1, refused: 1 }),
  drcPermits('2027-01-02', DENIED_MATTER)({ calls: 2, refused: 2 }),
]
const NATRES_ROWS: UsageRow[] = [
  row('2026-11-26', 'natres', 'drc', PROJECTS, 'XK00102001')({ calls: 1, failed: 1 }),
  row('2026-11-26', 'natres', 'housing', PERMITS, 'QR00112001')({ calls: 2, allowed: 1, refused: 1 }),
]

describe('GET /v1/usage', () => {
  const usage = async (claims: TokenClaims, query: string) => h.get(`/v1/usage?${query}`, await token(claims))

  it('shows a consumer its own calls per day, provider, resource and matter, and nothing of anyone else', async () => {
    const drc = await usage(
      { dept: 'drc', sub: 'console-applicant-drc', scope: 'sharing:apply' },
      `view=consumer&${WINDOW}`,
    )
    expect(drc.status, drc.text).toBe(200)
    expect(drc.headers['cache-control']).toBe('no-store')
    expect(drc.json).toStrictEqual({
      view: 'consumer',
      dept: 'drc',
      from: '2026-11-26',
      to: '2027-01-02',
      rows: DRC_ROWS,
    })
    // Counts only: no officer, no case, no subject.
    expect(drc.text).not.toMatch(/officer-|NJ-|913201/)
    const natres = await usage({ dept: 'natres', scope: 'sharing:apply' }, `view=consumer&${WINDOW}`)
    expect(natres.json.rows).toStrictEqual(NATRES_ROWS)
  })

  it('shows a provider the calls to its resources by consuming department', async () => {
    const housing = await usage({ dept: 'housing', scope: 'sharing:review' }, `view=provider&${WINDOW}`)
    expect(housing.status, housing.text).toBe(200)
    const toHousing = [...DRC_ROWS, NATRES_ROWS[1] as UsageRow].sort((a, b) =>
      `${a.day}${a.consumer}${a.matter}`.localeCompare(`${b.day}${b.consumer}${b.matter}`),
    )
    expect(housing.json).toMatchObject({ view: 'provider', dept: 'housing' })
    expect(housing.json.rows).toStrictEqual(toHousing)
    const drc = await usage({ dept: 'drc', scope: 'sharing:review' }, `view=provider&${WINDOW}`)
    expect(drc.json.rows).toStrictEqual([NATRES_ROWS[0]])
    // The window is Beijing days: the Saturday alone.
    const saturday = await usage(
      { dept: 'housing', scope: 'sharing:review' },
      'view=provider&from=2026-11-28&to=2026-11-28',
    )
    expect(saturday.json.rows).toStrictEqual([DRC_ROWS[2]])
  })

  it('refuses a view the token has no scope for, a window over 92 days and unknown parameters', async () => {
    // A reviewer cannot get a consumer view, of its own department or any other.
    await expectProblem(usage({ dept: 'housing', scope: 'sharing:review' }, 'view=consumer'), 403, 'insufficient-scope')
    await expectProblem(usage({ dept: 'drc', scope: 'sharing:apply' }, 'view=provider'), 403, 'insufficient-scope')
    await expectProblem(usage({ dept: 'drc', scope: 'audit:read' }, 'view=consumer'), 403, 'insufficient-scope')
    const apply = { dept: 'drc', scope: 'sharing:apply' }
    await expectProblem(usage(apply, 'view=consumer&dept=housing'), 400, 'query-invalid')
    await expectProblem(usage(apply, 'view=everything'), 400, 'query-invalid')
    await expectProblem(usage(apply, 'view=consumer&from=2026-09-01&to=2026-12-02'), 400, 'query-invalid')
    await expectProblem(usage(apply, 'view=consumer&from=2026-12-01&to=2026-11-01'), 400, 'query-invalid')
    await expectProblem(usage(apply, 'view=consumer&from=2026-02-30'), 400, 'query-invalid')
    expect((await usage(apply, 'view=consumer&from=2026-09-02&to=2026-12-02')).status).toBe(200) // 92 days
    await expectProblem(h.get('/v1/usage?view=consumer'), 401, 'token-missing')
  })

  it('leaves a usage.read record of every read, refusals included', async () => {
    const t = await token({ dept: 'natres', sub: 'natres-reviewer-2', scope: 'sharing:review' })
    expect((await h.get(`/v1/usage?view=provider&${WINDOW}`, t)).status).toBe(200)
    await expectProblem(h.get('/v1/usage?view=consumer', t), 403, 'insufficient-scope')
    const reads = await adminRecords('usage.read', (r) => r.actor === 'natres/natres-reviewer-2')
    expect(reads.map((r) => [r.outcome, r.details])).toStrictEqual([
      [
        'ok',
        {
          route: '/v1/usage',
          view: 'provider',
          from: '2026-11-26',
          to: '2027-01-02',
          records: 0,
          rows: 0,
          status: 200,
        },
      ],
      ['rejected', { route: '/v1/usage', view: 'consumer', status: 403, reason: 'insufficient-scope' }],
    ])
  })
})

async function adminRecords(action: string, keep: (r: AdminAuditRecord) => boolean): Promise<AdminAuditRecord[]> {
  const found: AdminAuditRecord[] = []
  for await (const entry of h.gateway.deps.audit.query({ kind: 'admin' })) {
    const r = entry.record as AdminAuditRecord
    if (r.action === action && keep(r)) found.push(r)
  }
  return found
}

describe('GET /v1/audit/stats', () => {
  let stats: AuditStats
  beforeAll(async () => {
    const res = await h.get(`/v1/audit/stats?${WINDOW}`, auditor)
    expect(res.status, res.text).toBe(200)
    stats = res.json as unknown as AuditStats
  })

  it('sums every exchange call of the window into the usage rows', () => {
    expect(stats.records).toBe(exchange.length)
    expect(stats.records).toBe(4 + BULK + 8 + 3)
    const byKey = (r: UsageRow) => `${r.day} ${r.consumer} ${r.provider} ${r.resource} ${r.matter}`
    expect([...stats.rows].sort((a, b) => byKey(a).localeCompare(byKey(b)))).toStrictEqual(
      [...DRC_ROWS, ...NATRES_ROWS].sort((a, b) => byKey(a).localeCompare(byKey(b))),
    )
  })

  it('counts per day the denials and the calls after office hours, by the working calendar', () => {
    expect(stats.days).toHaveLength(38)
    expect(stats.officeHours).toStrictEqual({ start: '08:30', end: '17:30' })
    const busy = stats.days.filter((d) => d.calls > 0)
    expect(busy).toStrictEqual([
      // 08:29:59.999 and 17:30:00 are after hours; 08:30:00 and 17:29:59.999 are not.
      { day: '2026-11-26', calls: 36, allowed: 5, refused: 30, failed: 1, denied: 4, afterHours: 2 },
      { day: '2026-11-28', calls: 1, allowed: 0, refused: 1, failed: 0, denied: 1, afterHours: 1 },
      { day: '2027-01-01', calls: 1, allowed: 0, refused: 1, failed: 0, denied: 1, afterHours: 1 },
      { day: '2027-01-02', calls: 2, allowed: 0, refused: 2, failed: 0, denied: 2, afterHours: 1 },
    ])
    expect(stats.days[0]?.day).toBe('2026-11-26')
    expect(stats.days.at(-1)?.day).toBe('2027-01-02')
  })

  it('flags the officer who named many more subjects than the others of the department', () => {
    const subjectsOf = (sub: string) =>
      new Set(exchange.filter((r) => r.requester.sub === sub).flatMap((r) => r.subjects ?? [])).size
    const peers = ['officer-a', 'officer-b', 'officer-c'].map(subjectsOf)
    const median = [...peers].sort((a, b) => a - b)[1] as number
    expect(BULK).toBeGreaterThan(3 * median)
    expect(stats.officerRule).toStrictEqual({ minSubjects: 20, factor: 3 })
    expect(stats.officers[0]).toStrictEqual({
      officer: 'drc/officer-bulk',
      dept: 'drc',
      sub: 'officer-bulk',
      calls: BULK,
      subjects: BULK,
      subjectsCapped: false,
      peerMedian: median,
      flagged: true,
    })
    expect(stats.flaggedCount).toBe(1)
    const a = stats.officers.find((o) => o.officer === 'drc/officer-a')
    expect(a).toMatchObject({ calls: 2 + 8, subjects: peers[0], flagged: false })
    // Alone in its department, an officer has nobody to be compared with.
    const natres = stats.officers.find((o) => o.officer === 'natres/officer-natres-7')
    expect(natres).toMatchObject({ calls: 3, peerMedian: null, flagged: false })
    expect(stats.officerCount).toBe(5)
  })

  it('narrows by consumer and resource, and refuses what it does not know', async () => {
    const natres = await h.get(`/v1/audit/stats?${WINDOW}&consumer=natres`, auditor)
    expect((natres.json as unknown as AuditStats).rows).toStrictEqual(NATRES_ROWS)
    expect(natres.json).toMatchObject({ consumer: 'natres', records: 3 })
    const projects = await h.get(`/v1/audit/stats?${WINDOW}&resource=${PROJECTS}`, auditor)
    expect((projects.json as unknown as AuditStats).rows).toStrictEqual([NATRES_ROWS[0]])
    await expectProblem(h.get('/v1/audit/stats?from=2026-09-01&to=2026-12-02', auditor), 400, 'query-invalid')
    await expectProblem(h.get('/v1/audit/stats?consumer=Not%20a%20code', auditor), 400, 'query-invalid')
    await expectProblem(h.get('/v1/audit/stats?subject=x', auditor), 400, 'query-invalid')
    const exchangeToken = await drcOfficer('officer-a')
    await expectProblem(h.get(`/v1/audit/stats?${WINDOW}`, exchangeToken), 403, 'insufficient-scope')
  })

  it('is an audited read: an audit.read record names the route, the window and how many records it summed', async () => {
    const reads = await adminRecords('audit.read', (r) => r.details.route === '/v1/audit/stats' && r.outcome === 'ok')
    const first = reads[0]
    expect(first?.actor).toBe('data/auditor-01')
    expect(first?.details).toMatchObject({ status: 200, records: exchange.length })
    expect(JSON.parse(String(first?.details.filter))).toStrictEqual({
      from: '2026-11-25T16:00:00.000Z',
      to: '2027-01-02T16:00:00.000Z',
      kind: 'exchange',
    })
    const refused = await adminRecords('audit.read', (r) => r.details.route === '/v1/audit/stats' && r.outcome !== 'ok')
    expect(refused.map((r) => r.details.reason)).toEqual(
      expect.arrayContaining(['query-invalid', 'insufficient-scope']),
    )
  })
})

describe('XLSX export', () => {
  /** The worksheet's rows as plain values (exceljs rows are 1-based: index 0 is dropped). */
  async function sheetRows(bytes: Buffer): Promise<unknown[][]> {
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(bytes as unknown as ArrayBuffer)
    const sheet = book.worksheets[0]
    expect(sheet).toBeDefined()
    const rows: unknown[][] = []
    sheet?.eachRow((r) => {
      rows.push((r.values as unknown[]).slice(1))
    })
    return rows
  }
  const natresRecords = () => exchange.filter((r) => r.requester.dept === 'natres')
  const cell = (rowValues: unknown[] | undefined, name: string) => rowValues?.[CSV_COLUMNS.indexOf(name)] ?? null

  it('streams the CSV columns with Chinese headers, names and Beijing time, as an .xlsx attachment', async () => {
    const res = await request(`${h.gateway.url}/v1/audit/records/export?format=xlsx&dept=natres`, {
      headers: { authorization: `Bearer ${auditor}` },
    })
    const bytes = Buffer.from(await res.body.arrayBuffer())
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(XLSX_CONTENT_TYPE)
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="qiao-audit-[0-9TZ]+\.xlsx"$/)
    const rows = await sheetRows(bytes)
    expect(rows[0]).toStrictEqual([...CSV_COLUMNS_ZH])
    expect(rows.slice(1).map((r) => cell(r, 'id'))).toStrictEqual(natresRecords().map((r) => r.id))
    const quota = rows.find((r) => cell(r, 'reason') === 'quota-exceeded')
    expect(quota && CSV_COLUMNS.map((name) => [name, cell(quota, name)]).filter(([, v]) => v !== null)).toEqual(
      expect.arrayContaining([
        ['localTime', '2026-11-26 10:00:00.000'],
        ['time', '2026-11-26T02:00:00.000Z'],
        ['deptName', '南京市规划和自然资源局'],
        ['resourceName', '建筑工程施工许可信息'],
        ['providerName', '南京市住房和城乡建设局'],
        ['case', 'ZR-2'],
        ['status', 429],
        ['decision', 'allow'],
      ]),
    )
    const english = await request(`${h.gateway.url}/v1/audit/records/export?format=xlsx&headers=en&dept=natres`, {
      headers: { authorization: `Bearer ${auditor}` },
    })
    const englishRows = await sheetRows(Buffer.from(await english.body.arrayBuffer()))
    expect(englishRows[0]).toStrictEqual([...CSV_COLUMNS])
    expect(englishRows.slice(1)).toStrictEqual(rows.slice(1))
    await expectProblem(h.get('/v1/audit/records/export?format=jsonl&headers=en', auditor), 400, 'query-invalid')
    const read = await adminRecords('audit.read', (r) => r.details.format === 'xlsx')
    expect(read[0]?.details).toMatchObject({ route: '/v1/audit/records/export', records: 3, status: 200 })
  })

  it('qiao audit export --format xlsx writes the same workbook from the store, offline', async () => {
    const out = join(work, 'natres.xlsx')
    const cli = await runQiao(
      ['audit', 'export', '--dir', h.config.auditDir, '--format', 'xlsx', '--dept', 'natres', '--out', out],
      { HOME: process.env.HOME, QIAO_DATA_DIR: join(work, 'cli'), QIAO_CATALOG: h.config.catalog },
    )
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.stderr).toContain('exported 3 record(s)')
    const rows = await sheetRows(await readFile(out))
    expect(rows[0]).toStrictEqual([...CSV_COLUMNS_ZH])
    expect(rows.slice(1).map((r) => [cell(r, 'id'), cell(r, 'localTime'), cell(r, 'deptName')])).toStrictEqual(
      natresRecords().map((r) => [r.id, '2026-11-26 10:00:00.000', '南京市规划和自然资源局']),
    )
    const english = await runQiao(
      ['audit', 'export', '--dir', h.config.auditDir, '--format', 'xlsx', '--headers', 'en', '--out', out],
      { HOME: process.env.HOME, QIAO_DATA_DIR: join(work, 'cli'), QIAO_CATALOG: h.config.catalog },
    )
    expect(english.code, english.stderr).toBe(0)
    const all = await sheetRows(await readFile(out))
    expect(all[0]).toStrictEqual([...CSV_COLUMNS])
    const entries: LogEntry[] = []
    for await (const e of h.gateway.deps.audit.query({})) entries.push(e)
    expect(all.length - 1).toBeLessThanOrEqual(entries.length)
    expect(all.slice(1).map((r) => cell(r, 'id'))).toStrictEqual(
      entries.slice(0, all.length - 1).map((e) => e.record.id),
    )
  })
})
