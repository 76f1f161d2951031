import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey as JoseKey,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose'

export const TEST_ISSUER = 'https://idp.test.qiao/realms/zwfw'
export const TEST_AUDIENCE = 'urn:qiao:test'

export interface TestKey {
  readonly kid: string
  readonly alg: 'EdDSA' | 'RS256' | 'ES256'
  readonly privateKey: JoseKey
  readonly publicJwk: JWK
  readonly spkiPem: string
}

export async function createTestKey(alg: TestKey['alg'], kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicJwk, spkiPem: await exportSPKI(publicKey) }
}

export interface TokenClaims {
  dept?: string
  sub?: string
  scope?: string
  client_id?: string
  iss?: string
  aud?: string | string[]
  /** Seconds since epoch; defaults relative to `now`. */
  iat?: number
  nbf?: number
  exp?: number | null
  [claim: string]: unknown
}

export interface SignOptions {
  now: number
  typ?: string
  kid?: string
}

/** Signs a token with a test key; claims default to a valid token for the test issuer and audience. */
export async function signToken(key: TestKey, claims: TokenClaims, options: SignOptions): Promise<string> {
  const nowSec = Math.floor(options.now / 1000)
  const payload: Record<string, unknown> = {
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    sub: 'officer-001',
    iat: nowSec,
    exp: nowSec + 3600,
    jti: `jti-${nowSec}-${Math.random().toString(36).slice(2)}`,
    ...claims,
  }
  if (payload.exp === null) delete payload.exp
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: options.typ ?? 'at+jwt' })
    .sign(key.privateKey)
}

/** An unsecured token (`alg: none`), which must never be accepted. */
export function unsecuredToken(claims: Record<string, unknown>): string {
  const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))
  const payload = base64url.encode(JSON.stringify(claims))
  return `${header}.${payload}.`
}

/** The classic key-confusion attack: HS256 with the issuer's public key as the HMAC secret. */
export async function hs256WithPublicKeyAsSecret(key: TestKey, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
    .sign(new TextEncoder().encode(key.spkiPem))
}

/** Replaces the payload of a signed token, keeping header and signature. */
export function tamperPayload(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>
  change(claims)
  return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`
}

export interface JwksServer {
  readonly url: string
  /** How many times the key set was fetched. */
  fetches: number
  setKeys(keys: JWK[]): void
  close(): Promise<void>
}

/** A real issuer key-set endpoint on loopback that counts fetches. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let jwks: JSONWebKeySet = { keys }
  const state = { fetches: 0 }
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks.json') {
      state.fetches++
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get fetches() {
      return state.fetches
    },
    set fetches(n: number) {
      state.fetches = n
    },
    setKeys(next) {
      jwks = { keys: next }
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
