import { type Context, Hono } from 'hono'
import type { GrantQuery, GrantState } from '../sharing/model.js'
import { etagOf, type GrantView } from '../sharing/service.js'
import type { AuthenticatedEnv } from './require-scope.js'
import {
  actorOf,
  applicationAnswer,
  authenticated,
  DEPARTMENT,
  dataAnswer,
  ifMatchOf,
  isGrantId,
  jsonBody,
  MATTER,
  noQuery,
  noStore,
  pageAnswer,
  pathId,
  QueryReader,
  RESOURCE,
  type SharingRouteDeps,
} from './sharing-http.js'

const GRANT_STATES: readonly GrantState[] = ['active', 'revoked', 'superseded']
const SOURCES = ['application', 'catalog'] as const
const LIST_PARAMS = [
  'state',
  'source',
  'consumer',
  'provider',
  'resource',
  'matter',
  'expiringWithin',
  'limit',
  'cursor',
] as const
/** Ten years: anything longer is every grant there is. */
const MAX_EXPIRING_WITHIN_DAYS = 3650

/**
 * /v1/grants: the grants in force, live (made by an approved application) and static (catalog.yaml, "granted by
 * catalog", id `catalog:<matter>:<resource>:<action>:<consumer>`); revoke a live one; renew one by applying again.
 */
export function grantRoutes(deps: SharingRouteDeps): Hono<AuthenticatedEnv> {
  const app = new Hono<AuthenticatedEnv>()
  const auth = authenticated(deps)
  app.use('*', noStore)

  app.get('/', auth, async (c) => {
    const query = grantQuery(c)
    return pageAnswer(c, await deps.sharing.listGrants(actorOf(c, deps), query))
  })

  app.get('/:id', auth, async (c) => {
    const id = grantId(c)
    noQuery(c)
    const grant = await deps.sharing.getGrant(actorOf(c, deps), id)
    // A catalog grant changes only with the catalog: there is no version to act on.
    return dataAnswer(c, 200, grant, grant.source === 'application' ? { etag: etagOf(grant) } : {})
  })

  app.post('/:id/revoke', auth, async (c) => {
    const id = grantId(c)
    noQuery(c)
    const body = await jsonBody(c)
    const revoked = await deps.sharing.revokeGrant(actorOf(c, deps), id, ifMatchOf(c), body)
    const view: GrantView = { ...revoked, source: 'application' }
    return dataAnswer(c, 200, view, { etag: etagOf(revoked) })
  })

  app.post('/:id/renew', auth, async (c) => {
    const id = grantId(c)
    noQuery(c)
    const body = await jsonBody(c)
    return applicationAnswer(c, await deps.sharing.renewGrant(actorOf(c, deps), id, body), 201)
  })
  return app
}

/** Hono hands the path parameter over decoded: `catalog%3A…` and `catalog:…` name the same grant. */
function grantId(c: Context): string {
  return pathId(c, isGrantId, 'grant-not-found')
}

function grantQuery(c: Context): GrantQuery & { readonly source?: (typeof SOURCES)[number] } {
  const q = new QueryReader(c.req.url, LIST_PARAMS)
  const state = q.oneOf('state', GRANT_STATES)
  const source = q.oneOf('source', SOURCES)
  const consumer = q.matching('consumer', DEPARTMENT, 'a department code')
  const provider = q.matching('provider', DEPARTMENT, 'a department code')
  const resource = q.matching('resource', RESOURCE, 'a resource id (<provider>.<name>)')
  const matter = q.matching('matter', MATTER, 'a matter code')
  const expiringWithinDays = q.integer('expiringWithin', 1, MAX_EXPIRING_WITHIN_DAYS)
  const limit = q.limit()
  const cursor = q.cursor()
  q.check()
  return { state, source, consumer, provider, resource, matter, expiringWithinDays, limit, cursor }
}
