import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestKey, signToken, TEST_AUDIENCE, TEST_ISSUER, type TestKey } from '../../test/support/keys.js'
import { createApp } from '../app.js'
import { createKeyResolver } from '../auth/keys.js'
import { createTokenVerifier } from '../auth/verify-token.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import type { Application, LiveGrant, SharingEvent } from '../sharing/model.js'
import type { Actor, GrantView, SharingWorkflow } from '../sharing/service.js'
import { createLogger } from '../telemetry/logger.js'
import { SHARING_BODY_LIMIT } from './sharing-http.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')
const APP_ID = '01937a5e-8c00-7000-8000-000000000001'
const GRANT_ID = '01937a5e-8c00-7000-8000-0000000000a1'
const CATALOG_GRANT = 'catalog:QT00301001:housing.construction-permit:read:market'

const application: Application = {
  id: APP_ID,
  version: 3,
  state: 'conformity-check',
  request: {
    resource: 'housing.construction-permit',
    matter: 'QT00301001',
    mode: 'query',
    usage: '业务协同',
    fields: ['permitNo', 'projectName'],
    masked: [],
    legalBasis: '《建筑法》第七条',
    scene: '开办餐饮店一件事',
    scopeOfUse: '本部门审批业务',
    validTo: '2027-12-31',
    contact: { name: '王敏', phone: '025-00000000' },
  },
  action: 'read',
  consumer: 'market',
  provider: 'housing',
  sharingType: 'conditional',
  applicant: 'officer-7',
  submittedAt: '2026-11-26T02:00:00.000Z',
  updatedAt: '2026-11-26T02:00:00.000Z',
  notices: [],
}

const grant: LiveGrant = {
  id: GRANT_ID,
  version: 2,
  state: 'active',
  applicationId: APP_ID,
  matter: 'QT00301001',
  consumer: 'market',
  provider: 'housing',
  resource: 'housing.construction-permit',
  action: 'read',
  usage: '业务协同',
  fields: ['permitNo'],
  masked: [],
  validFrom: '2026-11-27',
  validTo: '2027-12-31',
  approvedBy: 'housing/reviewer-2',
  approvedAt: '2026-11-27T01:00:00.000Z',
  reminders: {},
}

const catalogGrant: GrantView = {
  source: 'catalog',
  id: CATALOG_GRANT,
  version: 0,
  state: 'active',
  matter: 'QT00301001',
  consumer: 'market',
  resource: 'housing.construction-permit',
  action: 'read',
  usage: '业务协同',
  fields: ['permitNo'],
  masked: [],
}

const event: SharingEvent = {
  applicationId: APP_ID,
  seq: 1,
  at: '2026-11-26T02:00:00.000Z',
  actor: 'market/officer-7',
  transition: 'apply',
  from: null,
  to: 'conformity-check',
  details: {},
}

interface Call {
  readonly method: keyof SharingWorkflow
  readonly actor?: Actor
  readonly args: readonly unknown[]
}

/** Records every call and answers with fixed objects; `fail` makes the next call throw. */
function fakeWorkflow() {
  const calls: Call[] = []
  const state: { fail?: GatewayError; next?: string } = {}
  const record = <T>(method: keyof SharingWorkflow, actor: Actor | undefined, args: unknown[], value: T): T => {
    calls.push({ method, actor, args })
    const failure = state.fail
    state.fail = undefined
    if (failure) throw failure
    return value
  }
  const page = <T>(items: T[]) => (state.next === undefined ? { items } : { items, next: state.next })
  const workflow: SharingWorkflow = {
    apply: async (actor, body) => record('apply', actor, [body], application),
    conformity: async (actor, ...args) => record('conformity', actor, args, { ...application, version: 4 }),
    review: async (actor, ...args) => record('review', actor, args, { ...application, version: 4 }),
    resubmit: async (actor, ...args) => record('resubmit', actor, args, { ...application, version: 4 }),
    withdraw: async (actor, ...args) => record('withdraw', actor, args, { ...application, version: 4 }),
    getApplication: async (actor, id) => record('getApplication', actor, [id], application),
    listApplications: async (actor, query) => record('listApplications', actor, [query], page([application])),
    history: async (actor, id) => record('history', actor, [id], [event]),
    revokeGrant: async (actor, ...args) => record('revokeGrant', actor, args, { ...grant, version: 3 }),
    renewGrant: async (actor, ...args) => record('renewGrant', actor, args, { ...application, renewalOf: GRANT_ID }),
    getGrant: async (actor, id) =>
      record('getGrant', actor, [id], id === CATALOG_GRANT ? catalogGrant : { ...grant, source: 'application' }),
    listGrants: async (actor, query) => record('listGrants', actor, [query], page([catalogGrant])),
    escalate: async (id) => record('escalate', undefined, [id], true),
  }
  return { workflow, calls, state }
}

let key: TestKey
let token: string
let app: Hono
let fake: ReturnType<typeof fakeWorkflow>

beforeAll(async () => {
  key = await createTestKey('EdDSA', 'ed-1')
  token = await signToken(key, { dept: 'market', sub: 'officer-7', scope: 'sharing:apply' }, { now: NOW })
})

beforeEach(() => {
  fake = fakeWorkflow()
  const verifier = createTokenVerifier({
    keys: createKeyResolver({ kind: 'local', jwks: { keys: [key.publicJwk] } }),
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    algorithms: ['EdDSA'],
    clockToleranceMs: 30_000,
    cacheMax: 0,
    cacheTtlMs: 0,
    maxLifetimeMs: 86_400_000,
    clock: { now: () => NOW },
  })
  // createApp touches only these at construction and on the sharing routes; the rest belongs to other routes.
  const deps = {
    config: { demoMode: false },
    clock: { now: () => NOW },
    log: createLogger('silent'),
    verifier,
    sharing: fake.workflow,
    lifecycle: { track: () => () => {} },
  } as unknown as GatewayDeps
  app = createApp(deps)
})

interface Sent {
  readonly method?: string
  readonly body?: string
  readonly headers?: Record<string, string>
  readonly auth?: boolean
}

async function send(path: string, sent: Sent = {}) {
  const headers: Record<string, string> = { ...sent.headers }
  if (sent.auth !== false) headers.authorization = `Bearer ${token}`
  if (sent.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  const res = await app.request(path, {
    method: sent.method ?? (sent.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(sent.body === undefined ? {} : { body: sent.body }),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }
}

const post = (path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  send(path, { body: JSON.stringify(body), headers })

const ROUTES: readonly [string, string][] = [
  ['POST', '/v1/applications'],
  ['GET', '/v1/applications'],
  ['GET', `/v1/applications/${APP_ID}`],
  ['GET', `/v1/applications/${APP_ID}/history`],
  ['POST', `/v1/applications/${APP_ID}/conformity`],
  ['POST', `/v1/applications/${APP_ID}/review`],
  ['POST', `/v1/applications/${APP_ID}/resubmit`],
  ['POST', `/v1/applications/${APP_ID}/withdraw`],
  ['GET', '/v1/grants'],
  ['GET', `/v1/grants/${GRANT_ID}`],
  ['POST', `/v1/grants/${GRANT_ID}/revoke`],
  ['POST', `/v1/grants/${GRANT_ID}/renew`],
]

describe('/v1/applications and /v1/grants', () => {
  it('every route needs a token: 401 problem, no-store, the workflow never reached', async () => {
    for (const [method, path] of ROUTES) {
      const res = await send(path, { method, auth: false, ...(method === 'POST' ? { body: '{}' } : {}) })
      expect(res.status, `${method} ${path}`).toBe(401)
      expect(res.body.code).toBe('token-missing')
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
    expect(fake.calls).toEqual([])
  })

  it('apply: 201 with Location, ETag and { data }; the body and the actor reach the workflow', async () => {
    const body = { resource: 'housing.construction-permit', matter: 'QT00301001' }
    const res = await post('/v1/applications', body, { 'x-request-id': 'req-apply-1' })
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/v1/applications/${APP_ID}`)
    expect(res.headers.get('etag')).toBe(`"${APP_ID}.3"`)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-request-id')).toBe('req-apply-1')
    expect(res.body).toEqual({ data: application })
    expect(fake.calls).toHaveLength(1)
    const [call] = fake.calls
    expect(call?.method).toBe('apply')
    expect(call?.args).toEqual([body])
    expect(call?.actor?.requestId).toBe('req-apply-1')
    expect(call?.actor?.principal).toMatchObject({ dept: 'market', sub: 'officer-7' })
  })

  it('a request without x-request-id: the actor carries the very id the answer names, problems included', async () => {
    const ok = await post('/v1/applications')
    const id = ok.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(fake.calls[0]?.actor?.requestId).toBe(id)

    fake.state.fail = new GatewayError('sharing-not-permitted')
    const refused = await post('/v1/applications')
    expect(refused.status).toBe(403)
    expect(refused.body.requestId).toBe(refused.headers.get('x-request-id'))
    expect(fake.calls[1]?.actor?.requestId).toBe(refused.body.requestId)
  })

  it('reads: one application with its ETag, its history', async () => {
    const one = await send(`/v1/applications/${APP_ID}`)
    expect(one.status).toBe(200)
    expect(one.headers.get('etag')).toBe(`"${APP_ID}.3"`)
    expect(one.body).toEqual({ data: application })
    const history = await send(`/v1/applications/${APP_ID}/history`)
    expect(history.body).toEqual({ data: [event] })
    expect(history.headers.get('cache-control')).toBe('no-store')
    expect(fake.calls.map((c) => [c.method, c.args])).toEqual([
      ['getApplication', [APP_ID]],
      ['history', [APP_ID]],
    ])
  })

  it('each step passes If-Match through verbatim (absent stays absent) and answers the new ETag', async () => {
    const ifMatches = [`"${APP_ID}.3"`, ` W/"${APP_ID}.3" `, '*', undefined]
    for (const step of ['conformity', 'review', 'resubmit', 'withdraw'] as const) {
      for (const ifMatch of ifMatches) {
        const res = await post(
          `/v1/applications/${APP_ID}/${step}`,
          { decision: 'pass' },
          ifMatch === undefined ? {} : { 'if-match': ifMatch },
        )
        expect(res.status).toBe(200)
        expect(res.headers.get('etag')).toBe(`"${APP_ID}.4"`)
        expect(res.body.data).toMatchObject({ id: APP_ID, version: 4 })
      }
    }
    expect(fake.calls).toHaveLength(16)
    expect(fake.calls.map((c) => c.method)).toEqual(
      ['conformity', 'review', 'resubmit', 'withdraw'].flatMap((m) => [m, m, m, m]),
    )
    // Hono trims header values as the Fetch standard does; everything else arrives as sent.
    const expected = [`"${APP_ID}.3"`, `W/"${APP_ID}.3"`, '*', undefined]
    for (const [i, call] of fake.calls.entries()) {
      expect(call.args).toEqual([APP_ID, expected[i % 4], { decision: 'pass' }])
    }
  })

  it('428 and 412 from the workflow are rendered as problems', async () => {
    fake.state.fail = new GatewayError('precondition-required', { detail: 'send If-Match' })
    const required = await post(`/v1/applications/${APP_ID}/review`, { decision: 'approve' })
    expect(required.status).toBe(428)
    expect(required.body).toMatchObject({ code: 'precondition-required', detail: 'send If-Match', status: 428 })
    expect(required.headers.get('content-type')).toBe('application/problem+json')
    expect(required.headers.get('cache-control')).toBe('no-store')

    fake.state.fail = new GatewayError('precondition-failed')
    const stale = await post(`/v1/grants/${GRANT_ID}/revoke`, { reason: '停止合作' }, { 'if-match': `"${GRANT_ID}.1"` })
    expect(stale.status).toBe(412)
    expect(stale.body.code).toBe('precondition-failed')
    expect(stale.headers.get('etag')).toBeNull()
  })

  it('problems keep the workflow’s errors list (422 application-invalid by JSON pointer)', async () => {
    const errors = [{ pointer: '/legalBasis', message: '必填' }]
    fake.state.fail = new GatewayError('application-invalid', { detail: '1 problem', extensions: { errors } })
    const res = await post('/v1/applications', {})
    expect(res.status).toBe(422)
    expect(res.body).toMatchObject({ code: 'application-invalid', errors })
  })

  it('listing: filters reach the workflow checked and typed; limit defaults to 50', async () => {
    await send('/v1/applications')
    await send('/v1/applications?state=provider-review&consumer=market&provider=housing&overdue=true&limit=200')
    await send('/v1/applications?resource=housing.construction-permit&overdue=false&limit=1&state=')
    expect(fake.calls.map((c) => c.args[0])).toEqual([
      { limit: 50 },
      { state: 'provider-review', consumer: 'market', provider: 'housing', overdue: true, limit: 200 },
      { resource: 'housing.construction-permit', overdue: false, limit: 1 },
    ])
    await send('/v1/grants?state=revoked&source=catalog&matter=QT00301001&expiringWithin=30&resource=housing.x')
    expect(fake.calls.at(-1)?.args[0]).toEqual({
      state: 'revoked',
      source: 'catalog',
      matter: 'QT00301001',
      resource: 'housing.x',
      expiringWithinDays: 30,
      limit: 50,
    })
  })

  it('query-invalid names every unknown, repeated and malformed parameter at once; the store is not asked', async () => {
    const res = await send(
      '/v1/applications?state=pending&limit=0&overdue=yes&colour=red&consumer=Market&consumer=x&cursor=%2F%2F',
    )
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('query-invalid')
    const errors = res.body.errors as string[]
    expect(errors).toEqual([
      '"colour": unknown parameter (allowed: state, consumer, provider, resource, overdue, limit, cursor)',
      '"consumer": given more than once',
      'state: expected conformity-check, awaiting-applicant, provider-review, approved, refused, withdrawn',
      'consumer: expected a department code',
      'overdue: expected true, false',
      'limit: expected an integer 1–200',
      'cursor: expected a cursor this API returned',
    ])
    expect(res.body.detail).toBe(errors.join('; '))

    const grants = await send('/v1/grants?expiringWithin=3651&source=yaml&limit=201&provider=1x')
    expect(grants.body.errors).toEqual([
      'source: expected application, catalog',
      'provider: expected a department code',
      'expiringWithin: expected an integer 1–3650',
      'limit: expected an integer 1–200',
    ])
    const stray = await send(`/v1/applications/${APP_ID}?verbose=1`)
    expect(stray.body.code).toBe('query-invalid')
    expect(fake.calls).toEqual([])
  })

  it('paging: meta.next and a Link to the same query with the cursor replaced; none on the last page', async () => {
    fake.state.next = 'MTc2NDEyMjQwMDAwMC5h'
    const first = await send('/v1/applications?state=approved&limit=1&cursor=b2xk')
    expect(first.body.meta).toEqual({ count: 1, next: 'MTc2NDEyMjQwMDAwMC5h' })
    expect(first.headers.get('link')).toBe(
      '</v1/applications?state=approved&limit=1&cursor=MTc2NDEyMjQwMDAwMC5h>; rel="next"',
    )
    expect(fake.calls[0]?.args[0]).toMatchObject({ cursor: 'b2xk' })
    const grants = await send('/v1/grants')
    expect(grants.headers.get('link')).toBe('</v1/grants?cursor=MTc2NDEyMjQwMDAwMC5h>; rel="next"')
    expect(grants.body.data).toEqual([catalogGrant])

    fake.state.next = undefined
    const last = await send('/v1/applications?state=approved')
    expect(last.body).toEqual({ data: [application], meta: { count: 1 } })
    expect(last.headers.get('link')).toBeNull()
  })

  it('bodies: 415 unless JSON, 413 beyond 64 KiB (declared or not), 400 when not a JSON object', async () => {
    const path = `/v1/applications/${APP_ID}/review`
    const text = await send(path, { body: 'decision=pass', headers: { 'content-type': 'text/plain' } })
    expect(text.status).toBe(415)
    expect(text.body.code).toBe('unsupported-media-type')
    const form = await send(path, {
      body: 'a=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.status).toBe(415)
    const none = await send(path, { method: 'POST' })
    expect(none.status).toBe(415)

    const big = JSON.stringify({ reason: 'x'.repeat(SHARING_BODY_LIMIT) })
    expect((await send('/v1/applications', { body: big })).status).toBe(413)
    const declared = await send('/v1/applications', {
      body: big,
      headers: { 'content-length': String(Buffer.byteLength(big)) },
    })
    expect(declared.status).toBe(413)
    expect(declared.body.code).toBe('body-too-large')
    const justUnder = JSON.stringify({ r: 'x'.repeat(SHARING_BODY_LIMIT - 10) })
    expect((await send('/v1/applications', { body: justUnder })).status).toBe(201)

    for (const body of ['{"decision":', '[]', '"pass"', 'null']) {
      const bad = await send(path, { body })
      expect(bad.status, body).toBe(400)
      expect(bad.body.code).toBe('body-malformed')
    }
    const charset = await send(path, { body: '{}', headers: { 'content-type': 'application/json; charset=utf-8' } })
    expect(charset.status).toBe(200)
    expect(fake.calls.map((c) => c.method)).toEqual(['apply', 'review'])
  })

  it('path ids are checked by shape: anything else is 404 without asking the workflow', async () => {
    for (const path of [
      '/v1/applications/not-a-uuid',
      `/v1/applications/${APP_ID}x/history`,
      '/v1/applications/..%2F..%2Fetc/withdraw',
    ]) {
      const res = await send(path, path.endsWith('withdraw') ? { body: '{}' } : {})
      expect(res.status, path).toBe(404)
      expect(res.body.code).toBe('application-not-found')
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
    for (const path of [
      '/v1/grants/catalog:QT1:housing.permit:delete:market',
      '/v1/grants/catalog:QT1:housing.permit:read',
      '/v1/grants/catalog%3AQT1%3Ahousing.permit%3Aread%3AMarket',
      '/v1/grants/%E0%A4%A',
    ]) {
      const res = await send(path)
      expect(res.status, path).toBe(404)
      expect(res.body.code).toBe('grant-not-found')
    }
    expect(fake.calls).toEqual([])
  })

  it('grants: catalog ids with `:` work sent plain or percent-encoded; live grants have an ETag', async () => {
    const plain = await send(`/v1/grants/${CATALOG_GRANT}`)
    expect(plain.status).toBe(200)
    expect(plain.body).toEqual({ data: catalogGrant })
    expect(plain.headers.get('etag')).toBeNull()
    const encoded = await send(`/v1/grants/${encodeURIComponent(CATALOG_GRANT)}`)
    expect(encoded.status).toBe(200)
    await post(`/v1/grants/${encodeURIComponent(CATALOG_GRANT)}/revoke`, { reason: 'x' }, { 'if-match': '"a.1"' })

    const live = await send(`/v1/grants/${GRANT_ID}`)
    expect(live.headers.get('etag')).toBe(`"${GRANT_ID}.2"`)
    expect(live.body.data).toMatchObject({ id: GRANT_ID, source: 'application' })

    const revoked = await post(
      `/v1/grants/${GRANT_ID}/revoke`,
      { reason: '停止合作' },
      { 'if-match': `"${GRANT_ID}.2"` },
    )
    expect(revoked.status).toBe(200)
    expect(revoked.headers.get('etag')).toBe(`"${GRANT_ID}.3"`)
    expect(revoked.body.data).toMatchObject({ id: GRANT_ID, version: 3, source: 'application' })

    const renewed = await post(`/v1/grants/${GRANT_ID}/renew`, { validTo: '2028-12-31' })
    expect(renewed.status).toBe(201)
    expect(renewed.headers.get('location')).toBe(`/v1/applications/${APP_ID}`)
    expect(renewed.headers.get('etag')).toBe(`"${APP_ID}.3"`)

    expect(fake.calls.map((c) => [c.method, c.args])).toEqual([
      ['getGrant', [CATALOG_GRANT]],
      ['getGrant', [CATALOG_GRANT]],
      ['revokeGrant', [CATALOG_GRANT, '"a.1"', { reason: 'x' }]],
      ['getGrant', [GRANT_ID]],
      ['revokeGrant', [GRANT_ID, `"${GRANT_ID}.2"`, { reason: '停止合作' }]],
      ['renewGrant', [GRANT_ID, { validTo: '2028-12-31' }]],
    ])
  })

  it('behind the Node server the request stream itself is read, with the same answers', async () => {
    const server = createAdaptorServer({ fetch: app.fetch, hostname: '127.0.0.1' }) as Server
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
      const created = await fetch(`${base}/v1/applications`, { method: 'POST', headers, body: '{"matter":"QT1"}' })
      expect(created.status).toBe(201)
      expect(created.headers.get('location')).toBe(`/v1/applications/${APP_ID}`)
      const malformed = await fetch(`${base}/v1/applications`, { method: 'POST', headers, body: '{"matter":' })
      expect(malformed.status).toBe(400)
      expect(((await malformed.json()) as { code: string }).code).toBe('body-malformed')
      expect(fake.calls.map((c) => [c.method, c.args])).toEqual([['apply', [{ matter: 'QT1' }]]])
    } finally {
      await new Promise((closed) => server.close(closed))
    }
  })
})
