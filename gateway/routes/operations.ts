import type { Context } from 'hono'
import { formatIssue } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdFrom } from '../pipeline/10-request.js'
import { authenticate } from '../pipeline/20-authenticate.js'

export const CATALOG_ADMIN_SCOPE = 'catalog:admin'

/**
 * GET /readyz: ready to take traffic — the catalog is loaded, the audit log can make records durable, and the
 * gateway is not draining. Connector health is reported but does not make the gateway unready: the other
 * resources can still be served. 503 lists the reasons.
 */
export function readinessHandler(deps: GatewayDeps) {
  return async function readyz(c: Context): Promise<Response> {
    const snapshot = deps.snapshot()
    const reasons: string[] = []
    if (deps.lifecycle.draining()) reasons.push('shutting down')
    const audit = await deps.audit.probe()
    if (audit !== undefined) reasons.push(audit)
    const connectors = Object.fromEntries(
      [...snapshot.connectors.keys()].map((id) => {
        const s = deps.health.status(id)
        return [id, { status: s.status, detail: s.detail, checkedAt: s.checkedAt }]
      }),
    )
    const body = {
      status: reasons.length === 0 ? 'ready' : 'not-ready',
      reasons,
      catalog: { version: snapshot.catalog.version, digest: snapshot.catalog.digest },
      audit: { writable: audit === undefined, logId: deps.audit.logId },
      connectors,
    }
    return c.json(body, reasons.length === 0 ? 200 : 503, { 'cache-control': 'no-store' })
  }
}

/** POST /v1/admin/catalog/reload (scope catalog:admin): reloads catalog.yaml; the attempt is audited. */
export function catalogReloadHandler(deps: GatewayDeps) {
  return async function reload(c: Context): Promise<Response> {
    const principal = await authenticate(c.req.header('authorization'), deps.verifier)
    if (!principal.scopes.has(CATALOG_ADMIN_SCOPE)) {
      throw new GatewayError('insufficient-scope', {
        detail: 'reloading the catalog needs the catalog:admin scope',
        extensions: { requiredScope: CATALOG_ADMIN_SCOPE },
      })
    }
    const requestId = requestIdFrom(c.req.header('x-request-id'), deps.clock.now())
    const result = await deps.lifecycle.reload(`${principal.dept}/${principal.sub}`, requestId)
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
