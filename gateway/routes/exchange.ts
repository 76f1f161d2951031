import type { Context } from 'hono'
import type { Principal } from '../auth/principal.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { beginExchange, requestIdFrom, routeExchange } from '../pipeline/10-request.js'
import { authenticate } from '../pipeline/20-authenticate.js'
import { authorize, findResource, readPurpose } from '../pipeline/30-authorize.js'
import { readJsonBody, validateParameters } from '../pipeline/35-parameters.js'
import { callRead } from '../pipeline/40-connector.js'
import { validateRecords } from '../pipeline/50-validate.js'
import { project } from '../pipeline/60-project.js'
import { auditRecordOf, writeAudit } from '../pipeline/70-audit.js'
import { type ExchangeResponse, renderExchangeProblem, renderSuccess } from '../pipeline/80-respond.js'
import type { Exchange } from '../pipeline/exchange.js'

/**
 * POST /v1/resources/{id}/query — the request pipeline, top to bottom. Each step is a plain function in
 * gateway/pipeline/; this handler only moves the exchange from one to the next, audits the outcome whatever it
 * is, and only then answers.
 */
export function exchangeHandler(deps: GatewayDeps) {
  return async function exchange(c: Context): Promise<Response> {
    const now = deps.clock.now()
    const requestId = requestIdFrom(c.req.header('x-request-id'), now)
    const route = routeExchange(c.req.method, c.req.path)
    const ex = beginExchange(deps.snapshot(), requestId, now, route.resourceId, route.action)
    try {
      if (route.error) throw route.error
      ex.principal = await authenticate(c.req.header('authorization'), deps.verifier)
      ex.purpose = readPurpose(c.req.header('qiao-matter'), c.req.header('qiao-case'))
      ex.resource = findResource(ex.snapshot, ex.resourceId)
      ex.grant = authorize(ex.snapshot, ex.principal, ex.purpose, ex.resource, ex.action, now)
      await read(deps, c, ex, ex.principal)
    } catch (err) {
      ex.error = toGatewayError(err)
    }

    const status = ex.error?.status ?? 200
    let audited = false
    try {
      await writeAudit(deps.audit, auditRecordOf(ex, status, deps.clock.now(), deps.digest))
      audited = true
    } catch (err) {
      ex.error = toGatewayError(err)
    }
    const response: ExchangeResponse = ex.error
      ? renderExchangeProblem(ex, ex.error, audited)
      : renderSuccess(ex, deps.clock.now())
    logExchange(deps, ex, response.status)
    response.headers['x-request-id'] = ex.requestId
    return c.body(response.body, response.status as 200, response.headers)
  }
}

async function read(deps: GatewayDeps, c: Context, ex: Exchange, principal: Principal): Promise<void> {
  const resource = ex.resource
  const binding = resource?.read
  const grant = ex.grant
  if (!resource || !binding || !grant || !resource.connector) throw new Error('read without binding')
  const body = await readJsonBody(c.req.raw, deps.config.bodyLimit)
  ex.params = validateParameters(binding.request, body)
  const connector = ex.snapshot.connectors.get(resource.connector)
  if (!connector)
    throw new GatewayError('upstream-unavailable', { internal: `connector ${resource.connector} not running` })
  const started = deps.clock.now()
  try {
    const records = await callRead(
      {
        connector,
        resource,
        requestId: ex.requestId,
        log: deps.log.child({ requestId: ex.requestId, connector: resource.connector, dept: principal.dept }),
        now: deps.clock.now,
        clientSignal: c.req.raw.signal,
      },
      binding.operation,
      ex.params,
    )
    ex.upstreamMs = deps.clock.now() - started
    ex.records = validateRecords(binding, records)
  } catch (err) {
    ex.upstreamMs ??= deps.clock.now() - started
    if (err instanceof GatewayError && typeof err.extensions?.upstreamCode === 'string') {
      ex.upstreamCode = err.extensions.upstreamCode
    }
    throw err
  }
  ex.released = project(grant, ex.records)
}

function logExchange(deps: GatewayDeps, ex: Exchange, status: number): void {
  const err = ex.error
  const entry = {
    requestId: ex.requestId,
    auditId: ex.auditId,
    resource: ex.resourceId || undefined,
    action: ex.action,
    matter: ex.purpose?.matter,
    dept: ex.principal?.dept,
    decision: ex.grant ? 'allow' : 'deny',
    reason: err?.code ?? 'ok',
    status,
    records: ex.released?.length,
    upstreamMs: ex.upstreamMs,
    totalMs: deps.clock.now() - ex.startedAt,
  }
  if (err?.code === 'internal' || err?.code === 'audit-unavailable') {
    deps.log.error({ ...entry, err: err.message, cause: describeCause(err.cause) }, 'exchange failed')
  } else if (err && err.status >= 500) {
    deps.log.warn({ ...entry, internal: err.message }, 'exchange upstream problem')
  } else {
    deps.log.info(entry, 'exchange')
  }
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : undefined
}
