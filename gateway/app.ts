import { type Context, Hono } from 'hono'
import { consoleRoutes } from './console/routes.js'
import { isProblemCode, problems } from './errors/codes.js'
import { GatewayError, toGatewayError } from './errors/gateway-error.js'
import { renderProblem } from './errors/problem.js'
import type { GatewayDeps } from './gateway-deps.js'
import { applicationRoutes } from './routes/applications.js'
import { auditRoutes } from './routes/audit.js'
import { catalogHandler } from './routes/catalog.js'
import { catalogExportRoutes } from './routes/catalog-exports.js'
import { docsRoutes } from './routes/docs.js'
import { evidenceHandler } from './routes/evidence.js'
import { exchangeHandler } from './routes/exchange.js'
import { grantRoutes } from './routes/grants.js'
import { objectionRaiseRoutes, objectionRoutes } from './routes/objections.js'
import { openApiRoutes } from './routes/openapi.js'
import { catalogReloadHandler, readinessHandler, requireCatalogAdmin } from './routes/operations.js'
import { requireScope } from './routes/require-scope.js'
import { requestIdOf } from './routes/sharing-http.js'
import { requireOpsRead, statusHandler } from './routes/status.js'
import { subjectAccessRoutes } from './routes/subject-accesses.js'
import { subscriptionRoutes } from './routes/subscriptions.js'
import { usageRoutes } from './routes/usage.js'
import type { Metrics } from './telemetry/metrics.js'
import { currentTraceId } from './telemetry/tracing.js'

/** The HTTP surface. No I/O happens here at import time; everything comes in through deps. */
export function createApp(deps: GatewayDeps): Hono {
  const app = new Hono()

  // Counted in flight for the drain at shutdown.
  app.use('*', async (_c, next) => {
    const done = deps.lifecycle.track()
    try {
      await next()
    } finally {
      done()
    }
  })

  // One log line per request for the routes that do not log their own (exchange and audit routes do).
  app.use('*', async (c, next) => {
    if (c.req.path.startsWith('/v1/resources/') || c.req.path.startsWith('/v1/audit/')) return next()
    const started = performance.now()
    const requestId = requestIdOf(c, deps.clock.now())
    await next()
    c.res.headers.set('x-request-id', requestId)
    const probe = c.req.path === '/healthz' || c.req.path === '/readyz'
    deps.log[probe ? 'debug' : 'info'](
      {
        requestId,
        traceId: currentTraceId(),
        method: c.req.method,
        path: c.req.routePath,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    )
  })

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', readinessHandler(deps))
  app.post('/v1/admin/catalog/reload', requireCatalogAdmin(deps), catalogReloadHandler(deps))
  app.get('/v1/admin/status', requireOpsRead(deps), statusHandler(deps))

  // No /metrics here: its labels say which department reads what for which matter, so it is served only by the
  // metrics listener (createMetricsApp, QIAO_METRICS_HOST:QIAO_METRICS_PORT) and this port answers 404.

  // A data objection to a released record (数据异议): before the catch-all below, which would answer it 404.
  app.route('/v1/resources', objectionRaiseRoutes(deps))
  // Everything under /v1/resources/ goes through the exchange pipeline, so every call there is audited —
  // including unknown paths and wrong methods.
  app.all('/v1/resources/*', exchangeHandler(deps))
  // 一件事一次办: a matter's declared evidence, each item through the same stages as a single read.
  app.post('/v1/matters/:code/evidence', evidenceHandler(deps))

  // Any valid token may read the catalog; `access` in the answer says what its department may do.
  app.get('/v1/catalog', requireScope(undefined, { verifier: deps.verifier }), catalogHandler(deps))

  // The OpenAPI document: public without a token, the department's view with one (a bad token is 401).
  app.route('/v1/openapi.json', openApiRoutes(deps))
  // The published metadata (DCAT-AP JSON-LD, 编制指南 core metadata as JSON and CSV): public, without the grants.
  app.route('/v1', catalogExportRoutes(deps))

  // The auditors' API (scope audit:read): each read leaves an `audit.read` admin record in the same log.
  app.route('/v1/audit', auditRoutes(deps))

  // The sharing workflow: apply, check, review, and the grants it makes (roles are the workflow's to check).
  app.route('/v1/applications', applicationRoutes(deps))
  app.route('/v1/grants', grantRoutes(deps))
  // Data objections: the provider's inbox, the consumer's own, accept / reject / withdraw, quality figures.
  app.route('/v1/objections', objectionRoutes(deps))
  // Subscriptions to a resource's changes and the pull API (the caller's department's own).
  app.route('/v1/subscriptions', subscriptionRoutes(deps))
  // A department's usage counts from the audit log: its own calls, or the calls to its resources.
  app.route('/v1/usage', usageRoutes(deps))
  // Who read one company's or person's data, for the portals of QIAO_SUBJECT_PORTAL_CLIENTS (scope usage:subject).
  app.route('/v1/subject-accesses', subjectAccessRoutes(deps))

  // The interactive reference (Swagger UI served from memory, no CDN); it loads the caller's OpenAPI document.
  app.route('/docs', docsRoutes())

  // The web console: server-rendered pages that call the workflow with the signed-in user's own token.
  app.route(
    '/console',
    consoleRoutes(deps, (request) => Promise.resolve(app.fetch(request))),
  )

  // Only `qiao demo` has a dev key; a gateway with an issuer never publishes keys of its own.
  if (deps.config.demoMode && deps.devKey !== undefined) {
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
    const requestId = requestIdOf(c, deps.clock.now())
    if (error.code === 'internal') deps.log.error({ requestId, err: error.message }, 'unhandled error')
    const problem = renderProblem(error, requestId)
    problem.headers['x-request-id'] = requestId
    return c.body(problem.body, problem.status as 500, problem.headers)
  }
  app.notFound((c) => problemResponse(c, new GatewayError('route-not-found')))
  app.onError((err, c) => problemResponse(c, err))

  return app
}

/** The metrics listener's surface: GET /metrics (Prometheus text format) and nothing else. */
export function createMetricsApp(metrics: Metrics): Hono {
  const app = new Hono()
  app.get('/metrics', async (c) => {
    const { registry } = metrics
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
  })
  app.notFound((c) => c.text('not found', 404))
  return app
}
