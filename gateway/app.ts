import { type Context, Hono } from 'hono'
import { isProblemCode, problems } from './errors/codes.js'
import { GatewayError, toGatewayError } from './errors/gateway-error.js'
import { renderProblem } from './errors/problem.js'
import type { GatewayDeps } from './gateway-deps.js'
import { requestIdFrom } from './pipeline/10-request.js'
import { catalogHandler } from './routes/catalog.js'
import { exchangeHandler } from './routes/exchange.js'

/** The HTTP surface. No I/O happens here at import time; everything comes in through deps. */
export function createApp(deps: GatewayDeps): Hono {
  const app = new Hono()

  app.get('/healthz', (c) => c.json({ status: 'ok' }))

  // Everything under /v1/resources/ goes through the exchange pipeline, so every call there is audited —
  // including unknown paths and wrong methods.
  app.all('/v1/resources/*', exchangeHandler(deps))

  app.get('/v1/catalog', catalogHandler(deps))

  if (deps.devKey !== undefined) {
    const jwks = deps.devKey.publicJwks
    app.get('/.well-known/jwks.json', (c) => c.json(jwks))
  }

  app.get('/problems/:code', (c) => {
    const code = c.req.param('code')
    if (!isProblemCode(code)) throw new GatewayError('route-not-found')
    const spec = problems[code]
    return c.json({ code, status: spec.status, title: spec.title, meaning: spec.meaning })
  })

  const problemResponse = (c: Context, err: unknown): Response => {
    const error = toGatewayError(err)
    const requestId = requestIdFrom(c.req.header('x-request-id'), deps.clock.now())
    if (error.code === 'internal') deps.log.error({ requestId, err: error.message }, 'unhandled error')
    const problem = renderProblem(error, requestId)
    problem.headers['x-request-id'] = requestId
    return c.body(problem.body, problem.status as 500, problem.headers)
  }
  app.notFound((c) => problemResponse(c, new GatewayError('route-not-found')))
  app.onError((err, c) => problemResponse(c, err))

  return app
}
