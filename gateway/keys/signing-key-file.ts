import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/**
 * A private JWK kept in a file (mode 0600, directory 0700): read it, or create it on first start with `generate`
 * (default: Ed25519 with `kid` = its RFC 7638 thumbprint, `alg: EdDSA`, `use: sig`; the audit key's other
 * algorithms are in gateway/audit/signing.ts). When two processes start together, the one that loses the race uses
 * the other's key.
 */
export async function loadOrCreateSigningJwk(path: string, generate = generateEd25519Jwk): Promise<JWK> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as JWK
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const privateJwk = await generate()
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    await writeFile(path, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' })
    return privateJwk
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return JSON.parse(await readFile(path, 'utf8')) as JWK
  }
}

async function generateEd25519Jwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), alg: 'EdDSA', use: 'sig' }
  privateJwk.kid = await calculateJwkThumbprint(privateJwk)
  return privateJwk
}

/** The public half of a private JWK (without `d`). */
export function publicJwkOf(privateJwk: JWK): JWK {
  const { d: _private, ...publicJwk } = privateJwk
  return publicJwk
}
