import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto'
import canonicalize from 'canonicalize'

/**
 * An offline receipt checker written from the RFCs alone, sharing no code with the gateway's audit modules: what an
 * auditor's own tool would do with a receipt (GET /v1/audit/records/{id}/proof) and the published keys.
 *
 * - Leaf (RFC 9162 §2.1.1): SHA-256(0x00 || entry), the entry being the RFC 8785 canonical JSON of
 *   { logId, seq, segment, index, loggedAt, record } as documented in README "Audit".
 * - Root from an inclusion proof: RFC 9162 §2.1.3.1 defines PATH(m, D[n]) recursively; this walks that same
 *   recursion backwards (split n at the largest power of two k < n; the last proof element is the sibling subtree).
 * - Checkpoint: a compact JWS (RFC 7515) signed with Ed25519 (RFC 8037); verified with node:crypto, not a JOSE library.
 */
export interface Receipt {
  entry: { logId: string; seq: number; segment: number; index: number; loggedAt: string; record: unknown }
  leafIndex: number
  treeSize: number
  proof: string[]
  checkpoint: { jws: string }
}

export interface Jwk {
  kty: string
  crv?: string
  x?: string
  kid?: string
}

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest()

function rootFromPath(index: number, size: number, leaf: Buffer, proof: Buffer[]): Buffer | undefined {
  if (size === 1) return proof.length === 0 ? leaf : undefined
  if (proof.length === 0) return undefined
  let k = 1
  while (k * 2 < size) k *= 2
  const sibling = proof[proof.length - 1] as Buffer
  const rest = proof.slice(0, -1)
  if (index < k) {
    const left = rootFromPath(index, k, leaf, rest)
    return left && sha256(Buffer.from([1]), left, sibling)
  }
  const right = rootFromPath(index - k, size - k, leaf, rest)
  return right && sha256(Buffer.from([1]), sibling, right)
}

export interface CheckResult {
  ok: boolean
  reason?: string
  checkpoint?: { logId: string; segment: number; size: number; rootHash: string }
}

export function checkReceipt(receipt: Receipt, keys: Jwk[]): CheckResult {
  const { entry } = receipt
  const canonical = canonicalize({
    logId: entry.logId,
    seq: entry.seq,
    segment: entry.segment,
    index: entry.index,
    loggedAt: entry.loggedAt,
    record: entry.record,
  })
  if (canonical === undefined) return { ok: false, reason: 'entry not canonicalisable' }
  const leaf = sha256(Buffer.from([0]), Buffer.from(canonical, 'utf8'))

  const [headerB64, payloadB64, signatureB64] = receipt.checkpoint.jws.split('.')
  if (!headerB64 || !payloadB64 || !signatureB64) return { ok: false, reason: 'not a compact JWS' }
  const header = JSON.parse(Buffer.from(headerB64, 'base64url').toString('utf8')) as { alg?: string; kid?: string }
  if (header.alg !== 'EdDSA') return { ok: false, reason: `unexpected alg ${header.alg}` }
  const jwk = keys.find((k) => k.kid === header.kid)
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519') return { ok: false, reason: 'signing key not published' }
  const signed = verifySignature(
    null,
    Buffer.from(`${headerB64}.${payloadB64}`, 'ascii'),
    createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' }),
    Buffer.from(signatureB64, 'base64url'),
  )
  if (!signed) return { ok: false, reason: 'checkpoint signature does not verify' }
  const body = JSON.parse(Buffer.from(payloadB64, 'base64url').toString('utf8')) as {
    logId: string
    segment: number
    size: number
    rootHash: string
    hashAlg: string
  }
  if (body.hashAlg !== 'sha256') return { ok: false, reason: 'this checker implements SHA-256 only' }
  if (body.logId !== entry.logId || body.segment !== entry.segment)
    return { ok: false, reason: 'checkpoint of another log or segment' }
  if (body.size !== receipt.treeSize || receipt.leafIndex !== entry.index || entry.index >= body.size) {
    return { ok: false, reason: 'proof does not match the checkpoint size or the entry index' }
  }
  const root = rootFromPath(
    entry.index,
    body.size,
    leaf,
    receipt.proof.map((h) => Buffer.from(h, 'hex')),
  )
  if (!root) return { ok: false, reason: 'proof has the wrong length' }
  if (root.toString('hex') !== body.rootHash)
    return { ok: false, reason: 'root from the proof differs from the signed root' }
  return {
    ok: true,
    checkpoint: { logId: body.logId, segment: body.segment, size: body.size, rootHash: body.rootHash },
  }
}
