import { expect } from 'vitest'
import type { Harness } from './gateway.js'
import type { TokenClaims } from './keys.js'

/** 水务's application for 住建's construction permits under 排水许可 (XK00377001), as the demo catalog allows it. */
export const WATER_PERMITS_APPLICATION = {
  resource: 'housing.construction-permit',
  matter: 'XK00377001',
  mode: 'query',
  usage: '行政依据',
  fields: ['permitNo', 'projectCode', 'projectName', 'ownerLeadName'],
  masked: ['ownerLeadPhone'],
  legalBasis: '《城镇排水与污水处理条例》第二十一条',
  scene: '建设项目开工"一件事"',
  scopeOfUse: '排水许可审批中核对施工许可信息',
  validTo: '2027-11-30',
  contact: { name: '李工', phone: '025-83330000' },
} as const

/** What the live grant of WATER_PERMITS_APPLICATION releases, clear and masked. */
export const WATER_PERMITS_FIELDS = ['ownerLeadName', 'ownerLeadPhone', 'permitNo', 'projectCode', 'projectName']

export interface LiveGrant {
  readonly grantId: string
  /** The reviewer's token (住建), who may revoke it. */
  readonly reviewer: string
}

/**
 * A live grant the way departments get one: 水务 applies, the data authority passes the conformity check, 住建
 * approves (each step with the previous answer's ETag). Answers the grant's id and the reviewer's token.
 */
export async function approveLiveGrant(
  call: Harness['call'],
  token: (claims: TokenClaims) => Promise<string>,
): Promise<LiveGrant> {
  const applicant = await token({ dept: 'water', sub: 'water-officer-1', scope: 'sharing:apply' })
  const authority = await token({ dept: 'data', sub: 'data-officer-1', scope: 'sharing:admin' })
  const reviewer = await token({ dept: 'housing', sub: 'housing-reviewer-1', scope: 'sharing:review' })
  const applied = await call('POST', '/v1/applications', applicant, WATER_PERMITS_APPLICATION)
  expect(applied.json.errors ?? applied.status).toBe(201)
  const appId = (applied.json.data as { id: string }).id
  const checked = await call(
    'POST',
    `/v1/applications/${appId}/conformity`,
    authority,
    { decision: 'pass' },
    { 'if-match': applied.headers.etag as string },
  )
  expect(checked.status).toBe(200)
  const approved = await call(
    'POST',
    `/v1/applications/${appId}/review`,
    reviewer,
    { decision: 'approve' },
    { 'if-match': checked.headers.etag as string },
  )
  expect(approved.json.errors ?? approved.status).toBe(200)
  const { grantId } = (approved.json.data as { decision: { grantId: string } }).decision
  return { grantId, reviewer }
}

/** Revokes a live grant (GET for its ETag, then POST revoke); expects 200. */
export async function revokeLiveGrant(call: Harness['call'], grant: LiveGrant, reason: string): Promise<void> {
  const shown = await call('GET', `/v1/grants/${grant.grantId}`, grant.reviewer)
  const revoked = await call(
    'POST',
    `/v1/grants/${grant.grantId}/revoke`,
    grant.reviewer,
    { reason },
    { 'if-match': shown.headers.etag as string },
  )
  expect(revoked.status).toBe(200)
}
