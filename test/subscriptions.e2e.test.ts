import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/gateway.js'
import type { TokenClaims } from './support/keys.js'
import { approveLiveGrant, revokeLiveGrant, WATER_PERMITS_FIELDS } from './support/live-grant.js'
import { until } from './support/until.js'

/**
 * Issue 18 (part 2b-2) on a real gateway (SQLite state, the outbox engine) and the 住建 工改 simulator: 发改 subscribes
 * to construction permits under its catalog grant, a permit issued at the simulator arrives in the pull API projected
 * and masked per the grant and audited like a read; filters keep other regions and keys out; replay goes on from any
 * cursor; a revoked live grant suspends its subscription at once.
 */

const PERMITS = 'housing.construction-permit'
const DRC_MATTER = 'QT00301001'
const WATER_MATTER = 'XK00377001'
/** What 发改's catalog grant releases (clear and masked). */
const DRC_FIELDS = [
  'permitNo',
  'projectCode',
  'subProjectCode',
  'projectName',
  'divisionCode',
  'constructionSite',
  'constructionScale',
  'ownerName',
  'ownerUscc',
  'contractorName',
  'contractorUscc',
  'contractPriceWanYuan',
  'totalFloorAreaM2',
  'plannedStartDate',
  'plannedCompletionDate',
  'issueDate',
  'issuingAuthority',
  'ownerLeadName',
  'ownerLeadIdNo',
  'ownerLeadPhone',
]

let h: Harness

const call: Harness['call'] = (...args) => h.call(...args)

const token = (claims: TokenClaims) => h.token(claims)
const drc = (scope = `${DRC_MATTER}:${PERMITS}:read`) => token({ dept: 'drc', sub: 'drc-officer-1', scope })
const water = () => token({ dept: 'water', sub: 'water-officer-2', scope: `${WATER_MATTER}:${PERMITS}:read` })

interface PulledEvent {
  id: string
  cursor: string
  publishedAt: string
  payload: { op: string; key: string; version: string; changedAt: string; record?: Record<string, unknown> }
}

async function subscribe(body: Record<string, unknown>, as?: string): Promise<string> {
  const res = await call('POST', '/v1/subscriptions', as ?? (await drc()), body)
  expect(res.json.errors ?? res.status).toBe(201)
  return (res.json.data as { id: string }).id
}

async function pull(id: string, query = '', as?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return call('GET', `/v1/subscriptions/${id}/events${query}`, as ?? (await drc()))
}

async function eventsOf(id: string, as?: string): Promise<PulledEvent[]> {
  const res = await pull(id, '', as)
  expect(res.json.code ?? res.status).toBe(200)
  return res.json.data as PulledEvent[]
}

/** Lets the poller read the feed a few more rounds (its interval is 50 ms here). */
const fewRounds = () => new Promise((r) => setTimeout(r, 600))

beforeAll(async () => {
  h = await startHarness({ env: { QIAO_SUBSCRIPTIONS_FEED_INTERVAL: '50ms' } })
}, 60_000)

afterAll(async () => {
  await h?.close()
})

describe('subscriptions: create, list, get, delete', () => {
  it('creates a pull subscription (201, Location), lists it for its department only, shows its status', async () => {
    const res = await call('POST', '/v1/subscriptions', await drc(), { matter: DRC_MATTER, resource: PERMITS })
    expect(res.status).toBe(201)
    const created = res.json.data as Record<string, unknown>
    expect(created).toMatchObject({
      consumer: 'drc',
      matter: DRC_MATTER,
      resource: PERMITS,
      grant: `catalog:${DRC_MATTER}:${PERMITS}:read:drc`,
      filter: {},
      delivery: { kind: 'pull' },
      state: 'active',
    })
    expect(created).not.toHaveProperty('secret')
    expect(res.headers.location).toBe(`/v1/subscriptions/${created.id}`)
    expect(res.headers['cache-control']).toBe('no-store')

    const listed = await call('GET', '/v1/subscriptions', await drc())
    expect((listed.json.data as { id: string }[]).map((s) => s.id)).toContain(created.id)
    const others = await call('GET', '/v1/subscriptions', await water())
    expect((others.json.data as { id: string }[]).map((s) => s.id)).not.toContain(created.id)

    const shown = await call('GET', `/v1/subscriptions/${created.id}`, await drc())
    expect(shown.status).toBe(200)
    expect(shown.json.data).toMatchObject({ id: created.id, state: 'active', deadLetters: 0 })
    // Another department's subscription is not there for it.
    expect((await call('GET', `/v1/subscriptions/${created.id}`, await water())).json.code).toBe(
      'subscription-not-found',
    )
  })

  it('shows a webhook subscription its signing secret once, never again', async () => {
    const res = await call('POST', '/v1/subscriptions', await drc(), {
      matter: DRC_MATTER,
      resource: PERMITS,
      delivery: { kind: 'webhook', url: 'https://drc.example.gov.cn/hooks/permits' },
    })
    expect(res.status).toBe(201)
    const created = res.json.data as { id: string; secret: string; delivery: unknown }
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(created.delivery).toEqual({ kind: 'webhook', url: 'https://drc.example.gov.cn/hooks/permits' })
    const shown = await call('GET', `/v1/subscriptions/${created.id}`, await drc())
    expect(JSON.stringify(shown.json)).not.toContain(created.secret)
    expect((await call('DELETE', `/v1/subscriptions/${created.id}`, await drc())).status).toBe(204)
  })

  it('deletes: 204, then 404 subscription-not-found, and its events are gone', async () => {
    const id = await subscribe({ matter: DRC_MATTER, resource: PERMITS })
    expect((await call('DELETE', `/v1/subscriptions/${id}`, await water())).json.code).toBe('subscription-not-found')
    expect((await call('DELETE', `/v1/subscriptions/${id}`, await drc())).status).toBe(204)
    const gone = await call('GET', `/v1/subscriptions/${id}`, await drc())
    expect(gone.status).toBe(404)
    expect(gone.json.code).toBe('subscription-not-found')
    expect((await pull(id)).json.code).toBe('subscription-not-found')
    expect((await call('DELETE', `/v1/subscriptions/${id}`, await drc())).status).toBe(404)
  })
})

describe('subscriptions: refusals, each a clear 4xx', () => {
  it('without the scope for <matter>:<resource>:read: 403 insufficient-scope naming it', async () => {
    const res = await call('POST', '/v1/subscriptions', await drc('QT00301001:housing.drawing-review:read'), {
      matter: DRC_MATTER,
      resource: PERMITS,
    })
    expect(res.status).toBe(403)
    expect(res.json).toMatchObject({ code: 'insufficient-scope', requiredScope: `${DRC_MATTER}:${PERMITS}:read` })
  })

  it('without a grant for the department, matter and resource: 403 grant-missing', async () => {
    const res = await call(
      'POST',
      '/v1/subscriptions',
      await token({ dept: 'natres', sub: 'n-1', scope: `${DRC_MATTER}:${PERMITS}:read` }),
      { matter: DRC_MATTER, resource: PERMITS },
    )
    expect(res.status).toBe(403)
    expect(res.json.code).toBe('grant-missing')
  })

  it('with an expired grant: 403 grant-expired', async () => {
    const res = await call('POST', '/v1/subscriptions', await water(), { matter: WATER_MATTER, resource: PERMITS })
    expect(res.status).toBe(403)
    expect(res.json.code).toBe('grant-expired')
  })

  it('for a resource without a change feed: 422 resource-has-no-change-feed', async () => {
    const res = await call('POST', '/v1/subscriptions', await drc('QT00301001:housing.drawing-review:read'), {
      matter: DRC_MATTER,
      resource: 'housing.drawing-review',
    })
    expect(res.status).toBe(422)
    expect(res.json.code).toBe('resource-has-no-change-feed')
  })

  it('for an unknown resource: 404 resource-not-found', async () => {
    const res = await call('POST', '/v1/subscriptions', await drc(), { matter: DRC_MATTER, resource: 'housing.nope' })
    expect(res.status).toBe(404)
    expect(res.json.code).toBe('resource-not-found')
  })

  it('with a bad filter or delivery: 422 subscription-invalid naming every problem by pointer', async () => {
    const res = await call('POST', '/v1/subscriptions', await drc(), {
      matter: DRC_MATTER,
      resource: PERMITS,
      filter: { regions: ['32O1'], keys: Array.from({ length: 1_001 }, (_, i) => `K${i}`), colour: 'red' },
      delivery: { kind: 'webhook', url: 'http://drc.example.gov.cn/hook' },
      extra: true,
    })
    expect(res.status).toBe(422)
    expect(res.json.code).toBe('subscription-invalid')
    expect((res.json.errors as { pointer: string }[]).map((e) => e.pointer).sort()).toEqual(
      ['/delivery/url', '/extra', '/filter/colour', '/filter/keys', '/filter/regions/0'].sort(),
    )
    const empty = await call('POST', '/v1/subscriptions', await drc(), {
      matter: DRC_MATTER,
      resource: PERMITS,
      filter: { keys: [] },
    })
    expect(empty.json).toMatchObject({ code: 'subscription-invalid', errors: [{ pointer: '/filter/keys' }] })
    const notJson = await call('POST', '/v1/subscriptions', await drc(), '{', { 'content-type': 'application/json' })
    expect(notJson.status).toBe(400)
  })

  it('without a token: 401', async () => {
    const res = await request(`${h.gateway.url}/v1/subscriptions`)
    expect(res.statusCode).toBe(401)
    await res.body.dump()
  })
})

describe('subscriptions: changes arrive projected, masked, audited and filtered', () => {
  let all: string
  let otherRegion: string
  let sameProject: string
  let otherKey: string
  let firstCursor: string

  it('a permit issued at the simulator arrives in the pull API as the grant releases it, with an audit record', async () => {
    all = await subscribe({ matter: DRC_MATTER, resource: PERMITS })
    otherRegion = await subscribe({ matter: DRC_MATTER, resource: PERMITS, filter: { regions: ['4401'] } })
    const template = h.sim.data.permits.find((p) => p.SJYXBS !== '0')
    sameProject = await subscribe({
      matter: DRC_MATTER,
      resource: PERMITS,
      filter: { keys: [template?.XMDM as string] },
    })
    otherKey = await subscribe({
      matter: DRC_MATTER,
      resource: PERMITS,
      filter: { keys: ['9999-000000-00-00-000000'] },
    })
    // The feed's history before the subscriptions is not theirs: nothing arrives until a permit is issued.
    await fewRounds()
    expect(await eventsOf(all)).toEqual([])

    const issued = h.sim.issuePermit()
    const [event] = await until('the permit arrives', async () => {
      const events = await eventsOf(all)
      return events.length > 0 ? events : undefined
    })
    expect(event).toMatchObject({
      id: `${PERMITS}/${issued.SGXKZBH}/${issued.LSH}`,
      payload: { op: 'upsert', key: issued.SGXKZBH, version: issued.LSH },
    })
    expect(event?.cursor).toMatch(/^\d{16}$/)
    const record = event?.payload.record as Record<string, unknown>
    expect(record.permitNo).toBe(issued.SGXKZBH)
    // Masked per the grant, and nothing it does not release (planningPermitNo, drawingReviewCertNo).
    expect(String(record.ownerLeadName)).toContain('*')
    expect(String(record.ownerLeadIdNo)).toContain('*')
    expect(record).not.toHaveProperty('planningPermitNo')
    expect(record).not.toHaveProperty('drawingReviewCertNo')
    expect(Object.keys(record).every((k) => DRC_FIELDS.includes(k))).toBe(true)

    const audited = (await h.auditRecords()).filter((r) => r.case === `subscription:${all}`)
    expect(audited).toHaveLength(1)
    expect(audited[0]).toMatchObject({
      action: 'read',
      decision: 'allow',
      matter: DRC_MATTER,
      resource: PERMITS,
      provider: 'housing',
      requester: { dept: 'drc' },
      reason: 'ok',
      recordCount: 1,
      masked: ['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone'],
    })
    // Digests only: neither the record's values nor the key are in the audit log.
    expect(JSON.stringify(audited[0])).not.toContain(String(record.ownerName))
    const status = await call('GET', `/v1/subscriptions/${all}`, await drc())
    expect(status.json.data).toMatchObject({ lastEvent: { id: event?.id } })
    firstCursor = event?.cursor as string
  })

  it('the filter keeps other regions and keys out, and lets its project in', async () => {
    await until('the project filter has it', async () => ((await eventsOf(sameProject)).length > 0 ? true : undefined))
    await fewRounds()
    expect(await eventsOf(otherRegion)).toEqual([])
    expect(await eventsOf(otherKey)).toEqual([])
    const audited = (await h.auditRecords()).map((r) => r.case)
    expect(audited).not.toContain(`subscription:${otherRegion}`)
    expect(audited).not.toContain(`subscription:${otherKey}`)
  })

  it('replays from an old cursor, pages with limit and next', async () => {
    const second = h.sim.issuePermit()
    await until('the second permit arrives', async () => ((await eventsOf(all)).length >= 2 ? true : undefined))
    const replayed = await pull(all, `?after=${firstCursor}`)
    expect((replayed.json.data as PulledEvent[]).map((e) => e.payload.key)).toEqual([second.SGXKZBH])
    const page = await pull(all, '?limit=1')
    expect((page.json.data as PulledEvent[]).map((e) => e.cursor)).toEqual([firstCursor])
    expect(page.json.meta).toEqual({ count: 1, next: firstCursor })
    const bad = await pull(all, '?after=abc&limit=0')
    expect(bad.status).toBe(400)
    expect(bad.json.code).toBe('query-invalid')
    expect((await pull(all, `?after=${'9'.repeat(17)}`)).status).toBe(400)
  })
})

describe('subscriptions: a revoked grant suspends at once', () => {
  it('pull answers subscription-suspended and nothing more is published', async () => {
    const grant = await approveLiveGrant(call, token)

    const id = await subscribe({ matter: WATER_MATTER, resource: PERMITS }, await water())
    const issued = h.sim.issuePermit()
    const [event] = await until('the permit arrives for 水务', async () => {
      const events = await eventsOf(id, await water())
      return events.length > 0 ? events : undefined
    })
    expect(Object.keys(event?.payload.record ?? {}).sort()).toEqual(WATER_PERMITS_FIELDS)
    expect(event?.payload.key).toBe(issued.SGXKZBH)

    await revokeLiveGrant(call, grant, '排水许可审批已办结，停止使用')
    // At once: the very next pull, no poll round in between.
    const refused = await pull(id, '', await water())
    expect(refused.status).toBe(409)
    expect(refused.json).toMatchObject({ code: 'subscription-suspended', reason: 'grant-revoked' })
    const shown = await call('GET', `/v1/subscriptions/${id}`, await water())
    expect(shown.json.data).toMatchObject({ state: 'suspended', suspendedReason: 'grant-revoked' })

    const before = (await h.auditRecords()).filter((r) => r.case === `subscription:${id}`).length
    const later = h.sim.issuePermit()
    const drcAll = await subscribe({ matter: DRC_MATTER, resource: PERMITS })
    const again = h.sim.issuePermit()
    await until('the next permit reaches 发改', async () =>
      (await eventsOf(drcAll)).some((e) => e.payload.key === again.SGXKZBH) ? true : undefined,
    )
    expect(later.SGXKZBH).not.toBe(again.SGXKZBH)
    expect((await h.auditRecords()).filter((r) => r.case === `subscription:${id}`)).toHaveLength(before)
    const after = await call('GET', `/v1/subscriptions/${id}`, await water())
    expect(after.json.data).toMatchObject({ state: 'suspended', lastEvent: { id: event?.id } })
  })
})
