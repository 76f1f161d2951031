import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import { releaseKeysFrom } from '../audit/release-keys.js'
import { GatewayError } from '../errors/gateway-error.js'
import { runBundle } from '../evidence/bundle.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdFrom } from '../pipeline/10-route-request.js'
import type { BodyStream } from '../pipeline/35-read-parameters.js'
import { clientGoneWatcher, createExchangeObserver } from '../telemetry/exchange-observer.js'
import { currentTraceId, withServerSpan } from '../telemetry/tracing.js'

/**
 * POST /v1/matters/{code}/evidence: a 一件事's evidence in one call (gateway/evidence/bundle.ts). The matter is the
 * path's, so there is no Qiao-Matter header; Qiao-Case and the Bearer token are as on a single read.
 */
export function evidenceHandler(deps: GatewayDeps) {
  const observer = createExchangeObserver(deps.metrics, deps.log, deps.clock)
  const keys = releaseKeysFrom(deps.config)
  return function evidence(c: Context): Promise<Response> {
    return withServerSpan(
      'POST /v1/matters/{code}/evidence',
      (name) => c.req.header(name),
      async () => {
        const now = deps.clock.now()
        const requestId = requestIdFrom(c.req.header('x-request-id'), now)
        const snapshot = deps.acquireSnapshot()
        try {
          const env = c.env as Partial<HttpBindings> | undefined
          const response = await runBundle(deps, observer, keys, {
            snapshot,
            requestId,
            now,
            matter: c.req.param('code') ?? '',
            authorization: c.req.header('authorization'),
            caseHeader: c.req.header('qiao-case'),
            body: () => bodyStream(env),
            traceId: currentTraceId(),
            onClientGone: clientGoneWatcher(env?.outgoing),
          })
          response.headers['x-request-id'] = requestId
          return c.body(response.body, response.status as 200, response.headers)
        } finally {
          deps.releaseSnapshot(snapshot)
        }
      },
    )
  }
}

/** @hono/node-server hands every route the Node request; the body is read from it directly, as exchange reads are. */
function bodyStream(env: Partial<HttpBindings> | undefined): BodyStream {
  if (!env?.incoming) {
    throw new GatewayError('internal', { internal: 'evidence bundles need the Node server (no request stream)' })
  }
  return env.incoming
}
