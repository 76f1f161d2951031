import { createHash, createHmac, createSecretKey } from 'node:crypto'
import type { KeyedDigest } from './digest.js'

/**
 * Release evidence: what a read released, provable later without keeping it. The audit record of an answered read
 * holds two keyed digests (HMAC-SHA256, hex, under the audit HMAC key — the one of `paramsDigest` and `subjects`):
 *
 * - `requestDigest` of the canonical request `{action, case, dept, matter, params, resource}` (RFC 8785), which
 *   binds the answer to the query that asked for it (X-Road's request hash);
 * - `releaseDigest` of the canonical (RFC 8785) `data` array as it left the gateway (projected and masked).
 *
 * Keyed, not plain hashes: released records and parameters hold ID numbers and names, low-entropy values that an
 * unkeyed hash in the log would let anyone reading the log confirm by guessing. For the same reason the record
 * keeps no plain `Content-Digest` of the body; that one travels with the answer (and its signed receipt) only.
 */

/** What a call asked for, as its `requestDigest` covers it. */
export interface CanonicalRequest {
  readonly action: 'read' | 'write'
  readonly case: string
  readonly dept: string
  readonly matter: string
  readonly params: Record<string, unknown>
  readonly resource: string
}

/** The keyed digest of the canonical request (`digest` canonicalises it, RFC 8785). */
export function requestDigestOf(digest: KeyedDigest, request: CanonicalRequest): string {
  return digest({
    action: request.action,
    case: request.case,
    dept: request.dept,
    matter: request.matter,
    params: request.params,
    resource: request.resource,
  })
}

/**
 * HMAC-SHA256 (hex) of text that is already canonical JSON: the released `data` array, serialised once for the
 * body. Equal to `createKeyedDigest(key)(JSON.parse(text))`, which is how `qiao audit prove-release` recomputes it
 * from a body — without serialising the records a second time on the exchange path.
 */
export type CanonicalTextDigest = (canonicalJson: string) => string

export function createCanonicalTextDigest(key: Uint8Array): CanonicalTextDigest {
  const keyObject = createSecretKey(key)
  return (text) => createHmac('sha256', keyObject).update(text, 'utf8').digest('hex')
}

/** RFC 9530 `Content-Digest` of exactly these body bytes (a string is taken as its UTF-8 encoding). */
export function contentDigestOf(body: string | Uint8Array): string {
  const hash = createHash('sha256')
  if (typeof body === 'string') hash.update(body, 'utf8')
  else hash.update(body)
  return `sha-256=:${hash.digest('base64')}:`
}

/** A read answer's body as a consumer filed it: its `data` array and the `meta.auditId` it names. */
export type FiledAnswer =
  | { readonly ok: true; readonly data: unknown[]; readonly auditId: string | undefined }
  | { readonly ok: false; readonly problem: string }

export function readFiledAnswer(body: Uint8Array): FiledAnswer {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    return { ok: false, problem: 'the body is not UTF-8 JSON' }
  }
  const answer = parsed as { data?: unknown; meta?: { auditId?: unknown } } | null
  if (!Array.isArray(answer?.data)) return { ok: false, problem: 'the body has no `data` array (not a read answer)' }
  const auditId = answer.meta?.auditId
  return { ok: true, data: answer.data, auditId: typeof auditId === 'string' ? auditId : undefined }
}
