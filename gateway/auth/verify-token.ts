import { hash } from 'node:crypto'
import { errors, type JWTPayload, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../../kernel/clock.js'
import type { JwtAlgorithm } from '../config/settings.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { KeyResolver } from './keys.js'
import type { Principal } from './principal.js'
import { SharedClaims } from './shared-claims.js'

export interface TokenVerifierOptions {
  readonly keys: KeyResolver
  readonly issuer: string
  readonly audience: string
  readonly algorithms: readonly JwtAlgorithm[]
  readonly clockToleranceMs: number
  /** Verified tokens kept (LRU); 0 disables the cache. */
  readonly cacheMax: number
  /** How long a verification is reused before the token is verified again (never past `exp`); 0 disables the cache. */
  readonly cacheTtlMs: number
  /** Longest accepted token lifetime: `exp − iat`, or `exp − now` for a token without `iat`. */
  readonly maxLifetimeMs: number
  readonly clock: Clock
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>
  /** Cache statistics for metrics. */
  readonly stats: { hits: number; misses: number }
}

// RFC 9068 §2.1 access tokens use `at+jwt`; many issuers still send `JWT`. Both with or without `application/`.
const ACCEPTED_TYP = new Set(['jwt', 'at+jwt', 'application/jwt', 'application/at+jwt'])
// The catalog's department code pattern (schemas/catalog.schema.json); a dept outside it cannot be a department.
const DEPT_PATTERN = /^[a-z][a-z0-9-]{1,31}$/
const DEPT_LABEL_MAX = 32
// Index of cached tokens whose header named no `kid`: any key may have verified them.
const NO_KID: unique symbol = Symbol('no kid')

interface CachedVerification {
  readonly principal: Principal
  /** Epoch ms after which the token is verified again: the cache TTL, capped by `exp`. */
  readonly until: number
  /** The key-set `kid` it was verified with; undefined for HMAC tokens, which no key-set change affects. */
  readonly kid: string | typeof NO_KID | undefined
}

/**
 * Verifies bearer tokens with jose and caches the outcome. A cached principal is served for at most the cache TTL
 * and never past the token's `exp`, so the cache never extends a token's life; when a refetched key set drops a
 * key, every token verified with it is verified again. The cache is keyed by a SHA-256 digest, never the token.
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
  const byKid = new Map<string | typeof NO_KID, Set<string>>()
  const cache =
    options.cacheMax > 0 && options.cacheTtlMs > 0
      ? new LRUCache<string, CachedVerification>({
          max: options.cacheMax,
          dispose: (entry, digest) => {
            if (entry.kid === undefined) return
            const digests = byKid.get(entry.kid)
            digests?.delete(digest)
            if (digests?.size === 0) byKid.delete(entry.kid)
          },
        })
      : undefined
  const stats = { hits: 0, misses: 0 }
  const shared = new SharedClaims()
  // Bumped by every key-set change: a verification that was under way across one is not cached.
  let keySetGeneration = 0
  keys.onKeySetChange(({ removedKids }) => {
    keySetGeneration++
    if (cache === undefined) return
    // Tokens without a kid may have been verified by any of the removed keys.
    for (const kid of [...removedKids, NO_KID] as Array<string | typeof NO_KID>) {
      for (const digest of [...(byKid.get(kid) ?? [])]) cache.delete(digest)
    }
  })

  async function verifyUncached(token: string): Promise<Omit<CachedVerification, 'until'>> {
    let payload: JWTPayload
    let protectedHeader: { typ?: string; kid?: string; alg?: string }
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
    // jwtVerify required exp; a token without iat is judged by how long it has left.
    const lifetimeSec = (payload.exp as number) - (typeof payload.iat === 'number' ? payload.iat : nowSec)
    if (lifetimeSec * 1000 > options.maxLifetimeMs) {
      throw new GatewayError('token-lifetime-exceeded', {
        detail: `token lifetime exceeds the accepted maximum of ${Math.floor(options.maxLifetimeMs / 1000)} s`,
      })
    }
    const principal = toPrincipal(payload, shared.string(protectedHeader.kid), shared)
    const fromKeySet = !(keys.hmacSecret !== undefined && protectedHeader.alg?.startsWith('HS'))
    return { principal, kid: fromKeySet ? (principal.keyId ?? NO_KID) : undefined }
  }

  return {
    stats,
    async verify(token) {
      // One-shot digest: no Hash object per call (about half the cost of createHash on a 760-character token).
      const digest = cache === undefined ? '' : hash('sha256', token, 'base64url')
      const cached = cache?.get(digest)
      if (cached !== undefined) {
        if (clock.now() < cached.until) {
          stats.hits++
          return cached.principal
        }
        cache?.delete(digest)
      }
      stats.misses++
      const generation = keySetGeneration
      const { principal, kid } = await verifyUncached(token)
      const until = Math.min(principal.expiresAt, clock.now() + options.cacheTtlMs)
      if (cache !== undefined && clock.now() < until && generation === keySetGeneration) {
        cache.set(digest, { principal, until, kid })
        if (kid !== undefined) {
          const digests = byKid.get(kid) ?? new Set<string>()
          digests.add(digest)
          byKid.set(kid, digests)
        }
      }
      return principal
    },
  }
}

function toPrincipal(payload: JWTPayload, keyId: string | undefined, shared: SharedClaims): Principal {
  const { sub, exp, jti } = payload
  const dept = payload.dept
  const scope = payload.scope
  const clientId = payload.client_id
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
    throw new GatewayError('token-claims-invalid', { detail: 'claim sub must be a non-empty string' })
  }
  // Any string is the issuer's word on the department: whether it is one is the catalog's question (403 later).
  if (typeof dept !== 'string') {
    throw new GatewayError('token-claims-invalid', { detail: 'claim dept must be a string' })
  }
  if (scope !== undefined && typeof scope !== 'string') {
    throw new GatewayError('token-claims-invalid', { detail: 'claim scope must be a space-separated string' })
  }
  if (clientId !== undefined && typeof clientId !== 'string') {
    throw new GatewayError('token-claims-invalid', { detail: 'claim client_id must be a string' })
  }
  return Object.freeze({
    sub,
    dept: shared.string(DEPT_PATTERN.test(dept) ? dept : unknownDeptLabel(dept)),
    clientId: shared.string(clientId),
    scopes: shared.scopes(scope),
    expiresAt: (exp as number) * 1000,
    tokenId: typeof jti === 'string' ? jti : undefined,
    keyId,
  })
}

/**
 * A dept outside the code pattern is no department of any catalog; what reaches logs and audit records is at most
 * its first 32 characters, with anything but letters, digits, `.`, `_` and `-` escaped. The label never matches the
 * code pattern (it keeps the offending character, an escape or a trailing `…`), so it can never name a department.
 */
function unknownDeptLabel(dept: string): string {
  const chars = [...dept]
  const shown = chars
    .slice(0, DEPT_LABEL_MAX)
    .map((c) => (/^[\p{L}\p{N}._-]$/u.test(c) ? c : `\\u{${(c.codePointAt(0) as number).toString(16)}}`))
    .join('')
  return chars.length > DEPT_LABEL_MAX ? `${shown}…` : shown
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
