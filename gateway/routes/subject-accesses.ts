import { type Context, Hono } from 'hono'
import { decodeCursor, encodeCursor, parseFilter, parseLimit } from '../audit/query.js'
import { subjectAccessFilter, subjectAccessPage } from '../audit/subject-accesses.js'
import { subjectDigest } from '../audit/subjects.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { queryInvalid, recordAdminRead, strictQuery } from './admin-read.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'
import { requestIdOf } from './sharing-http.js'

/**
 * GET /v1/subject-accesses?subject=&cursor=&limit=: who read the data of one company or person (audit/subject-
 * accesses.ts), for a trusted portal such as a provincial 政务服务网's "my data" page, which has signed its user in
 * and checked that the user is the subject. Qiao cannot check that itself, so the scope `usage:subject` is not
 * enough: the token's `client_id` must also be one of QIAO_SUBJECT_PORTAL_CLIENTS. An officer's department token
 * carrying the scope would otherwise turn the page into a way to watch who looks into anyone.
 *
 * Every call, answered or refused, leaves a `subject.read` admin record (the subject as its keyed digest, the
 * client, the accesses shown) before the answer leaves; a call that cannot be recorded is not answered. The
 * subject is never logged: the request log line names the route, not the query string.
 */

export const SUBJECT_ACCESS_SCOPE = 'usage:subject'
export const SUBJECT_ACCESS_ROUTE = '/v1/subject-accesses'

const PARAMS = ['subject', 'cursor', 'limit']

/** What the `subject.read` record says about one call, filled in as the call goes. */
type ReadDetails = Record<string, string | number | boolean | null>

type SubjectEnv = { Variables: { refusedPrincipal?: Principal } } & AuthenticatedEnv

export function subjectAccessRoutes(deps: GatewayDeps): Hono<SubjectEnv> {
  const guard = requireScope<SubjectEnv>(SUBJECT_ACCESS_SCOPE, {
    verifier: deps.verifier,
    insufficientScopeDetail: `${SUBJECT_ACCESS_ROUTE} needs a portal token with scope ${SUBJECT_ACCESS_SCOPE}`,
    onRefused: (c, _error, principal) => {
      if (principal !== undefined) c.set('refusedPrincipal', principal)
    },
  })
  const app = new Hono<SubjectEnv>()
  app.get('/', async (c) => {
    const requestId = requestIdOf(c, deps.clock.now())
    const details: ReadDetails = { route: SUBJECT_ACCESS_ROUTE }
    let principal: Principal | undefined
    let body: unknown
    try {
      await guard(c, async () => {
        principal = c.get('principal')
        body = await accessesAnswer(deps, c, principal, details)
      })
    } catch (err) {
      const error = toGatewayError(err)
      principal ??= c.get('refusedPrincipal')
      await recordAdminRead(deps, 'subject.read', requestId, principal, {
        ...details,
        status: error.status,
        reason: error.code,
      })
      throw error
    }
    await recordAdminRead(deps, 'subject.read', requestId, principal, { ...details, status: 200 })
    return c.json(body, 200, { 'cache-control': 'no-store' })
  })
  return app
}

async function accessesAnswer(deps: GatewayDeps, c: Context, principal: Principal, details: ReadDetails) {
  const clientId = principal.clientId
  details.clientId = clientId ?? null
  if (clientId === undefined || !(deps.config.subjectPortalClients ?? []).includes(clientId)) {
    throw new GatewayError('client-not-permitted', {
      detail: `${SUBJECT_ACCESS_ROUTE} answers only the portals the gateway is configured to trust`,
    })
  }
  const params = strictQuery(c, PARAMS)
  const snapshot = deps.snapshot()
  const now = deps.clock.now()
  const errors: string[] = []
  const subjectOptions = { usccExceptions: snapshot.catalog.usccExceptions, today: new Date(now) }
  // The auditors' own check of a subject, so that the two accept exactly the same identifiers.
  const parsed = params.subject ? parseFilter({ subject: params.subject }, subjectOptions) : undefined
  const subject = parsed?.ok ? parsed.value.subject : undefined
  if (parsed === undefined) errors.push('subject: required: the USCC, resident id or organisation code to look up')
  else if (!parsed.ok) errors.push(...parsed.errors)
  const limit = parseLimit(params.limit)
  if (!limit.ok) errors.push(...limit.errors)
  const before = params.cursor === undefined ? undefined : decodeCursor(params.cursor)
  if (params.cursor !== undefined && before === undefined) errors.push('cursor: not a cursor this API returned')
  if (errors.length > 0 || subject === undefined || !limit.ok) throw queryInvalid(errors)
  const digest = subjectDigest(deps.digest, subject)
  details.subject = digest
  details.continued = before !== undefined
  const page = await subjectAccessPage(deps.audit.query(subjectAccessFilter(digest, before)), {
    catalog: snapshot.catalog,
    now,
    limit: limit.value,
    ...(before !== undefined ? { before } : {}),
  })
  details.records = page.accesses.length
  return { accesses: page.accesses, nextCursor: page.next === undefined ? null : encodeCursor(page.next) }
}
