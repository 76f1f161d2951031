import type { JSONWebKeySet, JWK } from 'jose'
import { type AuditSigner, JWS_ALGORITHMS, type JwsAlgorithm, verifySignature } from './signing.js'

/**
 * Compact JWS (RFC 7515 §7.1) with the signers of signing.ts. Assembled here rather than by jose because jose takes
 * only IANA algorithms and its own key objects, and SM2 is neither; for EdDSA the output is byte for byte what jose
 * writes (same header order, deterministic Ed25519), so checkpoints signed before still read the same.
 */

export interface JwsHeader {
  readonly alg: JwsAlgorithm
  readonly kid: string
  readonly typ: string
  readonly [name: string]: unknown
}

export interface VerifiedJws {
  readonly header: JwsHeader
  readonly payload: Uint8Array
  /** The key that verified it. */
  readonly key: JWK
}

/** Signs `payload` as a compact JWS with protected header `{alg, kid, typ, …extra}`. */
export async function signCompactJws(
  signer: AuditSigner,
  typ: string,
  payload: Uint8Array,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const header = { alg: signer.alg, kid: signer.kid, typ, ...extra }
  const input = `${base64url(new TextEncoder().encode(JSON.stringify(header)))}.${base64url(payload)}`
  const signature = await signer.sign(new TextEncoder().encode(input))
  return `${input}.${base64url(signature)}`
}

/**
 * Verifies a compact JWS against a key set: its `alg` must be one of `algorithms` (default: every one of
 * signing.ts), its `typ` the one expected, and a key of the set with its `kid` and of that algorithm must verify it.
 * Throws, saying which of these failed; extensions (`crit`, `b64`) are not understood and so refused.
 */
export async function verifyCompactJws(
  jws: string,
  keys: JSONWebKeySet,
  options: { readonly typ: string; readonly algorithms?: readonly JwsAlgorithm[] },
): Promise<VerifiedJws> {
  const parts = jws.split('.')
  if (parts.length !== 3) throw new Error('not a compact JWS')
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  const header = parseHeader(encodedHeader)
  const algorithms = options.algorithms ?? JWS_ALGORITHMS
  if (!algorithms.includes(header.alg)) throw new Error(`JWS alg ${String(header.alg)} is not allowed`)
  if (header.typ !== options.typ) throw new Error(`JWS typ is not ${options.typ}`)
  if ('crit' in header || 'b64' in header) throw new Error('JWS extensions are not supported')
  const payload = fromBase64url(encodedPayload)
  const signature = fromBase64url(encodedSignature)
  const input = new TextEncoder().encode(`${encodedHeader}.${encodedPayload}`)
  const candidates = keys.keys.filter((k) => header.kid === undefined || k.kid === header.kid)
  for (const key of candidates) {
    if (await verifySignature(header.alg, key, input, signature)) return { header, payload, key }
  }
  throw new Error(
    candidates.length === 0
      ? `no key with kid ${String(header.kid)}`
      : 'JWS signature does not verify with the key of its kid',
  )
}

function parseHeader(encoded: string): JwsHeader {
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(encoded)))
  } catch {
    throw new Error('JWS header is not base64url JSON')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new Error('JWS header not an object')
  return header as JwsHeader
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

/** Strict: Node's decoder skips characters outside the alphabet, so the text must also be what it re-encodes to. */
function fromBase64url(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64url')
  if (bytes.toString('base64url') !== text) throw new Error('JWS part is not base64url')
  return new Uint8Array(bytes)
}
