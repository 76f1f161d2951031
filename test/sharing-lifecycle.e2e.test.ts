import pg from 'pg'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AdminAuditRecord, ExchangeAuditRecord } from '../gateway/audit/record.js'
import { type Harness, type HttpResult, LOCAL_PG, startHarness } from './support/gateway.js'
import { runQiao } from './support/gateway-process.js'
import type { TokenClaims } from './support/keys.js'

/**
 * Issue 13 acceptance on real gateways: two instances (each its own audit log and data directory) share one
 * PostgreSQL state store. 水务's approval for 排水许可 ran out (catalog: grant-expired); it applies through Qiao, the
 * authority (数据局) checks conformity, 住建 approves with narrowed fields, and the next query on the *other* instance
 * is answered with exactly the approved fields — within a second, with no catalog edit and no reload.
 */

const MATTER = 'XK00377001'
const PERMITS = 'housing.construction-permit'
const schema = `qiao_lifecycle_${process.pid}`
const STATE_URL = `${LOCAL_PG}?schema=${schema}`

let a: Harness
let b: Harness
let projectCode: string

const call = (h: Harness, ...args: Parameters<Harness['call']>) => h.call(...args)

const token = (claims: TokenClaims) => a.token(claims)
const applicant = () => token({ dept: 'water', sub: 'water-officer-1', scope: 'sharing:apply' })
const authority = () => token({ dept: 'data', sub: 'data-officer-1', scope: 'sharing:admin' })
const reviewer = (dept = 'housing') => token({ dept, sub: `${dept}-reviewer-1`, scope: 'sharing:review' })
const exchange = () => token({ dept: 'water', sub: 'water-officer-2', scope: `${MATTER}:${PERMITS}:read` })

const APPLICATION = {
  resource: PERMITS,
  matter: MATTER,
  mode: 'query',
  usage: '行政依据',
  fields: [
    'permitNo',
    'projectCode',
    'projectName',
    'constructionSite',
    'ownerName',
    'ownerLeadName',
    'plannedStartDate',
  ],
  masked: ['ownerLeadPhone'],
  legalBasis: '《城镇排水与污水处理条例》第二十一条',
  scene: '建设项目开工"一件事"',
  scopeOfUse: '排水许可审批中核对施工许可信息',
  validTo: '2027-11-30',
  contact: { name: '李工', phone: '025-83330000' },
}

function data(res: HttpResult): Record<string, unknown> {
  return res.json.data as Record<string, unknown>
}

async function query(h: Harness): Promise<HttpResult> {
  return h.query(PERMITS, { projectCode }, { token: await exchange(), matter: MATTER, caseId: 'PS-2026-0001' })
}

async function adminRecords(h: Harness): Promise<AdminAuditRecord[]> {
  const out: AdminAuditRecord[] = []
  for await (const entry of h.gateway.deps.audit.query({ kind: 'admin' })) {
    const record = entry.record as AdminAuditRecord
    if (record.action.startsWith('sharing.')) out.push(record)
  }
  return out
}

beforeAll(async () => {
  a = await startHarness({ env: { QIAO_STATE_URL: STATE_URL, QIAO_AUDIT_LOG_ID: 'qiao-a', QIAO_METRICS_PORT: '0' } })
  // B trusts A's issuer (one IdP for both instances), and has its own data directory and audit log.
  b = await startHarness({ env: { QIAO_STATE_URL: STATE_URL, QIAO_AUDIT_LOG_ID: 'qiao-b', QIAO_JWKS_URL: a.jwks.url } })
  projectCode = a.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
}, 60_000)

afterAll(async () => {
  await b?.close()
  await a?.close()
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await client.end()
})

describe('apply → conformity check → approval → the next query on another instance', () => {
  let applicationId: string
  let grantId: string

  it('the expired catalog grant refuses at first, on both instances', async () => {
    expect((await query(a)).json.code).toBe('grant-expired')
    expect((await query(b)).json.code).toBe('grant-expired')
  })

  it('applies, passes the conformity check, and is approved narrowed on B; A answers within 1 s', async () => {
    const applied = await call(a, 'POST', '/v1/applications', await applicant(), APPLICATION)
    expect(applied.status).toBe(201)
    const app = data(applied)
    applicationId = app.id as string
    expect(applied.headers.location).toBe(`/v1/applications/${applicationId}`)
    expect(app).toMatchObject({ state: 'conformity-check', consumer: 'water', provider: 'housing' })
    // Submitted Thursday 2026-11-26: two working days → Monday 2026-11-30.
    expect(app.clock).toMatchObject({ stage: 'conformity', dueDate: '2026-11-30', paused: false })

    const checked = await call(
      a,
      'POST',
      `/v1/applications/${applicationId}/conformity`,
      await authority(),
      {
        decision: 'pass',
      },
      { 'if-match': applied.headers.etag as string },
    )
    expect(checked.status).toBe(200)
    expect(data(checked)).toMatchObject({ state: 'provider-review' })
    // Published resource: five working days from Thursday → Thursday 2026-12-03.
    expect(data(checked).clock).toMatchObject({ stage: 'review', dueDate: '2026-12-03' })

    const approved = await call(
      b,
      'POST',
      `/v1/applications/${applicationId}/review`,
      await reviewer(),
      {
        decision: 'approve',
        fields: ['permitNo', 'projectCode', 'projectName', 'plannedStartDate'],
        masked: ['ownerLeadName', 'ownerLeadPhone'],
        validTo: '2027-05-31',
      },
      { 'if-match': checked.headers.etag as string },
    )
    const approvedAt = performance.now()
    expect(approved.json.errors ?? approved.status).toBe(200)
    expect(data(approved)).toMatchObject({ state: 'approved' })
    grantId = (data(approved).decision as { grantId: string }).grantId

    // The approval was made on B; A learns it through the store's notification.
    let res = await query(a)
    while (res.status !== 200 && performance.now() - approvedAt < 1_000) {
      await new Promise((r) => setTimeout(r, 10))
      res = await query(a)
    }
    expect(res.json.code ?? res.status).toBe(200)
    expect(performance.now() - approvedAt).toBeLessThan(1_000)
    const record = (res.json.data as Record<string, unknown>[])[0] as Record<string, unknown>
    expect(Object.keys(record).sort()).toEqual(
      ['ownerLeadName', 'ownerLeadPhone', 'permitNo', 'plannedStartDate', 'projectCode', 'projectName'].sort(),
    )
    expect(String(record.ownerLeadName)).toContain('*')
    const metrics = await (await request(`${a.gateway.metricsUrl}/metrics`)).body.text()
    expect(metrics).toMatch(/^qiao_sharing_live_grants 1$/m)
    expect(metrics).toMatch(/^qiao_sharing_grant_sync_failures_total 0$/m)
  })

  it('carries the approval id in the exchange audit record, from call to application', async () => {
    const records = (await a.auditRecords()) as ExchangeAuditRecord[]
    expect(records.at(-1)).toMatchObject({ decision: 'allow', approvalRef: grantId })
    const shown = await call(a, 'GET', `/v1/grants/${grantId}`, await authority())
    expect(data(shown)).toMatchObject({ id: grantId, applicationId, state: 'active', source: 'application' })
    const history = await call(a, 'GET', `/v1/applications/${applicationId}/history`, await authority())
    expect((history.json.data as { transition: string }[]).map((e) => e.transition)).toEqual([
      'apply',
      'conformity-pass',
      'review-approve',
    ])
  })

  it('revocation: the next call on both instances is 403 grant-revoked', async () => {
    const grant = await call(a, 'GET', `/v1/grants/${grantId}`, await reviewer())
    const revoked = await call(
      a,
      'POST',
      `/v1/grants/${grantId}/revoke`,
      await reviewer(),
      {
        reason: '排水许可审批已办结，停止使用',
      },
      { 'if-match': grant.headers.etag as string },
    )
    expect(revoked.status).toBe(200)
    const revokedAt = performance.now()
    expect((await query(a)).json.code).toBe('grant-revoked')
    let res = await query(b)
    while (res.json.code !== 'grant-revoked' && performance.now() - revokedAt < 1_000) {
      await new Promise((r) => setTimeout(r, 10))
      res = await query(b)
    }
    expect(res.status).toBe(403)
    expect(res.json.code).toBe('grant-revoked')
    const records = (await b.auditRecords()) as ExchangeAuditRecord[]
    expect(records.at(-1)).toMatchObject({ decision: 'deny', reason: 'grant-revoked', approvalRef: grantId })
    // The catalog view says so too, naming the approval.
    const catalog = await call(b, 'GET', '/v1/catalog', await exchange())
    const access = (catalog.json.access as { grants: Record<string, unknown>[] }).grants
    expect(access.find((g) => g.matter === MATTER && g.resource === PERMITS)).toMatchObject({
      state: 'revoked',
      source: 'application',
      approvalRef: grantId,
    })
  })
})

describe('the rules of each step, on the real gateway', () => {
  async function freshApplication(overrides: Record<string, unknown> = {}) {
    const applied = await call(a, 'POST', '/v1/applications', await applicant(), { ...APPLICATION, ...overrides })
    expect(applied.status).toBe(201)
    const checked = await call(
      a,
      'POST',
      `/v1/applications/${data(applied).id}/conformity`,
      await authority(),
      {
        decision: 'pass',
      },
      { 'if-match': applied.headers.etag as string },
    )
    expect(checked.status).toBe(200)
    return { id: data(checked).id as string, etag: checked.headers.etag as string }
  }

  it('a refusal without a reason is 422; with one it is final', async () => {
    const app = await freshApplication()
    const bare = await call(
      a,
      'POST',
      `/v1/applications/${app.id}/review`,
      await reviewer(),
      { decision: 'refuse' },
      {
        'if-match': app.etag,
      },
    )
    expect(bare.status).toBe(422)
    expect(bare.json.code).toBe('decision-invalid')
    const refused = await call(
      a,
      'POST',
      `/v1/applications/${app.id}/review`,
      await reviewer(),
      {
        decision: 'refuse',
        reason: '申请字段超出排水许可审批所需',
      },
      { 'if-match': app.etag },
    )
    expect(refused.status).toBe(200)
    expect(data(refused)).toMatchObject({ state: 'refused' })
  })

  it('a reviewer of the applicant’s own department is refused 403 separation-of-duties', async () => {
    // 住建 applies for 发改's (有条件) permit-feedback write-back: a 住建 reviewer may not decide on it.
    const applied = await call(
      a,
      'POST',
      '/v1/applications',
      await token({ dept: 'housing', sub: 'h-1', scope: 'sharing:apply' }),
      {
        ...APPLICATION,
        resource: 'drc.permit-feedback',
        matter: 'QT00301001',
        mode: 'write-back',
        fields: [],
        masked: [],
      },
    )
    expect(applied.status).toBe(201)
    const checked = await call(
      a,
      'POST',
      `/v1/applications/${data(applied).id}/conformity`,
      await authority(),
      {
        decision: 'pass',
      },
      { 'if-match': applied.headers.etag as string },
    )
    const own = await call(
      a,
      'POST',
      `/v1/applications/${data(applied).id}/review`,
      await reviewer('housing'),
      {
        decision: 'approve',
      },
      { 'if-match': checked.headers.etag as string },
    )
    expect(own.status).toBe(403)
    expect(['separation-of-duties', 'sharing-not-permitted']).toContain(own.json.code)
    const sod = await call(
      a,
      'POST',
      `/v1/applications/${data(applied).id}/review`,
      await token({ dept: 'housing', sub: 'h-2', scope: 'sharing:review sharing:apply' }),
      { decision: 'approve' },
      { 'if-match': checked.headers.etag as string },
    )
    expect(sod.status).toBe(403)
  })

  it('two approvals of one state at once, on two instances: exactly one succeeds, the other 412', async () => {
    const app = await freshApplication()
    const body = { decision: 'approve' }
    const [x, y] = await Promise.all([
      call(a, 'POST', `/v1/applications/${app.id}/review`, await reviewer(), body, { 'if-match': app.etag }),
      call(b, 'POST', `/v1/applications/${app.id}/review`, await reviewer(), body, { 'if-match': app.etag }),
    ])
    expect([x.status, y.status].sort()).toEqual([200, 412])
    const history = await call(a, 'GET', `/v1/applications/${app.id}/history`, await authority())
    expect(
      (history.json.data as { transition: string }[]).filter((e) => e.transition === 'review-approve'),
    ).toHaveLength(1)
  })

  it('an approval cannot widen what was applied for, nor mask a field that has no mask rule', async () => {
    const app = await freshApplication()
    const res = await call(
      a,
      'POST',
      `/v1/applications/${app.id}/review`,
      await reviewer(),
      {
        decision: 'approve',
        fields: ['permitNo', 'contractPriceWanYuan'],
        masked: ['ownerName'],
        validTo: '2028-12-31',
      },
      { 'if-match': app.etag },
    )
    expect(res.status).toBe(422)
    expect(res.json.code).toBe('decision-invalid')
    expect((res.json.errors as { pointer: string }[]).map((e) => e.pointer).sort()).toEqual([
      '/fields/1',
      '/masked/0',
      '/validTo',
    ])
  })

  it('a transition without If-Match is 428', async () => {
    const app = await freshApplication()
    const res = await call(a, 'POST', `/v1/applications/${app.id}/review`, await reviewer(), { decision: 'approve' })
    expect(res.status).toBe(428)
    expect(res.json.code).toBe('precondition-required')
  })
})

describe('accountability of the workflow', () => {
  it('every transition left exactly one admin record, and both logs verify', async () => {
    const records = [...(await adminRecords(a)), ...(await adminRecords(b))]
    const history: { transition: string }[] = []
    const list = await call(a, 'GET', '/v1/applications?limit=200', await authority())
    for (const app of list.json.data as { id: string }[]) {
      const h = await call(a, 'GET', `/v1/applications/${app.id}/history`, await authority())
      history.push(...(h.json.data as { transition: string }[]))
    }
    expect(history.length).toBeGreaterThan(10)
    expect(records.length).toBe(history.length)
    for (const record of records) {
      expect(JSON.stringify(record)).not.toContain('025-83330000')
      expect(JSON.stringify(record)).not.toContain('排水许可审批已办结')
    }
    for (const h of [a, b]) {
      const verified = await runQiao(['audit', 'verify', '--dir', h.config.auditDir])
      expect(verified.code, verified.stdout + verified.stderr).toBe(0)
      expect(verified.stdout).toContain('VERIFIED')
    }
  })
})
