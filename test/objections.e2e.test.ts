import pg from 'pg'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AdminAuditRecord } from '../gateway/audit/record.js'
import { type Harness, type HttpResult, LOCAL_PG, startHarness } from './support/gateway.js'
import { runQiao } from './support/gateway-process.js'

/**
 * Issue 17 part 2 acceptance on real gateways: two instances (each its own audit log) share one PostgreSQL state
 * store. 发改 reads 住建's construction permits, finds a wrong 建设地址 and objects, naming the call's audit id;
 * 住建's reviewer sees it in its inbox; meanwhile every answer for that permit — 发改's, 城管's, on either instance —
 * carries the 异议标注; accepting it removes the mark. Every step is an admin record; no claimed value in the log.
 */

const PERMITS = 'housing.construction-permit'
const DRC_MATTER = 'QT00301001'
const URBAN_MATTER = 'XK00208001'
const schema = `qiao_objections_${process.pid}`
const STATE_URL = `${LOCAL_PG}?schema=${schema}`
const CLAIMED = '南京市江北新区浦滨路一百二十号'
const EVIDENCE = '现场核查记录（宁发改核〔2026〕88号）载明的建设地址与许可信息不一致'

let a: Harness
let b: Harness
let projectCode: string
let permitNo: string

const call = (h: Harness, ...args: Parameters<Harness['call']>) => h.call(...args)

const drcOfficer = () => a.token({ dept: 'drc', sub: 'drc-officer-1', scope: `${DRC_MATTER}:${PERMITS}:read` })
const urbanOfficer = () => a.token({ dept: 'urban', sub: 'urban-officer-1', scope: `${URBAN_MATTER}:${PERMITS}:read` })
const reviewer = (dept = 'housing') => a.token({ dept, sub: `${dept}-reviewer-1`, scope: 'sharing:review' })
const authority = () => a.token({ dept: 'data', sub: 'data-officer-1', scope: 'sharing:admin' })

async function drcQuery(h: Harness): Promise<HttpResult> {
  return h.query(PERMITS, { projectCode }, { token: await drcOfficer(), matter: DRC_MATTER, caseId: 'TZ-2026-0042' })
}

async function urbanQuery(h: Harness): Promise<HttpResult> {
  return h.query(PERMITS, { projectCode }, { token: await urbanOfficer(), matter: URBAN_MATTER, caseId: 'CG-2026-7' })
}

function markers(res: HttpResult): { recordKey: Record<string, unknown>; field: string; since: string; id: string }[] {
  expect(res.status).toBe(200)
  return ((res.json.meta as Record<string, unknown>).objections ?? []) as never
}

/** Polls `h` until `done` holds of a drc answer, for at most 1 s after `since`. */
async function within1s(h: Harness, since: number, done: (res: HttpResult) => boolean): Promise<HttpResult> {
  let res = await drcQuery(h)
  while (!done(res) && performance.now() - since < 1_000) {
    await new Promise((r) => setTimeout(r, 10))
    res = await drcQuery(h)
  }
  expect(performance.now() - since).toBeLessThan(1_000)
  return res
}

function objectionBody(auditId: string, overrides: Record<string, unknown> = {}) {
  return {
    auditId,
    recordKey: { permitNo },
    field: 'constructionSite',
    claimedValue: CLAIMED,
    evidence: { description: EVIDENCE, refs: ['宁发改核〔2026〕88号'] },
    ...overrides,
  }
}

async function raise(auditId: string, overrides: Record<string, unknown> = {}): Promise<HttpResult> {
  return call(a, 'POST', `/v1/resources/${PERMITS}/objections`, await drcOfficer(), objectionBody(auditId, overrides))
}

async function objectionRecords(h: Harness): Promise<AdminAuditRecord[]> {
  const out: AdminAuditRecord[] = []
  for await (const entry of h.gateway.deps.audit.query({ kind: 'admin' })) {
    const record = entry.record as AdminAuditRecord
    if (record.action === 'sharing.objection') out.push(record)
  }
  return out
}

beforeAll(async () => {
  a = await startHarness({ env: { QIAO_STATE_URL: STATE_URL, QIAO_AUDIT_LOG_ID: 'qiao-a', QIAO_METRICS_PORT: '0' } })
  b = await startHarness({ env: { QIAO_STATE_URL: STATE_URL, QIAO_AUDIT_LOG_ID: 'qiao-b', QIAO_JWKS_URL: a.jwks.url } })
  // A project with several valid permits: only the one objected to is marked.
  const valid = a.sim.data.permits.filter((p) => p.SJYXBS === '1')
  const counts = new Map<string, number>()
  for (const p of valid) counts.set(p.XMDM as string, (counts.get(p.XMDM as string) ?? 0) + 1)
  projectCode = [...counts].find(([, n]) => n > 1)?.[0] as string
  const first = await drcQuery(a)
  expect(first.status).toBe(200)
  permitNo = (first.json.data as { permitNo: string }[])[0]?.permitNo as string
}, 60_000)

afterAll(async () => {
  await b?.close()
  await a?.close()
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await client.end()
})

describe('an objection to a 住建 permit record, from a real query to its resolution', () => {
  let id: string
  let etag: string

  it('refuses what does not fit, every problem at once', async () => {
    const read = await drcQuery(a)
    expect(markers(read)).toEqual([])
    const auditId = read.headers['qiao-audit-id'] as string
    const bad = await raise('not-an-id', {
      recordKey: { projectCode },
      field: 'noSuchField',
      evidence: { refs: [] },
      extra: true,
    })
    expect(bad.status).toBe(422)
    expect(bad.json.code).toBe('objection-invalid')
    expect((bad.json.errors as { pointer: string }[]).map((e) => e.pointer).sort()).toEqual([
      '/auditId',
      '/evidence/description',
      '/extra',
      '/field',
      '/recordKey/projectCode',
    ])
    // 发改's grant does not release 建设工程规划许可证编号: that call cannot have released a wrong one.
    const unreleased = await raise(auditId, { field: 'planningPermitNo' })
    expect(unreleased.status).toBe(422)
    expect(unreleased.json.errors).toEqual([{ pointer: '/field', message: 'that call did not release it' }])
  })

  it('refuses a foreign department’s audit id, and a token without the resource’s exchange scope', async () => {
    const urbanCall = await urbanQuery(a)
    const foreign = await raise(urbanCall.headers['qiao-audit-id'] as string)
    expect(foreign.status).toBe(422)
    expect((foreign.json.errors as { pointer: string }[]).map((e) => e.pointer)).toEqual(['/auditId'])
    const read = await drcQuery(a)
    const asUrban = await call(
      a,
      'POST',
      `/v1/resources/${PERMITS}/objections`,
      await urbanOfficer(),
      objectionBody(read.headers['qiao-audit-id'] as string),
    )
    expect(asUrban.status).toBe(422)
    const noScope = await call(
      a,
      'POST',
      `/v1/resources/${PERMITS}/objections`,
      await a.token({ dept: 'drc', sub: 'drc-officer-1', scope: 'sharing:apply' }),
      objectionBody(read.headers['qiao-audit-id'] as string),
    )
    expect(noScope.status).toBe(403)
    expect(noScope.json.code).toBe('insufficient-scope')
  })

  it('raises it (201, ETag, due in 5 working days) and routes it to 住建’s inbox only', async () => {
    const read = await drcQuery(a)
    const raised = await raise(read.headers['qiao-audit-id'] as string)
    expect(raised.json.errors ?? raised.status).toBe(201)
    const objection = raised.json.data as Record<string, unknown>
    id = objection.id as string
    etag = raised.headers.etag as string
    expect(raised.headers.location).toBe(`/v1/objections/${id}`)
    expect(objection).toMatchObject({
      state: 'open',
      resource: PERMITS,
      provider: 'housing',
      consumer: 'drc',
      matter: DRC_MATTER,
      recordKey: { permitNo },
      field: 'constructionSite',
      claimedValue: CLAIMED,
      // Raised Thursday 2026-11-26: five working days → Thursday 2026-12-03.
      due: { workingDays: 5, dueDate: '2026-12-03' },
    })
    const inbox = await call(a, 'GET', '/v1/objections?role=provider&state=open', await reviewer())
    expect((inbox.json.data as { id: string }[]).map((o) => o.id)).toEqual([id])
    const own = await call(a, 'GET', '/v1/objections?role=consumer', await drcOfficer())
    expect((own.json.data as { id: string }[]).map((o) => o.id)).toEqual([id])
    const urbanOwn = await call(a, 'GET', '/v1/objections?role=consumer', await urbanOfficer())
    expect(urbanOwn.json.data).toEqual([])
    const otherInbox = await call(a, 'GET', '/v1/objections?role=provider', await reviewer('drc'))
    expect(otherInbox.json.data).toEqual([])
    expect((await call(a, 'GET', `/v1/objections/${id}`, await reviewer('drc'))).status).toBe(404)
    const one = await call(b, 'GET', `/v1/objections/${id}`, await reviewer())
    expect(one.headers.etag).toBe(etag)
  })

  it('marks that permit on every later answer: 发改’s and 城管’s, and on the other instance within 1 s', async () => {
    const raisedAt = performance.now()
    const expected = [{ recordKey: { permitNo }, field: 'constructionSite', since: expect.any(String), id }]
    const drc = await drcQuery(a)
    expect(markers(drc)).toEqual(expected)
    expect((drc.json.data as unknown[]).length).toBeGreaterThan(1)
    expect(markers(await urbanQuery(a))).toEqual(expected)
    const onB = await within1s(b, raisedAt, (res) => markers(res).length > 0)
    expect(markers(onB)).toEqual(expected)
  })

  it('accepts it with If-Match and a correction note; the mark goes, on both instances', async () => {
    const url = `/v1/objections/${id}/accept`
    expect((await call(a, 'POST', url, await reviewer(), { correction: '已更正' })).status).toBe(428)
    const bare = await call(a, 'POST', url, await reviewer(), {}, { 'if-match': etag })
    expect(bare.status).toBe(422)
    expect(bare.json.code).toBe('decision-invalid')
    const byConsumer = await call(a, 'POST', url, await drcOfficer(), { correction: '已更正' }, { 'if-match': etag })
    expect(byConsumer.status).toBe(403)
    const correction = '已在工改系统更正建设地址为浦滨路120号'
    const accepted = await call(b, 'POST', url, await reviewer(), { correction }, { 'if-match': etag })
    const acceptedAt = performance.now()
    expect(accepted.json.errors ?? accepted.status).toBe(200)
    expect(accepted.json.data).toMatchObject({
      state: 'accepted',
      resolution: { outcome: 'accepted', by: 'housing/housing-reviewer-1', correction, workingDays: 0 },
    })
    expect(markers(await drcQuery(b))).toEqual([])
    const onA = await within1s(a, acceptedAt, (res) => markers(res).length === 0)
    expect(markers(onA)).toEqual([])
    const again = await call(a, 'POST', url, await reviewer(), { correction }, { 'if-match': etag })
    expect(again.status).toBe(412)
  })

  it('rejects one only with a reason, and the consumer withdraws another', async () => {
    const first = await raise((await drcQuery(a)).headers['qiao-audit-id'] as string)
    const rejectUrl = `/v1/objections/${(first.json.data as { id: string }).id}/reject`
    const ifMatch = { 'if-match': first.headers.etag as string }
    const bare = await call(a, 'POST', rejectUrl, await reviewer(), {}, ifMatch)
    expect((bare.json.errors as { pointer: string }[]).map((e) => e.pointer)).toEqual(['/reason'])
    const rejected = await call(a, 'POST', rejectUrl, await reviewer(), { reason: '以不动产登记为准，无误' }, ifMatch)
    expect(rejected.json.data).toMatchObject({ state: 'rejected', resolution: { outcome: 'rejected' } })
    const second = await raise((await drcQuery(a)).headers['qiao-audit-id'] as string, { field: 'ownerName' })
    const withdrawn = await call(
      a,
      'POST',
      `/v1/objections/${(second.json.data as { id: string }).id}/withdraw`,
      await drcOfficer(),
      {},
      { 'if-match': second.headers.etag as string },
    )
    expect(withdrawn.json.data).toMatchObject({ state: 'withdrawn' })
    expect(markers(await drcQuery(a))).toEqual([])
  })

  it('gives 住建’s quality figures and metrics', async () => {
    const stats = await call(a, 'GET', '/v1/objections/stats', await authority())
    const figures = stats.json.data as { providers: unknown[]; resources: unknown[] }
    const expected = {
      provider: 'housing',
      counts: { open: 0, accepted: 1, rejected: 1, withdrawn: 1 },
      resolved: 2,
      medianWorkingDays: 0,
      p90WorkingDays: 0,
    }
    expect(figures.providers).toEqual([expected])
    expect(figures.resources).toEqual([{ ...expected, resource: PERMITS }])
    const metrics = await (await request(`${a.gateway.metricsUrl}/metrics`)).body.text()
    expect(metrics).toMatch(/^qiao_objections_resolved_total\{provider="housing",outcome="rejected"\} 1$/m)
    expect(metrics).toMatch(/^qiao_objections_resolved_total\{provider="housing",outcome="withdrawn"\} 1$/m)
    expect(metrics).toMatch(/^qiao_objection_resolution_working_days_count\{provider="housing"\} 1$/m)
    expect(metrics).not.toMatch(/^qiao_objections_open\{provider="housing"\} [1-9]/m)
  })

  it('audited every step and every refusal, without the claimed value or the evidence; both logs verify', async () => {
    const records = [...(await objectionRecords(a)), ...(await objectionRecords(b))]
    const steps = records.filter((r) => r.outcome === 'ok').map((r) => r.details.transition)
    expect(steps.sort()).toEqual(['accepted', 'raise', 'raise', 'raise', 'rejected', 'withdrawn'])
    const refused = records.filter((r) => r.outcome === 'rejected').map((r) => r.details.code)
    expect(refused).toEqual(expect.arrayContaining(['objection-invalid', 'insufficient-scope']))
    const raised = records.find((r) => r.details.objection === id && r.details.transition === 'raise')
    expect(raised?.details).toMatchObject({
      provider: 'housing',
      consumer: 'drc',
      field: 'constructionSite',
      recordKeyDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      claimedValueDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      evidenceDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    for (const record of records) {
      const text = JSON.stringify(record)
      for (const secret of [CLAIMED, EVIDENCE, permitNo, '浦滨路120号', '不动产登记'])
        expect(text).not.toContain(secret)
    }
    for (const h of [a, b]) {
      const verified = await runQiao(['audit', 'verify', '--dir', h.config.auditDir])
      expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    }
  })
})
