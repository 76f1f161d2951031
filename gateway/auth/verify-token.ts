import { errors, type JWTPayload, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../../connectors/kit/types.js'
import type { JwtAlgorithm } from '../config/settings.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { KeyResolver } from './keys.js'
import type { Principal } from './principal.js'

export interface TokenVerifierOptions {
  readonly keys: KeyResolver
  readonly issuer: string
  readonly audience: string
  readonly algorithms: readonly JwtAlgorithm[]
  readonly clockToleranceMs: number
  /** Verified tokens kept (LRU); 0 disables the cache. */
  readonly cacheMax: number
  readonly clock: Clock
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>
  /** Cache statistics for metrics. */
  readonly stats: { hits: number; misses: number }
}

// RFC 9068 §2.1 access tokens use `at+jwt`; many issuers still send `JWT`. Both with or without `application/`.
const ACCEPTED_TYP = new Set(['jwt', 'at+jwt', 'application/jwt', 'application/at+jwt'])
const DEPT_PATTERN = /^[a-z][a-z0-9-]{1,31}$/

/**
 * Verifies bearer tokens with jose and caches the outcome. A cached principal is served only while the token is
 * unexpired, so the cache never extends a token's life; signatures are checked once per token, not per call.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { keys, clock } = options
  const algorithms = [...options.algorithms]
  const toleranceSec = Math.floor(options.clockToleranceMs / 1000)
  const getKey = keys.hmacSecret
    ? // The HMAC secret only ever answers HS* headers; asymmetric headers go to the key set.
      (header: { alg?: string }, token: Parameters<KeyResolver['getKey']>[1]) =>
        header.alg?.startsWith('HS') ? (keys.hmacSecret as Uint8Array) : keys.getKey(header as never, token)
    : keys.getKey
  const cache = options.cacheMax > 0 ? new LRUCache<string, Principal>({ max: options.cacheMax }) : undefined
  const stats = { hits: 0, misses: 0 }

  async function verifyUncached(token: string): Promise<Principal> {
    let payload: JWTPayload
    let protectedHeader: { typ?: string; kid?: string }
    try {
      ;({ payload, protectedHeader } = await jwtVerify(token, getKey as never, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: toleranceSec,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(clock.now()),
      }))
    } catch (err) {
      throw mapJoseError(err)
    }
    if (protectedHeader.typ !== undefined && !ACCEPTED_TYP.has(protectedHeader.typ.toLowerCase())) {
      throw new GatewayError('token-invalid', { detail: 'token type (typ) not accepted' })
    }
    const nowSec = clock.now() / 1000
    if (typeof payload.iat === 'number' && payload.iat > nowSec + toleranceSec) {
      throw new GatewayError('token-not-yet-valid', { detail: 'token issued in the future (iat)' })
    }
    return toPrincipal(payload, protectedHeader.kid)
  }

  return {
    stats,
    async verify(token) {
      const cached = cache?.get(token)
      if (cached !== undefined) {
        if (clock.now() < cached.expiresAt) {
          stats.hits++
          return cached
        }
        cache?.delete(token)
      }
      stats.misses++
      const principal = await verifyUncached(token)
      if (cache !== undefined && clock.now() < principal.expiresAt) cache.set(token, principal)
      return principal
    },
  }
}

function toPrincipal(payload: JWTPayload, keyId: string | undefined): Principal {
  const { sub, exp, jti } = payload
  const dept = payload.dept
  const scope = payload.scope
  const clientId = payload.client_id
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
    throw new GatewayError('token-claims-invalid', { detail: 'claim sub must be a non-empty string' })
  }
  if (typeof dept !== 'string' || !DEPT_PATTERN.test(dept)) {
    throw new GatewayError('token-claims-invalid', { detail: 'claim dept must be a department code' })
  }
  if (scope !== undefined && typeof scope !== 'string') {
    throw new GatewayError('token-claims-invalid', { detail: 'claim scope must be a space-separated string' })
  }
  if (clientId !== undefined && typeof clientId !== 'string') {
    throw new GatewayError('token-claims-invalid', { detail: 'claim client_id must be a string' })
  }
  return Object.freeze({
    sub,
    dept,
    clientId,
    scopes: new Set(scope === undefined ? [] : scope.split(' ').filter((s) => s.length > 0)),
    expiresAt: (exp as number) * 1000,
    tokenId: typeof jti === 'string' ? jti : undefined,
    keyId,
  })
}

/** jose errors → our codes. Details name the failed check, never claim values or the token. */
function mapJoseError(err: unknown): GatewayError {
  if (err instanceof errors.JWTExpired) {
    return new GatewayError('token-expired', { detail: 'token expired', cause: err })
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if ((err.claim === 'nbf' || err.claim === 'iat') && err.reason === 'check_failed') {
      return new GatewayError('token-not-yet-valid', { detail: `token not yet valid (${err.claim})`, cause: err })
    }
    const what = err.reason === 'missing' ? 'missing' : 'invalid'
    return new GatewayError('token-claims-invalid', { detail: `claim ${err.claim} ${what}`, cause: err })
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return new GatewayError('token-key-unknown', { detail: 'no issuer key matches the token kid', cause: err })
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new GatewayError('token-invalid', { detail: 'token algorithm not allowed', cause: err })
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new GatewayError('token-invalid', { detail: 'token signature invalid', cause: err })
  }
  // jose raises the bare JOSEError (ERR_JOSE_GENERIC) for a key-set HTTP status or body it cannot use.
  if (
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC')
  ) {
    return new GatewayError('auth-keys-unavailable', { internal: `issuer key set: ${err.code}`, cause: err })
  }
  if (err instanceof errors.JOSEError) {
    return new GatewayError('token-invalid', { detail: 'token malformed', internal: err.code, cause: err })
  }
  if (err instanceof TypeError && /Invalid (Compact JWS|JWS|JWT)/i.test(err.message)) {
    return new GatewayError('token-invalid', { detail: 'token malformed', cause: err })
  }
  // Anything else came from fetching the key set (network, HTTP status).
  return new GatewayError('auth-keys-unavailable', {
    internal: `issuer key set: ${err instanceof Error ? err.message : 'error'}`,
    cause: err,
  })
}
