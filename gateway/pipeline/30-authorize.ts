import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import { type Action, grantKey, type Resource } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { decide, type Purpose } from '../policy/decide.js'

const CASE_ID = /^[A-Za-z0-9._-]{1,64}$/
const MATTER_CODE = /^[A-Za-z0-9._-]{1,64}$/

/** Qiao-Matter and Qiao-Case: every exchange call says which matter and which case it serves. */
export function readPurpose(matter: string | undefined, caseId: string | undefined): Purpose {
  if (matter === undefined || matter === '' || caseId === undefined || caseId === '') {
    const missing = [matter ? undefined : 'Qiao-Matter', caseId ? undefined : 'Qiao-Case'].filter(Boolean)
    throw new GatewayError('purpose-missing', { detail: `missing header(s): ${missing.join(', ')}` })
  }
  if (!MATTER_CODE.test(matter)) {
    throw new GatewayError('purpose-malformed', { detail: 'Qiao-Matter is not a matter code' })
  }
  if (!CASE_ID.test(caseId)) {
    throw new GatewayError('purpose-malformed', { detail: 'Qiao-Case must be 1–64 characters of [A-Za-z0-9._-]' })
  }
  return { matter, caseId }
}

/** The resource named in the path; unknown resources are 404 for everyone. */
export function findResource(snapshot: CatalogSnapshot, resourceId: string): Resource {
  const resource = snapshot.catalog.resources.get(resourceId)
  if (!resource) throw new GatewayError('resource-not-found', { detail: 'no such resource in the catalog' })
  return resource
}

/** Applies the access decision; returns the compiled grant or throws the 403 that explains the denial. */
export function authorize(
  snapshot: CatalogSnapshot,
  principal: Principal,
  purpose: Purpose,
  resource: Resource,
  action: Action,
  now: number,
): CompiledGrant {
  const decision = decide(snapshot.catalog, principal, purpose, resource, action, now)
  if (!decision.allow) {
    throw new GatewayError(decision.code, {
      detail: decision.detail,
      extensions: decision.requiredScope === undefined ? undefined : { requiredScope: decision.requiredScope },
    })
  }
  const compiled = snapshot.grants.get(grantKey(purpose.matter, resource.id, action, principal.dept))
  if (!compiled) throw new Error('grant allowed but not compiled')
  return compiled
}
