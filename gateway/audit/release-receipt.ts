import type { JSONWebKeySet } from 'jose'
import { canonicalJson } from './canonical-json.js'
import type { AuditSigner } from './signing.js'
import { signCompactJws, verifyCompactJws } from './signing-jws.js'

/**
 * A signed release receipt (catalog `releaseReceipt: true` on a resource): a compact JWS over what one answer
 * released, made with the gateway's audit signing key (the checkpoints' key, Ed25519 or SM2, published at
 * /v1/audit/keys), sent as `Qiao-Release-Receipt` for the requesting department to file with its case. With the
 * body it was sent with, it proves what that department received and when, without asking the gateway again.
 */
export const RELEASE_RECEIPT_TYP = 'qiao-release-receipt+jws'

export interface ReleaseReceiptBody {
  /** The call's `Qiao-Audit-Id`: its audit record holds the same `requestDigest` and the `releaseDigest`. */
  readonly auditId: string
  /** The call's `case` (`Qiao-Case`). */
  readonly case: string
  /** RFC 9530 `Content-Digest` of the body bytes sent: `sha-256=:<base64>:`. */
  readonly contentDigest: string
  readonly matter: string
  /** The audit record's keyed digest of the canonical request. */
  readonly requestDigest: string
  readonly resource: string
  /** ISO 8601 UTC, the answer's `meta.retrievedAt`. */
  readonly time: string
}

/** The receipt's JWS; its payload is the canonical (RFC 8785) body. */
export function signReleaseReceipt(signer: AuditSigner, body: ReleaseReceiptBody): Promise<string> {
  return signCompactJws(signer, RELEASE_RECEIPT_TYP, new TextEncoder().encode(canonicalJson(body)))
}

/** Verifies a receipt against audit public keys and returns what it signs, or throws saying why not. */
export async function verifyReleaseReceipt(jws: string, keys: JSONWebKeySet): Promise<ReleaseReceiptBody> {
  const { payload } = await verifyCompactJws(jws, keys, { typ: RELEASE_RECEIPT_TYP })
  const body = JSON.parse(new TextDecoder().decode(payload)) as Partial<Record<keyof ReleaseReceiptBody, unknown>>
  for (const key of ['auditId', 'case', 'contentDigest', 'matter', 'requestDigest', 'resource', 'time'] as const) {
    if (typeof body[key] !== 'string') throw new Error(`the receipt has no ${key}`)
  }
  return body as ReleaseReceiptBody
}
