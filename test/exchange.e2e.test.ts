import { createServer } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { grantKey } from '../gateway/catalog/types.js'
import { openSegmentFile, setImmutable } from './support/fs-faults.js'
import { type Harness, type HttpResult, NOW, startHarness } from './support/gateway.js'
import {
  hs256WithPublicKeyAsSecret,
  TEST_AUDIENCE,
  TEST_ISSUER,
  tamperPayload,
  unsecuredToken,
} from './support/keys.js'

/**
 * Issue #2 acceptance, end to end on loopback: a JWKS endpoint, the 住建 simulator and the gateway are real HTTP
 * servers; the gateway's clock is frozen at NOW. Every case checks that exactly one audit record was written, with
 * the right decision and reason.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const CASE = 'NJ-2026-000123'
const SCOPE = `${MATTER}:${PERMITS}:read`
const drcClaims = { dept: 'drc', scope: SCOPE, client_id: 'tzxm-platform' }

let h: Harness
let projectCode: string
let auditCount = 0

beforeAll(async () => {
  // A short refetch cooldown so the test can wait it out.
  h = await startHarness({ env: { QIAO_JWKS_COOLDOWN: '300ms' } })
  projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
})
afterAll(async () => {
  await h?.close()
})
beforeEach(async () => {
  auditCount = (await h.auditRecords()).length
})

/** The single audit record the last call wrote. */
async function theAuditRecord(): Promise<ExchangeAuditRecord> {
  const records = await h.auditRecords()
  expect(records.length - auditCount).toBe(1)
  return records.at(-1) as ExchangeAuditRecord
}

function expectProblem(res: HttpResult, status: number, code: string): void {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toBe('application/problem+json')
  expect(res.json).toMatchObject({ status, code, type: `/problems/${code}` })
  expect(typeof res.json.title).toBe('string')
  expect(typeof res.json.detail).toBe('string')
  expect(res.json.instance).toMatch(/^urn:qiao:request:/)
  expect(res.json).not.toHaveProperty('data')
}

describe('a department reads another department’s data for one matter', () => {
  it('gets exactly the grant’s fields, personal data masked, with a receipt', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    expect(res.status).toBe(200)

    const catalog = h.gateway.deps.snapshot().catalog
    const grant = catalog.grants.get(grantKey(MATTER, PERMITS, 'read', 'drc'))
    const expectedKeys = new Set([...(grant?.fields ?? []), ...(grant?.masked ?? [])])
    const data = res.json.data as Record<string, unknown>[]
    const seedRows = h.sim.data.permits.filter((p) => p.XMDM === projectCode && p.SJYXBS === '1')
    expect(data.length).toBe(seedRows.length)
    for (const record of data) {
      for (const key of Object.keys(record)) expect(expectedKeys.has(key)).toBe(true)
      expect(record).not.toHaveProperty('ownerLeadIdNo', expect.stringMatching(/^\d{17}[\dX]$/))
      expect(record.ownerLeadIdNo).toMatch(/^\d{6}\*{8}\d{3}[\dX]$/)
      expect(record.ownerLeadPhone).toMatch(/^1\d{2}\*{4}\d{4}$/)
      expect(record.ownerLeadName).toMatch(/^\p{Script=Han}\*+$/u)
      expect(record).not.toHaveProperty('planningPermitNo') // not granted to 发改 for this matter
      const seed = seedRows.find((r) => r.SGXKZBH === record.permitNo)
      expect(seed).toBeDefined()
      expect(record.projectName).toBe(seed?.GCMC)
      expect(record.ownerUscc).toBe(seed?.JSDWDM)
      expect(record.issueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      // The full values never leave the gateway.
      expect(res.text).not.toContain(seed?.JSFZRZJHM)
      expect(res.text).not.toContain(seed?.JSFZRLXDH)
    }
    expect(res.json.meta).toMatchObject({
      resource: PERMITS,
      provider: 'housing',
      matter: MATTER,
      case: CASE,
      masked: ['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone'],
      count: data.length,
      retrievedAt: new Date(NOW).toISOString(),
    })
    const meta = res.json.meta as { auditId: string; fields: string[] }
    expect(new Set(meta.fields)).toEqual(expectedKeys)
    expect(res.headers['qiao-audit-id']).toBe(meta.auditId)

    const record = await theAuditRecord()
    expect(record).toMatchObject({
      id: meta.auditId,
      decision: 'allow',
      reason: 'ok',
      status: 200,
      matter: MATTER,
      case: CASE,
      resource: PERMITS,
      provider: 'housing',
      action: 'read',
      requester: { dept: 'drc', sub: 'officer-001', clientId: 'tzxm-platform' },
      approvalRef: '宁住建共享〔2026〕3号',
      recordCount: data.length,
      catalogVersion: '2026.11-demo.2',
    })
    expect(record.fields).toEqual(meta.fields)
    expect(record.paramsDigest).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(record)).not.toContain(projectCode)
  })

  it('another matter’s grant gives other fields and masks (城管, 建筑垃圾处置核准)', async () => {
    const token = await h.token({ dept: 'urban', scope: `XK00208001:${PERMITS}:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: 'XK00208001', caseId: 'CG-2026-77' })
    expect(res.status).toBe(200)
    const record = (res.json.data as Record<string, unknown>[])[0] as Record<string, unknown>
    expect(record).not.toHaveProperty('ownerLeadIdNo')
    expect(record).not.toHaveProperty('contractPriceWanYuan')
    expect(record.ownerLeadPhone).toMatch(/^1\d{2}\*{4}\d{4}$/)
    expect((await theAuditRecord()).decision).toBe('allow')
  })

  it('an unconditional resource needs no approval but still a grant', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:housing.drawing-review:read` })
    const res = await h.query('housing.drawing-review', { projectCode }, { token, matter: MATTER, caseId: CASE })
    expect(res.status).toBe(200)
    expect((res.json.data as unknown[]).length).toBeGreaterThan(0)
    expect(await theAuditRecord()).toMatchObject({ decision: 'allow', reason: 'ok' })
  })
})

describe('purpose, scope and grant', () => {
  it('missing purpose headers: 400', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER })
    expectProblem(res, 400, 'purpose-missing')
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'purpose-missing', status: 400 })
  })

  it('malformed case id: 400', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: 'NJ 2026/1' })
    expectProblem(res, 400, 'purpose-malformed')
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'purpose-malformed' })
  })

  it('a matter that covers the call, missing from the token’s scope: 403 insufficient_scope', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:housing.drawing-review:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 403, 'insufficient-scope')
    expect(res.json.requiredScope).toBe(SCOPE)
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="qiao", error="insufficient_scope", scope="${SCOPE}"`)
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'insufficient-scope', matter: MATTER })
  })

  it('another matter than the one that covers the call: 403 grant-missing, whatever the token’s scope', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { projectCode }, { token, matter: 'XK00208001', caseId: CASE })
    expectProblem(res, 403, 'grant-missing')
    expect(res.json).not.toHaveProperty('requiredScope')
    expect(res.json.matters).toEqual([{ code: MATTER, name: expect.any(String) }])
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'grant-missing', matter: 'XK00208001' })
  })

  it('a department without a grant: 403 even with the scope in its token', async () => {
    const token = await h.token({ dept: 'market', scope: SCOPE })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 403, 'grant-missing')
    expect(await theAuditRecord()).toMatchObject({
      decision: 'deny',
      reason: 'grant-missing',
      requester: { dept: 'market' },
    })
  })

  it('a grant whose approval has expired: 403', async () => {
    const token = await h.token({ dept: 'water', scope: `XK00377001:${PERMITS}:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: 'XK00377001', caseId: 'SW-2026-5' })
    expectProblem(res, 403, 'grant-expired')
    expect(res.json.detail).toContain('2025-06-30')
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'grant-expired' })
  })

  it('a 不予共享 resource: 403 whatever the token says', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:housing.security-applicant:read` })
    const res = await h.query(
      'housing.security-applicant',
      { applicationNo: 'x' },
      { token, matter: MATTER, caseId: CASE },
    )
    expectProblem(res, 403, 'resource-not-shared')
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'resource-not-shared' })
  })

  it('an unknown resource: 404', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query('housing.nothing', {}, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 404, 'resource-not-found')
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'resource-not-found' })
  })

  it('an unknown matter: 403', async () => {
    const token = await h.token({ dept: 'drc', scope: `QT99999999:${PERMITS}:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: 'QT99999999', caseId: CASE })
    expectProblem(res, 403, 'matter-unknown')
    await theAuditRecord()
  })

  it('a department the catalog does not know: 403', async () => {
    const token = await h.token({ dept: 'finance', scope: SCOPE })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 403, 'department-unknown')
    await theAuditRecord()
  })
})

describe('tokens', () => {
  const nowSec = Math.floor(NOW / 1000)

  async function expect401(token: string | undefined, code: string): Promise<void> {
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 401, code)
    expect(res.headers['www-authenticate']).toBe(
      code === 'token-missing' ? 'Bearer realm="qiao"' : 'Bearer realm="qiao", error="invalid_token"',
    )
    if (token !== undefined) expect(res.text).not.toContain(token)
    const record = await theAuditRecord()
    expect(record).toMatchObject({ decision: 'deny', reason: code, status: 401, fields: [], recordCount: 0 })
    expect(record.requester).toEqual({})
  }

  it('no token: 401', async () => expect401(undefined, 'token-missing'))
  it('expired token: 401', async () => expect401(await h.token({ ...drcClaims, exp: nowSec - 60 }), 'token-expired'))
  it('wrong issuer: 401', async () =>
    expect401(await h.token({ ...drcClaims, iss: 'https://idp.evil.example' }), 'token-claims-invalid'))
  it('wrong audience: 401', async () =>
    expect401(await h.token({ ...drcClaims, aud: 'urn:qiao:elsewhere' }), 'token-claims-invalid'))
  it('alg none: 401', async () =>
    expect401(
      unsecuredToken({ ...drcClaims, iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'x', exp: nowSec + 600 }),
      'token-invalid',
    ))
  it('HS256 signed with the public key as secret: 401', async () =>
    expect401(
      await hs256WithPublicKeyAsSecret(h.rsa, {
        ...drcClaims,
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        sub: 'x',
        exp: nowSec + 600,
      }),
      'token-invalid',
    ))
  it('tampered payload: 401', async () =>
    expect401(
      tamperPayload(await h.token(drcClaims), (c) => {
        c.scope = `${SCOPE} XK00208001:${PERMITS}:read`
      }),
      'token-invalid',
    ))
  it('RS256 tokens from the same issuer work too', async () => {
    const res = await h.query(
      PERMITS,
      { projectCode },
      {
        token: await h.token(drcClaims, { key: h.rsa }),
        matter: MATTER,
        caseId: CASE,
      },
    )
    expect(res.status).toBe(200)
    await theAuditRecord()
  })
  it('unknown kid: 401 after exactly one refetch of the key set, then none within the cooldown', async () => {
    await new Promise((r) => setTimeout(r, 350)) // past the cooldown of the last fetch
    const before = h.jwks.fetches
    await expect401(await h.token(drcClaims, { kid: 'rotated-away' }), 'token-key-unknown')
    expect(h.jwks.fetches).toBe(before + 1)
    auditCount++
    await expect401(await h.token(drcClaims, { kid: 'also-unknown' }), 'token-key-unknown')
    expect(h.jwks.fetches).toBe(before + 1)
  })
  it('a key added by the issuer (rotation) is picked up by that one refetch', async () => {
    const { createTestKey } = await import('./support/keys.js')
    const next = await createTestKey('ES256', 'es-2027')
    h.jwks.setKeys([h.ed.publicJwk, h.rsa.publicJwk, next.publicJwk])
    await new Promise((r) => setTimeout(r, 350))
    const before = h.jwks.fetches
    const res = await h.query(
      PERMITS,
      { projectCode },
      {
        token: await h.token(drcClaims, { key: next }),
        matter: MATTER,
        caseId: CASE,
      },
    )
    expect(res.status).toBe(200)
    expect(h.jwks.fetches).toBe(before + 1)
    await theAuditRecord()
  })
})

describe('parameters', () => {
  it('a USCC with a bad check character: 400 naming the field', async () => {
    const owner = h.sim.data.permits[0]?.JSDWDM as string
    const bad = owner.slice(0, 17) + (owner.endsWith('0') ? '1' : '0')
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { ownerUscc: bad }, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 400, 'params-invalid')
    expect(res.json.errors).toEqual([{ pointer: '/ownerUscc', message: 'must be a valid uscc' }])
    expect(res.text).not.toContain(bad)
    const record = await theAuditRecord()
    expect(record).toMatchObject({ decision: 'allow', reason: 'params-invalid', status: 400, recordCount: 0 })
    expect(record.paramsDigest).toBeUndefined()
    expect(h.sim.requests.some((r) => r.params.JSDWDM === bad)).toBe(false)
  })

  it('the right USCC finds that owner’s permits', async () => {
    const owner = h.sim.data.permits[0]?.JSDWDM as string
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { ownerUscc: owner }, { token, matter: MATTER, caseId: CASE })
    expect(res.status).toBe(200)
    for (const p of res.json.data as Array<{ ownerUscc: string }>) expect(p.ownerUscc).toBe(owner)
    await theAuditRecord()
  })

  it('every violation is listed by JSON pointer', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { projectCode: '2025-1', extra: 1 }, { token, matter: MATTER, caseId: CASE })
    expectProblem(res, 400, 'params-invalid')
    const pointers = (res.json.errors as Array<{ pointer: string }>).map((e) => e.pointer).sort()
    expect(pointers).toContain('/projectCode')
    expect(pointers).toContain('/extra')
    await theAuditRecord()
  })

  it('not JSON: 415; malformed JSON: 400; too large: 413', async () => {
    const token = await h.token(drcClaims)
    const purpose = { token, matter: MATTER, caseId: CASE }
    expectProblem(
      await h.query(PERMITS, 'projectCode=1', { ...purpose, headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported-media-type',
    )
    await theAuditRecord()
    auditCount++
    expectProblem(await h.query(PERMITS, '{"projectCode":', purpose), 400, 'body-malformed')
    await theAuditRecord()
    auditCount++
    const big = { projectCode, pad: 'x'.repeat(1024 * 1024) }
    expectProblem(await h.query(PERMITS, big, purpose), 413, 'body-too-large')
    await theAuditRecord()
  })

  it('unknown paths and wrong methods under /v1/resources/ are audited too', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, {}, { token, path: `/v1/resources/${PERMITS}/export` })
    expectProblem(res, 404, 'route-not-found')
    expect(await theAuditRecord()).toMatchObject({ decision: 'deny', reason: 'route-not-found' })
    auditCount++
    const get = await h.get(`/v1/resources/${PERMITS}/query`, token)
    expectProblem(get, 405, 'method-not-allowed')
    expect(get.headers.allow).toBe('POST')
    await theAuditRecord()
  })
})

describe('the provider’s bad answers', () => {
  it('schema-violating data: 502 upstream-invalid, and none of it reaches the caller', async () => {
    h.sim.setKnobs({ fault: 'schema-violation' })
    try {
      const token = await h.token(drcClaims)
      const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
      expectProblem(res, 502, 'upstream-invalid')
      const seed = h.sim.data.permits.find((p) => p.XMDM === projectCode)
      for (const value of [seed?.GCMC, seed?.JSDW, seed?.SGXKZBH, projectCode]) expect(res.text).not.toContain(value)
      expect(await theAuditRecord()).toMatchObject({
        decision: 'allow',
        reason: 'upstream-invalid',
        status: 502,
        recordCount: 0,
        fields: [],
      })
    } finally {
      h.sim.setKnobs({ fault: 'none' })
    }
  })

  it('a malformed answer: 502 upstream-bad-response', async () => {
    h.sim.setKnobs({ fault: 'malformed' })
    try {
      const res = await h.query(
        PERMITS,
        { projectCode },
        { token: await h.token(drcClaims), matter: MATTER, caseId: CASE },
      )
      expectProblem(res, 502, 'upstream-bad-response')
      expect(await theAuditRecord()).toMatchObject({ reason: 'upstream-bad-response' })
    } finally {
      h.sim.setKnobs({ fault: 'none' })
    }
  })

  it('a 503 from the provider: 503 upstream-unavailable', async () => {
    h.sim.setKnobs({ fault: 'http-503' })
    try {
      const res = await h.query(
        PERMITS,
        { projectCode },
        { token: await h.token(drcClaims), matter: MATTER, caseId: CASE },
      )
      expectProblem(res, 503, 'upstream-unavailable')
      expect(await theAuditRecord()).toMatchObject({ reason: 'upstream-unavailable', status: 503 })
    } finally {
      h.sim.setKnobs({ fault: 'none' })
    }
  })

  it('no record for the parameters: 404 record-not-found (the 查询无结果 envelope)', async () => {
    const res = await h.query(
      PERMITS,
      { projectCode: '2401-320102-01-01-000000' },
      {
        token: await h.token(drcClaims),
        matter: MATTER,
        caseId: CASE,
      },
    )
    expectProblem(res, 404, 'record-not-found')
    expect(await theAuditRecord()).toMatchObject({
      decision: 'allow',
      reason: 'record-not-found',
      recordCount: 0,
      upstreamCode: '01',
    })
  })
})

describe('upstream failures on their own gateways', () => {
  const claims = drcClaims
  let g: Harness | undefined
  afterAll(async () => {
    await g?.close()
  })

  it('simulator down: 503', async () => {
    // A port that was free a moment ago and has nothing listening on it now.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    g = await startHarness({ upstreamUrl: `http://127.0.0.1:${port}` })
    const before = (await g.auditRecords()).length
    const res = await g.query(PERMITS, { projectCode }, { token: await g.token(claims), matter: MATTER, caseId: CASE })
    expectProblem(res, 503, 'upstream-unavailable')
    const records = await g.auditRecords()
    expect(records.length - before).toBe(1)
    expect(records.at(-1)).toMatchObject({ decision: 'allow', reason: 'upstream-unavailable', status: 503 })
    await g.close()
    g = undefined
  })

  it('slower than the deadline: 504 at the deadline, without waiting for the upstream', async () => {
    g = await startHarness({ catalog: (text) => text.replace('timeoutMs: 5000', 'timeoutMs: 800') })
    g.sim.setKnobs({ latencyMs: 5_000 })
    const before = g.sim.requests.length
    const started = performance.now()
    const res = await g.query(PERMITS, { projectCode }, { token: await g.token(claims), matter: MATTER, caseId: CASE })
    const elapsed = performance.now() - started
    // Had the gateway waited the upstream's 5 s, the simulator would have answered and this would be a 200: the 504
    // shows the deadline cut the call, with no bound on how fast a shared machine is.
    expectProblem(res, 504, 'upstream-timeout')
    expect(elapsed).toBeGreaterThanOrEqual(800)
    expect(g.sim.requests.length - before).toBe(1)
    expect((await g.auditRecords()).at(-1)).toMatchObject({ reason: 'upstream-timeout', status: 504 })
    await g.close()
    g = undefined
  })

  it('bad signature at the simulator: a clear 502 upstream-rejected', async () => {
    g = await startHarness({ vars: { QIAO_HOUSING_APP_SECRET: 'not-the-secret' } })
    const res = await g.query(PERMITS, { projectCode }, { token: await g.token(claims), matter: MATTER, caseId: CASE })
    expectProblem(res, 502, 'upstream-rejected')
    expect(res.json.upstreamCode).toBe('99')
    // The provider's own message is for the operators: the consumer gets the code and a generic detail.
    expect(res.text).not.toContain('签名验证失败')
    expect(g.logLines.some((l) => l.includes('签名验证失败') && l.includes(res.json.requestId as string))).toBe(true)
    expect(res.text).not.toContain('not-the-secret')
    expect((await g.auditRecords()).at(-1)).toMatchObject({ reason: 'upstream-rejected', upstreamCode: '99' })
    await g.close()
    g = undefined
  })

  it('an audit store that cannot write: 503 and nothing served', async () => {
    g = await startHarness()
    const segment = await openSegmentFile(g.auditDir)
    const before = (await g.auditRecords()).length
    setImmutable(segment, true)
    try {
      const res = await g.query(
        PERMITS,
        { projectCode },
        { token: await g.token(claims), matter: MATTER, caseId: CASE },
      )
      expectProblem(res, 503, 'audit-unavailable')
      expect(res.headers['qiao-audit-id']).toBeUndefined()
      const seed = g.sim.data.permits.find((p) => p.XMDM === projectCode)
      expect(res.text).not.toContain(seed?.GCMC)
      // Denied calls are refused the same way: no audit, no answer beyond 503.
      const denied = await g.query(PERMITS, { projectCode }, { matter: MATTER, caseId: CASE })
      expectProblem(denied, 503, 'audit-unavailable')
    } finally {
      setImmutable(segment, false)
    }
    // Writable again: calls are served and audited again; the refused ones left no record.
    const ok = await g.query(PERMITS, { projectCode }, { token: await g.token(claims), matter: MATTER, caseId: CASE })
    expect(ok.status).toBe(200)
    expect((await g.auditRecords()).length - before).toBe(1)
    await g.close()
    g = undefined
  })
})

describe('catalog, health and logs', () => {
  it('GET /v1/catalog shows the catalog and what the caller’s department may use', async () => {
    const res = await h.get('/v1/catalog', await h.token(drcClaims))
    expect(res.status).toBe(200)
    const body = res.json as {
      departments: Array<{ code: string }>
      resources: Array<{ id: string; sharing: { type: string }; fields: Array<{ key: string; sensitivity: string }> }>
      matters: Array<{ code: string; grants: Array<{ state: string }> }>
      access: {
        dept: string
        grants: Array<{ matter: string; resource: string; state: string; tokenHasScope: boolean }>
      }
    }
    expect(body.departments.map((d) => d.code)).toContain('housing')
    const permits = body.resources.find((r) => r.id === PERMITS)
    expect(permits?.sharing.type).toBe('conditional')
    expect(permits?.fields.find((f) => f.key === 'ownerLeadIdNo')?.sensitivity).toBe('sensitive-personal')
    expect(body.resources.find((r) => r.id === 'housing.security-applicant')?.sharing.type).toBe('none')
    expect(body.matters.find((m) => m.code === 'XK00377001')?.grants[0]?.state).toBe('expired')
    expect(body.access.dept).toBe('drc')
    expect(body.access.grants).toContainEqual(
      expect.objectContaining({ matter: MATTER, resource: PERMITS, state: 'active', tokenHasScope: true }),
    )
    expect(body.access.grants).toContainEqual(
      expect.objectContaining({ resource: 'housing.drawing-review', tokenHasScope: false }),
    )
    // Connector internals (addresses, credentials) are never published.
    expect(res.text).not.toContain('demo-secret-change-me')
    expect(res.text).not.toContain(h.sim.url)
  })

  it('GET /v1/catalog needs a valid token', async () => {
    expectProblem(await h.get('/v1/catalog'), 401, 'token-missing')
  })

  it('GET /healthz needs no token; unknown routes are problems too', async () => {
    const health = await h.get('/healthz')
    expect(health.status).toBe(200)
    expect(health.json).toEqual({ status: 'ok' })
    expectProblem(await h.get('/nowhere'), 404, 'route-not-found')
    const doc = await h.get('/problems/grant-expired')
    expect(doc.json).toMatchObject({ code: 'grant-expired', status: 403 })
  })

  it('logs one line per exchange call and never a token, a parameter or personal data', async () => {
    const token = await h.token(drcClaims)
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    expect(res.status).toBe(200)
    const seed = h.sim.data.permits.find((p) => p.XMDM === projectCode)
    const log = h.logLines.join('')
    expect(log).toContain(res.headers['x-request-id'])
    for (const secret of [
      token,
      projectCode,
      seed?.JSFZRZJHM,
      seed?.JSFZRLXDH,
      seed?.JSDWXMFZR,
      'demo-secret-change-me',
    ]) {
      expect(log).not.toContain(secret)
    }
    const line = h.logLines
      .map((l) => JSON.parse(l))
      .find((l) => l.requestId === res.headers['x-request-id'] && l.msg === 'exchange')
    expect(line).toMatchObject({ resource: PERMITS, matter: MATTER, dept: 'drc', decision: 'allow', status: 200 })
  })
})
