import { shanghaiDate } from '../../kernel/working-calendar.js'
import { AUDIT_READ_SCOPE, exchangeScope, type Principal } from '../auth/principal.js'
import { type Action, type Catalog, type Grant, grantKey, type Resource } from '../catalog/types.js'
import type { ProblemCode } from '../errors/codes.js'

export interface Purpose {
  /** Qiao-Matter: the matter (办事事项) this call serves. */
  readonly matter: string
  /** Qiao-Case: the case (办件) number. */
  readonly caseId: string
}

/** What the decision looks grants up in: the catalog's own, or the snapshot's compiled ones (each with its `grant`). */
export type GrantLookup<G extends { readonly grant: Grant }> = ReadonlyMap<string, G>

export type Decision<G extends { readonly grant: Grant } = { readonly grant: Grant }> =
  | { readonly allow: true; readonly grant: G }
  | {
      readonly allow: false
      readonly code: ProblemCode
      readonly detail: string
      readonly requiredScope?: string
      /** The grant the call was refused under (grant-revoked), so that its audit record names the approval. */
      readonly grant?: G
    }

/**
 * The access decision (primer §6.3): allowed only when the token carries the scope for this matter, resource and
 * action; the matter grants that action on that resource to the caller's department; the grant is not revoked and
 * its approval is in force; and the resource is shareable at all. Anything else is denied, with the first failing
 * check as reason. Role separation (GB/T 39477) comes first: a token carrying `audit:read` is an auditor's and
 * never exchanges.
 */
export function decide<G extends { readonly grant: Grant }>(
  catalog: Catalog,
  grants: GrantLookup<G>,
  principal: Principal,
  purpose: Purpose,
  resource: Resource,
  action: Action,
  now: number,
): Decision<G> {
  if (principal.scopes.has(AUDIT_READ_SCOPE)) {
    return {
      allow: false,
      code: 'role-separation',
      detail: `auditor tokens (scope ${AUDIT_READ_SCOPE}) cannot exchange data; use a separate token for exchange`,
    }
  }
  if (!catalog.departments.has(principal.dept)) {
    return { allow: false, code: 'department-unknown', detail: 'the token department is not in the catalog' }
  }
  if (resource.sharing.type === 'none') {
    return { allow: false, code: 'resource-not-shared', detail: 'this resource is classified 不予共享 (not shared)' }
  }
  const scope = exchangeScope(purpose.matter, resource.id, action)
  if (!principal.scopes.has(scope)) {
    return {
      allow: false,
      code: 'insufficient-scope',
      detail: `the token has no scope for this matter, resource and action`,
      requiredScope: scope,
    }
  }
  if (!catalog.matters.has(purpose.matter)) {
    return { allow: false, code: 'matter-unknown', detail: 'the declared matter is not in the catalog' }
  }
  const found = grants.get(grantKey(purpose.matter, resource.id, action, principal.dept))
  if (found === undefined) {
    return {
      allow: false,
      code: 'grant-missing',
      detail: `the matter does not grant ${action} on this resource to the calling department`,
    }
  }
  const { grant } = found
  if (grant.revoked !== undefined) {
    const on = revokedOn(grant.revoked.at)
    return {
      allow: false,
      code: 'grant-revoked',
      detail: `the grant behind this call (approval ${grant.approval?.ref}) was revoked on ${on}`,
      grant: found,
    }
  }
  if (grant.validFromMs !== undefined && now < grant.validFromMs) {
    return {
      allow: false,
      code: 'grant-not-yet-valid',
      detail: `the approval takes effect on ${grant.approval?.validFrom}`,
    }
  }
  if (grant.validUntilMs !== undefined && now >= grant.validUntilMs) {
    return { allow: false, code: 'grant-expired', detail: `the approval ended on ${grant.approval?.validTo}` }
  }
  return { allow: true, grant: found }
}

/** The Asia/Shanghai calendar day of a revocation time (as the approval's own dates are written). */
function revokedOn(at: string): string {
  const ms = Date.parse(at)
  return Number.isNaN(ms) ? at : shanghaiDate(ms)
}
