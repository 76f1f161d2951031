import type { Context } from 'hono'
import { OPS_READ_SCOPE } from '../auth/principal.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { buildStatusReport } from '../health/status-report.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'

/** The guard of GET /v1/admin/status: a token with scope ops:read (the operator's; auditors and departments lack it). */
export function requireOpsRead(deps: GatewayDeps) {
  return requireScope(OPS_READ_SCOPE, {
    verifier: deps.verifier,
    insufficientScopeDetail: 'the gateway status needs the ops:read scope',
  })
}

/**
 * GET /v1/admin/status, behind `requireOpsRead`: this instance's running state (status-report.ts). Never cached:
 * breakers and quotas change by the second.
 */
export function statusHandler(deps: GatewayDeps) {
  return async function status(c: Context<AuthenticatedEnv>): Promise<Response> {
    return c.json(await buildStatusReport(deps), 200, { 'cache-control': 'no-store' })
  }
}
