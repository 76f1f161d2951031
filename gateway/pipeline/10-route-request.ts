import type { WriteReceipt } from '../../connectors/kit/types.js'
import type { CanonicalRecord } from '../../kernel/records.js'
import { uuidv7 } from '../audit/ids.js'
import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import type { Action, ReadBinding, Resource, WriteBinding } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { IdempotencyScope, StoredAnswer } from '../idempotency/store.js'
import type { Purpose } from '../policy/decide.js'
import type { QuotaOutcome } from '../quota/quotas.js'
import type { ExchangeResponse } from './80-respond.js'
import type { Reached } from './exchange.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/
const EXCHANGE_PATH = /^\/v1\/resources\/([^/]*)\/([^/]*)$/
/** What a resource id may hold once decoded; anything else names no catalog resource and is not recorded. */
const RESOURCE_ID = /^[A-Za-z0-9._-]{1,128}$/
const ACTIONS: Readonly<Record<string, Action>> = { query: 'read', records: 'write' }

/** Accepts a caller's request id when it is safe to log and echo; otherwise makes one. */
export function requestIdFrom(header: string | undefined, now: number): string {
  return header !== undefined && REQUEST_ID.test(header) ? header : uuidv7(now)
}

export interface ExchangeRoute {
  /** The decoded resource id, or '' when the path names none the catalog could hold. */
  readonly resourceId: string
  readonly action: Action
  /** Set when the path or method names no exchange operation: the call is audited and answered with it. */
  readonly error?: GatewayError
}

/**
 * Which exchange operation a path and method name: `/v1/resources/{id}/query` (POST) or `/records` (POST).
 * `path` is the path as sent (still percent-encoded). Never throws: every malformed path becomes a problem the
 * exchange pipeline audits like any other refusal.
 */
export function routeExchange(method: string, path: string): ExchangeRoute {
  const m = EXCHANGE_PATH.exec(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path)
  if (!m) return notFound('no exchange operation at this path: use /v1/resources/{id}/query or /records')
  const action = ACTIONS[m[2] as string]
  if (action === undefined) return notFound('unknown operation: use /v1/resources/{id}/query or /records')
  let resourceId: string
  try {
    resourceId = decodeURIComponent(m[1] as string)
  } catch {
    return {
      resourceId: '',
      action,
      error: new GatewayError('path-malformed', { detail: 'the resource id is not valid percent-encoded UTF-8' }),
    }
  }
  // Left for the pipeline to refuse as resource-not-found, after authentication, like any unknown id.
  if (!RESOURCE_ID.test(resourceId)) resourceId = ''
  if (method !== 'POST') {
    return {
      resourceId,
      action,
      error: new GatewayError('method-not-allowed', { headers: { allow: 'POST' } }),
    }
  }
  return { resourceId, action }
}

function notFound(detail: string): ExchangeRoute {
  return { resourceId: '', action: 'read', error: new GatewayError('route-not-found', { detail }) }
}

/** The path of a request URL as sent (percent-encoding kept), without query or fragment. */
export function rawPathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3)
  if (start === -1) return '/'
  const query = url.indexOf('?', start)
  const fragment = url.indexOf('#', start)
  let end = query === -1 ? url.length : query
  if (fragment !== -1 && fragment < end) end = fragment
  return url.slice(start, end)
}

/** The one object the call's stages fill in (see exchange.ts), under the catalog version the call started with. */
export function beginExchange(
  snapshot: CatalogSnapshot,
  requestId: string,
  now: number,
  route: ExchangeRoute,
  traceId: string | undefined,
): Reached {
  return new Exchange(requestId, uuidv7(now), now, snapshot, route.resourceId, route.action, traceId)
}

/**
 * Every fact a call may reach, declared up front: the stages only fill fields in, so each call's object keeps one
 * shape from the first stage to the audit record — one allocation, and property reads that stay monomorphic in
 * every stage, instead of a new hidden class (and a grown property array) per fact recorded.
 */
class Exchange implements Reached {
  principal: Principal | undefined = undefined
  purpose: Purpose | undefined = undefined
  resource: Resource | undefined = undefined
  grant: CompiledGrant | undefined = undefined
  binding: ReadBinding | WriteBinding | undefined = undefined
  quota: QuotaOutcome | undefined = undefined
  params: Record<string, unknown> | undefined = undefined
  upstreamMs: number | undefined = undefined
  upstreamCode: string | undefined = undefined
  records: CanonicalRecord[] | undefined = undefined
  released: CanonicalRecord[] | undefined = undefined
  requestDigest: string | undefined = undefined
  releaseDigest: string | undefined = undefined
  answer: ExchangeResponse | undefined = undefined
  idempotencyKey: string | undefined = undefined
  claim: IdempotencyScope | undefined = undefined
  receipt: WriteReceipt | undefined = undefined
  replay: StoredAnswer | undefined = undefined

  constructor(
    readonly requestId: string,
    readonly auditId: string,
    readonly startedAt: number,
    readonly snapshot: CatalogSnapshot,
    readonly resourceId: string,
    readonly action: Action,
    public traceId: string | undefined,
  ) {}
}
