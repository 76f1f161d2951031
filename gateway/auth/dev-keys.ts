import { join } from 'node:path'
import { importJWK, type JSONWebKeySet, type JWK, SignJWT } from 'jose'
import { loadOrCreateSigningJwk, publicJwkOf } from '../keys/signing-key-file.js'

/**
 * Demo mode: with no issuer configured, the gateway signs its own tokens with an Ed25519 key kept in the data
 * directory (mode 0600, ignored by git). Never for production: the gateway warns loudly when it runs like this.
 */
export const DEV_KEY_FILE = 'dev-signing-key.jwk.json'

export interface DevKey {
  readonly privateJwk: JWK
  readonly publicJwks: JSONWebKeySet
  readonly kid: string
}

export async function loadOrCreateDevKey(dataDir: string): Promise<DevKey> {
  const privateJwk = await loadOrCreateSigningJwk(join(dataDir, DEV_KEY_FILE))
  return { privateJwk, publicJwks: { keys: [publicJwkOf(privateJwk)] }, kid: privateJwk.kid as string }
}

export interface MintOptions {
  readonly issuer: string
  readonly audience: string
  readonly dept: string
  readonly sub: string
  readonly scope: string
  readonly ttlSeconds: number
  readonly clientId?: string
  readonly now?: number
}

/** Signs an access token (RFC 9068 `at+jwt`) with the dev key. */
export async function mintDevToken(key: DevKey, options: MintOptions): Promise<string> {
  const signingKey = await importJWK(key.privateJwk, 'EdDSA')
  const iat = Math.floor((options.now ?? Date.now()) / 1000)
  const claims: Record<string, unknown> = { dept: options.dept, scope: options.scope }
  if (options.clientId !== undefined) claims.client_id = options.clientId
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(signingKey)
}
