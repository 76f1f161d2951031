import { beforeAll, describe, expect, it } from 'vitest'
import {
  createTestKey,
  hs256WithPublicKeyAsSecret,
  signToken,
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
    expect(await check({ dept: 'DRC!' })).toBe('token-claims-invalid')
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
    const v = verifier({}, NOW)
    const clocked = createTokenVerifier({
      keys: createKeyResolver({ kind: 'local', jwks: { keys: [ed.publicJwk] } }),
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      algorithms: ['EdDSA'],
      clockToleranceMs: 0,
      cacheMax: 10,
      clock: { now: () => now },
    })
    const token = await signToken(ed, { ...claims, exp: Math.floor(NOW / 1000) + 10 }, { now: NOW })
    await clocked.verify(token)
    await clocked.verify(token)
    expect(clocked.stats).toEqual({ hits: 1, misses: 1 })
    now = NOW + 11_000
    expect(await codeOf(clocked.verify(token))).toBe('token-expired')
    expect(clocked.stats.hits).toBe(1)
    expect(v.stats.hits).toBe(0)
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
