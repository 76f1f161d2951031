import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { BeginOutcome, IdempotencyScope, IdempotencyStore, StoredAnswer } from '../idempotency/store.js'
import type { Purpose } from '../policy/decide.js'

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

/** What makes two writes "the same request": matter, case and the canonical body. */
export function fingerprintOf(purpose: Purpose, body: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalize({ matter: purpose.matter, case: purpose.caseId, body }) ?? '')
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

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

export type DeliveryOutcome = 'not-delivered' | 'refused' | 'unknown'

/**
 * After a failed write: did the provider certainly not get it (the key is freed so a retry may deliver), did it
 * refuse it (the refusal is the answer for retries), or is it unknown (never sent again under this key)?
 */
export function deliveryOutcome(error: GatewayError): DeliveryOutcome {
  if (error.code === 'upstream-circuit-open' || error.code === 'upstream-overloaded') return 'not-delivered'
  const cause = error.cause
  if (!(cause instanceof ConnectorError)) return 'unknown'
  if (cause.kind === 'rejected' || cause.kind === 'not-found') return 'refused'
  if (cause.kind === 'unavailable') {
    if (cause.upstreamStatus === 503) return 'not-delivered'
    const code = (cause.cause as { code?: unknown } | undefined)?.code
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return 'not-delivered'
  }
  return 'unknown'
}
