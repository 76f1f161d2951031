import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { JSONWebKeySet } from 'jose'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort } from '../connectors/kit/conformance/ports.js'
import type { CheckpointBody } from '../gateway/audit/checkpoint.js'
import { verifyCheckpoint } from '../gateway/audit/checkpoint.js'
import { type LogEntry, leafInput } from '../gateway/audit/entry.js'
import { CSV_COLUMNS, CSV_COLUMNS_ZH } from '../gateway/audit/export.js'
import { createHasher, type HashAlgorithm, verifyInclusion } from '../gateway/audit/merkle.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { usccCheckChar } from '../kernel/identifiers.js'
import { parseCsv } from './support/csv.js'
import { type Harness, type HttpResult, startHarness } from './support/gateway.js'
import { runQiao } from './support/gateway-process.js'

/**
 * The auditors' API end to end: a real gateway, JWKS and 住建 simulator on loopback. Exchange calls are made
 * first (allowed, denied, failing upstream); an auditor token (scope audit:read) then queries, pages, exports and
 * checks receipts against signed checkpoints.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const drcExchange = { dept: 'drc', scope: `${MATTER}:${PERMITS}:read`, client_id: 'tzxm-platform' }
const natresExchange = {
  dept: 'natres',
  sub: 'officer-natres-7',
  scope: 'QR00112001:housing.construction-permit:read XK00102001:drc.company-projects:read',
}
const auditorClaims = { dept: 'drc', sub: 'auditor-01', scope: 'audit:read' }
/** One call a day for 自然资源 under QR00112001: its second call is allowed, then refused 429 quota-exceeded. */
const ONCE_A_DAY = '  - { id: natres-qr00112001-once, department: natres, matter: QR00112001, limit: 1, per: day }\n'

let h: Harness
let auditor: string
let exchangeToken: string
let projectCode: string
/** Audit ids of the calls made in beforeAll, by name. */
const calls: Record<string, string> = {}
let all: LogEntry[]

type Page = { records: LogEntry[]; nextCursor: string | null }

function expectProblem(res: HttpResult, status: number, code: string): void {
  expect(res.status, res.text).toBe(status)
  expect(res.headers['content-type']).toBe('application/problem+json')
  expect(res.json).toMatchObject({ status, code, type: `/problems/${code}` })
}

async function records(query: string): Promise<Page> {
  const res = await h.get(`/v1/audit/records${query}`, auditor)
  expect(res.status, res.text).toBe(200)
  return res.json as unknown as Page
}

async function call(name: string, res: HttpResult): Promise<HttpResult> {
  const id = res.headers['qiao-audit-id']
  expect(id, `${name}: ${res.status} ${res.text}`).toBeTruthy()
  calls[name] = id as string
  return res
}

async function download(path: string, token: string) {
  const res = await request(`${h.gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  const bytes = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers as Record<string, string>, bytes }
}

beforeAll(async () => {
  // 发改 and 市场监管 upstreams are not running: their calls fail 503 but are audited with their subjects.
  h = await startHarness({
    catalog: (text) => {
      if (!text.includes('\nquotas:\n')) throw new Error('the demo catalog has no quotas list')
      return text.replace('\nquotas:\n', `\nquotas:\n${ONCE_A_DAY}`)
    },
    vars: {
      QIAO_DRC_URL: `http://127.0.0.1:${await closedPort()}`,
      QIAO_MARKET_DB_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
    },
  })
  auditor = await h.token(auditorClaims)
  exchangeToken = await h.token(drcExchange)
  const natres = await h.token(natresExchange)
  projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string

  const q = (token: string, matter: string, caseId: string, resource = PERMITS, params: unknown = { projectCode }) =>
    h.query(resource, params, { token, matter, caseId })
  expect((await call('drc-1', await q(exchangeToken, MATTER, 'NJ-2026-000001'))).status).toBe(200)
  expect((await call('drc-2', await q(exchangeToken, MATTER, 'NJ-2026-000002'))).status).toBe(200)
  // A case id a spreadsheet would take for a formula.
  expect((await call('drc-formula', await q(exchangeToken, MATTER, '-2-3'))).status).toBe(200)
  // No scope for this matter: denied.
  expect((await call('drc-denied', await q(exchangeToken, 'XK00208001', 'NJ-2026-000003'))).status).toBe(403)
  expect((await call('natres-1', await q(natres, 'QR00112001', 'ZR-2026-000001'))).status).toBe(200)
  // Allowed (token, scope and grant are fine) and then refused: the department's quota for the matter is spent.
  expect((await call('natres-quota', await q(natres, 'QR00112001', 'ZR-2026-000002'))).status).toBe(429)
  // Allowed and then failed: 发改 is not running. Asked about the project's own owner (the subject query below
  // looks for a company that has nothing to do with this project).
  const owner = h.sim.data.permits.find((p) => p.XMDM === projectCode)?.JSDWDM as string
  const failed = await q(natres, 'XK00102001', 'ZR-2026-000003', 'drc.company-projects', { companyUscc: owner })
  expect((await call('natres-failed', failed)).status).toBe(503)

  const page = await records('?limit=1000')
  all = page.records
  expect(page.nextCursor).toBeNull()
})

afterAll(async () => {
  await h?.close()
})

describe('auditors query the audit log', () => {
  it('lists every record with its log position and chain value, oldest first', async () => {
    const exchange = all.filter((e) => e.record.kind === 'exchange')
    expect(exchange.map((e) => e.record.id)).toEqual(
      expect.arrayContaining(['drc-1', 'drc-2', 'drc-formula', 'drc-denied', 'natres-1'].map((n) => calls[n])),
    )
    expect(all.some((e) => e.record.kind === 'admin' && e.record.action === 'gateway.start')).toBe(true)
    for (const e of all) {
      expect(e).toMatchObject({
        logId: expect.any(String),
        seq: expect.any(Number),
        segment: expect.any(Number),
        index: expect.any(Number),
        loggedAt: expect.any(String),
        chain: expect.stringMatching(/^[0-9a-f]{64}$/),
      })
    }
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b))
  })

  it('filters by dept, sub, matter, case, resource, decision, kind and time, exactly as the records say', async () => {
    const ex = (e: LogEntry) => (e.record.kind === 'exchange' ? (e.record as ExchangeAuditRecord) : undefined)
    const cases: Array<[string, (e: LogEntry) => boolean]> = [
      ['dept=natres', (e) => ex(e)?.requester.dept === 'natres'],
      ['dept=drc', (e) => ex(e)?.requester.dept === 'drc'],
      ['sub=officer-natres-7', (e) => ex(e)?.requester.sub === 'officer-natres-7'],
      [`matter=${MATTER}`, (e) => ex(e)?.matter === MATTER],
      ['case=NJ-2026-000002', (e) => ex(e)?.case === 'NJ-2026-000002'],
      [`resource=${PERMITS}`, (e) => ex(e)?.resource === PERMITS],
      ['decision=deny', (e) => ex(e)?.decision === 'deny'],
      ['decision=allow&dept=drc', (e) => ex(e)?.decision === 'allow' && ex(e)?.requester.dept === 'drc'],
      ['kind=admin', (e) => e.record.kind === 'admin'],
      ['from=2026-11-26T10:00:00%2B08:00&to=2026-11-27', (e) => e.record.time >= '2026-11-26T02:00:00.000Z'],
      ['to=2026-11-26T02:00:00Z', () => false],
    ]
    const inAll = new Set(all.map((e) => e.record.id))
    for (const [query, wanted] of cases) {
      const page = await records(`?${query}&limit=1000`)
      const expected = all.filter(wanted).map((e) => e.record.id)
      expect(
        page.records.slice(0, expected.length).map((e) => e.record.id),
        query,
      ).toEqual(expected)
      // Newer than the snapshot: only the auditors' own reads since (each one audited), and they match too.
      for (const e of page.records.slice(expected.length)) {
        expect(inAll.has(e.record.id), query).toBe(false)
        expect(e.record, query).toMatchObject({ kind: 'admin', action: 'audit.read' })
        expect(wanted(e), query).toBe(true)
      }
    }
    expect((await records('?case=NJ-2026-000002')).records.map((e) => e.record.id)).toEqual([calls['drc-2']])
    expect((await records('?decision=deny&dept=drc')).records.map((e) => e.record.id)).toContain(calls['drc-denied'])
  })

  it('finds refusals and failures by outcome, reason and status, whatever the access decision said', async () => {
    const byId = (name: string) => all.find((e) => e.record.id === calls[name])?.record
    expect(byId('natres-quota')).toMatchObject({ decision: 'allow', reason: 'quota-exceeded', status: 429 })
    expect(byId('natres-failed')).toMatchObject({ decision: 'allow', status: 503 })
    const ex = (e: LogEntry) => (e.record.kind === 'exchange' ? (e.record as ExchangeAuditRecord) : undefined)
    const status = (e: LogEntry) => ex(e)?.status ?? 0
    const refused = (e: LogEntry) => status(e) >= 400 && status(e) < 500
    const cases: Array<[string, (e: LogEntry) => boolean]> = [
      ['outcome=ok', (e) => status(e) >= 200 && status(e) < 300],
      ['outcome=refused', refused],
      ['outcome=failed', (e) => status(e) >= 500],
      ['reason=quota-exceeded', (e) => ex(e)?.reason === 'quota-exceeded'],
      ['status=429', (e) => status(e) === 429],
      ['decision=allow&outcome=refused', (e) => ex(e)?.decision === 'allow' && refused(e)],
      ['decision=deny&outcome=refused', (e) => ex(e)?.decision === 'deny' && refused(e)],
      ['outcome=ok&dept=natres', (e) => ex(e)?.requester.dept === 'natres' && status(e) === 200],
    ]
    for (const [query, wanted] of cases) {
      const expected = all.filter(wanted).map((e) => e.record.id)
      expect(expected.length, query).toBeGreaterThan(0)
      // Exchange-only filters: the auditors' own reads since the snapshot (admin records) never match.
      expect(
        (await records(`?${query}&limit=1000`)).records.map((e) => e.record.id),
        query,
      ).toEqual(expected)
    }
    const ids = async (query: string) => (await records(`${query}&limit=1000`)).records.map((e) => e.record.id)
    // A quota refusal is an allowed call: the access decision alone misses it, the outcome and the reason find it.
    expect(await ids('?decision=deny')).not.toContain(calls['natres-quota'])
    expect(await ids('?outcome=refused')).toEqual(expect.arrayContaining([calls['natres-quota'], calls['drc-denied']]))
    expect(await ids('?reason=quota-exceeded&decision=allow')).toEqual([calls['natres-quota']])
    expect(await ids('?outcome=failed&decision=allow')).toEqual([calls['natres-failed']])
    expect(await ids('?outcome=refused&reason=ok')).toEqual([])
  })

  it('qiao audit export takes the same filters', async () => {
    const env = { HOME: process.env.HOME, QIAO_DATA_DIR: join(h.dataDir, 'cli') }
    // The store's directory (h.auditDir is this gateway's log within it), read while the gateway runs.
    const store = dirname(h.auditDir)
    const exported = async (...filters: string[]) => {
      const run = await runQiao(['audit', 'export', '--dir', store, ...filters], env)
      expect(run.code, run.stderr).toBe(0)
      return run.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as LogEntry).record.id)
    }
    expect(await exported('--outcome', 'refused', '--reason', 'quota-exceeded', '--status', '429')).toEqual([
      calls['natres-quota'],
    ])
    expect(await exported('--outcome', 'failed', '--decision', 'allow')).toEqual([calls['natres-failed']])
    const bad = await runQiao(['audit', 'export', '--dir', store, '--outcome', 'denied', '--subject', '12345'], env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--outcome: expected ok \(2xx\), refused \(4xx\) or failed \(5xx\)/)
    expect(bad.stderr).toMatch(/--subject: expected a valid identifier of a company or person: a USCC/)
    expect(bad.stderr).not.toContain('12345')
  })

  it('refuses a subject that is not a valid identifier, naming the formats and not the value', async () => {
    for (const subject of ['12345', '91320115MA1W2K7Q0A', '2303-320115-04-03-518275']) {
      const res = await h.get(`/v1/audit/records?subject=${subject}`, auditor)
      expectProblem(res, 400, 'query-invalid')
      const errors = res.json.errors as string[]
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/^subject: expected a valid identifier/)
      for (const format of ['USCC', 'resident id', 'organisation code']) expect(errors[0]).toContain(format)
      expect(`${res.json.detail} ${errors.join(' ')}`).not.toContain(subject)
    }
  })

  it('cursor pages cover every record exactly once, in order', async () => {
    for (const limit of [1, 3, 7]) {
      // Every page is audited, so the log grows while it is paged: a page run covers what was there at its start.
      const before = (await records('?limit=1000')).records.map((e) => e.record.id)
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const page: Page = await records(`?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
        expect(page.records.length).toBeLessThanOrEqual(limit)
        seen.push(...page.records.map((e) => e.record.id))
        cursor = page.nextCursor
        pages++
      } while (cursor !== null)
      // What was there, plus the listing just above's own audit.read record.
      expect(seen.slice(0, before.length)).toEqual(before)
      expect(seen).toHaveLength(before.length + 1)
      expect(pages).toBe(Math.ceil(seen.length / limit))
    }
    const filtered = await records('?dept=drc&limit=2')
    expect(filtered.nextCursor).not.toBeNull()
    const rest = await records(`?dept=drc&limit=1000&cursor=${filtered.nextCursor}`)
    const drc = all.filter((e) => e.record.kind === 'exchange' && e.record.requester.dept === 'drc')
    expect([...filtered.records, ...rest.records].map((e) => e.record.id)).toEqual(drc.map((e) => e.record.id))
  })

  it('refuses malformed filters, limits, cursors and unknown parameters with query-invalid', async () => {
    const good = (await records('?limit=1')).nextCursor as string
    for (const query of [
      '?from=yesterday',
      '?from=2026-11-27&to=2026-11-26',
      '?kind=all',
      '?decision=maybe',
      '?logId=..',
      '?limit=0',
      '?limit=1001',
      '?limit=ten',
      '?cursor=not-a-cursor',
      `?cursor=${good}x`,
      `?cursor=${Buffer.from(JSON.stringify({ loggedAt: 'x', logId: 'a', seq: 1 })).toString('base64url')}`,
      '?dpt=drc',
      '?dept=drc&dept=natres',
      '?outcome=denied',
      '?reason=quota_exceeded',
      '?status=600',
      '?subject=12345',
    ]) {
      const res = await h.get(`/v1/audit/records${query}`, auditor)
      expectProblem(res, 400, 'query-invalid')
      expect(Array.isArray(res.json.errors), query).toBe(true)
    }
  })

  it('writes the auditor’s record reads to the audit log (not key copies), and logs them operationally without values', async () => {
    const before = h.gateway.deps.audit.stats.appended
    await records('?dept=drc&matter=QT00301001')
    expect(h.gateway.deps.audit.stats.appended).toBe(before + 1)
    const admin: LogEntry[] = []
    for await (const e of h.gateway.deps.audit.query({ kind: 'admin' })) admin.push(e)
    const read = admin.at(-1)?.record
    expect(read).toMatchObject({
      kind: 'admin',
      action: 'audit.read',
      actor: 'drc/auditor-01',
      details: { route: '/v1/audit/records', filter: '{"dept":"drc","matter":"QT00301001"}' },
    })
    const afterReads = h.gateway.deps.audit.stats.appended
    await h.get('/v1/audit/keys', auditor)
    expect(h.gateway.deps.audit.stats.appended).toBe(afterReads)
    const line = h.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'audit api' && l.route === '/v1/audit/records')
      .at(-1)
    expect(line).toMatchObject({ status: 200, dept: 'drc', sub: 'auditor-01', filters: ['dept', 'matter'] })
    expect(line?.requestId).toEqual(expect.any(String))
  })
})

describe('role separation', () => {
  const routes = () => [
    '/v1/audit/records',
    '/v1/audit/records/export?format=csv',
    `/v1/audit/records/${calls['drc-1']}/proof`,
    '/v1/audit/checkpoints',
    '/v1/audit/keys',
  ]

  it('an exchange token gets 403 insufficient-scope on every audit route; no token gets 401', async () => {
    for (const path of routes()) {
      const res = await h.get(path, exchangeToken)
      expectProblem(res, 403, 'insufficient-scope')
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="qiao", error="insufficient_scope", scope="audit:read"',
      )
      expect(res.text).not.toContain('"records"')
      expectProblem(await h.get(path), 401, 'token-missing')
    }
  })

  it('an auditor token cannot exchange data (403 role-separation), and that denial is itself audited', async () => {
    const res = await h.query(PERMITS, { projectCode }, { token: auditor, matter: MATTER, caseId: 'NJ-2026-000009' })
    expectProblem(res, 403, 'role-separation')
    expect(res.text).not.toContain(projectCode)
    const auditId = res.headers['qiao-audit-id']
    expect(auditId).toBeTruthy()
    const denied = (await records('?decision=deny&dept=drc&limit=1000')).records.find((e) => e.record.id === auditId)
    expect(denied?.record).toMatchObject({
      kind: 'exchange',
      decision: 'deny',
      reason: 'role-separation',
      status: 403,
      requester: { dept: 'drc', sub: 'auditor-01' },
      resource: PERMITS,
      recordCount: 0,
    })
  })
})

describe('receipts and checkpoints', () => {
  async function keys(): Promise<JSONWebKeySet> {
    const res = await h.get('/v1/audit/keys', auditor)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toContain('application/jwk-set+json')
    return res.json as unknown as JSONWebKeySet
  }

  it('proves a receipt: the inclusion proof checks against a checkpoint signed by a published audit key', async () => {
    const jwks = await keys()
    expect(jwks.keys.length).toBeGreaterThan(0)
    for (const name of ['drc-1', 'drc-denied', 'natres-1']) {
      const res = await h.get(`/v1/audit/records/${calls[name]}/proof`, auditor)
      expect(res.status, res.text).toBe(200)
      const p = res.json as unknown as {
        entry: LogEntry
        leafHash: string
        hashAlg: HashAlgorithm
        leafIndex: number
        treeSize: number
        proof: string[]
        checkpoint: { jws: string; body: CheckpointBody }
      }
      expect(p.entry.record.id).toBe(calls[name])
      const hasher = createHasher(p.hashAlg)
      // The auditor recomputes the leaf from the entry rather than trusting leafHash.
      expect(hasher.leaf(leafInput(p.entry)).toString('hex')).toBe(p.leafHash)
      const signed = await verifyCheckpoint(p.checkpoint.jws, jwks)
      expect(signed).toEqual(p.checkpoint.body)
      expect(signed).toMatchObject({ logId: p.entry.logId, segment: p.entry.segment, size: p.treeSize })
      const ok = verifyInclusion(
        hasher,
        p.leafIndex,
        p.treeSize,
        Buffer.from(p.leafHash, 'hex'),
        p.proof.map((x) => Buffer.from(x, 'hex')),
        Buffer.from(signed.rootHash, 'hex'),
      )
      expect(ok).toBe(true)
      // A different leaf does not verify with the same proof.
      const other = hasher.leaf(Buffer.from('forged'))
      expect(
        verifyInclusion(
          hasher,
          p.leafIndex,
          p.treeSize,
          other,
          p.proof.map((x) => Buffer.from(x, 'hex')),
          Buffer.from(signed.rootHash, 'hex'),
        ),
      ).toBe(false)
    }
  })

  it('answers 404 audit-record-not-found for an unknown record', async () => {
    expectProblem(
      await h.get('/v1/audit/records/01900000-0000-7000-8000-000000000000/proof', auditor),
      404,
      'audit-record-not-found',
    )
    expectProblem(await h.get('/v1/audit/records/a%20b/proof', auditor), 400, 'query-invalid')
  })

  it('lists signed checkpoints oldest first, in pages, each verifying against the published keys', async () => {
    await h.gateway.deps.audit.checkpoint()
    const jwks = await keys()
    const first = await h.get('/v1/audit/checkpoints?limit=1000', auditor)
    expect(first.status, first.text).toBe(200)
    const everything = first.json.checkpoints as Array<{ jws: string; body: CheckpointBody }>
    expect(everything.length).toBeGreaterThan(0)
    for (const cp of everything) expect(await verifyCheckpoint(cp.jws, jwks)).toEqual(cp.body)
    const times = everything.map((c) => c.body.time)
    expect(times).toEqual([...times].sort())

    const paged: string[] = []
    let cursor: string | null = null
    do {
      const res: HttpResult = await h.get(`/v1/audit/checkpoints?limit=1${cursor ? `&cursor=${cursor}` : ''}`, auditor)
      expect(res.status).toBe(200)
      paged.push(...(res.json.checkpoints as Array<{ jws: string }>).map((c) => c.jws))
      cursor = res.json.nextCursor as string | null
    } while (cursor !== null)
    expect(paged).toEqual(everything.map((c) => c.jws))

    const logId = everything[0]?.body.logId as string
    const ofLog = await h.get(`/v1/audit/checkpoints?logId=${logId}&segment=1&since=2026-11-26`, auditor)
    expect((ofLog.json.checkpoints as unknown[]).length).toBe(everything.filter((c) => c.body.segment === 1).length)
    expectProblem(await h.get('/v1/audit/checkpoints?segment=0', auditor), 400, 'query-invalid')
    expectProblem(await h.get('/v1/audit/checkpoints?since=soon', auditor), 400, 'query-invalid')
  })
})

describe('export', () => {
  it('streams the same records as JSON lines and as CSV (BOM, RFC 4180, formulas defused)', async () => {
    const query = 'dept=drc&kind=exchange'
    const listed = (await records(`?${query}&limit=1000`)).records

    const jsonl = await download(`/v1/audit/records/export?format=jsonl&${query}`, auditor)
    expect(jsonl.status).toBe(200)
    expect(jsonl.headers['content-type']).toBe('application/x-ndjson')
    expect(jsonl.headers['content-disposition']).toMatch(/^attachment; filename="qiao-audit-[0-9TZ]+\.jsonl"$/)
    const lines = jsonl.bytes.toString('utf8').split('\n').filter(Boolean)
    expect(lines.map((l) => JSON.parse(l) as LogEntry)).toEqual(listed)

    const csv = await download(`/v1/audit/records/export?format=csv&${query}`, auditor)
    expect(csv.status).toBe(200)
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="qiao-audit-[0-9TZ]+\.csv"$/)
    expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const rows = parseCsv(csv.bytes.toString('utf8').slice(1))
    expect(rows[0]).toEqual([...CSV_COLUMNS_ZH])
    expect(rows).toHaveLength(listed.length + 1)
    const idAt = CSV_COLUMNS.indexOf('id')
    const caseAt = CSV_COLUMNS.indexOf('case')
    const cells = rows.slice(1)
    for (const row of cells) expect(row).toHaveLength(CSV_COLUMNS.length)
    expect(cells.map((c) => c[CSV_COLUMNS.indexOf('approvalRef')])).toContain('宁住建共享〔2026〕3号')
    expect(cells.map((c) => c[idAt])).toEqual(listed.map((e) => e.record.id))
    const formula = cells.find((c) => c[idAt] === calls['drc-formula'])
    expect(formula?.[caseAt]).toBe("'-2-3")
    expect(csv.bytes.toString('utf8')).not.toMatch(/(^|,)-2-3/m)
    // Names from the catalog beside the codes, and the time in Beijing time beside the UTC one.
    const drc1 = cells.find((c) => c[idAt] === calls['drc-1']) ?? []
    const cell = (name: string) => drc1[CSV_COLUMNS.indexOf(name)]
    expect([cell('dept'), cell('deptName')]).toEqual(['drc', '南京市发展和改革委员会'])
    expect([cell('matter'), cell('matterName')]).toEqual([
      MATTER,
      '投资项目在线审批监管（施工许可、图审和竣工验收信息回传）',
    ])
    expect([cell('resource'), cell('resourceName')]).toEqual([PERMITS, '建筑工程施工许可信息'])
    expect([cell('provider'), cell('providerName')]).toEqual(['housing', '南京市住房和城乡建设局'])
    expect([cell('localTime'), cell('time')]).toEqual(['2026-11-26 10:00:00.000', '2026-11-26T02:00:00.000Z'])

    // headers=en: the English header names for scripts, the same columns and rows.
    const english = await download(`/v1/audit/records/export?format=csv&headers=en&${query}`, auditor)
    expect(english.status).toBe(200)
    const englishRows = parseCsv(english.bytes.toString('utf8').slice(1))
    expect(englishRows[0]).toEqual([...CSV_COLUMNS])
    expect(englishRows.slice(1)).toEqual(cells)
    expectProblem(await h.get('/v1/audit/records/export?format=csv&headers=fr', auditor), 400, 'query-invalid')
    expectProblem(await h.get('/v1/audit/records/export?headers=en', auditor), 400, 'query-invalid')

    // Unfiltered exports include admin records too and a bad format is refused before anything is streamed.
    const everything = await download('/v1/audit/records/export', auditor)
    expect(everything.bytes.toString('utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(all.length)
    expectProblem(await h.get('/v1/audit/records/export?format=pdf', auditor), 400, 'query-invalid')
  })
})

describe('subject query', () => {
  it('finds every call about one company by its USCC, which appears nowhere in the stored log', async () => {
    // A company that owns permits but has nothing to do with the project queried above.
    const queried = h.sim.data.permits.filter((p) => p.XMDM === projectCode)
    const taken = new Set(queried.flatMap((p) => [p.JSDWDM, p.SGDWDM]))
    const uscc = h.sim.data.permits.find((p) => !taken.has(p.JSDWDM) && p.SJYXBS === '1')?.JSDWDM as string
    expect(uscc).toMatch(/^[0-9A-Z]{18}$/)

    const drc = exchangeToken
    const drcMarket = await h.token({ dept: 'drc', scope: 'BA00015001:market.enterprise-registration:read' })
    const natres = await h.token(natresExchange)
    const ids: string[] = []
    const permits = await h.query(PERMITS, { ownerUscc: uscc }, { token: drc, matter: MATTER, caseId: 'SUBJ-1' })
    expect(permits.status, permits.text).toBe(200)
    ids.push(permits.headers['qiao-audit-id'] as string)
    const projects = await h.query(
      'drc.company-projects',
      { companyUscc: uscc },
      { token: natres, matter: 'XK00102001', caseId: 'SUBJ-2' },
    )
    expect(projects.status, projects.text).toBeGreaterThanOrEqual(500) // 发改 is not running, still audited
    ids.push(projects.headers['qiao-audit-id'] as string)
    const market = await h.query(
      'market.enterprise-registration',
      { uscc },
      { token: drcMarket, matter: 'BA00015001', caseId: 'SUBJ-3' },
    )
    ids.push(market.headers['qiao-audit-id'] as string)
    expect(ids.every(Boolean)).toBe(true)

    const found = await records(`?subject=${uscc}&limit=1000`)
    expect(found.records.map((e) => e.record.id).sort()).toEqual([...ids].sort())
    expect((await records(`?subject=${uscc.toLowerCase()}&dept=natres`)).records.map((e) => e.record.id)).toEqual([
      ids[1],
    ])
    // A valid USCC that no call named finds nothing.
    const nobody = `91320100MA1Q0Q0Q0${usccCheckChar('91320100MA1Q0Q0Q0')}`
    expect(h.sim.data.permits.some((p) => p.JSDWDM === nobody || p.SGDWDM === nobody)).toBe(false)
    expect((await records(`?subject=${nobody}`)).records).toEqual([])

    // The identifier is in no stored file of the audit log, and not in the operational log line of the query.
    for (const name of await readdir(h.auditDir)) {
      const text = await readFile(join(h.auditDir, name), 'utf8')
      expect(text.toUpperCase(), name).not.toContain(uscc)
    }
    const lines = h.logLines.filter((l) => l.includes('"audit api"'))
    expect(lines.some((l) => l.includes('"subject"'))).toBe(true)
    for (const l of lines) expect(l.toUpperCase()).not.toContain(uscc)
  })
})
