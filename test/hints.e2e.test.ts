import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { seedSample as drcSample } from '../connectors/drc-tzxm/simulator/index.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { type Harness, type HttpResult, startHarness } from './support/gateway.js'

/**
 * Issue #14 end to end: one answer shape (a read's `data` is always an array, a write's the provider's receipt), and
 * refusals that say how to fix the call: the parameters a resource takes, and the matters under which the caller's
 * department could make it. Every refusal still leaves exactly one audit record with its reason.
 */

const MATTER = 'QT00301001'
const MATTER_NAME = '投资项目在线审批监管（施工许可、图审和竣工验收信息回传）'
const URBAN_MATTER = 'XK00208001'
const UNKNOWN_MATTER = 'QT99999999'
const PERMITS = 'housing.construction-permit'
const PROJECT = 'drc.investment-project'
const FEEDBACK = 'drc.permit-feedback'
const CASE = 'HINT-2026-1'

let h: Harness
let projectCode: string
let auditCount = 0
const drc = drcSample()

beforeAll(async () => {
  h = await startHarness()
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
  auditCount = records.length
  return records.at(-1) as ExchangeAuditRecord
}

async function expectRefused(res: HttpResult, status: number, code: string): Promise<void> {
  expect(res.status, res.text).toBe(status)
  expect(res.headers['content-type']).toBe('application/problem+json')
  expect(res.json).toMatchObject({ status, code })
  expect(res.json).not.toHaveProperty('data')
  const record = await theAuditRecord()
  expect(record).toMatchObject({ reason: code, status, id: res.headers['qiao-audit-id'] })
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1
}

describe('unknown parameters name the ones the resource takes', () => {
  const allowed = ['projectCode', 'permitNo', 'ownerUscc']

  it('a read with one unknown parameter: `allowed` lists the resource’s parameters, the detail names them', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    const res = await h.query(PERMITS, { projectcode: projectCode }, { token, matter: MATTER, caseId: CASE })
    await expectRefused(res, 400, 'params-invalid')
    expect(res.json.allowed).toEqual(allowed)
    expect(res.json.errors).toContainEqual({ pointer: '/projectcode', message: 'is not allowed' })
    expect(res.json.detail).toMatch(/; allowed parameters: projectCode, permitNo, ownerUscc$/)
  })

  it('a read with several unknown parameters: every one listed, the allowed ones named once', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    const res = await h.query(PERMITS, { project: 1, code: 2, permit: 3 }, { token, matter: MATTER, caseId: CASE })
    await expectRefused(res, 400, 'params-invalid')
    expect(res.json.allowed).toEqual(allowed)
    const pointers = (res.json.errors as { pointer: string }[]).map((e) => e.pointer)
    for (const name of ['/project', '/code', '/permit']) expect(pointers).toContain(name)
    const detail = res.json.detail as string
    expect(occurrences(detail, 'allowed parameters')).toBe(1)
    expect(detail.endsWith('allowed parameters: projectCode, permitNo, ownerUscc')).toBe(true)
    expect(occurrences(res.text, '"allowed"')).toBe(1)
  })

  it('a write body with unknown members: the same, with the members the write takes; nothing is delivered', async () => {
    const token = await h.token({ dept: 'housing', scope: `${MATTER}:${FEEDBACK}:write` })
    const body = { ...drc.permitFeedback, remark: 'x', attachments: [] }
    const res = await h.write(FEEDBACK, body, { token, matter: MATTER, caseId: CASE, idempotencyKey: 'hint-w-1' })
    await expectRefused(res, 400, 'params-invalid')
    const members = Object.keys(drc.permitFeedback)
    expect(res.json.allowed).toEqual(members)
    expect(res.json.errors).toEqual([
      { pointer: '/remark', message: 'is not allowed' },
      { pointer: '/attachments', message: 'is not allowed' },
    ])
    expect(res.json.detail).toBe(
      `/remark is not allowed; /attachments is not allowed; allowed parameters: ${members.join(', ')}`,
    )
    expect(h.drc.received.get(drc.permitFeedback.permitNo)).toBeUndefined()
  })
})

describe('a refusal about the matter names the matters that would do', () => {
  it('an unknown matter is matter-unknown whatever the token’s scope, never asking for a scope', async () => {
    const scopes = ['', `${UNKNOWN_MATTER}:${PERMITS}:read`, `${MATTER}:${PERMITS}:read`]
    for (const scope of scopes) {
      const token = await h.token({ dept: 'drc', scope })
      const res = await h.query(PERMITS, { projectCode }, { token, matter: UNKNOWN_MATTER, caseId: CASE })
      await expectRefused(res, 403, 'matter-unknown')
      expect(res.json).not.toHaveProperty('requiredScope')
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.json.detail).toContain('not in the catalog')
      expect(res.json.matters).toEqual([{ code: MATTER, name: MATTER_NAME }])
    }
  })

  it('a matter that does not cover the call is grant-missing and names the one that does (drc under 城管’s)', async () => {
    for (const scope of [`${MATTER}:${PERMITS}:read`, `${URBAN_MATTER}:${PERMITS}:read`]) {
      const token = await h.token({ dept: 'drc', scope })
      const res = await h.query(PERMITS, { projectCode }, { token, matter: URBAN_MATTER, caseId: CASE })
      await expectRefused(res, 403, 'grant-missing')
      expect(res.json).not.toHaveProperty('requiredScope')
      expect(res.json.matters).toEqual([{ code: MATTER, name: MATTER_NAME }])
      expect(res.json.detail).toContain(
        `the matter that grants read on this resource to the calling department: ${MATTER}`,
      )
    }
  })

  it('a department no matter covers: an empty list, and the detail points at applying', async () => {
    const token = await h.token({ dept: 'market', scope: `${MATTER}:${PERMITS}:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    await expectRefused(res, 403, 'grant-missing')
    expect(res.json.matters).toEqual([])
    expect(res.json.detail).toContain('POST /v1/applications')
  })

  it('a write no matter grants the department: the same hint', async () => {
    const token = await h.token({ dept: 'urban', scope: `${MATTER}:${FEEDBACK}:write` })
    const res = await h.write(FEEDBACK, drc.permitFeedback, {
      token,
      matter: MATTER,
      caseId: CASE,
      idempotencyKey: 'hint-w-2',
    })
    await expectRefused(res, 403, 'grant-missing')
    expect(res.json.matters).toEqual([])
    expect(res.json.detail).toContain('POST /v1/applications')
  })

  it('a covering matter missing from the token is insufficient-scope, with the scope and the matters', async () => {
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:housing.drawing-review:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: CASE })
    await expectRefused(res, 403, 'insufficient-scope')
    expect(res.json.requiredScope).toBe(`${MATTER}:${PERMITS}:read`)
    expect(res.headers['www-authenticate']).toBe(
      `Bearer realm="qiao", error="insufficient_scope", scope="${MATTER}:${PERMITS}:read"`,
    )
    expect(res.json.matters).toEqual([{ code: MATTER, name: MATTER_NAME }])
  })
})

describe('one answer shape', () => {
  const asHousing = () => h.token({ dept: 'housing', scope: `XK00105001:${PROJECT}:read` })

  it('a `one` resource answers an array of one record', async () => {
    const res = await h.query(
      PROJECT,
      { projectCode: drc.projectCode },
      { token: await asHousing(), matter: 'XK00105001', caseId: CASE },
    )
    expect(res.status, res.text).toBe(200)
    const data = res.json.data as { projectCode: string }[]
    expect(Array.isArray(data)).toBe(true)
    expect(data).toHaveLength(1)
    expect(data[0]?.projectCode).toBe(drc.projectCode)
    expect(res.json.meta).toMatchObject({ resource: PROJECT, count: 1 })
    expect(await theAuditRecord()).toMatchObject({ reason: 'ok', recordCount: 1 })
  })

  it('a `one` resource with no record is still 404 record-not-found, not an empty array', async () => {
    const res = await h.query(
      PROJECT,
      { projectCode: drc.unknownProjectCode },
      { token: await asHousing(), matter: 'XK00105001', caseId: CASE },
    )
    await expectRefused(res, 404, 'record-not-found')
  })

  it('a write answers the provider’s receipt object, not records', async () => {
    const token = await h.token({ dept: 'housing', scope: `${MATTER}:${FEEDBACK}:write` })
    const res = await h.write(FEEDBACK, drc.permitFeedback, {
      token,
      matter: MATTER,
      caseId: CASE,
      idempotencyKey: 'hint-w-3',
    })
    expect(res.status, res.text).toBe(201)
    expect(Array.isArray(res.json.data)).toBe(false)
    expect(res.json.data).toMatchObject({ receiptId: expect.stringMatching(/\S/), acceptedAt: expect.any(String) })
    expect(res.json.meta).toMatchObject({ resource: FEEDBACK, idempotencyKey: 'hint-w-3' })
    expect(res.json.meta).not.toHaveProperty('count')
    expect(await theAuditRecord()).toMatchObject({ action: 'write', reason: 'ok', recordCount: 1 })
  })
})
