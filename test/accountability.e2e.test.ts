import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSample as marketSample } from '../connectors/market-qzk/simulator/index.js'
import { COLUMNS as MARKET_COLUMNS } from '../connectors/market-qzk/sql.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { CSV_COLUMNS_ZH, UTF8_BOM } from '../gateway/audit/export.js'
import type { AdminAuditRecord } from '../gateway/audit/record.js'
import { subjectDigest } from '../gateway/audit/subjects.js'
import { createAjv, MAX_VIOLATIONS } from '../gateway/validation/ajv.js'
import { parseCsv } from './support/csv.js'
import { openSegmentFile, setImmutable } from './support/fs-faults.js'
import { type Harness, type HttpResult, REPO, startHarness } from './support/gateway.js'
import { rawRequest } from './support/raw-http.js'

/**
 * Issue 11, part 2: every call accounted for. Routing errors are audited problems; auditors' reads and refused
 * reloads are audited; upstream failures reach consumers without connector internals; validation answers are
 * bounded; case ids may be Chinese. A real gateway, JWKS and simulators on loopback, frozen clock.
 */
const PERMITS = 'housing.construction-permit'
const MATTER = 'QT00301001'
const PERMITS_REQUEST_SCHEMA = 'schemas/resources/housing/construction-permit.request.json'

let h: Harness
let exchangeToken: string
let auditor: string
let projectCode: string

beforeAll(async () => {
  h = await startHarness()
  exchangeToken = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
  auditor = await h.token({ dept: 'drc', sub: 'auditor-01', scope: 'audit:read' })
  projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
})
afterAll(async () => {
  await h?.close()
})

function expectProblem(res: HttpResult, status: number, code: string): void {
  expect(res.status, res.text).toBe(status)
  expect(res.json).toMatchObject({ status, code })
}

async function adminRecords(): Promise<AdminAuditRecord[]> {
  const out: AdminAuditRecord[] = []
  for await (const e of h.gateway.deps.audit.query({ kind: 'admin' })) out.push(e.record as AdminAuditRecord)
  return out
}

async function exchangeRecord(id: string) {
  return (await h.auditRecords()).find((r) => r.id === id)
}

const errorLines = (from: number) => h.logLines.slice(from).filter((l) => /"level":(50|60)/.test(l))

describe('routing errors are audited problems, never an unaudited 500', () => {
  it('bad percent-encoding in the resource id: 400 path-malformed with an audit id, no token needed', async () => {
    for (const id of ['abc%', '%FF%FE', '%ZZ']) {
      const logFrom = h.logLines.length
      const res = await rawRequest(
        h.gateway.port,
        `POST /v1/resources/${id}/query HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json`,
        '{}',
      )
      expect(res.status, id).toBe(400)
      expect(JSON.parse(res.body)).toMatchObject({ code: 'path-malformed', status: 400 })
      const auditId = res.headers['qiao-audit-id'] as string
      expect(auditId, id).toBeTruthy()
      expect(await exchangeRecord(auditId)).toMatchObject({
        reason: 'path-malformed',
        status: 400,
        decision: 'deny',
      })
      expect(errorLines(logFrom), id).toEqual([])
    }
  })

  it('unknown action, trailing junk, empty id and wrong method are audited 404/405s', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['POST', `/v1/resources/${PERMITS}/frobnicate`, 404, 'route-not-found'],
      ['POST', `/v1/resources/${PERMITS}/query/junk`, 404, 'route-not-found'],
      ['POST', '/v1/resources/', 404, 'route-not-found'],
      ['POST', '/v1/resources//query', 404, 'resource-not-found'],
      ['GET', `/v1/resources/${PERMITS}/query`, 405, 'method-not-allowed'],
      ['DELETE', `/v1/resources/${PERMITS}/records`, 405, 'method-not-allowed'],
    ]
    for (const [method, path, status, code] of cases) {
      const res = await rawRequest(
        h.gateway.port,
        `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${exchangeToken}\r\nqiao-matter: ${MATTER}\r\nqiao-case: R-1\r\ncontent-type: application/json`,
        '{}',
      )
      expect(res.status, `${method} ${path}`).toBe(status)
      expect(JSON.parse(res.body).code, `${method} ${path}`).toBe(code)
      const auditId = res.headers['qiao-audit-id'] as string
      expect(auditId, `${method} ${path}`).toBeTruthy()
      expect(await exchangeRecord(auditId)).toMatchObject({ reason: code, status })
    }
  })
})

describe('Qiao-Case with Chinese characters', () => {
  const chineseCase = '宁建审〔2026〕12号'
  const call = (caseHeader: string) =>
    h.query(PERMITS, { projectCode }, { token: exchangeToken, matter: MATTER, caseId: caseHeader })

  it("percent-encoded as UTF-8 (RFC 8187 UTF-8'' form or plain) is decoded, answered and audited as text", async () => {
    for (const header of [`UTF-8''${encodeURIComponent(chineseCase)}`, encodeURIComponent(chineseCase)]) {
      const res = await call(header)
      expect(res.status, res.text).toBe(200)
      expect((res.json.meta as { case: string }).case).toBe(chineseCase)
      expect(await exchangeRecord(res.headers['qiao-audit-id'] as string)).toMatchObject({ case: chineseCase })
    }
  })

  it('raw non-ASCII bytes get a problem that says how to send them; bad encodings and bad characters are refused', async () => {
    const raw = await rawRequest(
      h.gateway.port,
      Buffer.concat([
        Buffer.from(
          `POST /v1/resources/${PERMITS}/query HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${exchangeToken}\r\nqiao-matter: ${MATTER}\r\ncontent-type: application/json\r\nqiao-case: `,
        ),
        Buffer.from(chineseCase, 'utf8'),
      ]).toString('latin1'),
      JSON.stringify({ projectCode }),
    )
    expect(raw.status).toBe(400)
    const problem = JSON.parse(raw.body) as { code: string; detail: string }
    expect(problem.code).toBe('purpose-malformed')
    expect(problem.detail).toContain("Qiao-Case: UTF-8''%E5")
    expect(problem.detail).toContain('percent-encoded as UTF-8')
    expect(raw.headers['qiao-audit-id']).toBeTruthy()
    for (const header of ['%FF%FE', `UTF-8''${encodeURIComponent('宁建 审')}`, encodeURIComponent('a\u202eb')]) {
      expectProblem(await call(header), 400, 'purpose-malformed')
    }
  })
})

describe('validation errors are bounded and say what the resource takes', () => {
  it('a 1 MiB body of unknown keys: at most 20 errors, truncated, the total, and the allowed parameters', async () => {
    const body: Record<string, number> = {}
    let size = 2
    let keys = 0
    while (size < 1024 * 1024 - 16) {
      const key = `k${keys++}`
      body[key] = 0
      size += key.length + 5
    }
    const text = JSON.stringify(body)
    expect(text.length).toBeLessThanOrEqual(1024 * 1024)
    expect(text.length).toBeGreaterThan(1000 * 1024)
    const res = await h.query(PERMITS, text, { token: exchangeToken, matter: MATTER, caseId: 'V-1' })
    expectProblem(res, 400, 'params-invalid')
    const errors = res.json.errors as Array<{ pointer: string; message: string }>
    expect(errors).toHaveLength(MAX_VIOLATIONS)
    expect(MAX_VIOLATIONS).toBe(20)
    expect(errors).toContainEqual({ pointer: '/k0', message: 'is not allowed' })
    expect(res.json.truncated).toBe(true)
    // The exact total: what ajv finds when it is made to describe every violation of the whole body.
    const validate = createAjv().compile(JSON.parse(await readFile(join(REPO, PERMITS_REQUEST_SCHEMA), 'utf8')))
    expect(validate(body)).toBe(false)
    expect(res.json.total).toBe(validate.errors?.length)
    expect(res.json.total).toBeGreaterThanOrEqual(keys)
    expect(res.json.allowed).toEqual(['projectCode', 'permitNo', 'ownerUscc'])
    expect(res.json.detail).toContain('allowed parameters: projectCode, permitNo, ownerUscc')
    expect(res.text.length).toBeLessThan(8 * 1024)
    expect(await exchangeRecord(res.headers['qiao-audit-id'] as string)).toMatchObject({ reason: 'params-invalid' })
  })

  it('one unknown parameter: every violation listed, not truncated, the allowed parameters named', async () => {
    const res = await h.query(
      'drc.investment-project',
      { projectcode: projectCode },
      {
        token: await h.token({ dept: 'housing', scope: 'XK00105001:drc.investment-project:read' }),
        matter: 'XK00105001',
        caseId: 'V-2',
      },
    )
    expectProblem(res, 400, 'params-invalid')
    expect((res.json.errors as Array<{ pointer: string }>).map((e) => e.pointer).sort()).toEqual([
      '/projectCode',
      '/projectcode',
    ])
    expect(res.json.truncated).toBeUndefined()
    expect(res.json.allowed).toEqual(['projectCode'])
  })
})

describe('auditors’ reads are audited in the same log', () => {
  let uscc: string
  const readRecords = async () => (await adminRecords()).filter((r) => r.action === 'audit.read')

  beforeAll(async () => {
    uscc = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.JSDWDM as string
    const res = await h.query(PERMITS, { ownerUscc: uscc }, { token: exchangeToken, matter: MATTER, caseId: 'S-1' })
    expect(res.status, res.text).toBe(200)
  })

  it('a subject search names the auditor, the filter with the subject as its digest only, and the count', async () => {
    const res = await h.get(`/v1/audit/records?subject=${uscc}&dept=drc&limit=1000`, auditor)
    expect(res.status, res.text).toBe(200)
    const found = (res.json.records as LogEntry[]).length
    expect(found).toBeGreaterThan(0)
    const record = (await readRecords()).at(-1) as AdminAuditRecord
    const digest = subjectDigest(h.gateway.deps.digest, uscc)
    expect(record).toMatchObject({
      kind: 'admin',
      action: 'audit.read',
      actor: 'drc/auditor-01',
      outcome: 'ok',
      requestId: res.headers['x-request-id'],
      details: { route: '/v1/audit/records', status: 200, records: found },
    })
    expect(JSON.parse(record.details.filter as string)).toEqual({ dept: 'drc', subject: digest })
    expect(JSON.stringify(record).toUpperCase()).not.toContain(uscc)

    // Nowhere in the stored log, nor in the operational log line of the query.
    for (const name of await readdir(h.auditDir)) {
      const text = await readFile(join(h.auditDir, name), 'utf8')
      expect(text.toUpperCase(), name).not.toContain(uscc)
    }
    expect(h.logLines.filter((l) => l.includes('"audit api"')).length).toBeGreaterThan(0)
    for (const l of h.logLines.filter((l) => l.includes('"audit api"'))) expect(l.toUpperCase()).not.toContain(uscc)
  })

  it('an export is audited when it ends, with its format, filter digest and how many records left', async () => {
    const res = await request(`${h.gateway.url}/v1/audit/records/export?format=csv&subject=${uscc}`, {
      headers: { authorization: `Bearer ${auditor}` },
    })
    expect(res.statusCode).toBe(200)
    // Bytes, not text(): a decoder would drop the BOM that this checks.
    const text = Buffer.from(await res.body.arrayBuffer()).toString('utf8')
    expect(text.startsWith(UTF8_BOM)).toBe(true)
    const rows = parseCsv(text.slice(1))
    expect(rows[0]).toEqual([...CSV_COLUMNS_ZH])
    expect(rows.length).toBeGreaterThan(1)
    const requestId = res.headers['x-request-id'] as string
    let record: AdminAuditRecord | undefined
    for (let i = 0; i < 100 && record === undefined; i++) {
      record = (await readRecords()).find((r) => r.requestId === requestId)
      if (record === undefined) await new Promise((r) => setTimeout(r, 20))
    }
    expect(record).toMatchObject({
      actor: 'drc/auditor-01',
      outcome: 'ok',
      details: { route: '/v1/audit/records/export', format: 'csv', records: rows.length - 1 },
    })
    expect(JSON.parse(record?.details.filter as string)).toEqual({
      subject: subjectDigest(h.gateway.deps.digest, uscc),
    })
    expect(JSON.stringify(record).toUpperCase()).not.toContain(uscc)
  })

  it('a receipt check names the record asked for', async () => {
    const call = await h.query(PERMITS, { projectCode }, { token: exchangeToken, matter: MATTER, caseId: 'P-1' })
    const id = call.headers['qiao-audit-id'] as string
    const proof = await h.get(`/v1/audit/records/${id}/proof`, auditor)
    expect(proof.status, proof.text).toBe(200)
    expect((await readRecords()).at(-1)).toMatchObject({
      actor: 'drc/auditor-01',
      outcome: 'ok',
      details: { route: '/v1/audit/records/:id/proof', recordId: id, records: 1 },
    })
  })

  it('refused reads are audited too: who tried, and why not', async () => {
    expectProblem(await h.get('/v1/audit/records?dept=drc', exchangeToken), 403, 'insufficient-scope')
    expect((await readRecords()).at(-1)).toMatchObject({
      actor: 'drc/officer-001',
      outcome: 'rejected',
      details: { status: 403, reason: 'insufficient-scope' },
    })
    expectProblem(await h.get('/v1/audit/records'), 401, 'token-missing')
    expect((await readRecords()).at(-1)).toMatchObject({
      actor: 'anonymous',
      outcome: 'rejected',
      details: { status: 401, reason: 'token-missing' },
    })
  })

  it('paging one record at a time ends: a page run stops at its first page’s own record', async () => {
    const existing = (await h.get('/v1/audit/records?limit=1000', auditor)).json.records as LogEntry[]
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: HttpResult = await h.get(`/v1/audit/records?limit=1${cursor ? `&cursor=${cursor}` : ''}`, auditor)
      expect(page.status, page.text).toBe(200)
      seen.push(...(page.json.records as LogEntry[]).map((e) => e.record.id))
      cursor = page.json.nextCursor as string | null
      pages++
    } while (cursor !== null && pages < 10_000)
    expect(cursor).toBeNull()
    // Everything there before the run (the listing above, and that listing's own audit record), in order, once.
    expect(seen.slice(0, existing.length)).toEqual(existing.map((e) => e.record.id))
    expect(seen).toHaveLength(existing.length + 1)
    const listing = (await readRecords()).find((r) => r.id === seen.at(-1))
    expect(listing).toMatchObject({ action: 'audit.read', details: { records: existing.length } })
  })
})

describe('a refused catalog reload is audited', () => {
  it('wrong scope and no token: catalog.reload rejected, with the reason and who tried', async () => {
    /** A reload the gateway must refuse with `status`; then the last admin record (the refusal's). */
    const refusedReload = async (headers: Record<string, string>, status: number) => {
      const res = await request(`${h.gateway.url}/v1/admin/catalog/reload`, { method: 'POST', headers })
      expect(res.statusCode).toBe(status)
      await res.body.dump()
      return (await adminRecords()).at(-1)
    }
    expect(await refusedReload({ authorization: `Bearer ${auditor}` }, 403)).toMatchObject({
      action: 'catalog.reload',
      actor: 'drc/auditor-01',
      outcome: 'rejected',
      details: { reason: 'insufficient-scope', problems: null },
    })
    expect(await refusedReload({}, 401)).toMatchObject({
      action: 'catalog.reload',
      actor: 'anonymous',
      outcome: 'rejected',
      details: { reason: 'token-missing' },
    })
  })
})

describe('a reload that cannot be audited', () => {
  it('a rejected file whose record cannot be written answers 503 audit-unavailable, not 500', async () => {
    const g = await startHarness({ catalog: (text) => text })
    try {
      const admin = await g.token({ dept: 'drc', sub: 'ops-1', scope: 'catalog:admin' })
      const original = await readFile(g.config.catalog, 'utf8')
      await writeFile(g.config.catalog, original.replace('    provider: housing\n', '    provider: housnig\n'))
      const segment = await openSegmentFile(g.auditDir)
      setImmutable(segment, true)
      try {
        const res = await request(`${g.gateway.url}/v1/admin/catalog/reload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}` },
        })
        const body = (await res.body.json()) as { code: string }
        expect(res.statusCode).toBe(503)
        expect(body.code).toBe('audit-unavailable')
        // The refusal before the reload runs is held to the same rule.
        const noToken = await request(`${g.gateway.url}/v1/admin/catalog/reload`, { method: 'POST' })
        expect(noToken.statusCode).toBe(503)
        await noToken.body.dump()
      } finally {
        setImmutable(segment, false)
        await writeFile(g.config.catalog, original)
      }
    } finally {
      await g.close()
    }
  })
})

describe('upstream failures reach consumers without connector internals', () => {
  let broken: Harness
  beforeAll(async () => {
    // Each provider reached with credentials it refuses: the most revealing failure of each connector type.
    broken = await startHarness({
      vars: {
        QIAO_HOUSING_APP_SECRET: 'not-the-secret',
        QIAO_DRC_VALIDATE_DATA: 'not-the-token',
        QIAO_MARKET_DB_URL: 'postgres://qiao_no_such_role:wrong-password@127.0.0.1:5432/test',
      },
    })
  })
  afterAll(async () => {
    await broken?.close()
  })

  const logLineOf = (res: HttpResult) =>
    broken.logLines.find((l) => l.includes(res.json.requestId as string) && l.includes('"exchange upstream problem"'))

  it('前置库 (PostgreSQL) refusing the credentials: no SQLSTATE, password or column names; the log has them', async () => {
    const res = await broken.query(
      'market.enterprise-registration',
      { uscc: marketSample().correctedUscc },
      {
        token: await broken.token({ dept: 'drc', scope: 'BA00015001:market.enterprise-registration:read' }),
        matter: 'BA00015001',
        caseId: 'M-1',
      },
    )
    expectProblem(res, 502, 'upstream-rejected')
    expect(res.json.upstreamCode).toBe('28000')
    for (const leak of ['SQLSTATE', 'password', 'credential', 'qiao_no_such_role', 'QZK_', 'postgres']) {
      expect(res.text.toLowerCase()).not.toContain(leak.toLowerCase())
    }
    for (const column of Object.values(MARKET_COLUMNS)) expect(res.text).not.toMatch(new RegExp(`\\b${column}\\b`))
    expect(res.headers['qiao-audit-id']).toBeTruthy()
    const line = logLineOf(res)
    expect(line).toContain('SQLSTATE 28000')
    expect(line).toContain('credentials')
    expect(line).not.toContain('wrong-password')
  })

  it('the health probes of the same failing providers: a status in /readyz and /v1/catalog, their detail only in the log', async () => {
    await broken.gateway.deps.health.check()
    const token = await broken.token({ dept: 'drc', scope: 'BA00015001:market.enterprise-registration:read' })
    for (const res of [await broken.get('/readyz'), await broken.get('/v1/catalog', token)]) {
      for (const leak of ['SQLSTATE', 'password', 'credential', 'probe failed', 'ping']) {
        expect(res.text.toLowerCase()).not.toContain(leak.toLowerCase())
      }
    }
    const ready = await broken.get('/readyz')
    expect((ready.json.connectors as Record<string, { status: string }>)['market-qzk']?.status).toBe('down')
    expect(broken.logLines.some((l) => l.includes('SQLSTATE') && l.includes('market-qzk'))).toBe(true)
  })

  it('住建 HTTP/JSON refusing the signature: the code and a generic detail; the provider’s message in the log', async () => {
    const res = await broken.query(
      PERMITS,
      { projectCode },
      { token: await broken.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` }), matter: MATTER, caseId: 'H-1' },
    )
    expectProblem(res, 502, 'upstream-rejected')
    expect(res.json.upstreamCode).toBe('99')
    expect(res.json.detail).toBe('the provider system refused the call; upstreamCode has its code when it sent one')
    expect(res.text).not.toContain('签名')
    expect(res.text).not.toContain('envelope')
    expect(logLineOf(res)).toContain('签名验证失败')
  })

  it('发改 SOAP/GBK refusing ValidateData: the fault code only; the fault string in the log', async () => {
    const res = await broken.query(
      'drc.investment-project',
      { projectCode },
      {
        token: await broken.token({ dept: 'housing', scope: 'XK00105001:drc.investment-project:read' }),
        matter: 'XK00105001',
        caseId: 'D-1',
      },
    )
    expectProblem(res, 502, 'upstream-rejected')
    expect(res.json.upstreamCode).toBe('E1002')
    for (const leak of ['ValidateData', 'SOAP', '无效', '管理员', 'not-the-token']) expect(res.text).not.toContain(leak)
    expect(logLineOf(res)).toContain('SOAP fault E1002')
    expect(logLineOf(res)).toContain('ValidateData 无效')
  })
})
