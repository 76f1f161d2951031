import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import { type ReleaseKeys, releaseKeysFrom } from '../audit/release-keys.js'
import { refuseWhileTimestampingUnavailable } from '../audit/tsa/configured.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { beginExchange, rawPathOf, requestIdFrom, routeExchange } from '../pipeline/10-route-request.js'
import { authenticateCall } from '../pipeline/20-authenticate.js'
import { authorizeCall } from '../pipeline/30-authorize.js'
import { chargeQuota, quotaHeaders } from '../pipeline/32-charge-quota.js'
import { type BodyStream, readParameters } from '../pipeline/35-read-parameters.js'
import { claimWrite, readKey } from '../pipeline/38-claim-idempotency.js'
import { fetchRecords, type UpstreamCall, upstreamCallFor } from '../pipeline/40-call-connector.js'
import { deliverWrite, keepAnswer } from '../pipeline/45-deliver-write.js'
import { acceptRecords } from '../pipeline/50-validate-records.js'
import { releaseRecords } from '../pipeline/60-project-fields.js'
import { renderRelease } from '../pipeline/65-render-release.js'
import { auditRecordOf, writeAudit } from '../pipeline/70-write-audit.js'
import { renderAnswer, renderExchangeProblem } from '../pipeline/80-respond.js'
import type {
  Answered,
  Authorized,
  AuthorizedRead,
  AuthorizedWrite,
  Charged,
  Delivered,
  Reached,
  Rendered,
  Replayed,
} from '../pipeline/exchange.js'
import { clientGoneWatcher, createExchangeObserver, type ExchangeObserver } from '../telemetry/exchange-observer.js'
import { lazyChild } from '../telemetry/logger.js'
import { currentTraceId, type Span, withServerSpan } from '../telemetry/tracing.js'

/**
 * POST /v1/resources/{id}/query (read) and /records (write): route the call, run it through the stages of
 * gateway/pipeline/ in order, audit whatever it reached, and only then answer. Metrics, span attributes and the
 * log line are telemetry/exchange-observer.ts's.
 */
export function exchangeHandler(deps: GatewayDeps) {
  const observer = createExchangeObserver(deps.metrics, deps.log, deps.clock)
  const releaseKeys = releaseKeysFrom(deps.config)
  return function exchange(c: Context): Promise<Response> {
    return withServerSpan(
      `${c.req.method} /v1/resources/{id}`,
      (name) => c.req.header(name),
      (span) => handle(deps, observer, releaseKeys, c, span),
    )
  }
}

type Keys = () => Promise<ReleaseKeys>

async function handle(
  deps: GatewayDeps,
  observer: ExchangeObserver,
  keys: Keys,
  c: Context,
  span?: Span,
): Promise<Response> {
  const started = performance.now()
  const now = deps.clock.now()
  const requestId = requestIdFrom(c.req.header('x-request-id'), now)
  // The path as sent: Hono's c.req.path is already partly decoded, and an id must be decoded exactly once.
  const route = routeExchange(c.req.method, rawPathOf(c.req.url))
  const snapshot = deps.acquireSnapshot()
  try {
    const call = beginExchange(snapshot, requestId, now, route, currentTraceId())
    let outcome: Answered | GatewayError
    try {
      if (route.error) throw route.error
      outcome = await runStages(deps, observer, keys, c, call, now)
    } catch (err) {
      outcome = toGatewayError(err)
    }
    const refused = outcome instanceof GatewayError ? outcome : undefined
    const status = refused?.status ?? call.replay?.status ?? (call.action === 'write' ? 201 : 200)
    const auditStarted = performance.now()
    let audited = false
    try {
      await writeAudit(deps.audit, auditRecordOf(call, refused, status, deps.clock.now(), deps.digest))
      observer.auditWritten((performance.now() - auditStarted) / 1000)
      audited = true
    } catch (err) {
      if (call.receipt)
        deps.log.error({ requestId, auditId: call.auditId }, 'write delivered but its audit record failed')
      outcome = toGatewayError(err)
    }
    const error = outcome instanceof GatewayError ? outcome : undefined
    const response =
      outcome instanceof GatewayError
        ? renderExchangeProblem(call, outcome, audited)
        : renderAnswer(outcome, deps.clock.now())
    // 429s carry the RateLimit fields in their problem; successful answers report the tightest quota too.
    if (response.status < 300) Object.assign(response.headers, quotaHeaders(call.quota))
    await keepAnswer(deps.idempotency, deps.log, call, error, response, deps.clock.now())
    observer.finished(call, error, response.status, started, span)
    response.headers['x-request-id'] = requestId
    return c.body(response.body, response.status as 200, response.headers)
  } finally {
    deps.releaseSnapshot(snapshot)
  }
}

/** The stages, in order: each one's result is what the next one takes. */
async function runStages(
  deps: GatewayDeps,
  observer: ExchangeObserver,
  keys: Keys,
  c: Context,
  call: Reached,
  now: number,
): Promise<Answered> {
  if (deps.lifecycle.draining()) throw drainingError()
  refuseWhileTimestampingUnavailable(deps.audit)
  const authenticated = await authenticateCall(call, c.req.header('authorization'), deps.verifier)
  const authorized = authorizeCall(authenticated, c.req.header('qiao-matter'), c.req.header('qiao-case'), now)
  const charged = await chargeQuota(authorized)
  return charged.action === 'read' ? read(deps, observer, keys, c, charged) : write(deps, observer, c, charged)
}

async function read(
  deps: GatewayDeps,
  observer: ExchangeObserver,
  keys: Keys,
  c: Context,
  call: Charged<AuthorizedRead>,
): Promise<Rendered> {
  const withParams = await readParameters(call, bodyStream(c), deps.config.bodyLimit)
  const records = await fetchRecords(withParams, upstreamCall(deps, c, withParams), observer)
  return renderRelease(releaseRecords(acceptRecords(withParams, records)), deps.clock.now(), deps.digest, keys)
}

async function write(
  deps: GatewayDeps,
  observer: ExchangeObserver,
  c: Context,
  call: Charged<AuthorizedWrite>,
): Promise<Delivered | Replayed> {
  const keyed = readKey(call, c.req.header('idempotency-key'))
  const withParams = await readParameters(keyed, bodyStream(c), deps.config.bodyLimit)
  const upstream = upstreamCall(deps, c, withParams)
  const claimed = await claimWrite(withParams, deps.idempotency, deps.clock.now())
  if (claimed.replay !== undefined) return claimed
  return deliverWrite(claimed, upstream, deps.idempotency, observer, deps.log)
}

function upstreamCall(deps: GatewayDeps, c: Context, call: Authorized): UpstreamCall {
  const log = lazyChild(deps.log, {
    requestId: call.requestId,
    connector: call.resource.connector,
    dept: call.principal.dept,
  })
  return upstreamCallFor(call, log, deps.clock.now, clientGoneWatcher(bindings(c)?.outgoing))
}

/** @hono/node-server hands every route the Node request and response; nothing else serves this gateway. */
function bindings(c: Context): Partial<HttpBindings> | undefined {
  return c.env as Partial<HttpBindings> | undefined
}

function bodyStream(c: Context): BodyStream {
  const incoming = bindings(c)?.incoming
  if (!incoming)
    throw new GatewayError('internal', { internal: 'exchange calls need the Node server (no request stream)' })
  return incoming
}

/** Shutting down: new calls are refused cleanly (and audited) so the caller retries on another instance. */
function drainingError(): GatewayError {
  return new GatewayError('gateway-draining', {
    detail: 'this gateway instance is shutting down; retry the call',
    headers: { 'retry-after': '1', connection: 'close' },
  })
}
