import type { JSONWebKeySet } from 'jose'
import { canonicalJson } from './canonical-json.js'
import type { HashAlgorithm } from './merkle.js'
import { type AuditSigner, loadOrCreateAuditSigner, type SignatureAlgorithm } from './signing.js'
import { signCompactJws, verifyCompactJws } from './signing-jws.js'

/**
 * A signed checkpoint: the log's state at one moment — for one segment, its size and Merkle root, and the hash
 * chain's head — signed (JWS, EdDSA or SM2, see signing.ts) with the gateway's audit key. Auditors keep copies
 * outside the gateway; any later rewriting of what a checkpoint covers is then detectable, and receipts are proved
 * against them.
 */
export interface CheckpointBody {
  readonly logId: string
  readonly segment: number
  /** Leaves of the segment's tree covered. */
  readonly size: number
  /** `seq` of the segment's leaf 0. */
  readonly firstSeq: number
  /** Hex RFC 9162 root of the segment's first `size` leaves. */
  readonly rootHash: string
  /** Hex chain value after the last covered entry. */
  readonly chainHead: string
  readonly hashAlg: HashAlgorithm
  /** ISO 8601 time of signing. */
  readonly time: string
  /** True for the final checkpoint of a segment: nothing is ever added to it after. */
  readonly sealed: boolean
  /** Hex hash of the previous segment's sealing checkpoint (its JWS), linking segments. */
  readonly prevSeal?: string
}

export interface SignedCheckpoint {
  readonly body: CheckpointBody
  /** Compact JWS whose payload is the canonical body. */
  readonly jws: string
}

export const CHECKPOINT_TYP = 'qiao-audit-checkpoint+jws'

/** The key that signs checkpoints. */
export type AuditSigningKey = AuditSigner

/** The audit signing key in the data directory (Ed25519 unless told), created on first start; mode 0600. */
export async function loadOrCreateAuditSigningKey(
  path: string,
  algorithm: SignatureAlgorithm = 'Ed25519',
): Promise<AuditSigningKey> {
  return loadOrCreateAuditSigner(path, algorithm)
}

export async function signCheckpoint(key: AuditSigningKey, body: CheckpointBody): Promise<SignedCheckpoint> {
  const jws = await signCompactJws(key, CHECKPOINT_TYP, new TextEncoder().encode(canonicalJson(body)))
  return { body, jws }
}

/** Verifies a checkpoint's JWS (EdDSA or SM2SM3) against a key set and returns the body it signs, or throws. */
export async function verifyCheckpoint(jws: string, keys: JSONWebKeySet): Promise<CheckpointBody> {
  const { payload } = await verifyCompactJws(jws, keys, { typ: CHECKPOINT_TYP })
  return JSON.parse(new TextDecoder().decode(payload)) as CheckpointBody
}
