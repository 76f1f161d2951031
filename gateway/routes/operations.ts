import type { Context, MiddlewareHandler } from 'hono'
import { actorOf, adminRecord, outcomeOf } from '../audit/admin.js'
import { timestampingReadiness } from '../audit/tsa/configured.js'
import { formatIssue } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdFrom } from '../pipeline/10-route-request.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'

export const CATALOG_ADMIN_SCOPE = 'catalog:admin'

/**
 * GET /readyz: ready to take traffic — the catalog is loaded, the audit log can make records durable (not broken,
 * its file system above QIAO_AUDIT_MIN_FREE), and the gateway is not draining. Connector health is reported but
 * does not make the gateway unready: the other resources can still be served. 503 lists the reasons.
 */
export function readinessHandler(deps: GatewayDeps) {
  return async function readyz(c: Context): Promise<Response> {
    const snapshot = deps.snapshot()
    const reasons: string[] = []
    if (deps.lifecycle.draining()) reasons.push('draining')
    const audit = await deps.audit.health()
    reasons.push(...audit.problems)
    const timestamping = timestampingReadiness(deps.audit)
    if (timestamping.reason) reasons.push(timestamping.reason)
    const connectors = Object.fromEntries(
      [...snapshot.connectors.keys()].map((id) => {
        const s = deps.health.status(id)
        // No probe detail on this unauthenticated endpoint: it can name the provider's internals (SQLSTATE, hosts,
        // fault strings). Operators find it in the operational log ("connector health").
        return [id, { status: s.status, checkedAt: s.checkedAt }]
      }),
    )
    const body = {
      status: reasons.length === 0 ? 'ready' : 'not-ready',
      reasons,
      catalog: { version: snapshot.catalog.version, digest: snapshot.catalog.digest },
      audit: {
        writable: audit.problems.length === 0,
        broken: audit.broken,
        ...(audit.freeBytes === undefined ? {} : { freeBytes: audit.freeBytes }),
        logId: deps.audit.logId,
        ...(timestamping.report ? { timestamping: timestamping.report } : {}),
      },
      connectors,
    }
    return c.json(body, reasons.length === 0 ? 200 : 503, { 'cache-control': 'no-store' })
  }
}

/**
 * The guard of POST /v1/admin/catalog/reload: a token with scope catalog:admin. Every attempt is audited: reload.ts
 * records the ones it runs (accepted or rejected file); the refusals before that (no or bad token, no
 * catalog:admin scope) are recorded here. A refusal whose record cannot be written answers 503.
 */
export function requireCatalogAdmin(deps: GatewayDeps): MiddlewareHandler<AuthenticatedEnv> {
  return requireScope(CATALOG_ADMIN_SCOPE, {
    verifier: deps.verifier,
    insufficientScopeDetail: 'reloading the catalog needs the catalog:admin scope',
    onRefused: async (c, refusal, principal) => {
      const requestId = requestIdFrom(c.req.header('x-request-id'), deps.clock.now())
      await auditOrFail(deps, () =>
        deps.audit.append(
          adminRecord(
            'catalog.reload',
            deps.clock.now(),
            { file: deps.config.catalog, reason: refusal.code, problems: null },
            { actor: actorOf(principal), outcome: outcomeOf(refusal.status), requestId },
          ),
        ),
      )
    },
  })
}

/** POST /v1/admin/catalog/reload, behind `requireCatalogAdmin`: reloads catalog.yaml. */
export function catalogReloadHandler(deps: GatewayDeps) {
  return async function reload(c: Context<AuthenticatedEnv>): Promise<Response> {
    const requestId = requestIdFrom(c.req.header('x-request-id'), deps.clock.now())
    const actor = actorOf(c.get('principal'))
    const result = await auditOrFail(deps, () => deps.lifecycle.reload(actor, requestId))
    if (!result.ok) {
      throw new GatewayError('catalog-invalid', {
        detail: `the new catalog has ${result.issues.length} problem(s); the running catalog keeps serving`,
        extensions: { errors: result.issues.map(formatIssue) },
      })
    }
    return c.json({
      status: 'reloaded',
      version: result.catalog.version,
      digest: result.catalog.digest,
      resources: result.catalog.resources.size,
      grants: result.catalog.grants.size,
    })
  }
}

/** Runs something that writes an audit record; a log that cannot take it makes the answer 503, not 500. */
async function auditOrFail<T>(deps: GatewayDeps, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if ((await deps.audit.probe()) === undefined) throw err
    throw new GatewayError('audit-unavailable', {
      detail: 'the attempt could not be audited, so it was not carried out',
      internal: err instanceof Error ? err.message : 'audit append failed',
      cause: err,
    })
  }
}
