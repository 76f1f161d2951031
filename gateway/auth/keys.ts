import { readFile } from 'node:fs/promises'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwksCache,
  type KeyObject,
} from 'jose'

/** Where token signing keys come from; built once at start. */
export type KeySource =
  | { kind: 'remote'; url: string; cooldownMs: number; maxAgeMs: number; timeoutMs?: number }
  | { kind: 'local'; jwks: JSONWebKeySet }

/** What a refetched key set no longer holds: a `kid` that is gone, or whose key material changed. */
export interface KeySetChange {
  readonly removedKids: readonly string[]
}

export interface KeyResolver {
  /** For jose's jwtVerify: picks the key by `kid`/`alg`; a remote set refetches once for an unknown `kid`. */
  readonly getKey: JWTVerifyGetKey
  /** Secret for HS* tokens when configured, else undefined. */
  readonly hmacSecret: Uint8Array | undefined
  /** Called after a refetch of a remote key set dropped or replaced keys (never for a local set). */
  onKeySetChange(listener: (change: KeySetChange) => void): void
}

export function createKeyResolver(source: KeySource, hmacSecret?: Uint8Array): KeyResolver {
  const listeners: Array<(change: KeySetChange) => void> = []
  if (source.kind === 'local') {
    return { getKey: createLocalJWKSet(source.jwks), hmacSecret, onKeySetChange: () => {} }
  }
  // jose writes every key set it fetches (and applies) into this cache object; the setter is how we learn that a
  // refetch happened and which keys it took away, without fetching or parsing the key set ourselves.
  let previous: Map<string, string> | undefined
  let current: JSONWebKeySet | undefined
  const cache = {
    uat: undefined as number | undefined,
    get jwks(): JSONWebKeySet | undefined {
      return current
    },
    set jwks(next: JSONWebKeySet) {
      current = next
      const keys = keyMaterialByKid(next)
      const removedKids = previous === undefined ? [] : [...previous].filter(([kid, jwk]) => keys.get(kid) !== jwk)
      previous = keys
      if (removedKids.length > 0) {
        const change = { removedKids: removedKids.map(([kid]) => kid) }
        for (const listener of listeners) listener(change)
      }
    },
  }
  const getKey = createRemoteJWKSet(new URL(source.url), {
    cooldownDuration: source.cooldownMs,
    cacheMaxAge: source.maxAgeMs,
    timeoutDuration: source.timeoutMs ?? 5000,
    [jwksCache]: cache as unknown as ExportedJWKSCache,
  })
  return { getKey, hmacSecret, onKeySetChange: (listener) => void listeners.push(listener) }
}

function keyMaterialByKid(jwks: JSONWebKeySet): Map<string, string> {
  const byKid = new Map<string, string>()
  for (const jwk of Array.isArray(jwks.keys) ? jwks.keys : []) {
    if (typeof jwk.kid === 'string') byKid.set(jwk.kid, JSON.stringify(jwk))
  }
  return byKid
}

export async function readJwksFile(path: string): Promise<JSONWebKeySet> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new Error(`${path}: not a JWK Set (expected an object with a "keys" array)`)
  }
  const keys = (parsed as JSONWebKeySet).keys
  if (keys.some((k) => 'd' in k || k.kty === 'oct')) {
    throw new Error(`${path}: a verification key set must hold public keys only`)
  }
  return parsed as JSONWebKeySet
}

export async function readHmacSecret(path: string): Promise<Uint8Array> {
  const secret = new Uint8Array(await readFile(path))
  if (secret.byteLength < 32) throw new Error(`${path}: HMAC secret must be at least 32 bytes`)
  return secret
}

export type { KeyObject }
