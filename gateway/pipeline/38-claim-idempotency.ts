import { createHash } from 'node:crypto'
import { canonicalJson } from '../audit/canonical-json.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { BeginOutcome, IdempotencyScope, IdempotencyStore, StoredAnswer } from '../idempotency/store.js'
import type { Purpose } from '../policy/decide.js'
import type { AuthorizedWrite, Charged, Claimed, Keyed, Reached, Replayed, WithParameters } from './exchange.js'

// RFC 9110 field value, kept to visible ASCII so it is safe to store and compare.
const KEY = /^[\x21-\x7e]{1,128}$/

/** `Idempotency-Key` is required on writes (draft-ietf-httpapi-idempotency-key-header). */
export function readIdempotencyKey(header: string | undefined): string {
  if (header === undefined || !KEY.test(header)) {
    throw new GatewayError('idempotency-key-missing', {
      detail:
        header === undefined
          ? 'writes need an Idempotency-Key header'
          : 'Idempotency-Key must be 1–128 visible ASCII characters',
    })
  }
  return header
}

/** The exchange stage for writes, before the body is read. */
export function readKey(call: Charged<AuthorizedWrite>, header: string | undefined): Keyed {
  const reached: Reached = call
  reached.idempotencyKey = readIdempotencyKey(header)
  return call as Keyed
}

/**
 * What makes two writes "the same request": matter, case and the canonical body (RFC 8785, the audit log's
 * implementation: stored fingerprints must not change with the serialiser).
 */
export function fingerprintOf(purpose: Purpose, body: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson({ body, case: purpose.caseId, matter: purpose.matter }))
    .digest('hex')
}

/**
 * How long past its call deadline an in-flight claim is still trusted to finish: the audit record and the stored
 * answer come after the delivery, and instances' clocks differ a little. A claim older than deadline + margin
 * belongs to an instance that died mid-delivery; its outcome is unknown (never re-delivered), see
 * idempotency/state-store.ts.
 */
export const IN_FLIGHT_MARGIN_MS = 30_000

/** Claims the key; returns the stored answer for a replay, undefined for a first delivery, or throws 409. */
export async function claimKey(
  store: IdempotencyStore,
  scope: IdempotencyScope,
  fingerprint: string,
  now: number,
  deadlineMs: number,
): Promise<StoredAnswer | undefined> {
  let outcome: BeginOutcome
  try {
    outcome = await store.begin(scope, fingerprint, now, now + deadlineMs + IN_FLIGHT_MARGIN_MS)
  } catch (err) {
    // Without a durable claim a retry could deliver twice, so nothing is delivered.
    throw new GatewayError('internal', { internal: 'idempotency claim failed', cause: err })
  }
  switch (outcome.kind) {
    case 'new':
      return undefined
    case 'replay':
      return outcome.answer
    case 'answer-not-kept':
      throw new GatewayError('idempotency-answer-not-kept', {
        detail: `the first request with this Idempotency-Key was answered with status ${outcome.status}; that answer was too large to keep`,
        extensions: { firstStatus: outcome.status, firstAuditId: outcome.auditId },
      })
    case 'conflict':
      throw new GatewayError('idempotency-conflict', {
        detail: 'this Idempotency-Key was used for a different request (matter, case or body)',
      })
    case 'in-flight':
      throw new GatewayError('idempotency-in-flight', { headers: { 'retry-after': '1' } })
    case 'unknown':
      throw new GatewayError('idempotency-outcome-unknown')
  }
}

/**
 * The exchange stage for writes, once the body is valid: claims the key for this department, resource and request.
 * A first delivery comes back `Claimed`, a retry of a finished write `Replayed`; the other outcomes are 409s.
 */
export async function claimWrite(
  call: WithParameters<Keyed>,
  store: IdempotencyStore,
  now: number,
): Promise<Claimed | Replayed> {
  const scope: IdempotencyScope = { dept: call.principal.dept, resource: call.resourceId, key: call.idempotencyKey }
  const replay = await claimKey(store, scope, fingerprintOf(call.purpose, call.params), now, call.resource.timeoutMs)
  const reached: Reached = call
  if (replay !== undefined) {
    reached.replay = replay
    return call as Replayed
  }
  reached.claim = scope
  return call as Claimed
}
