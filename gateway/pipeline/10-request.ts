import { uuidv7 } from '../audit/ids.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import type { Action } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Exchange } from './exchange.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** Accepts a caller's request id when it is safe to log and echo; otherwise makes one. */
export function requestIdFrom(header: string | undefined, now: number): string {
  return header !== undefined && REQUEST_ID.test(header) ? header : uuidv7(now)
}

/** Which exchange operation a path and method name: `/v1/resources/{id}/query` (POST) or `/records` (POST). */
export function routeExchange(
  method: string,
  path: string,
): { resourceId: string; action: Action; error?: GatewayError } {
  const m = /^\/v1\/resources\/([^/]+)\/(query|records)\/?$/.exec(path)
  if (!m) return { resourceId: '', action: 'read', error: new GatewayError('route-not-found') }
  const resourceId = decodeURIComponent(m[1] as string)
  const action: Action = m[2] === 'query' ? 'read' : 'write'
  if (method !== 'POST') {
    return {
      resourceId,
      action,
      error: new GatewayError('method-not-allowed', { headers: { allow: 'POST' } }),
    }
  }
  return { resourceId, action }
}

export function beginExchange(
  snapshot: CatalogSnapshot,
  requestId: string,
  now: number,
  resourceId: string,
  action: Action,
): Exchange {
  return { requestId, auditId: uuidv7(now), startedAt: now, snapshot, resourceId, action }
}
