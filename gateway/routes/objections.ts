import { type Context, Hono } from 'hono'
import { adminRecord, actorOf as auditActorOf, outcomeOf } from '../audit/admin.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import type { Objection } from '../sharing/objections-model.js'
import { OBJECTION_STATES } from '../sharing/objections-model.js'
import { etagOf } from '../sharing/service.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'
import {
  actorOf,
  authenticated,
  dataAnswer,
  ifMatchOf,
  jsonBody,
  noQuery,
  noStore,
  pageAnswer,
  pathId,
  QueryReader,
  RESOURCE,
  requestIdOf,
} from './sharing-http.js'

type ObjectionRouteDeps = Pick<GatewayDeps, 'verifier' | 'sharing' | 'objections' | 'clock' | 'audit' | 'log'>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const LIST_PARAMS = ['role', 'state', 'resource', 'limit', 'cursor'] as const
const STEPS = ['accept', 'reject', 'withdraw'] as const

/**
 * POST /v1/resources/{id}/objections, mounted before the exchange pipeline's catch-all. Like every call under
 * /v1/resources/ it leaves an audit record whatever happens: a raised objection its `sharing.objection` record,
 * a refused one (no token, invalid, not its department's call) a `sharing.objection` record with outcome
 * `rejected` and the problem code — or no answer but 503 when that record cannot be written.
 */
export function objectionRaiseRoutes(deps: ObjectionRouteDeps): Hono<AuthenticatedEnv> {
  const app = new Hono<AuthenticatedEnv>()
  const auth = requireScope<AuthenticatedEnv>(undefined, {
    verifier: deps.verifier,
    onRefused: (c, error, principal) => recordRefusal(deps, c, error, principal),
  })
  app.post('/:id/objections', auth, async (c) => {
    const started = performance.now()
    try {
      noQuery(c)
      const created = await deps.objections.raise(actorOf(c, deps), c.req.param('id'), await jsonBody(c))
      return objectionAnswer(c, created, 201)
    } catch (err) {
      const error = toGatewayError(err)
      await recordRefusal(deps, c, error, c.get('principal'))
      throw error
    } finally {
      c.header('cache-control', 'no-store')
      deps.log.info(
        { requestId: requestIdOf(c, deps.clock.now()), path: c.req.routePath, ms: performance.now() - started },
        'objection raised or refused',
      )
    }
  })
  return app
}

/** /v1/objections: the provider's inbox and the consumer's own list, one objection, its steps, the figures. */
export function objectionRoutes(deps: ObjectionRouteDeps): Hono<AuthenticatedEnv> {
  const app = new Hono<AuthenticatedEnv>()
  const auth = authenticated(deps)
  app.use('*', noStore)

  app.get('/', auth, async (c) => {
    const q = new QueryReader(c.req.url, LIST_PARAMS)
    const role = q.oneOf('role', ['provider', 'consumer'] as const)
    const state = q.oneOf('state', OBJECTION_STATES)
    const resource = q.matching('resource', RESOURCE, 'a resource id (<provider>.<name>)')
    const limit = q.limit()
    const cursor = q.cursor()
    q.check()
    return pageAnswer(c, await deps.objections.list(actorOf(c, deps), { role, state, resource, limit, cursor }))
  })

  app.get('/stats', auth, async (c) => {
    noQuery(c)
    return dataAnswer(c, 200, await deps.objections.stats(actorOf(c, deps)))
  })

  app.get('/:id', auth, async (c) => {
    const id = pathId(c, (v) => UUID.test(v), 'objection-not-found')
    noQuery(c)
    return objectionAnswer(c, await deps.objections.get(actorOf(c, deps), id))
  })

  for (const step of STEPS) {
    app.post(`/:id/${step}`, auth, async (c) => {
      const id = pathId(c, (v) => UUID.test(v), 'objection-not-found')
      noQuery(c)
      const body = await jsonBody(c)
      return objectionAnswer(c, await deps.objections[step](actorOf(c, deps), id, ifMatchOf(c), body))
    })
  }
  return app
}

function objectionAnswer(c: Context, objection: Objection, status: 200 | 201 = 200): Response {
  return dataAnswer(c, status, objection, {
    etag: etagOf(objection),
    ...(status === 201 ? { location: `/v1/objections/${objection.id}` } : {}),
  })
}

/** The refused raise's admin record: the path's resource id only if it has a resource id's shape. */
async function recordRefusal(
  deps: ObjectionRouteDeps,
  c: Context,
  error: GatewayError,
  principal: Principal | undefined,
): Promise<void> {
  const now = deps.clock.now()
  const resource = c.req.param('id') ?? ''
  const details = {
    transition: 'raise',
    resource: RESOURCE.test(resource) ? resource : '_other',
    status: error.status,
    code: error.code,
  }
  const record = adminRecord('sharing.objection', now, details, {
    actor: auditActorOf(principal),
    outcome: outcomeOf(error.status),
    requestId: requestIdOf(c, now),
  })
  try {
    await deps.audit.append(record)
  } catch (err) {
    throw new GatewayError('audit-unavailable', {
      detail: 'the refusal could not be audited',
      internal: err instanceof Error ? err.message : 'audit append failed',
      cause: err,
    })
  }
}
