import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_PROJECTS } from '../connectors/kit/demo-universe.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import { grantKey } from '../gateway/catalog/types.js'
import { type Harness, type HttpResult, startHarness } from './support/gateway.js'

/**
 * 建设项目开工"一件事" end to end on loopback: the 发改 and 住建 simulators, 市场监管's front-end database (the local
 * PostgreSQL) and the gateway, frozen at NOW. 城管 (urban) fetches for one case, in one call, the project from 发改,
 * its permits from 住建 and its owner from 市场监管 (matter XK00208001, catalog.yaml), each under its own grant.
 */

const MATTER = 'XK00208001'
const CASE = '宁城管-2026-0042'
const ENCODED_CASE = `UTF-8''${encodeURIComponent(CASE)}`
const PROJECT = SHARED_PROJECTS[0] as (typeof SHARED_PROJECTS)[number]
const INPUTS = { projectCode: PROJECT.code, ownerUscc: PROJECT.owner.uscc }
/** The catalog's deadline of the 发改 and 住建 resources in this test (5 s in the demo): short, so waiting is cheap. */
const DEADLINE_MS = 1000
const ITEMS = {
  project: 'drc.investment-project',
  permits: 'housing.construction-permit',
  owner: 'market.enterprise-registration',
} as const
const fullScope = Object.values(ITEMS)
  .map((resource) => `${MATTER}:${resource}:read`)
  .join(' ')

let h: Harness

beforeAll(async () => {
  h = await startHarness({
    market: true,
    catalog: (text) =>
      text
        .replaceAll('timeoutMs: 5000', `timeoutMs: ${DEADLINE_MS}`)
        // The clock is frozen, so the matter's 10-a-second bucket would never refill (quotas have their own tests).
        .replace('  - { id: xk00208001, matter: XK00208001, limit: 10, per: second }\n', '')
        // 水务's matter declares evidence too, but has no grant for the project and an expired one for permits.
        .replace(
          '    legalBasis: 《城镇排水与污水处理条例》第二十一条\n',
          [
            '    legalBasis: 《城镇排水与污水处理条例》第二十一条',
            '    evidence:',
            '      inputs: { projectCode: { format: investment-project-code } }',
            '      items:',
            '        - { id: project, resource: drc.investment-project, params: { projectCode: projectCode } }',
            '        - { id: permits, resource: housing.construction-permit, params: { projectCode: projectCode } }',
            '',
          ].join('\n'),
        ),
  })
})
afterAll(async () => {
  await h?.close()
})

interface BundleItem {
  id: string
  resource: string
  required: boolean
  status: number
  auditId?: string
  data?: Record<string, unknown>[]
  meta?: Record<string, unknown>
  problem?: Record<string, unknown>
}

async function bundle(
  body: unknown,
  o: { token?: string; caseHeader?: string | null; matter?: string; requestId?: string } = {},
): Promise<HttpResult & { items: BundleItem[] }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`
  if (o.caseHeader !== null) headers['qiao-case'] = o.caseHeader ?? ENCODED_CASE
  if (o.requestId !== undefined) headers['x-request-id'] = o.requestId
  const res = await request(`${h.gateway.url}/v1/matters/${o.matter ?? MATTER}/evidence`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.body.text()
  const json = JSON.parse(text) as Record<string, unknown>
  return {
    status: res.statusCode,
    headers: res.headers as Record<string, string>,
    text,
    json,
    items: (json.items ?? []) as BundleItem[],
  }
}

function urbanToken(scope = fullScope): Promise<string> {
  return h.token({ dept: 'urban', sub: 'officer-007', scope, client_id: 'chengguan-approvals' })
}

function item(res: { items: BundleItem[] }, id: string): BundleItem {
  const found = res.items.find((i) => i.id === id)
  if (!found) throw new Error(`no item ${id} in the answer`)
  return found
}

/** The records the bundle wrote: its own (the last) and its items', by the links between them. */
async function bundleRecords(auditId: string): Promise<{ parent: ExchangeAuditRecord; items: ExchangeAuditRecord[] }> {
  const records = await h.auditRecords()
  const parent = records.find((r) => r.id === auditId) as ExchangeAuditRecord
  expect(parent).toBeDefined()
  return { parent, items: records.filter((r) => r.bundle === auditId) }
}

function grantOf(resource: string) {
  return h.gateway.deps.snapshot().catalog.grants.get(grantKey(MATTER, resource, 'read', 'urban'))
}

describe('建设项目开工一件事: the evidence of one case in one call', () => {
  it('answers every item with its own grant’s fields and masks (200)', async () => {
    const res = await bundle(INPUTS, { token: await urbanToken(), requestId: 'cg-bundle-1' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.json).toMatchObject({
      matter: MATTER,
      case: CASE,
      complete: true,
      auditId: res.headers['qiao-audit-id'],
    })
    expect(res.items.map((i) => [i.id, i.resource, i.status])).toEqual([
      ['project', ITEMS.project, 200],
      ['permits', ITEMS.permits, 200],
      ['owner', ITEMS.owner, 200],
    ])
    for (const i of res.items) {
      const grant = grantOf(i.resource)
      const allowed = new Set([...(grant?.fields ?? []), ...(grant?.masked ?? [])])
      expect(i.data?.length).toBeGreaterThan(0)
      for (const record of i.data ?? []) for (const key of Object.keys(record)) expect(allowed.has(key)).toBe(true)
      expect(i.meta).toMatchObject({ resource: i.resource, matter: MATTER, case: CASE, auditId: i.auditId })
      expect(i).not.toHaveProperty('problem')
    }
    const [project] = item(res, 'project').data ?? []
    expect(project).toMatchObject({ projectCode: PROJECT.code, companyUscc: PROJECT.owner.uscc })
    expect(project).not.toHaveProperty('totalInvestmentWanYuan') // not granted to 城管
    for (const permit of item(res, 'permits').data ?? []) {
      expect(permit.projectCode).toBe(PROJECT.code)
      expect(permit.ownerUscc).toBe(PROJECT.owner.uscc)
      expect(permit.ownerLeadName).toMatch(/^\p{Script=Han}\*+$/u)
      expect(permit.ownerLeadPhone).toMatch(/^1\d{2}\*{4}\d{4}$/)
      expect(permit).not.toHaveProperty('ownerLeadIdNo')
    }
    const [owner] = item(res, 'owner').data ?? []
    expect(owner).toMatchObject({ uscc: PROJECT.owner.uscc, name: PROJECT.owner.name })
    expect(owner?.legalRepresentative).toMatch(/^\p{Script=Han}\*+$/u)
    expect(owner?.legalRepresentative).not.toBe(PROJECT.owner.legalRepresentative)
    expect(owner).not.toHaveProperty('legalRepIdNo')

    // One record per item, as a single read writes it, and the bundle's own record after them, linking them.
    const { parent, items } = await bundleRecords(res.json.auditId as string)
    // Written as each item finished, so in any order.
    const byRequestId = [...items].sort((x, y) => (x.requestId < y.requestId ? -1 : 1))
    expect(byRequestId.map((r) => [r.requestId, r.resource, r.status, r.reason, r.decision])).toEqual([
      ['cg-bundle-1:owner', ITEMS.owner, 200, 'ok', 'allow'],
      ['cg-bundle-1:permits', ITEMS.permits, 200, 'ok', 'allow'],
      ['cg-bundle-1:project', ITEMS.project, 200, 'ok', 'allow'],
    ])
    for (const r of items) {
      const answered = res.items.find((i) => i.resource === r.resource) as BundleItem
      expect(r.id).toBe(answered.auditId)
      expect(r).toMatchObject({ matter: MATTER, case: CASE, requester: { dept: 'urban', sub: 'officer-007' } })
      const grant = grantOf(r.resource as string)
      expect([...r.fields].sort()).toEqual([...(grant?.fields ?? []), ...(grant?.masked ?? [])].sort())
      expect(r.masked).toEqual(grant?.masked)
      expect(r.recordCount).toBe(answered.data?.length)
      expect(r.releaseDigest).toMatch(/^[0-9a-f]{64}$/)
      expect(r.subjects?.length).toBeGreaterThan(0)
    }
    expect(parent).toMatchObject({
      requestId: 'cg-bundle-1',
      matter: MATTER,
      case: CASE,
      status: 200,
      reason: 'ok',
      decision: 'allow',
      bundleItems: res.items.map((i) => i.auditId),
    })
    expect(parent.paramsDigest).toMatch(/^[0-9a-f]{64}$/)
    const all = await h.auditRecords()
    const position = (id: string) => all.findIndex((r) => r.id === id)
    for (const r of items) expect(position(r.id)).toBeLessThan(position(parent.id))
    // Nothing of the inputs in the log: only keyed digests.
    expect(JSON.stringify(all)).not.toContain(PROJECT.owner.uscc)
  })

  it('audits an item exactly as the single read of it, with the link to its bundle beside', async () => {
    const token = await urbanToken()
    const res = await bundle(INPUTS, { token, requestId: 'cg-bundle-2' })
    const single = await h.query(
      ITEMS.project,
      { projectCode: PROJECT.code },
      { token, matter: MATTER, caseId: ENCODED_CASE, headers: { 'x-request-id': 'cg-single-2' } },
    )
    expect(single.status).toBe(200)
    const records = await h.auditRecords()
    const read = records.find((r) => r.requestId === 'cg-single-2') as ExchangeAuditRecord
    const inBundle = records.find((r) => r.requestId === 'cg-bundle-2:project') as ExchangeAuditRecord
    const { bundle: link, ...rest } = inBundle
    expect(link).toBe(res.json.auditId)
    const differ = new Set(['id', 'requestId', 'totalMs', 'upstreamMs'])
    const comparable = (r: Partial<ExchangeAuditRecord>) =>
      Object.fromEntries(Object.entries(r).filter(([key]) => !differ.has(key)))
    expect(comparable(rest)).toEqual(comparable(read))
    // The data is the single read's, byte for byte: the audited release digest holds for both.
    expect(item(res, 'project').data).toEqual(single.json.data)
    expect(inBundle.releaseDigest).toBe(read.releaseDigest)
  })

  it('answers the others when one provider is down: 207, that item’s upstream problem, never a 5xx', async () => {
    h.drc.setKnobs({ fault: 'http-503' })
    try {
      const res = await bundle(INPUTS, { token: await urbanToken() })
      expect(res.status).toBe(207)
      expect(res.json.complete).toBe(false) // the project is required
      const project = item(res, 'project')
      expect(project.status).toBe(503)
      expect(project.problem).toMatchObject({
        status: 503,
        code: 'upstream-unavailable',
        type: '/problems/upstream-unavailable',
      })
      expect(project).not.toHaveProperty('data')
      expect(item(res, 'permits').status).toBe(200)
      expect(item(res, 'owner').status).toBe(200)
      const { parent, items } = await bundleRecords(res.json.auditId as string)
      expect(parent).toMatchObject({ status: 207, reason: 'ok', decision: 'allow' })
      expect(items.find((r) => r.resource === ITEMS.project)).toMatchObject({
        status: 503,
        reason: 'upstream-unavailable',
        decision: 'allow',
        recordCount: 0,
        fields: [],
      })
    } finally {
      h.drc.setKnobs({ fault: 'none' })
    }
    // Recovered: the breaker counts this success, so the next test starts with a closed one.
    expect((await bundle(INPUTS, { token: await urbanToken() })).status).toBe(200)
  })

  it('takes as long as its slowest item’s deadline, not the sum of the deadlines', async () => {
    h.drc.setKnobs({ latencyMs: 10_000 })
    h.sim.setKnobs({ latencyMs: 10_000 })
    try {
      const token = await urbanToken()
      const started = performance.now()
      const res = await bundle(INPUTS, { token })
      const elapsed = performance.now() - started
      expect(res.status).toBe(207)
      for (const id of ['project', 'permits']) {
        expect(item(res, id).status).toBe(504)
        expect(item(res, id).problem).toMatchObject({ code: 'upstream-timeout' })
      }
      expect(item(res, 'owner').status).toBe(200)
      // Both slow items wait out one deadline each, side by side: one deadline in all, where in turn it would be two.
      expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS * 0.9)
      expect(elapsed).toBeLessThan(DEADLINE_MS * 1.5)
    } finally {
      h.drc.setKnobs({ latencyMs: 0 })
      h.sim.setKnobs({ latencyMs: 0 })
    }
  })

  it('refuses an item the token has no scope for, and answers the others', async () => {
    const scope = `${MATTER}:${ITEMS.project}:read ${MATTER}:${ITEMS.permits}:read`
    const res = await bundle(INPUTS, { token: await urbanToken(scope) })
    expect(res.status).toBe(207)
    expect(res.json.complete).toBe(true) // the owner is not required
    const owner = item(res, 'owner')
    expect(owner).toMatchObject({ status: 403, required: false })
    expect(owner.problem).toMatchObject({ code: 'insufficient-scope', requiredScope: `${MATTER}:${ITEMS.owner}:read` })
    expect(item(res, 'project').status).toBe(200)
  })

  it('refuses items the matter grants nothing for: each its own forbidden problem', async () => {
    const water = await h.token({
      dept: 'water',
      scope: `XK00377001:${ITEMS.project}:read XK00377001:${ITEMS.permits}:read`,
    })
    const res = await bundle({ projectCode: PROJECT.code }, { token: water, matter: 'XK00377001' })
    expect(res.status).toBe(207)
    expect(res.json.complete).toBe(false)
    expect(item(res, 'project')).toMatchObject({ status: 403, problem: { code: 'grant-missing' } })
    expect(item(res, 'permits')).toMatchObject({ status: 403, problem: { code: 'grant-expired' } })
    const { parent, items } = await bundleRecords(res.json.auditId as string)
    expect(parent).toMatchObject({ status: 207, decision: 'deny' })
    expect(items.map((r) => r.decision)).toEqual(['deny', 'deny'])
  })
})

describe('fail closed, item by item', () => {
  it('releases nothing of an item whose audit record cannot be written; the others answer', async () => {
    const audit = h.gateway.deps.audit
    const append = audit.append
    // The log refuses the owner item's record only (as a full disk would refuse them all).
    audit.append = (record) =>
      record.kind === 'exchange' && record.resource === ITEMS.owner
        ? Promise.reject(new Error('ENOSPC: no space left on device'))
        : append.call(audit, record)
    let res: Awaited<ReturnType<typeof bundle>>
    try {
      res = await bundle(INPUTS, { token: await urbanToken() })
    } finally {
      audit.append = append
    }
    expect(res.status).toBe(207)
    const owner = item(res, 'owner')
    expect(owner).toMatchObject({ status: 503, problem: { code: 'audit-unavailable' } })
    expect(owner).not.toHaveProperty('data')
    expect(owner).not.toHaveProperty('auditId')
    expect(res.text).not.toContain(PROJECT.owner.legalRepresentative.slice(1))
    expect(item(res, 'project').status).toBe(200)
    expect(item(res, 'permits').status).toBe(200)
    const { parent, items } = await bundleRecords(res.json.auditId as string)
    expect(items.map((r) => r.resource).sort()).toEqual([ITEMS.project, ITEMS.permits].sort())
    expect([...(parent.bundleItems ?? [])].sort()).toEqual(items.map((r) => r.id).sort())
  })
})

describe('fail closed, the bundle', () => {
  it('releases nothing when its own record, the link between the items, cannot be written (503)', async () => {
    const audit = h.gateway.deps.audit
    const append = audit.append
    audit.append = (record) =>
      record.kind === 'exchange' && record.bundleItems !== undefined
        ? Promise.reject(new Error('ENOSPC: no space left on device'))
        : append.call(audit, record)
    let res: Awaited<ReturnType<typeof bundle>>
    try {
      res = await bundle(INPUTS, { token: await urbanToken() })
    } finally {
      audit.append = append
    }
    expect(res.status).toBe(503)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.json.code).toBe('audit-unavailable')
    expect(res.headers).not.toHaveProperty('qiao-audit-id')
    expect(res.text).not.toContain(PROJECT.owner.name)
  })
})

describe('a bad bundle request is refused as a whole (4xx), and audited', () => {
  it('lists every problem of the inputs (400)', async () => {
    const res = await bundle(
      { projectCode: '2303-320115', ownerUscc: '91320115MA1W2K7Q0X', extra: 1 },
      {
        token: await urbanToken(),
      },
    )
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.json.code).toBe('params-invalid')
    expect((res.json.errors as { pointer: string }[]).map((e) => e.pointer).sort()).toEqual([
      '/extra',
      '/ownerUscc',
      '/projectCode',
    ])
    expect(res.json.allowed).toEqual(['projectCode', 'ownerUscc'])
    expect(res.json).not.toHaveProperty('items')
    const { parent, items } = await bundleRecords(res.headers['qiao-audit-id'] as string)
    expect(parent).toMatchObject({ status: 400, reason: 'params-invalid', decision: 'deny' })
    expect(items).toEqual([])
    const missing = await bundle({}, { token: await urbanToken() })
    expect((missing.json.errors as { pointer: string }[]).map((e) => e.pointer)).toEqual(['/projectCode', '/ownerUscc'])
    expect((await bundle('not json', { token: await urbanToken() })).json.code).toBe('body-malformed')
  })

  it('needs Qiao-Case and a valid token', async () => {
    const noCase = await bundle(INPUTS, { token: await urbanToken(), caseHeader: null })
    expect(noCase.status).toBe(400)
    expect(noCase.json).toMatchObject({ code: 'purpose-missing', detail: 'missing header(s): Qiao-Case' })
    expect((await bundle(INPUTS)).json).toMatchObject({ status: 401, code: 'token-missing' })
    expect((await bundle(INPUTS, { token: 'x.y.z' })).json).toMatchObject({ status: 401, code: 'token-invalid' })
  })

  it('answers 404 for an unknown matter and for a matter without evidence', async () => {
    const token = await urbanToken()
    const unknown = await bundle(INPUTS, { token, matter: 'XK99999999' })
    expect(unknown.status).toBe(404)
    expect(unknown.json).toMatchObject({ code: 'matter-not-found', type: '/problems/matter-not-found' })
    const none = await bundle(INPUTS, { token, matter: 'QT00301001' })
    expect(none.status).toBe(404)
    expect(none.json.code).toBe('evidence-not-declared')
  })
})

describe('the audit log after the bundles', () => {
  it('verifies', async () => {
    await h.gateway.deps.audit.checkpoint()
    const result = await verifyAuditLogs(createFileAuditBackend({ dir: h.config.auditDir, now: Date.now }), {
      keys: await h.gateway.deps.audit.publicKeys(),
    })
    expect(result.problems).toEqual([])
    expect(result.ok).toBe(true)
  })

  it('finds the items of a bundle by the company they concern, each naming its bundle', async () => {
    const auditor = await h.token({ dept: 'drc', sub: 'auditor-01', scope: 'audit:read' })
    const res = await h.get(`/v1/audit/records?subject=${PROJECT.owner.uscc}&matter=${MATTER}&limit=100`, auditor)
    expect(res.status).toBe(200)
    const found = (res.json.records as { record: ExchangeAuditRecord }[]).map((e) => e.record)
    const first = found.filter((r) => r.requestId.startsWith('cg-bundle-1:'))
    expect(first.map((r) => r.resource).sort()).toEqual([ITEMS.project, ITEMS.permits, ITEMS.owner].sort())
    const parents = new Set(first.map((r) => r.bundle))
    expect(parents.size).toBe(1)
    const parent = (await h.auditRecords()).find((r) => parents.has(r.id))
    expect([...(parent?.bundleItems ?? [])].sort()).toEqual(first.map((r) => r.id).sort())
  })
})

// Last in the file: the 发改 simulator does not come back.
describe('with the 发改 simulator down (stopped: its port refuses connections)', () => {
  it('answers 207: 住建’s and 市场监管’s items with data, 发改’s a 503 problem; four audit records', async () => {
    await h.drc.close()
    const res = await bundle(INPUTS, { token: await urbanToken(), requestId: 'cg-bundle-down' })
    expect(res.status).toBe(207)
    expect(res.json.complete).toBe(false)
    expect(item(res, 'project')).toMatchObject({ status: 503, problem: { status: 503, code: 'upstream-unavailable' } })
    expect(item(res, 'project')).not.toHaveProperty('data')
    for (const id of ['permits', 'owner']) {
      expect(item(res, id).status).toBe(200)
      expect(item(res, id).data?.length).toBeGreaterThan(0)
    }
    const { parent, items } = await bundleRecords(res.json.auditId as string)
    expect(parent).toMatchObject({
      requestId: 'cg-bundle-down',
      status: 207,
      bundleItems: res.items.map((i) => i.auditId),
    })
    expect(items.map((r) => [r.requestId, r.status]).sort()).toEqual([
      ['cg-bundle-down:owner', 200],
      ['cg-bundle-down:permits', 200],
      ['cg-bundle-down:project', 503],
    ])
  })
})
