import { webcrypto } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { sm2 } from 'sm-crypto-v2'
import { loadOrCreateSigningJwk, publicJwkOf } from '../keys/signing-key-file.js'
import { JWS_ALGORITHM, type JwsAlgorithm, type SignatureAlgorithm } from './signing-algorithms.js'

/**
 * The gateway's signatures (audit checkpoints, release receipts): one small interface over two algorithms.
 *
 * - **Ed25519** (RFC 8032), JWS `alg: EdDSA` (RFC 8037), JWK `kty: OKP, crv: Ed25519` — through jose and WebCrypto.
 * - **SM2** (GB/T 32918.2) with SM3 (GB/T 32905) and the default user ID `1234567812345678` (GB/T 35276 §5.4.3):
 *   e = SM3(Z_A ‖ M), Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A), on the recommended curve of GB/T 32918.5.
 *   The signature is raw r ‖ s, 32 bytes each, big-endian (64 bytes, like ES256 in JWS), not DER.
 *   JWS has no IANA `alg` for it, so Qiao uses the private name `SM2SM3` (RFC 7515 §4.1.1); the JWK is
 *   `kty: EC, crv: SM2` with `x`, `y` (and `d`) as 32-byte base64url, as several Chinese JOSE implementations write it.
 *   Node's OpenSSL knows the SM2 curve, but `crypto.sign` over it is ECDSA without Z_A, not the SM2 scheme; the
 *   scheme comes from sm-crypto-v2 (on @noble/curves), checked against the standard's vectors in signing.test.ts.
 *
 * Use: `loadOrCreateAuditSigner(file, 'SM2')` (or `signerFromJwk`), then `signer.sign(bytes)`, or a compact JWS with
 * `signCompactJws` / `verifyCompactJws` (signing-jws.ts); anyone holding only a public JWK calls `verifySignature`.
 */

export {
  JWS_ALGORITHM,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  SIGNATURE_ALGORITHMS,
  type SignatureAlgorithm,
} from './signing-algorithms.js'

/** GB/T 35276 §5.4.3: the user ID when none was agreed. */
export const SM2_DEFAULT_USER_ID = '1234567812345678'

/** Order n of the SM2 recommended curve (GB/T 32918.5 §3): r and s must lie in [1, n-1]. */
const SM2_ORDER = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n

export interface AuditSigner {
  /** JWS `alg` of its signatures. */
  readonly alg: JwsAlgorithm
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string
  /** With `kid`, `alg` and `use: sig`: what is published (e.g. at /v1/audit/keys). */
  readonly publicJwk: JWK
  /** The signature over exactly these bytes (Ed25519: 64 bytes; SM2: r ‖ s, 64 bytes). */
  sign(bytes: Uint8Array): Promise<Uint8Array>
}

/** The algorithm a JWK is a key of, from its key type and curve; undefined for any other key. */
export function algorithmOfJwk(jwk: JWK): SignatureAlgorithm | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'Ed25519'
  if (jwk.kty === 'EC' && jwk.crv === 'SM2') return 'SM2'
  return undefined
}

/** A new private JWK with `kid` (its thumbprint), `alg` and `use: sig`. */
export async function generateSigningJwk(algorithm: SignatureAlgorithm): Promise<JWK> {
  let jwk: JWK
  if (algorithm === 'SM2') {
    const { privateKey } = sm2.generateKeyPairHex()
    jwk = sm2PrivateJwk(privateKey)
  } else {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    jwk = await exportJWK(privateKey)
  }
  const withAlg: JWK = { ...jwk, alg: JWS_ALGORITHM[algorithm], use: 'sig' }
  return { ...withAlg, kid: await calculateJwkThumbprint(withAlg) }
}

/** The signer of a private JWK (as written by `generateSigningJwk`); throws on a key of another kind. */
export async function signerFromJwk(privateJwk: JWK): Promise<AuditSigner> {
  const algorithm = algorithmOfJwk(privateJwk)
  if (algorithm === undefined || typeof privateJwk.d !== 'string') {
    throw new Error('not an Ed25519 or SM2 private key (JWK kty OKP/Ed25519 or EC/SM2 with d)')
  }
  const alg = JWS_ALGORITHM[algorithm]
  const publicJwk: JWK = {
    ...publicJwkOf(privateJwk),
    alg,
    use: 'sig',
    kid: privateJwk.kid ?? (await calculateJwkThumbprint(privateJwk)),
  }
  const kid = publicJwk.kid as string
  if (algorithm === 'Ed25519') {
    const key = (await importJWK(privateJwk, 'EdDSA')) as webcrypto.CryptoKey
    return {
      alg,
      kid,
      publicJwk,
      sign: async (bytes) => new Uint8Array(await webcrypto.subtle.sign('Ed25519', key, bytes)),
    }
  }
  const privateHex = base64urlToHex(privateJwk.d)
  const publicHex = sm2PublicHex(publicJwk)
  // A key file whose public half does not belong to its private half would sign what nobody can verify.
  if (sm2.getPublicKeyFromPrivateKey(privateHex) !== publicHex) throw new Error('SM2 key: x, y do not match d')
  return {
    alg,
    kid,
    publicJwk,
    sign: async (bytes) =>
      hexToBytes(sm2.doSignature(bytes, privateHex, { hash: true, publicKey: publicHex, userId: SM2_DEFAULT_USER_ID })),
  }
}

/**
 * Whether `signature` is `alg`'s signature of `bytes` under `publicJwk`. False — never an exception — for a wrong
 * signature, a key that is not of that algorithm, or a malformed key or signature.
 */
export async function verifySignature(
  alg: string,
  publicJwk: JWK,
  bytes: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const algorithm = algorithmOfJwk(publicJwk)
  if (algorithm === undefined || JWS_ALGORITHM[algorithm] !== alg) return false
  if (publicJwk.alg !== undefined && publicJwk.alg !== alg) return false
  if (signature.length !== 64) return false
  try {
    if (algorithm === 'Ed25519') {
      const { d: _private, ...onlyPublic } = publicJwk
      const key = (await importJWK(onlyPublic, 'EdDSA')) as webcrypto.CryptoKey
      return await webcrypto.subtle.verify('Ed25519', key, signature, bytes)
    }
    const r = bytesToBigInt(signature.subarray(0, 32))
    const s = bytesToBigInt(signature.subarray(32))
    // GB/T 32918.2 §7.1 B1–B2 (the library leaves the range check to its caller).
    if (r < 1n || r >= SM2_ORDER || s < 1n || s >= SM2_ORDER) return false
    return sm2.doVerifySignature(bytes, bytesToHex(signature), sm2PublicHex(publicJwk), {
      hash: true,
      userId: SM2_DEFAULT_USER_ID,
    })
  } catch {
    return false
  }
}

/**
 * The signer of the key in `path` (mode 0600), created as a key of `algorithm` on first start. A file holding a key
 * of the other algorithm is refused: the way to change algorithm is a new key file (the old public key stays
 * published, so what it signed still verifies).
 */
export async function loadOrCreateAuditSigner(path: string, algorithm: SignatureAlgorithm): Promise<AuditSigner> {
  const privateJwk = await loadOrCreateSigningJwk(path, () => generateSigningJwk(algorithm))
  const found = algorithmOfJwk(privateJwk)
  if (found !== algorithm) {
    throw new Error(
      `audit signing key ${path} is ${found === undefined ? 'not an Ed25519 or SM2 key' : `an ${found} key`} but QIAO_AUDIT_SIGNATURE_ALG is ${algorithm}: point QIAO_AUDIT_SIGNING_KEY_FILE at a new file (made on start) or set QIAO_AUDIT_SIGNATURE_ALG=${found ?? algorithm}`,
    )
  }
  return signerFromJwk(privateJwk)
}

function sm2PrivateJwk(privateHex: string): JWK {
  const publicHex = sm2.getPublicKeyFromPrivateKey(privateHex) // 04 ‖ x ‖ y, uncompressed
  return {
    kty: 'EC',
    crv: 'SM2',
    x: hexToBase64url(publicHex.slice(2, 66)),
    y: hexToBase64url(publicHex.slice(66, 130)),
    d: hexToBase64url(privateHex),
  }
}

/** The uncompressed point `04 ‖ x ‖ y` (lower-case hex) of an SM2 JWK; throws unless x and y are 32 bytes. */
function sm2PublicHex(jwk: JWK): string {
  const x = base64urlToHex(jwk.x)
  const y = base64urlToHex(jwk.y)
  return `04${x}${y}`
}

function base64urlToHex(value: string | undefined): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64url') : Buffer.alloc(0)
  if (bytes.length !== 32 || bytes.toString('base64url') !== value) throw new Error('SM2 key: not a 32-byte value')
  return bytes.toString('hex')
}

function hexToBase64url(hex: string): string {
  return Buffer.from(hex.padStart(64, '0'), 'hex').toString('base64url')
}

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${bytesToHex(bytes)}`)
}
