import type { GatewayError } from '../errors/gateway-error.js'
import { type RenderedProblem, renderProblem } from '../errors/problem.js'
import type { Exchange } from './exchange.js'

export interface ExchangeResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** The 200 body: the released data and what the caller needs to account for it. */
export function renderSuccess(exchange: Exchange, retrievedAt: number): ExchangeResponse {
  const { resource, purpose, grant, released } = exchange
  if (!resource || !purpose || !grant || !released || !resource.read) throw new Error('incomplete exchange')
  const data = resource.read.cardinality === 'one' ? released[0] : released
  const body = {
    data,
    meta: {
      resource: resource.id,
      provider: resource.provider,
      matter: purpose.matter,
      case: purpose.caseId,
      auditId: exchange.auditId,
      fields: grant.fields,
      masked: grant.masked,
      count: released.length,
      retrievedAt: new Date(retrievedAt).toISOString(),
    },
  }
  return {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'qiao-audit-id': exchange.auditId,
      'cache-control': 'no-store',
    },
    body: JSON.stringify(body),
  }
}

/** Problems on exchange calls carry the audit id too, when the record was written. */
export function renderExchangeProblem(exchange: Exchange, error: GatewayError, audited: boolean): RenderedProblem {
  const problem = renderProblem(error, exchange.requestId)
  problem.headers['cache-control'] = 'no-store'
  if (audited) problem.headers['qiao-audit-id'] = exchange.auditId
  return problem
}
