import type { GatewayError } from '../errors/gateway-error.js'
import { type RenderedProblem, renderProblem } from '../errors/problem.js'
import { objectionMeta } from '../sharing/objections-board.js'
import type { Answered, Delivered, Reached, Released, Replayed } from './exchange.js'

export interface ExchangeResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * The 200 body: the released records and what the caller needs to account for them. `data` is an array whatever
 * the binding's cardinality, so a client reads every resource the same way; `one` only means that the provider
 * holds exactly one record (none is 404 record-not-found, never an empty array).
 *
 * `meta` is `{resource, provider, matter, case, auditId, fields, masked, count, retrievedAt, objections?}` in that
 * order — the text JSON.stringify would write for that object — from the members the grant fixes, written once
 * when the grant was compiled (projection/render.ts), and this call's values.
 */
export function renderSuccess(exchange: Released, retrievedAt: number, canonicalData: string): ExchangeResponse {
  const { resource, purpose, grant, released } = exchange
  const { metaOpening, metaFields } = grant.render
  // 异议标注: open data objections on the released records (sharing/objections-board.ts); absent when none.
  const { objections } = objectionMeta(exchange.snapshot.objections, resource, grant, released)
  const meta =
    `${metaOpening}${JSON.stringify(purpose.matter)},"case":${JSON.stringify(purpose.caseId)}` +
    `,"auditId":${JSON.stringify(exchange.auditId)}${metaFields}${released.length}` +
    `,"retrievedAt":"${new Date(retrievedAt).toISOString()}"` +
    (objections === undefined ? '}' : `,"objections":${JSON.stringify(objections)}}`)
  return {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'qiao-audit-id': exchange.auditId,
      'cache-control': 'no-store',
    },
    // `{data, meta}` with `data` as its release digest covers it: RFC 8785 text, serialised once (65-render-release.ts).
    body: `{"data":${canonicalData},"meta":${meta}}`,
  }
}

/** 201 for a delivered write: `data` is the provider's receipt (one object, not records: nothing is released). */
export function renderWriteSuccess(exchange: Delivered, deliveredAt: number): ExchangeResponse {
  const { resource, purpose, receipt } = exchange
  const body = {
    data: receipt,
    meta: {
      resource: resource.id,
      provider: resource.provider,
      matter: purpose.matter,
      case: purpose.caseId,
      auditId: exchange.auditId,
      idempotencyKey: exchange.idempotencyKey,
      deliveredAt: new Date(deliveredAt).toISOString(),
    },
  }
  return {
    status: 201,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'qiao-audit-id': exchange.auditId,
      'cache-control': 'no-store',
    },
    body: JSON.stringify(body),
  }
}

/** A retried write gets the first answer, byte for byte; this call's own audit id is in the header. */
export function renderReplay(exchange: Replayed): ExchangeResponse {
  const answer = exchange.replay
  return {
    status: answer.status,
    headers: {
      'content-type': answer.contentType,
      'qiao-audit-id': exchange.auditId,
      'idempotent-replayed': 'true',
      'cache-control': 'no-store',
    },
    body: answer.body,
  }
}

/** Problems on exchange calls carry the audit id too, when the record was written. */
export function renderExchangeProblem(exchange: Reached, error: GatewayError, audited: boolean): RenderedProblem {
  const problem = renderProblem(error, exchange.requestId, { traceId: exchange.traceId })
  problem.headers['cache-control'] = 'no-store'
  if (audited) problem.headers['qiao-audit-id'] = exchange.auditId
  return problem
}

/** The answer of a call that ended well; a read's was rendered before its audit record (65-render-release.ts). */
export function renderAnswer(answered: Answered, now: number): ExchangeResponse {
  if (answered.action === 'read') return answered.answer
  return answered.replay === undefined ? renderWriteSuccess(answered, now) : renderReplay(answered)
}
