import { CompactSign, compactVerify, createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK } from 'jose'
import { loadOrCreateSigningJwk, publicJwkOf } from '../keys/signing-key-file.js'
import { canonicalJson } from './canonical-json.js'
import type { HashAlgorithm } from './merkle.js'

/**
 * A signed checkpoint: the log's state at one moment — for one segment, its size and Merkle root, and the hash
 * chain's head — signed (JWS, EdDSA) with the gateway's audit key. Auditors keep copies outside the gateway; any
 * later rewriting of what a checkpoint covers is then detectable, and receipts are proved against them.
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

export interface AuditSigningKey {
  readonly kid: string
  readonly privateJwk: JWK
  readonly publicJwk: JWK
}

/** The audit signing key (Ed25519) in the data directory, created on first start; mode 0600. */
export async function loadOrCreateAuditSigningKey(path: string): Promise<AuditSigningKey> {
  const privateJwk = await loadOrCreateSigningJwk(path)
  return { kid: privateJwk.kid as string, privateJwk, publicJwk: publicJwkOf(privateJwk) }
}

export async function signCheckpoint(key: AuditSigningKey, body: CheckpointBody): Promise<SignedCheckpoint> {
  const payload = canonicalJson(body)
  const signer = await importJWK(key.privateJwk, 'EdDSA')
  const jws = await new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: CHECKPOINT_TYP })
    .sign(signer)
  return { body, jws }
}

/** Verifies a checkpoint's JWS against a key set and returns the body it signs, or throws. */
export async function verifyCheckpoint(jws: string, keys: JSONWebKeySet): Promise<CheckpointBody> {
  const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(keys), { algorithms: ['EdDSA'] })
  if (protectedHeader.typ !== CHECKPOINT_TYP) throw new Error('not a Qiao audit checkpoint')
  return JSON.parse(new TextDecoder().decode(payload)) as CheckpointBody
}
