import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { canonicalJson } from './canonical-json.js'

/**
 * Keyed digests for audit records. Parameters such as ID numbers are low-entropy and a plain hash could be
 * brute-forced, so the digest is an HMAC under a key the auditor's tooling holds, not a hash.
 */
export type KeyedDigest = (value: unknown) => string

export function createKeyedDigest(key: Uint8Array): KeyedDigest {
  const keyObject = createSecretKey(key)
  return (value) => createHmac('sha256', keyObject).update(canonicalJson(value)).digest('hex')
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
