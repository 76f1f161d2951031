import type { Context } from 'hono'
import type { Principal } from '../auth/principal.js'
import { exchangeScope } from '../auth/principal.js'
import type { Catalog, Grant, Resource } from '../catalog/types.js'
import type { GatewayDeps } from '../gateway-deps.js'
import type { ConnectorStatus } from '../health/connector-health.js'
import type { AuthenticatedEnv } from './require-scope.js'

type GrantState = 'active' | 'expired' | 'not-yet-valid' | 'revoked'

function grantState(grant: Grant, now: number): GrantState {
  if (grant.revoked !== undefined) return 'revoked'
  if (grant.validFromMs !== undefined && now < grant.validFromMs) return 'not-yet-valid'
  if (grant.validUntilMs !== undefined && now >= grant.validUntilMs) return 'expired'
  return 'active'
}

function publicResource(resource: Resource, availability: (instance: string) => ConnectorStatus) {
  const status = resource.connector === undefined ? undefined : availability(resource.connector)
  return {
    id: resource.id,
    code: resource.code,
    name: resource.name,
    summary: resource.summary,
    provider: resource.provider,
    classification: resource.classification,
    sharing: resource.sharing,
    updateCycle: resource.updateCycle,
    publishedAt: resource.publishedAt,
    actions: [...(resource.read ? ['read'] : []), ...(resource.write ? ['write'] : [])],
    availability:
      status === undefined
        ? undefined
        : {
            status: status.status === 'up' ? 'available' : status.status === 'down' ? 'unavailable' : 'unknown',
            // The probe's own detail can name the provider's internals (SQLSTATE, hosts, fault strings): it is for
            // operators (the operational log), not for other departments.
            checkedAt: status.checkedAt,
          },
    cardinality: resource.read?.cardinality,
    fields: resource.fields.map((f) => ({
      key: f.key,
      name: f.name,
      sensitivity: f.sensitivity,
      mask: f.mask?.rule,
    })),
  }
}

/**
 * The published catalog (目录) as the caller sees it: every department, resource (metadata, sharing type, fields
 * with sensitivity; never connector internals) and matter with its grants — and, under `access`, what the
 * caller's own department may do and whether the token carries the scope for it.
 */
export function catalogView(
  catalog: Catalog,
  principal: Principal,
  now: number,
  availability: (instance: string) => ConnectorStatus,
) {
  const access = [] as Array<Record<string, unknown>>
  for (const grant of catalog.grants.values()) {
    if (grant.consumer !== principal.dept) continue
    const scope = exchangeScope(grant.matter, grant.resource, grant.action)
    access.push({
      matter: grant.matter,
      resource: grant.resource,
      action: grant.action,
      scope,
      state: grantState(grant, now),
      // A live grant (an approved application) names its approval, so the caller can look it up in /v1/grants.
      source: grant.source,
      ...(grant.source === 'application' ? { approvalRef: grant.approval?.ref } : {}),
      tokenHasScope: principal.scopes.has(scope),
    })
  }
  return {
    version: catalog.version,
    departments: [...catalog.departments.values()],
    resources: [...catalog.resources.values()].map((r) => publicResource(r, availability)),
    matters: [...catalog.matters.values()].map((m) => ({
      code: m.code,
      name: m.name,
      owner: m.owner,
      legalBasis: m.legalBasis,
      scene: m.scene,
      grants: m.grants.map((g) => ({
        consumer: g.consumer,
        resource: g.resource,
        action: g.action,
        usage: g.usage,
        fields: g.fields,
        masked: g.masked,
        approval: g.approval,
        state: grantState(g, now),
      })),
    })),
    access: { dept: principal.dept, grants: access },
  }
}

/** GET /v1/catalog, behind `requireScope(undefined, …)`: any valid token sees the catalog. */
export function catalogHandler(deps: GatewayDeps) {
  return async function catalog(c: Context<AuthenticatedEnv>): Promise<Response> {
    c.header('cache-control', 'no-store')
    return c.json(catalogView(deps.snapshot().catalog, c.get('principal'), deps.clock.now(), deps.health.status))
  }
}
