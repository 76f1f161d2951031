import type { KeyedDigest } from '../audit/digest.js'
import { contentDigestOf, requestDigestOf } from '../audit/release-evidence.js'
import type { ReleaseKeys } from '../audit/release-keys.js'
import { signReleaseReceipt } from '../audit/release-receipt.js'
import { GatewayError } from '../errors/gateway-error.js'
import { renderSuccess } from './80-respond.js'
import type { Reached, Released, Rendered } from './exchange.js'

/**
 * Release evidence (gateway/audit/release-evidence.ts): a read's answer is rendered here, once, before its audit
 * record is written, and sent as rendered — so the record's `releaseDigest` and the answer's `Content-Digest` are
 * of the very bytes that leave. On the path of every read: one RFC 8785 serialisation of the records (the body's
 * `data`, by the grant's compiled renderer: projection/render.ts), one HMAC over it, one SHA-256 over the body,
 * and for `releaseReceipt` resources one signature.
 */
export async function renderRelease(
  call: Released,
  retrievedAt: number,
  digest: KeyedDigest,
  keys: () => Promise<ReleaseKeys>,
): Promise<Rendered> {
  let loaded: ReleaseKeys
  try {
    loaded = await keys()
  } catch (err) {
    throw evidenceFailed(err)
  }
  const data = call.grant.render.data(call.released)
  const answer = renderSuccess(call, retrievedAt, data)
  const requestDigest = requestDigestOfCall(call, digest) as string
  const contentDigest = contentDigestOf(answer.body)
  answer.headers['content-digest'] = contentDigest
  answer.headers['qiao-request-digest'] = requestDigest
  if (call.resource.releaseReceipt === true) {
    try {
      answer.headers['qiao-release-receipt'] = await signReleaseReceipt(await loaded.signer(), {
        auditId: call.auditId,
        case: call.purpose.caseId,
        contentDigest,
        matter: call.purpose.matter,
        requestDigest,
        resource: call.resource.id,
        time: new Date(retrievedAt).toISOString(),
      })
    } catch (err) {
      throw evidenceFailed(err)
    }
  }
  const reached: Reached = call
  reached.answer = answer
  reached.requestDigest = requestDigest
  reached.releaseDigest = loaded.releaseDigest(data)
  return call as Rendered
}

/** The keyed digest of what a call asked for, once its request was read in full (reads and writes alike). */
export function requestDigestOfCall(call: Reached, digest: KeyedDigest): string | undefined {
  if (call.requestDigest !== undefined) return call.requestDigest
  const { params, purpose, principal, resource } = call
  if (params === undefined || purpose === undefined || principal === undefined || resource === undefined) return
  const { caseId, matter } = purpose
  return requestDigestOf(digest, {
    action: call.action,
    case: caseId,
    dept: principal.dept,
    matter,
    params,
    resource: resource.id,
  })
}

/** Fail closed: a release that cannot be given its evidence is not served (the refusal is audited). */
function evidenceFailed(err: unknown): GatewayError {
  return new GatewayError('audit-unavailable', {
    detail: 'the release could not be given its audit evidence, so nothing was served',
    internal: err instanceof Error ? err.message : 'release evidence failed',
    cause: err,
  })
}
