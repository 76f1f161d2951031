import { type Context, Hono } from 'hono'
import { usageRows } from '../audit/usage.js'
import { parseUsageWindow } from '../audit/usage-window.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { authenticate } from '../pipeline/20-authenticate.js'
import { SHARING_APPLY_SCOPE, SHARING_REVIEW_SCOPE } from '../sharing/service.js'
import { queryInvalid, recordAdminRead, strictQuery } from './admin-read.js'
import { requestIdOf } from './sharing-http.js'

/**
 * GET /v1/usage?view=provider|consumer&from&to: a department's own view of the exchange, counted from the audit log
 * per Beijing day (audit/usage.ts). `provider` (a reviewer's token, `sharing:review`): the calls to the department's
 * resources, by consuming department, matter and resource. `consumer` (an applicant's token, `sharing:apply`): the
 * department's own calls, by provider, matter and resource. The department is always the token's `dept`: nobody
 * asks for another's. Counts only: no officer, no subject, nothing released.
 *
 * Each read — answered or refused — leaves a `usage.read` admin record (who, view, window, rows), and a read that
 * cannot be recorded is not answered.
 */

export type UsageView = 'provider' | 'consumer'

/** The scope each view needs: a provider's reviewers see who uses its data, an applicant what it used. */
export const USAGE_VIEW_SCOPES: Readonly<Record<UsageView, string>> = {
  provider: SHARING_REVIEW_SCOPE,
  consumer: SHARING_APPLY_SCOPE,
}

const PARAMS = ['view', 'from', 'to']

/** What the `usage.read` record says about one call, filled in as the call goes. */
type ReadDetails = Record<string, string | number | boolean | null>

export function usageRoutes(deps: GatewayDeps): Hono {
  const app = new Hono()
  app.get('/', async (c) => {
    const requestId = requestIdOf(c, deps.clock.now())
    const details: ReadDetails = { route: '/v1/usage' }
    let principal: Principal | undefined
    let body: unknown
    try {
      principal = await authenticate(c.req.header('authorization'), deps.verifier)
      body = await usageAnswer(deps, c, principal, details)
    } catch (err) {
      const error = toGatewayError(err)
      await recordAdminRead(deps, 'usage.read', requestId, principal, {
        ...details,
        status: error.status,
        reason: error.code,
      })
      throw error
    }
    await recordAdminRead(deps, 'usage.read', requestId, principal, { ...details, status: 200 })
    return c.json(body, 200, { 'cache-control': 'no-store' })
  })
  return app
}

async function usageAnswer(deps: GatewayDeps, c: Context, principal: Principal, details: ReadDetails) {
  const params = strictQuery(c, PARAMS)
  const view = params.view
  if (view !== 'provider' && view !== 'consumer') throw queryInvalid(['view: expected provider or consumer'])
  details.view = view
  const scope = USAGE_VIEW_SCOPES[view]
  if (!principal.scopes.has(scope)) {
    throw new GatewayError('insufficient-scope', {
      detail: `the ${view} view of GET /v1/usage needs a token with scope ${scope}`,
      extensions: { requiredScope: scope },
    })
  }
  const dept = principal.dept
  if (!deps.snapshot().catalog.departments.has(dept)) {
    throw new GatewayError('department-unknown', { detail: 'the token dept is not a department of the catalog' })
  }
  const parsed = parseUsageWindow(params, deps.clock.now())
  if (!parsed.ok) throw queryInvalid(parsed.errors)
  const window = parsed.value
  Object.assign(details, { from: window.from, to: window.to })
  // The store filters by the consuming department; the provider is read from each record.
  const filter = {
    from: window.fromTime,
    to: window.toTime,
    kind: 'exchange' as const,
    ...(view === 'consumer' ? { dept } : {}),
  }
  const { rows, records } = await usageRows(deps.audit.query(filter), (record) =>
    view === 'consumer' ? record.requester.dept === dept : record.provider === dept,
  )
  Object.assign(details, { records, rows: rows.length })
  return { view, dept, from: window.from, to: window.to, rows }
}
