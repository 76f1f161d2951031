import { Hono } from 'hono'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createTestKey,
  signToken,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestKey,
  tamperPayload,
} from '../../test/support/keys.js'
import { createKeyResolver } from '../auth/keys.js'
import type { Principal } from '../auth/principal.js'
import { createTokenVerifier, type TokenVerifier } from '../auth/verify-token.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import { renderProblem } from '../errors/problem.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')
const SCOPE = 'audit:read'
let key: TestKey
let verifier: TokenVerifier

beforeAll(async () => {
  key = await createTestKey('EdDSA', 'ed-1')
  verifier = createTokenVerifier({
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
})

interface Refusal {
  readonly code: string
  readonly principal: Principal | undefined
}

/** A route behind the guard, with problems rendered the way the gateway's app.onError renders them. */
function appWith(scope: string | undefined, options: { detail?: string; onRefused?: () => Promise<void> } = {}) {
  const refusals: Refusal[] = []
  const reached: Principal[] = []
  const app = new Hono<AuthenticatedEnv>()
  app.get(
    '/guarded',
    requireScope(scope, {
      verifier,
      insufficientScopeDetail: options.detail,
      onRefused: async (_c, error, principal) => {
        refusals.push({ code: error.code, principal })
        await options.onRefused?.()
      },
    }),
    (c) => {
      reached.push(c.get('principal'))
      return c.json({ dept: c.get('principal').dept })
    },
  )
  app.onError((err, c) => {
    const problem = renderProblem(toGatewayError(err), 'req-1')
    return c.body(problem.body, problem.status as 401, problem.headers)
  })
  const get = async (authorization?: string) => {
    const res = await app.request('/guarded', authorization === undefined ? {} : { headers: { authorization } })
    const body = (await res.json()) as Record<string, unknown>
    return { status: res.status, challenge: res.headers.get('www-authenticate'), body }
  }
  return { get, refusals, reached }
}

const bearer = async (scope?: string) =>
  `Bearer ${await signToken(key, { dept: 'drc', sub: 'auditor-7', ...(scope === undefined ? {} : { scope }) }, { now: NOW })}`

describe('requireScope', () => {
  it('no token: 401 token-missing with a bare challenge; the route is not reached and the refusal is reported', async () => {
    const { get, refusals, reached } = appWith(SCOPE)
    const res = await get()
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('token-missing')
    expect(res.challenge).toBe('Bearer realm="qiao"')
    expect(refusals).toEqual([{ code: 'token-missing', principal: undefined }])
    expect(reached).toEqual([])
  })

  it('a bad token: 401 token-invalid with error="invalid_token", whether not Bearer or not verifying', async () => {
    const { get, refusals, reached } = appWith(SCOPE)
    const forged = tamperPayload((await bearer(SCOPE)).slice('Bearer '.length), (claims) => {
      claims.dept = 'mps'
    })
    for (const authorization of ['Basic dXNlcjpwYXNz', `Bearer ${forged}`]) {
      const res = await get(authorization)
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('token-invalid')
      expect(res.challenge).toBe('Bearer realm="qiao", error="invalid_token"')
    }
    expect(refusals).toEqual([
      { code: 'token-invalid', principal: undefined },
      { code: 'token-invalid', principal: undefined },
    ])
    expect(reached).toEqual([])
  })

  it('a valid token without the scope: 403 insufficient-scope naming the scope; the hook gets the principal', async () => {
    const { get, refusals, reached } = appWith(SCOPE, { detail: 'the audit API needs a token with scope audit:read' })
    const res = await get(await bearer('QT00301001:housing.construction-permit:read'))
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({
      code: 'insufficient-scope',
      detail: 'the audit API needs a token with scope audit:read',
      requiredScope: SCOPE,
    })
    expect(res.challenge).toBe('Bearer realm="qiao", error="insufficient_scope", scope="audit:read"')
    expect(refusals).toHaveLength(1)
    expect(refusals[0]?.code).toBe('insufficient-scope')
    expect(refusals[0]?.principal).toMatchObject({ dept: 'drc', sub: 'auditor-7' })
    expect(reached).toEqual([])
  })

  it('without a detail of its own, the 403 says which scope the call needs', async () => {
    const { get } = appWith(SCOPE)
    const res = await get(await bearer())
    expect(res.body).toMatchObject({
      code: 'insufficient-scope',
      detail: 'this call needs a token with scope audit:read',
    })
  })

  it('a token with the scope reaches the route with its principal on the context; nothing is refused', async () => {
    const { get, refusals, reached } = appWith(SCOPE)
    const res = await get(await bearer(`other:scope ${SCOPE}`))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ dept: 'drc' })
    expect(reached).toHaveLength(1)
    expect(reached[0]).toMatchObject({ dept: 'drc', sub: 'auditor-7' })
    expect([...(reached[0]?.scopes ?? [])]).toEqual(['other:scope', SCOPE])
    expect(refusals).toEqual([])
  })

  it('no scope required: any valid token will do, a token without scopes included; no token is still refused', async () => {
    const { get, refusals, reached } = appWith(undefined)
    for (const scope of [undefined, 'QT00301001:housing.construction-permit:read']) {
      const res = await get(await bearer(scope))
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ dept: 'drc' })
    }
    expect(reached).toHaveLength(2)
    expect((await get()).body.code).toBe('token-missing')
    expect(refusals).toEqual([{ code: 'token-missing', principal: undefined }])
  })

  it('what the hook throws replaces the refusal (a refusal that cannot be recorded is not answered as one)', async () => {
    const { get, refusals } = appWith(SCOPE, {
      onRefused: async () => {
        throw new GatewayError('audit-unavailable', { detail: 'the attempt could not be audited' })
      },
    })
    const res = await get(await bearer())
    expect(res.status).toBe(503)
    expect(res.body.code).toBe('audit-unavailable')
    expect(refusals.map((r) => r.code)).toEqual(['insufficient-scope'])
  })
})
