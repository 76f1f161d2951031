import { readFile } from 'node:fs/promises'
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, type KeyObject } from 'jose'

/** Where token signing keys come from; built once at start. */
export type KeySource =
  | { kind: 'remote'; url: string; cooldownMs: number; maxAgeMs: number; timeoutMs?: number }
  | { kind: 'local'; jwks: JSONWebKeySet }

export interface KeyResolver {
  /** For jose's jwtVerify: picks the key by `kid`/`alg`; a remote set refetches once for an unknown `kid`. */
  readonly getKey: JWTVerifyGetKey
  /** Secret for HS* tokens when configured, else undefined. */
  readonly hmacSecret: Uint8Array | undefined
}

export function createKeyResolver(source: KeySource, hmacSecret?: Uint8Array): KeyResolver {
  const getKey: JWTVerifyGetKey =
    source.kind === 'remote'
      ? createRemoteJWKSet(new URL(source.url), {
          cooldownDuration: source.cooldownMs,
          cacheMaxAge: source.maxAgeMs,
          timeoutDuration: source.timeoutMs ?? 5000,
        })
      : createLocalJWKSet(source.jwks)
  return { getKey, hmacSecret }
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
