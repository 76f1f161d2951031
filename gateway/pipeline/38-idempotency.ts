import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { IdempotencyStore, StoredAnswer } from '../idempotency/store.js'
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

/** Claims the key; returns the stored answer for a replay, undefined for a first delivery, or throws 409. */
export async function claimKey(
  store: IdempotencyStore,
  key: string,
  fingerprint: string,
  now: number,
): Promise<StoredAnswer | undefined> {
  let outcome: Awaited<ReturnType<IdempotencyStore['begin']>>
  try {
    outcome = await store.begin(key, fingerprint, now)
  } catch (err) {
    // Without a durable claim a retry could deliver twice, so nothing is delivered.
    throw new GatewayError('internal', { internal: 'idempotency journal write failed', cause: err })
  }
  switch (outcome.kind) {
    case 'new':
      return undefined
    case 'replay':
      return outcome.answer
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
