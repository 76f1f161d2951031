import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import type { IdempotencyScope } from '../idempotency/store.js'
import { beginExchange, type ExchangeRoute, rawPathOf, requestIdFrom, routeExchange } from '../pipeline/10-request.js'
import { authenticate } from '../pipeline/20-authenticate.js'
import { authorize, findResource, readPurpose } from '../pipeline/30-authorize.js'
import { chargeQuota, quotaHeaders } from '../pipeline/32-quota.js'
import { type BodySource, readJsonBody, validateParameters } from '../pipeline/35-parameters.js'
import { claimKey, deliveryOutcome, fingerprintOf, readIdempotencyKey } from '../pipeline/38-idempotency.js'
import { callRead, callWrite, type UpstreamCall } from '../pipeline/40-connector.js'
import { validateRecords } from '../pipeline/50-validate.js'
import { project } from '../pipeline/60-project.js'
import { auditRecordOf, writeAudit } from '../pipeline/70-audit.js'
import {
  type ExchangeResponse,
  renderExchangeProblem,
  renderReplay,
  renderSuccess,
  renderWriteSuccess,
} from '../pipeline/80-respond.js'
import type { Exchange } from '../pipeline/exchange.js'
import { lazyChild } from '../telemetry/logger.js'
import { currentTraceId, type Span, SpanStatusCode, withServerSpan } from '../telemetry/tracing.js'

/**
 * POST /v1/resources/{id}/query (read) and /records (write) — the request pipeline, top to bottom. Each step is a
 * plain function in gateway/pipeline/; this handler only moves the exchange from one to the next, audits the
 * outcome whatever it is, and only then answers.
 */
export function exchangeHandler(deps: GatewayDeps) {
  return function exchange(c: Context): Promise<Response> {
    return withServerSpan(
      `${c.req.method} /v1/resources/{id}`,
      (name) => c.req.header(name),
      (span) => handle(deps, c, span),
    )
  }
}

async function handle(deps: GatewayDeps, c: Context, span: Span | undefined): Promise<Response> {
  const started = performance.now()
  const now = deps.clock.now()
  const requestId = requestIdFrom(c.req.header('x-request-id'), now)
  // The path as sent: Hono's c.req.path is already partly decoded, and an id must be decoded exactly once.
  const route = routeExchange(c.req.method, rawPathOf(c.req.url))
  const snapshot = deps.acquireSnapshot()
  try {
    return await run(
      deps,
      c,
      span,
      beginExchange(snapshot, requestId, now, route.resourceId, route.action),
      route,
      started,
    )
  } finally {
    deps.releaseSnapshot(snapshot)
  }
}

/** The pipeline for one call, under the catalog snapshot it started with. */
async function run(
  deps: GatewayDeps,
  c: Context,
  span: Span | undefined,
  ex: Exchange,
  route: ExchangeRoute,
  started: number,
): Promise<Response> {
  const now = ex.startedAt
  const requestId = ex.requestId
  ex.traceId = currentTraceId()
  try {
    if (route.error) throw route.error
    if (deps.lifecycle.draining()) throw drainingError()
    ex.principal = await authenticate(c.req.header('authorization'), deps.verifier)
    ex.purpose = readPurpose(c.req.header('qiao-matter'), c.req.header('qiao-case'))
    ex.resource = findResource(ex.snapshot, ex.resourceId)
    ex.grant = authorize(ex.snapshot, ex.principal, ex.purpose, ex.resource, ex.action, now)
    ex.quota = await chargeQuota(ex.snapshot, ex.principal, ex.purpose, ex.resource)
    if (ex.action === 'read') await read(deps, c, ex)
    else await write(deps, c, ex)
  } catch (err) {
    ex.error = toGatewayError(err)
  }

  const status = ex.error?.status ?? ex.replay?.status ?? (ex.action === 'write' ? 201 : 200)
  let audited = false
  const auditStarted = performance.now()
  try {
    await writeAudit(deps.audit, auditRecordOf(ex, status, deps.clock.now(), deps.digest))
    deps.metrics.auditWriteSeconds.observe((performance.now() - auditStarted) / 1000)
    audited = true
  } catch (err) {
    if (ex.receipt) deps.log.error({ requestId, auditId: ex.auditId }, 'write delivered but its audit record failed')
    ex.error = toGatewayError(err)
  }
  const response = respond(deps, ex, audited)
  // 429s carry the RateLimit fields in their problem; successful answers report the tightest quota too.
  if (response.status < 300) Object.assign(response.headers, quotaHeaders(ex.quota))
  await rememberAnswer(deps, ex, response)
  logExchange(deps, ex, response.status)
  observe(deps, ex, response.status, started, span)
  response.headers['x-request-id'] = ex.requestId
  return c.body(response.body, response.status as 200, response.headers)
}

/** Shutting down: new calls are refused cleanly (and audited) so the caller retries on another instance. */
function drainingError(): GatewayError {
  return new GatewayError('gateway-draining', {
    detail: 'this gateway instance is shutting down; retry the call',
    headers: { 'retry-after': '1', connection: 'close' },
  })
}

/** Metric labels only take values the catalog knows; anything a caller made up is `_other`. */
function observe(deps: GatewayDeps, ex: Exchange, status: number, started: number, span: Span | undefined): void {
  const { catalog } = ex.snapshot
  const resource = ex.resource?.id ?? (ex.resourceId ? '_other' : '_none')
  const matter = ex.purpose ? (catalog.matters.has(ex.purpose.matter) ? ex.purpose.matter : '_other') : '_none'
  const dept = ex.principal ? (catalog.departments.has(ex.principal.dept) ? ex.principal.dept : '_other') : '_none'
  const decision = ex.grant ? 'allow' : 'deny'
  deps.metrics.requests.inc({ resource, matter, dept, action: ex.action, decision, status: String(status) })
  deps.metrics.requestSeconds.observe({ resource, decision }, (performance.now() - started) / 1000)
  if (span) {
    span.setAttributes({
      'http.response.status_code': status,
      'qiao.resource': resource,
      'qiao.matter': matter,
      'qiao.dept': dept,
      'qiao.decision': decision,
      'qiao.reason': ex.error?.code ?? 'ok',
      'qiao.audit_id': ex.auditId,
    })
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: ex.error?.code })
  }
}

/** Upstream latency and failures per connector instance. */
function observeUpstream(deps: GatewayDeps, instance: string, started: number, err?: unknown): void {
  const outcome = err === undefined ? 'ok' : toGatewayError(err).code
  deps.metrics.upstreamSeconds.observe({ connector: instance, outcome }, (deps.clock.now() - started) / 1000)
  if (err !== undefined) deps.metrics.upstreamErrors.inc({ connector: instance, kind: outcome })
}

function respond(deps: GatewayDeps, ex: Exchange, audited: boolean): ExchangeResponse {
  if (ex.error) return renderExchangeProblem(ex, ex.error, audited)
  if (ex.replay) return renderReplay(ex)
  return ex.action === 'write' ? renderWriteSuccess(ex, deps.clock.now()) : renderSuccess(ex, deps.clock.now())
}

function upstreamCall(deps: GatewayDeps, c: Context, ex: Exchange): UpstreamCall {
  const resource = ex.resource
  const instance = resource?.connector
  const connector = instance === undefined ? undefined : ex.snapshot.connectors.get(instance)
  const guard = instance === undefined ? undefined : ex.snapshot.guards.get(instance)
  if (!resource || !connector || !guard) {
    throw new GatewayError('upstream-unavailable', { internal: `connector ${instance} not running` })
  }
  return {
    connector,
    guard,
    instance: instance as string,
    resource,
    requestId: ex.requestId,
    log: lazyChild(deps.log, { requestId: ex.requestId, connector: instance, dept: ex.principal?.dept }),
    now: deps.clock.now,
    onClientGone: clientGone(c),
  }
}

/** The request body as the server has it: the Node stream when there is one, else the web Request. */
function bodySource(c: Context): BodySource {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming
  return incoming ? { kind: 'node', stream: incoming } : { kind: 'web', request: c.req.raw }
}

/** Watches the response socket: closed before the answer was written means the caller went away. */
function clientGone(c: Context): UpstreamCall['onClientGone'] {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing
  if (!outgoing) return undefined
  return (listener) => {
    const onClose = () => {
      if (!outgoing.writableFinished) listener()
    }
    outgoing.once('close', onClose)
    return () => outgoing.off('close', onClose)
  }
}

async function read(deps: GatewayDeps, c: Context, ex: Exchange): Promise<void> {
  const binding = ex.resource?.read
  if (!binding || !ex.grant) throw new Error('read without a read binding')
  const body = await readJsonBody(bodySource(c), deps.config.bodyLimit)
  ex.params = validateParameters(binding.request, body)
  const call = upstreamCall(deps, c, ex)
  const started = deps.clock.now()
  try {
    const records = await callRead(call, binding.operation, ex.params)
    ex.upstreamMs = deps.clock.now() - started
    observeUpstream(deps, call.instance, started)
    ex.records = validateRecords(binding, records)
  } catch (err) {
    if (ex.upstreamMs === undefined) observeUpstream(deps, call.instance, started, err)
    ex.upstreamMs ??= deps.clock.now() - started
    noteUpstreamCode(ex, err)
    throw err
  }
  ex.released = project(ex.grant, ex.records)
}

/** Key of an Idempotency-Key: scoped to the calling department and the resource. */
function idempotencyScope(ex: Exchange): IdempotencyScope {
  return { dept: ex.principal?.dept ?? '', resource: ex.resourceId, key: ex.idempotencyKey ?? '' }
}

async function write(deps: GatewayDeps, c: Context, ex: Exchange): Promise<void> {
  const binding = ex.resource?.write
  if (!binding || !ex.purpose) throw new Error('write without a write binding')
  ex.idempotencyKey = readIdempotencyKey(c.req.header('idempotency-key'))
  const body = await readJsonBody(bodySource(c), deps.config.bodyLimit)
  ex.params = validateParameters(binding.request, body)
  const call = upstreamCall(deps, c, ex)
  const scope = idempotencyScope(ex)
  const fingerprint = fingerprintOf(ex.purpose, ex.params)
  ex.replay = await claimKey(deps.idempotency, scope, fingerprint, deps.clock.now(), call.resource.timeoutMs)
  if (ex.replay) return
  const started = deps.clock.now()
  try {
    ex.receipt = await callWrite(call, binding.operation, ex.params)
    ex.upstreamMs = deps.clock.now() - started
    observeUpstream(deps, call.instance, started)
  } catch (err) {
    ex.upstreamMs = deps.clock.now() - started
    observeUpstream(deps, call.instance, started, err)
    noteUpstreamCode(ex, err)
    const problem = toGatewayError(err)
    const outcome = deliveryOutcome(problem)
    // Refusals are answered again on retry (rememberAnswer); the others decide the key's fate now.
    // If the store fails here the claim stays in flight, and turns unknown after its window: never re-delivered.
    try {
      if (outcome === 'not-delivered') await deps.idempotency.release(scope)
      else if (outcome === 'unknown') await deps.idempotency.markUnknown(scope)
    } catch (storeErr) {
      deps.log.error({ requestId: ex.requestId, err: (storeErr as Error).message }, 'idempotency key not updated')
    }
    throw problem
  }
}

/** Writes: store the answer a retry with the same key will get (deliveries and refusals). */
async function rememberAnswer(deps: GatewayDeps, ex: Exchange, response: ExchangeResponse): Promise<void> {
  if (ex.action !== 'write' || ex.replay || ex.idempotencyKey === undefined || !ex.params) return
  const delivered = ex.receipt !== undefined
  const refused = ex.error !== undefined && !delivered && deliveryOutcome(ex.error) === 'refused'
  if (!delivered && !refused) return
  // A delivered write whose audit failed still answers retries with the delivery, never with the 503.
  const answer = delivered && ex.error ? renderWriteSuccess({ ...ex, error: undefined }, deps.clock.now()) : response
  try {
    await deps.idempotency.complete(idempotencyScope(ex), {
      status: answer.status,
      contentType: answer.headers['content-type'] ?? 'application/json',
      body: answer.body,
      auditId: ex.auditId,
    })
  } catch (err) {
    deps.log.error({ requestId: ex.requestId, err: (err as Error).message }, 'idempotency answer not stored')
  }
}

function noteUpstreamCode(ex: Exchange, err: unknown): void {
  if (err instanceof GatewayError && typeof err.extensions?.upstreamCode === 'string') {
    ex.upstreamCode = err.extensions.upstreamCode
  }
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
    replay: ex.replay ? true : undefined,
    upstreamMs: ex.upstreamMs,
    totalMs: deps.clock.now() - ex.startedAt,
    traceId: ex.traceId,
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
