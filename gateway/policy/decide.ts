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

/** A matter named in a refusal: one under which the caller's department could make this call. */
export interface CoveringMatter {
  readonly code: string
  readonly name: string
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
      /**
       * The matters that grant the calling department this action on this resource now (matter-unknown,
       * grant-missing, insufficient-scope), so the refusal says which Qiao-Matter and scope would do.
       */
      readonly matters?: readonly CoveringMatter[]
      /** The grant the call was refused under (grant-revoked), so that its audit record names the approval. */
      readonly grant?: G
    }

/**
 * The access decision (primer §6.3): allowed only when the matter is in the catalog; it grants that action on that
 * resource to the caller's department; the token carries the scope for this matter, resource and action; the grant
 * is not revoked and its approval is in force; and the resource is shareable at all. Anything else is denied, with
 * the first failing check as reason. Role separation (GB/T 39477) comes first: a token carrying `audit:read` is an
 * auditor's and never exchanges.
 *
 * The matter and its grant are checked before the scope, so that a refusal never asks for a scope that could not
 * work: an unknown matter is `matter-unknown`, a matter that does not cover the call `grant-missing`, and only a
 * matter that does cover it, missing from the token, `insufficient-scope`. Each of the three names the matters that
 * cover the call (an empty list: none does, and the detail says how to apply for one).
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
  if (!catalog.matters.has(purpose.matter)) {
    const matters = coveringMatters(catalog, grants, resource, action, principal.dept, now)
    return {
      allow: false,
      code: 'matter-unknown',
      detail: `the declared matter (Qiao-Matter) is not in the catalog; ${hint(matters, resource, action, principal.dept)}`,
      matters,
    }
  }
  const found = grants.get(grantKey(purpose.matter, resource.id, action, principal.dept))
  if (found === undefined) {
    const matters = coveringMatters(catalog, grants, resource, action, principal.dept, now)
    return {
      allow: false,
      code: 'grant-missing',
      detail: `the declared matter does not cover this call; ${hint(matters, resource, action, principal.dept)}`,
      matters,
    }
  }
  const scope = exchangeScope(purpose.matter, resource.id, action)
  if (!principal.scopes.has(scope)) {
    return {
      allow: false,
      code: 'insufficient-scope',
      detail: `the token has no scope for this matter, resource and action (requiredScope names it)`,
      requiredScope: scope,
      matters: coveringMatters(catalog, grants, resource, action, principal.dept, now),
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

/** How to go on from a refusal about the matter: declare one of these, or apply for one. */
function hint(matters: readonly CoveringMatter[], resource: Resource, action: Action, dept: string): string {
  const what = `${action} on this resource to the calling department`
  if (matters.length > 1) return `the matters that grant ${what}: ${matters.map((m) => m.code).join(', ')}`
  if (matters.length === 1) return `the matter that grants ${what}: ${matters[0]?.code}`
  if (resource.provider === dept)
    return `no matter grants ${what}, which provides it (it does not apply for its own data)`
  return `no matter grants ${what}: apply for one with POST /v1/applications`
}

/** A grant that names its matter in a refusal, and whether it is in force at a given time. */
interface Cover {
  readonly matter: CoveringMatter
  readonly grant: Grant
}

/**
 * Per grant lookup (one per snapshot and action): (resource, action, consumer) → the grants covering it, with their
 * matters. Built on the first refusal that needs it, so a refusal looks one key up instead of scanning the grants.
 * Revoked grants never cover anything again and are left out; validity windows depend on the time of the call.
 */
const coverIndexes = new WeakMap<GrantLookup<{ readonly grant: Grant }>, ReadonlyMap<string, readonly Cover[]>>()

function coverKey(resource: string, action: Action, consumer: string): string {
  return `${resource}\u0000${action}\u0000${consumer}`
}

function coverIndex(catalog: Catalog, grants: GrantLookup<{ readonly grant: Grant }>) {
  let index = coverIndexes.get(grants)
  if (index === undefined) {
    const built = new Map<string, Cover[]>()
    for (const { grant } of grants.values()) {
      const matter = catalog.matters.get(grant.matter)
      if (grant.revoked !== undefined || matter === undefined) continue
      const key = coverKey(grant.resource, grant.action, grant.consumer)
      const covers = built.get(key) ?? []
      covers.push({ matter: Object.freeze({ code: matter.code, name: matter.name }), grant })
      built.set(key, covers)
    }
    index = built
    coverIndexes.set(grants, index)
  }
  return index
}

/** The matters granting `dept` this action on this resource with an approval in force at `now`, in catalog order. */
export function coveringMatters(
  catalog: Catalog,
  grants: GrantLookup<{ readonly grant: Grant }>,
  resource: Resource,
  action: Action,
  dept: string,
  now: number,
): CoveringMatter[] {
  const covers = coverIndex(catalog, grants).get(coverKey(resource.id, action, dept)) ?? []
  return covers.filter(({ grant }) => inForce(grant, now)).map((c) => c.matter)
}

function inForce(grant: Grant, now: number): boolean {
  return (
    (grant.validFromMs === undefined || now >= grant.validFromMs) &&
    (grant.validUntilMs === undefined || now < grant.validUntilMs)
  )
}

/** The Asia/Shanghai calendar day of a revocation time (as the approval's own dates are written). */
function revokedOn(at: string): string {
  const ms = Date.parse(at)
  return Number.isNaN(ms) ? at : shanghaiDate(ms)
}
