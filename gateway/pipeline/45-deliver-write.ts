import { ConnectorError } from '../../connectors/kit/connector-error.js'
import { type GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { IdempotencyStore } from '../idempotency/store.js'
import type { UpstreamObserver } from '../telemetry/exchange-observer.js'
import { callWrite, noteUpstreamCode, type UpstreamCall } from './40-call-connector.js'
import { type ExchangeResponse, renderWriteSuccess } from './80-respond.js'
import type { Claimed, Delivered, Reached } from './exchange.js'

/** Where the write flow reports a key it could not update (the operational log). */
export interface WriteFlowLog {
  error(obj: object, msg: string): void
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
 * After a failed write, whether it may be sent twice: did the provider certainly not get it (the key is freed so a
 * retry may deliver), did it refuse it (the refusal is the answer for retries), or is it unknown (never sent again
 * under this key)?
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

/**
 * The write stage, once the key is claimed: one delivery, never retried. When it fails the key's fate is decided
 * now — released when the provider certainly did not get it, marked unknown when nobody can tell — except for a
 * refusal, which is kept as the answer for retries once it is rendered (keepAnswer).
 */
export async function deliverWrite(
  call: Claimed,
  upstream: UpstreamCall,
  store: IdempotencyStore,
  observer: UpstreamObserver,
  log: WriteFlowLog,
): Promise<Delivered> {
  const reached: Reached = call
  const started = upstream.now()
  try {
    reached.receipt = await callWrite(upstream, call.binding.operation, call.params)
  } catch (err) {
    reached.upstreamMs = upstream.now() - started
    observer.upstream(upstream.instance, started, err)
    noteUpstreamCode(reached, err)
    const problem = toGatewayError(err)
    const outcome = deliveryOutcome(problem)
    // If the store fails here the claim stays in flight, and turns unknown after its window: never re-delivered.
    try {
      if (outcome === 'not-delivered') await store.release(call.claim)
      else if (outcome === 'unknown') await store.markUnknown(call.claim)
    } catch (storeErr) {
      log.error({ requestId: call.requestId, err: (storeErr as Error).message }, 'idempotency key not updated')
    }
    throw problem
  }
  reached.upstreamMs = upstream.now() - started
  observer.upstream(upstream.instance, started)
  return call as Delivered
}

/**
 * The write flow's last step, once the call is audited and answered: the answer a retry with the same key gets,
 * for deliveries and refusals (the other failures settled the key in deliverWrite, or left it to its window).
 * `error` is the call's final problem, the audit's included.
 */
export async function keepAnswer(
  store: IdempotencyStore,
  log: WriteFlowLog,
  call: Reached,
  error: GatewayError | undefined,
  response: ExchangeResponse,
  now: number,
): Promise<void> {
  const scope = call.claim
  if (scope === undefined) return
  let answer = response
  if (call.receipt !== undefined) {
    // A delivered write whose audit failed still answers retries with the delivery, never with the 503.
    // (Only deliverWrite sets a receipt, on a Claimed call: the call is Delivered.)
    if (error !== undefined) answer = renderWriteSuccess(call as Delivered, now)
  } else if (error === undefined || deliveryOutcome(error) !== 'refused') {
    return
  }
  try {
    await store.complete(scope, {
      status: answer.status,
      contentType: answer.headers['content-type'] ?? 'application/json',
      body: answer.body,
      auditId: call.auditId,
    })
  } catch (err) {
    log.error({ requestId: call.requestId, err: (err as Error).message }, 'idempotency answer not stored')
  }
}
