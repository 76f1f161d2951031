import { Hono } from 'hono'
import type { GatewayDeps } from '../gateway-deps.js'
import { DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT } from '../subscriptions/service.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'
import { dataAnswer, jsonBody, noQuery, noStore, QueryReader } from './sharing-http.js'

const CURSOR = /^\d{16}$/

/**
 * /v1/subscriptions: a consumer's subscriptions to a resource's changes, and the pull API. Any valid token; the
 * service decides as a read would (the token's scope for `<matter>:<resource>:read`, the department's grant).
 * Glue only: the logic is subscriptions/service.ts.
 */
export function subscriptionRoutes(
  deps: Pick<GatewayDeps, 'verifier' | 'clock' | 'subscriptions'>,
): Hono<AuthenticatedEnv> {
  const app = new Hono<AuthenticatedEnv>()
  const auth = requireScope(undefined, { verifier: deps.verifier })
  // Answers name departments' subscriptions and carry released records (and once, a webhook's secret).
  app.use('*', noStore)

  app.post('/', auth, async (c) => {
    noQuery(c)
    const body = await jsonBody(c)
    const { view, secret } = await deps.subscriptions.create(c.get('principal'), body)
    return dataAnswer(c, 201, secret === undefined ? view : { ...view, secret }, {
      location: `/v1/subscriptions/${view.id}`,
    })
  })

  app.get('/', auth, async (c) => {
    noQuery(c)
    const items = await deps.subscriptions.list(c.get('principal'))
    return c.json({ data: items, meta: { count: items.length } })
  })

  app.get('/:id', auth, async (c) => {
    noQuery(c)
    return dataAnswer(c, 200, await deps.subscriptions.get(c.get('principal'), c.req.param('id')))
  })

  app.delete('/:id', auth, async (c) => {
    noQuery(c)
    await deps.subscriptions.remove(c.get('principal'), c.req.param('id'))
    return c.body(null, 204)
  })

  app.get('/:id/events', auth, async (c) => {
    const q = new QueryReader(c.req.url, ['after', 'limit'])
    const after = q.matching('after', CURSOR, 'a cursor this API returned (16 digits)')
    const limit = q.integer('limit', 1, MAX_PULL_LIMIT) ?? DEFAULT_PULL_LIMIT
    q.check()
    const page = await deps.subscriptions.events(c.get('principal'), c.req.param('id'), after, limit)
    return c.json({ data: page.events, meta: { count: page.events.length, next: page.next ?? null } })
  })
  return app
}
