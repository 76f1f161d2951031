import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createTestKey,
  hs256WithPublicKeyAsSecret,
  signToken,
  startJwksServer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestKey,
  tamperPayload,
  unsecuredToken,
} from '../../test/support/keys.js'
import { GatewayError } from '../errors/gateway-error.js'
import { createKeyResolver } from './keys.js'
import { createTokenVerifier, type TokenVerifierOptions } from './verify-token.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')
let ed: TestKey
let rsa: TestKey

beforeAll(async () => {
  ed = await createTestKey('EdDSA', 'ed-1')
  rsa = await createTestKey('RS256', 'rsa-1')
})

function verifier(overrides: Partial<TokenVerifierOptions> = {}, now = NOW) {
  return createTokenVerifier({
    keys: createKeyResolver({ kind: 'local', jwks: { keys: [ed.publicJwk, rsa.publicJwk] } }),
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    algorithms: ['EdDSA', 'ES256', 'RS256', 'PS256'],
    clockToleranceMs: 30_000,
    cacheMax: 100,
    cacheTtlMs: 300_000,
    maxLifetimeMs: 86_400_000,
    clock: { now: () => now },
    ...overrides,
  })
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    if (err instanceof GatewayError) return err.code
    throw err
  }
  return 'ok'
}

const claims = { dept: 'drc', scope: 'QT00301001:housing.construction-permit:read audit:read', client_id: 'app-1' }

describe('token verification', () => {
  it('accepts a valid EdDSA and RS256 token and builds the principal', async () => {
    const v = verifier()
    for (const key of [ed, rsa]) {
      const p = await v.verify(await signToken(key, claims, { now: NOW }))
      expect(p.dept).toBe('drc')
      expect(p.sub).toBe('officer-001')
      expect(p.clientId).toBe('app-1')
      expect([...p.scopes]).toEqual(['QT00301001:housing.construction-permit:read', 'audit:read'])
      expect(p.expiresAt).toBe(Math.floor(NOW / 1000) * 1000 + 3_600_000)
    }
  })

  it('accepts typ JWT and at+jwt, refuses other types', async () => {
    const v = verifier()
    expect(await codeOf(v.verify(await signToken(ed, claims, { now: NOW, typ: 'JWT' })))).toBe('ok')
    expect(await codeOf(v.verify(await signToken(ed, claims, { now: NOW, typ: 'dpop+jwt' })))).toBe('token-invalid')
  })

  it('refuses expired tokens beyond the clock tolerance, accepts within it', async () => {
    const nowSec = Math.floor(NOW / 1000)
    const v = verifier()
    expect(await codeOf(v.verify(await signToken(ed, { ...claims, exp: nowSec - 31 }, { now: NOW })))).toBe(
      'token-expired',
    )
    expect(await codeOf(v.verify(await signToken(ed, { ...claims, exp: nowSec - 20 }, { now: NOW })))).toBe('ok')
  })

  it('refuses nbf and iat in the future', async () => {
    const nowSec = Math.floor(NOW / 1000)
    const v = verifier()
    expect(await codeOf(v.verify(await signToken(ed, { ...claims, nbf: nowSec + 120 }, { now: NOW })))).toBe(
      'token-not-yet-valid',
    )
    expect(await codeOf(v.verify(await signToken(ed, { ...claims, iat: nowSec + 120 }, { now: NOW })))).toBe(
      'token-not-yet-valid',
    )
  })

  it('requires exp, the issuer, the audience, sub and dept', async () => {
    const v = verifier()
    const check = async (extra: Record<string, unknown>) =>
      codeOf(v.verify(await signToken(ed, { ...claims, ...extra }, { now: NOW })))
    expect(await check({ exp: null })).toBe('token-claims-invalid')
    expect(await check({ iss: 'https://evil.example' })).toBe('token-claims-invalid')
    expect(await check({ aud: 'urn:qiao:other' })).toBe('token-claims-invalid')
    expect(await check({ aud: ['urn:qiao:other', TEST_AUDIENCE] })).toBe('ok')
    expect(await check({ dept: undefined })).toBe('token-claims-invalid')
    expect(await check({ dept: 42 })).toBe('token-claims-invalid')
    expect(await check({ scope: ['a', 'b'] })).toBe('token-claims-invalid')
  })

  it('never accepts alg none or an HS256 token keyed with the public key', async () => {
    const v = verifier()
    const nowSec = Math.floor(NOW / 1000)
    const body = { ...claims, iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'x', exp: nowSec + 60 }
    expect(await codeOf(v.verify(unsecuredToken(body)))).toBe('token-invalid')
    expect(await codeOf(v.verify(await hs256WithPublicKeyAsSecret(rsa, body)))).toBe('token-invalid')
  })

  it('refuses algorithms outside the allow-list', async () => {
    const v = verifier({ algorithms: ['EdDSA'] })
    expect(await codeOf(v.verify(await signToken(rsa, claims, { now: NOW })))).toBe('token-invalid')
  })

  it('refuses a tampered payload and an unknown kid', async () => {
    const v = verifier()
    const token = await signToken(ed, claims, { now: NOW })
    expect(await codeOf(v.verify(tamperPayload(token, (c) => (c.dept = 'housing'))))).toBe('token-invalid')
    expect(await codeOf(v.verify(await signToken(ed, claims, { now: NOW, kid: 'nope' })))).toBe('token-key-unknown')
    expect(await codeOf(v.verify('not.a.token'))).toBe('token-invalid')
  })

  it('caches verified tokens but never serves one past its exp', async () => {
    let now = NOW
    const v = verifier({ algorithms: ['EdDSA'], clockToleranceMs: 0, cacheMax: 10, clock: { now: () => now } })
    const token = await signToken(ed, { ...claims, exp: Math.floor(NOW / 1000) + 10 }, { now: NOW })
    await v.verify(token)
    await v.verify(token)
    expect(v.stats).toEqual({ hits: 1, misses: 1 })
    now = NOW + 9_999 // the last millisecond before exp: still served from the cache
    expect((await v.verify(token)).dept).toBe('drc')
    expect(v.stats).toEqual({ hits: 2, misses: 1 })
    now = NOW + 10_000 // at exp: verified again, and refused
    expect(await codeOf(v.verify(token))).toBe('token-expired')
    expect(v.stats).toEqual({ hits: 2, misses: 2 })
  })

  it('does not cache failures', async () => {
    const v = verifier()
    const bad = tamperPayload(await signToken(ed, claims, { now: NOW }), (c) => (c.sub = 'y'))
    await codeOf(v.verify(bad))
    await codeOf(v.verify(bad))
    expect(v.stats).toEqual({ hits: 0, misses: 2 })
  })
})

describe('HMAC tokens, when explicitly configured', () => {
  it('accepts HS256 signed with the configured secret, and nothing else keyed with it', async () => {
    const { SignJWT } = await import('jose')
    const secret = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!')
    const v = createTokenVerifier({
      keys: createKeyResolver({ kind: 'local', jwks: { keys: [ed.publicJwk] } }, secret),
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      algorithms: ['EdDSA', 'HS256'],
      clockToleranceMs: 30_000,
      cacheMax: 10,
      cacheTtlMs: 300_000,
      maxLifetimeMs: 86_400_000,
      clock: { now: () => NOW },
    })
    const nowSec = Math.floor(NOW / 1000)
    const sign = (key: Uint8Array) =>
      new SignJWT({ dept: 'drc', scope: 'x:y:read' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setSubject('svc-1')
        .setExpirationTime(nowSec + 60)
        .sign(key)
    expect((await v.verify(await sign(secret))).dept).toBe('drc')
    expect(await codeOf(v.verify(await sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'))))).toBe(
      'token-invalid',
    )
    // The asymmetric keys still verify their own tokens.
    expect(await codeOf(v.verify(await signToken(ed, claims, { now: NOW })))).toBe('ok')
  })
})

describe('department claims', () => {
  it('passes any string dept on (the catalog decides, 403), bounded and escaped when it cannot be a code', async () => {
    const v = verifier()
    const deptOf = async (dept: string) => (await v.verify(await signToken(ed, { ...claims, dept }, { now: NOW }))).dept
    expect(await deptOf('drc')).toBe('drc')
    expect(await deptOf('DRC')).toBe('DRC')
    expect(await deptOf('发改')).toBe('发改')
    expect(await deptOf('drc\n{"forged":1}')).toBe('drc\\u{a}\\u{7b}\\u{22}forged\\u{22}\\u{3a}1\\u{7d}')
    const long = await deptOf('x'.repeat(500))
    expect(long).toBe(`${'x'.repeat(32)}…`)
  })
})

describe('token lifetime', () => {
  const nowSec = Math.floor(NOW / 1000)

  it('refuses a token living longer than the maximum (exp − iat), accepts one at the maximum', async () => {
    const v = verifier()
    const lifetime = async (extra: Record<string, unknown>) =>
      codeOf(v.verify(await signToken(ed, { ...claims, ...extra }, { now: NOW })))
    expect(await lifetime({ iat: nowSec, exp: nowSec + 30 * 86_400 })).toBe('token-lifetime-exceeded')
    expect(await lifetime({ iat: nowSec, exp: nowSec + 86_400 })).toBe('ok')
    expect(await lifetime({ iat: nowSec - 86_400, exp: nowSec + 60 })).toBe('token-lifetime-exceeded')
  })

  it('judges a token without iat by the time it has left (exp − now)', async () => {
    const v = verifier()
    const noIat = async (exp: number) =>
      codeOf(v.verify(await signToken(ed, { ...claims, iat: undefined, exp }, { now: NOW })))
    expect(await noIat(nowSec + 30 * 86_400)).toBe('token-lifetime-exceeded')
    expect(await noIat(nowSec + 3600)).toBe('ok')
  })

  it('says so with its own code, never the claim values', async () => {
    const v = verifier()
    const err = await v
      .verify(await signToken(ed, { ...claims, exp: nowSec + 30 * 86_400 }, { now: NOW }))
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GatewayError)
    expect((err as GatewayError).code).toBe('token-lifetime-exceeded')
    expect((err as GatewayError).message).not.toContain(String(nowSec + 30 * 86_400))
  })
})

describe('verified-token cache', () => {
  it('verifies a cached token again once the cache TTL has passed (frozen clock)', async () => {
    let now = NOW
    const v = verifier({ cacheTtlMs: 60_000, clock: { now: () => now } })
    const token = await signToken(ed, claims, { now: NOW })
    await v.verify(token)
    now = NOW + 59_000
    await v.verify(token)
    expect(v.stats).toEqual({ hits: 1, misses: 1 })
    now = NOW + 60_000
    await v.verify(token)
    expect(v.stats).toEqual({ hits: 1, misses: 2 })
    // …and the fresh verification is cached again for a TTL.
    now = NOW + 61_000
    await v.verify(token)
    expect(v.stats).toEqual({ hits: 2, misses: 2 })
  })

  it('is off with a TTL of 0', async () => {
    const v = verifier({ cacheTtlMs: 0 })
    const token = await signToken(ed, claims, { now: NOW })
    await v.verify(token)
    await v.verify(token)
    expect(v.stats).toEqual({ hits: 0, misses: 2 })
  })

  it('forgets tokens of a key the refetched key set dropped, and only those', async () => {
    const jwks = await startJwksServer([ed.publicJwk, rsa.publicJwk])
    try {
      const v = verifier({
        keys: createKeyResolver({ kind: 'remote', url: jwks.url, cooldownMs: 0, maxAgeMs: 600_000 }),
      })
      const byRsa = await signToken(rsa, claims, { now: NOW })
      const byEd = await signToken(ed, claims, { now: NOW })
      expect(await codeOf(v.verify(byRsa))).toBe('ok')
      expect(await codeOf(v.verify(byEd))).toBe('ok')
      expect(await codeOf(v.verify(byRsa))).toBe('ok')
      expect(v.stats).toEqual({ hits: 1, misses: 2 })

      // Rotation after a compromise: the issuer removes rsa-1; a token with an unknown kid makes the gateway refetch.
      jwks.setKeys([ed.publicJwk])
      const fetches = jwks.fetches
      expect(await codeOf(v.verify(await signToken(ed, claims, { now: NOW, kid: 'ed-2' })))).toBe('token-key-unknown')
      expect(jwks.fetches).toBe(fetches + 1)

      expect(await codeOf(v.verify(byRsa))).toBe('token-key-unknown')
      expect(await codeOf(v.verify(byEd))).toBe('ok')
      expect(v.stats.hits).toBe(2)
    } finally {
      await jwks.close()
    }
  })

  it('forgets tokens of a kid whose key material changed under the same kid', async () => {
    const jwks = await startJwksServer([ed.publicJwk])
    try {
      const v = verifier({
        keys: createKeyResolver({ kind: 'remote', url: jwks.url, cooldownMs: 0, maxAgeMs: 600_000 }),
      })
      const token = await signToken(ed, claims, { now: NOW })
      expect(await codeOf(v.verify(token))).toBe('ok')
      const impostor = await createTestKey('EdDSA', ed.kid)
      jwks.setKeys([impostor.publicJwk])
      await v.verify(await signToken(ed, claims, { now: NOW, kid: 'unknown' })).catch(() => {})
      expect(await codeOf(v.verify(token))).toBe('token-invalid')
    } finally {
      await jwks.close()
    }
  })
})

describe('issuer key set unavailable', () => {
  let closedPortUrl: string
  let failing: Server
  let failingUrl: string
  const answers: Record<string, [number, string]> = {
    '/status-500': [500, 'oops'],
    '/not-json': [200, '<html>maintenance</html>'],
    '/no-keys': [200, '{"keys":"none"}'],
  }

  beforeAll(async () => {
    failing = createServer((req, res) => {
      const [status, body] = answers[req.url ?? ''] ?? [404, '']
      res.writeHead(status, { 'content-type': 'application/json' }).end(body)
    })
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve))
    failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`
    // A port that was just free: nothing listens on it.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    closedPortUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/jwks.json`
    await new Promise((resolve) => probe.close(resolve))
    return () => new Promise((resolve) => failing.close(resolve))
  })

  const remote = (url: string) =>
    verifier({ keys: createKeyResolver({ kind: 'remote', url, cooldownMs: 0, maxAgeMs: 60_000, timeoutMs: 2_000 }) })

  it('a key set that cannot be fetched or used is auth-keys-unavailable (503), never a token error', async () => {
    const token = await signToken(ed, claims, { now: NOW })
    for (const url of [closedPortUrl, ...Object.keys(answers).map((path) => `${failingUrl}${path}`)]) {
      const err = await remote(url)
        .verify(token)
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(err, url).toBeInstanceOf(GatewayError)
      expect(err, url).toMatchObject({ code: 'auth-keys-unavailable', status: 503 })
    }
  })
})
