import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose'

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
  const path = join(dataDir, DEV_KEY_FILE)
  let privateJwk: JWK
  try {
    privateJwk = JSON.parse(await readFile(path, 'utf8')) as JWK
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    privateJwk = await exportJWK(privateKey)
    privateJwk.kid = await calculateJwkThumbprint(privateJwk)
    privateJwk.alg = 'EdDSA'
    privateJwk.use = 'sig'
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    await writeFile(path, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' }).catch(async (e) => {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      privateJwk = JSON.parse(await readFile(path, 'utf8')) as JWK
    })
  }
  const { d: _private, ...publicJwk } = privateJwk
  return { privateJwk, publicJwks: { keys: [publicJwk] }, kid: privateJwk.kid as string }
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
