import type { ReleaseKeys } from '../audit/release-keys.js'
import { refuseWhileTimestampingUnavailable } from '../audit/tsa/configured.js'
import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import { renderProblem } from '../errors/problem.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { beginExchange } from '../pipeline/10-route-request.js'
import { authenticate } from '../pipeline/20-authenticate.js'
import { authorizeCall, readPurpose } from '../pipeline/30-authorize.js'
import { chargeQuota } from '../pipeline/32-charge-quota.js'
import { type BodyStream, readJsonBody, validateParameters } from '../pipeline/35-read-parameters.js'
import { fetchRecords, upstreamCallFor } from '../pipeline/40-call-connector.js'
import { acceptRecords } from '../pipeline/50-validate-records.js'
import { releaseRecords } from '../pipeline/60-project-fields.js'
import { renderRelease } from '../pipeline/65-render-release.js'
import { auditRecordOf, writeAudit } from '../pipeline/70-write-audit.js'
import type { Authenticated, AuthorizedRead, Charged, Reached, Rendered, WithParameters } from '../pipeline/exchange.js'
import type { ExchangeObserver } from '../telemetry/exchange-observer.js'
import { lazyChild } from '../telemetry/logger.js'
import type { EvidencePlan, PlannedItem } from './plan.js'

export type EvidenceDeps = Pick<GatewayDeps, 'audit' | 'digest' | 'clock' | 'verifier' | 'log' | 'lifecycle' | 'config'>

/** What one bundle call brings: its headers, its body and the catalog version it runs under. */
export interface BundleRequest {
  readonly snapshot: CatalogSnapshot
  readonly requestId: string
  /** Gateway clock at arrival. */
  readonly now: number
  readonly matter: string
  readonly authorization: string | undefined
  readonly caseHeader: string | undefined
  readonly body: () => BodyStream
  readonly traceId: string | undefined
  readonly onClientGone: ((listener: () => void) => () => void) | undefined
}

export interface BundleResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** One item once it ran: its rendered JSON member, and whether it holds data. */
interface ItemOutcome {
  /** The item's audit record, when it was written. */
  readonly auditId: string | undefined
  readonly status: number
  readonly allowed: boolean
  readonly json: string
}

/**
 * POST /v1/matters/{code}/evidence (一件事一次办): authenticate once, check the bundle itself (matter, evidence,
 * case, inputs), then run every item through the very stages of a single read — authorize, charge quota, call the
 * connector under the resource's own deadline and breaker, validate, project and mask, render, audit — all at
 * once, so the bundle takes as long as its slowest item, never their sum. Each item answers data or its own
 * problem; one provider's failure is that item's, never a 5xx of the bundle. The bundle's own record is written
 * last and names its items' records; each item's record names it back.
 */
export async function runBundle(
  deps: EvidenceDeps,
  observer: ExchangeObserver,
  keys: () => Promise<ReleaseKeys>,
  request: BundleRequest,
): Promise<BundleResponse> {
  const { snapshot, requestId, now } = request
  // The bundle's own record, filled in like a call's: who, for which matter and case, with which inputs.
  const bundle = beginExchange(snapshot, requestId, now, { resourceId: '', action: 'read' }, request.traceId)
  let plan: EvidencePlan
  let principal: Principal
  try {
    if (deps.lifecycle.draining()) {
      throw new GatewayError('gateway-draining', {
        detail: 'this gateway instance is shutting down; retry the call',
        headers: { 'retry-after': '1', connection: 'close' },
      })
    }
    refuseWhileTimestampingUnavailable(deps.audit)
    principal = await authenticate(request.authorization, deps.verifier)
    bundle.principal = principal
    plan = planOf(snapshot, request.matter)
    bundle.purpose = readPurpose(request.matter, request.caseHeader)
    const body = await readJsonBody(request.body(), deps.config.bodyLimit)
    bundle.params = validateParameters(plan.inputs, body)
  } catch (err) {
    return refuseBundle(deps, bundle, toGatewayError(err))
  }
  const inputs = bundle.params
  const settled = await Promise.allSettled(
    plan.items.map((item) => runItem(deps, observer, keys, request, bundle.auditId, principal, item, inputs)),
  )
  const outcomes = settled.map((s, i) =>
    s.status === 'fulfilled' ? s.value : brokenItem(request, plan.items[i] as PlannedItem, s.reason),
  )
  const allAnswered = outcomes.every((o) => o.status === 200)
  const status = allAnswered ? 200 : 207
  try {
    await writeAudit(deps.audit, {
      ...auditRecordOf(bundle, undefined, status, deps.clock.now(), deps.digest),
      decision: outcomes.some((o) => o.allowed) ? 'allow' : 'deny',
      bundleItems: outcomes.flatMap((o) => (o.auditId === undefined ? [] : [o.auditId])),
    })
  } catch (err) {
    // Fail closed: a bundle whose record (the link between its items) cannot be kept releases nothing.
    deps.log.error({ requestId, auditId: bundle.auditId }, 'evidence bundle items audited but its own record failed')
    return problemResponse(bundle, toGatewayError(err), false)
  }
  const complete = plan.items.every((item, i) => !item.required || outcomes[i]?.status === 200)
  const body =
    `{"matter":${JSON.stringify(plan.matter)},"case":${JSON.stringify(bundle.purpose?.caseId)}` +
    `,"auditId":${JSON.stringify(bundle.auditId)},"complete":${complete}` +
    `,"items":[${outcomes.map((o) => o.json).join(',')}]}`
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'qiao-audit-id': bundle.auditId,
      'cache-control': 'no-store',
    },
    body,
  }
}

/** The matter's compiled evidence; unknown matters and matters without evidence are the bundle's 404. */
function planOf(snapshot: CatalogSnapshot, matter: string): EvidencePlan {
  if (!snapshot.catalog.matters.has(matter)) {
    throw new GatewayError('matter-not-found', { detail: 'no matter with this code in the catalog' })
  }
  const plan = snapshot.evidence.get(matter)
  if (plan === undefined) throw new GatewayError('evidence-not-declared')
  return plan
}

/** A bad bundle request is refused as a whole, and audited like any refused call (fail closed: no record, 503). */
async function refuseBundle(deps: EvidenceDeps, bundle: Reached, error: GatewayError): Promise<BundleResponse> {
  try {
    await writeAudit(deps.audit, auditRecordOf(bundle, error, error.status, deps.clock.now(), deps.digest))
  } catch (err) {
    return problemResponse(bundle, toGatewayError(err), false)
  }
  return problemResponse(bundle, error, true)
}

function problemResponse(bundle: Reached, error: GatewayError, audited: boolean): BundleResponse {
  const problem = renderProblem(error, bundle.requestId, { traceId: bundle.traceId })
  problem.headers['cache-control'] = 'no-store'
  if (audited) problem.headers['qiao-audit-id'] = bundle.auditId
  return problem
}

/**
 * One item, as a single read runs: its own call object (request id `<bundle request id>:<item id>`), the stages
 * in the order of routes/exchange.ts, and its own audit record — written before its data is put in the answer.
 */
async function runItem(
  deps: EvidenceDeps,
  observer: ExchangeObserver,
  keys: () => Promise<ReleaseKeys>,
  request: BundleRequest,
  bundleAuditId: string,
  principal: Principal,
  item: PlannedItem,
  inputs: Record<string, unknown>,
): Promise<ItemOutcome> {
  const started = performance.now()
  const call = beginExchange(
    request.snapshot,
    `${request.requestId}:${item.id}`,
    request.now,
    { resourceId: item.resource, action: 'read' },
    request.traceId,
  )
  let outcome: Rendered | GatewayError
  try {
    outcome = await readItem(deps, observer, keys, request, withPrincipal(call, principal), item, inputs)
  } catch (err) {
    outcome = toGatewayError(err)
  }
  const refused = outcome instanceof GatewayError ? outcome : undefined
  const status = refused?.status ?? 200
  let audited = false
  try {
    await writeAudit(deps.audit, {
      ...auditRecordOf(call, refused, status, deps.clock.now(), deps.digest),
      bundle: bundleAuditId,
    })
    audited = true
  } catch (err) {
    // Fail closed for this item only: its data is not released, the other items still answer.
    outcome = toGatewayError(err)
  }
  const error = outcome instanceof GatewayError ? outcome : undefined
  observer.finished(call, error, error?.status ?? status, started)
  const head = `{"id":${JSON.stringify(item.id)},"resource":${JSON.stringify(item.resource)},"required":${item.required}`
  if (error !== undefined) {
    const problem = renderProblem(error, call.requestId, { traceId: call.traceId })
    const auditId = audited ? `,"auditId":${JSON.stringify(call.auditId)}` : ''
    return {
      auditId: audited ? call.auditId : undefined,
      status: error.status,
      allowed: call.grant !== undefined,
      json: `${head},"status":${error.status}${auditId},"problem":${problem.body}}`,
    }
  }
  const answer = (outcome as Rendered).answer
  const receipt = answer.headers['qiao-release-receipt']
  // `data` and `meta` exactly as the single read renders them: the item's audited release digest is of this `data`.
  return {
    auditId: call.auditId,
    status: 200,
    allowed: true,
    json:
      `${head},"status":200,"auditId":${JSON.stringify(call.auditId)}` +
      (receipt === undefined ? '' : `,"releaseReceipt":${JSON.stringify(receipt)}`) +
      `,${answer.body.slice(1)}`,
  }
}

/** The read stages, in order (routes/exchange.ts), from the bundle's one authentication. */
async function readItem(
  deps: EvidenceDeps,
  observer: ExchangeObserver,
  keys: () => Promise<ReleaseKeys>,
  request: BundleRequest,
  call: Authenticated,
  item: PlannedItem,
  inputs: Record<string, unknown>,
): Promise<Rendered> {
  // The path names the matter: it is the item's Qiao-Matter, and the bundle's Qiao-Case is the item's.
  const authorized = authorizeCall(call, request.matter, request.caseHeader, request.now) as AuthorizedRead
  const charged = await chargeQuota(authorized)
  const withParams = withItemParameters(charged, item, inputs)
  const log = lazyChild(deps.log, {
    requestId: call.requestId,
    connector: authorized.resource.connector,
    dept: call.principal.dept,
  })
  const upstream = upstreamCallFor(withParams, log, deps.clock.now, request.onClientGone)
  const records = await fetchRecords(withParams, upstream, observer)
  return renderRelease(releaseRecords(acceptRecords(withParams, records)), deps.clock.now(), deps.digest, keys)
}

/** The bundle authenticated once; each item's call carries that principal, as 20-authenticate.ts would set it. */
function withPrincipal(call: Reached, principal: Principal): Authenticated {
  call.principal = principal
  return call as Authenticated
}

/**
 * The item's parameters, mapped from the bundle's inputs and validated against the resource's request schema, as
 * 35-read-parameters.ts validates a single read's body (the inputs' formats were checked already; the schema may
 * say more).
 */
function withItemParameters(
  call: Charged<AuthorizedRead>,
  item: PlannedItem,
  inputs: Record<string, unknown>,
): WithParameters<Charged<AuthorizedRead>> {
  const params: Record<string, unknown> = {}
  for (const [param, input] of item.params) params[param] = inputs[input]
  const reached: Reached = call
  reached.params = validateParameters(call.binding.request, params)
  return call as WithParameters<Charged<AuthorizedRead>>
}

/** runItem catches everything; should it still throw, the item is answered as an internal problem, unaudited. */
function brokenItem(request: BundleRequest, item: PlannedItem, reason: unknown): ItemOutcome {
  const error = toGatewayError(reason)
  const problem = renderProblem(error, `${request.requestId}:${item.id}`)
  return {
    auditId: undefined,
    status: error.status,
    allowed: false,
    json: `{"id":${JSON.stringify(item.id)},"resource":${JSON.stringify(item.resource)},"required":${item.required},"status":${error.status},"problem":${problem.body}}`,
  }
}
