import { type Context, Hono } from 'hono'
import type { ApplicationQuery, ApplicationState } from '../sharing/model.js'
import type { SharingWorkflow } from '../sharing/service.js'
import type { AuthenticatedEnv } from './require-scope.js'
import {
  actorOf,
  applicationAnswer,
  authenticated,
  DEPARTMENT,
  dataAnswer,
  ifMatchOf,
  isApplicationId,
  jsonBody,
  noQuery,
  noStore,
  pageAnswer,
  pathId,
  QueryReader,
  RESOURCE,
  type SharingRouteDeps,
} from './sharing-http.js'

export const APPLICATION_STATES: readonly ApplicationState[] = [
  'conformity-check',
  'awaiting-applicant',
  'provider-review',
  'approved',
  'refused',
  'withdrawn',
]

const LIST_PARAMS = ['state', 'consumer', 'provider', 'resource', 'overdue', 'limit', 'cursor'] as const

/** The workflow steps taken on an application, each with If-Match: the path segment names the method. */
const STEPS = ['conformity', 'review', 'resubmit', 'withdraw'] as const satisfies readonly (keyof SharingWorkflow)[]

/**
 * /v1/applications: apply for a resource, list and read applications, and take the workflow's steps (the
 * authority's conformity check, the provider's review, the applicant's resubmission or withdrawal). Any valid
 * token gets in; the workflow decides what its role and department may see and do.
 */
export function applicationRoutes(deps: SharingRouteDeps): Hono<AuthenticatedEnv> {
  const app = new Hono<AuthenticatedEnv>()
  const auth = authenticated(deps)
  app.use('*', noStore)

  app.post('/', auth, async (c) => {
    noQuery(c)
    const body = await jsonBody(c)
    const created = await deps.sharing.apply(actorOf(c, deps), body)
    return applicationAnswer(c, created, 201)
  })

  app.get('/', auth, async (c) => {
    const query = applicationQuery(c)
    return pageAnswer(c, await deps.sharing.listApplications(actorOf(c, deps), query))
  })

  app.get('/:id', auth, async (c) => {
    const id = applicationId(c)
    noQuery(c)
    return applicationAnswer(c, await deps.sharing.getApplication(actorOf(c, deps), id))
  })

  app.get('/:id/history', auth, async (c) => {
    const id = applicationId(c)
    noQuery(c)
    return dataAnswer(c, 200, await deps.sharing.history(actorOf(c, deps), id))
  })

  for (const step of STEPS) {
    app.post(`/:id/${step}`, auth, async (c) => {
      const id = applicationId(c)
      noQuery(c)
      const body = await jsonBody(c)
      return applicationAnswer(c, await deps.sharing[step](actorOf(c, deps), id, ifMatchOf(c), body))
    })
  }
  return app
}

function applicationId(c: Context): string {
  return pathId(c, isApplicationId, 'application-not-found')
}

function applicationQuery(c: Context): ApplicationQuery {
  const q = new QueryReader(c.req.url, LIST_PARAMS)
  const state = q.oneOf('state', APPLICATION_STATES)
  const consumer = q.matching('consumer', DEPARTMENT, 'a department code')
  const provider = q.matching('provider', DEPARTMENT, 'a department code')
  const resource = q.matching('resource', RESOURCE, 'a resource id (<provider>.<name>)')
  const overdue = q.boolean('overdue')
  const limit = q.limit()
  const cursor = q.cursor()
  q.check()
  return { state, consumer, provider, resource, overdue, limit, cursor }
}
