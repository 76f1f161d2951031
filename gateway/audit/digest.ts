import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { canonicalJson } from './canonical-json.js'

/**
 * Keyed digests for audit records. Parameters such as ID numbers are low-entropy and a plain hash could be
 * brute-forced, so the digest is an HMAC under a key the auditor's tooling holds, not a hash.
 */
export type KeyedDigest = (value: unknown) => string

/** Digests remembered per key (least recently used dropped first). */
export const DIGEST_CACHE_ENTRIES = 2048
/**
 * Canonical texts longer than this (UTF-16 units) are hashed every time. What repeats from call to call is short —
 * a subject's identifier, a call's parameters, its canonical request — and a bound on each entry bounds the cache:
 * at most about DIGEST_CACHE_ENTRIES × (2 × 512 + 64 × 2) bytes, some 2.4 MB, usually a tenth of that.
 */
export const DIGEST_CACHE_MAX_TEXT = 512

/**
 * HMAC-SHA256 (hex) of the canonical JSON (RFC 8785) of a value, under `key`. A read's audit record takes several
 * (parameters, canonical request, each subject), and the same values come back call after call — the same company,
 * the same project, asked by the same office — while each HMAC costs about 3 µs (a new Hmac per digest: node:crypto
 * cannot reuse a keyed state) and a Map lookup of its canonical text a tenth of that. So the digests are remembered,
 * keyed by that text, in a bounded LRU. It lives in the closure of one key: a new key (a rotation, another log's key)
 * is a new `createKeyedDigest` and starts empty, so a digest under a former key is never returned. The texts stay
 * in this process's memory only, as the calls' own values already do.
 */
export function createKeyedDigest(key: Uint8Array, cacheEntries: number = DIGEST_CACHE_ENTRIES): KeyedDigest {
  const keyObject = createSecretKey(key)
  const hmac = (text: string) => createHmac('sha256', keyObject).update(text).digest('hex')
  const remembered = new Map<string, string>()
  return (value) => {
    const text = canonicalJson(value)
    if (text.length > DIGEST_CACHE_MAX_TEXT || cacheEntries <= 0) return hmac(text)
    let digest = remembered.get(text)
    if (digest !== undefined) {
      // Map keeps insertion order: moving a hit to the end makes the first key the least recently used.
      remembered.delete(text)
    } else {
      digest = hmac(text)
      if (remembered.size >= cacheEntries) remembered.delete(remembered.keys().next().value as string)
    }
    remembered.set(text, digest)
    return digest
  }
}

/** Reads the audit HMAC key, creating a random 32-byte key (mode 0600) on first start. */
export async function loadOrCreateAuditKey(path: string): Promise<Uint8Array> {
  try {
    const key = new Uint8Array(await readFile(path))
    if (key.byteLength < 32) throw new Error(`${path}: audit key must be at least 32 bytes`)
    return key
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  try {
    await writeFile(path, key, { mode: 0o600, flag: 'wx' })
    return new Uint8Array(key)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return new Uint8Array(await readFile(path))
  }
}
