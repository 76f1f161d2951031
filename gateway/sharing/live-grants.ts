import { approvalWindowMs } from '../catalog/loader/build.js'
import { MAX_QUOTA_REFILL_SECONDS, quotaWindowSeconds } from '../catalog/loader/quota-window.js'
import { type Approval, type Catalog, type Grant, grantKey, type Quota, type Resource } from '../catalog/types.js'
import type { LiveGrant } from './model.js'

/**
 * Live grants (made by approved sharing applications) as the exchange path sees them: ordinary catalog grants with
 * `source: 'application'`, merged into the catalog each snapshot is compiled from. Nothing here reads the database:
 * the grants come from the sharing store through grant sync (./grant-sync.ts), once per change, never per call.
 */

/** A live grant left out of the snapshot, and why (for the operator's warning: ids and catalog names only). */
export interface SkippedGrant {
  readonly grant: LiveGrant
  readonly reason: string
}

export interface MergedCatalog {
  /** The catalog with the live grants in `grants` and their quotas at the end of `quotas`. */
  readonly catalog: Catalog
  readonly skipped: readonly SkippedGrant[]
}

/**
 * The Grant of a live grant. Its approval reference is the grant's id (what exchange audit records carry as
 * `approvalRef`), and its validity is bounded exactly as a catalog approval's (Asia/Shanghai day bounds). A revoked
 * grant keeps only when it was revoked: the reason stays in the sharing store.
 */
export function toGrant(live: LiveGrant): Grant {
  const approval: Approval = Object.freeze({
    ref: live.id,
    approvedBy: live.approvedBy,
    validFrom: live.validFrom,
    validTo: live.validTo,
  })
  const { validFromMs, validUntilMs } = approvalWindowMs(approval)
  return Object.freeze({
    source: 'application',
    grantId: live.id,
    // A revoked row always has its time; one without would still be revoked, dated from its approval.
    revoked: isRevoked(live) ? Object.freeze({ at: live.revokedAt ?? live.approvedAt }) : undefined,
    matter: live.matter,
    consumer: live.consumer,
    resource: live.resource,
    action: live.action,
    usage: live.usage,
    fields: Object.freeze([...live.fields]),
    masked: Object.freeze([...live.masked]),
    approval,
    validFromMs,
    validUntilMs,
  })
}

/**
 * The quotas of active live grants, as catalog quotas on the grant's department, matter and resource: the bucket
 * holds `limit` calls and refills over `per`. A revoked grant's calls are refused before any quota is charged, so
 * its quota is left out; so is one whose `per` is not a quota window (mergeGrants skips such grants).
 */
export function liveQuotas(live: readonly LiveGrant[]): Quota[] {
  const quotas: Quota[] = []
  for (const grant of live) {
    if (grant.quota === undefined || isRevoked(grant) || quotaProblem(grant) !== undefined) continue
    const { limit, per } = grant.quota
    quotas.push(
      Object.freeze({
        id: `grant:${grant.id}`,
        department: grant.consumer,
        matter: grant.matter,
        resource: grant.resource,
        limit,
        per,
        windowSeconds: quotaWindowSeconds(per) as number,
        burst: limit,
      }),
    )
  }
  return quotas
}

/**
 * `catalog` with the live grants merged in, under their grantKey. A live grant, active or revoked, replaces a
 * catalog grant with the same key: an approval made later than the file is the newer decision, and a revocation
 * must win over a grant still written in the file. Superseded grants are left out. A live grant the catalog can no
 * longer carry (its resource, matter or consumer gone, its action not bound, fields gone, an unusable quota) is
 * skipped and listed, never thrown: a catalog reload must not fail because of what the database holds. Of two live
 * grants with one key (the workflow supersedes the older, so only a race could leave two), the later decision wins.
 *
 * Without live grants the catalog itself is returned. Otherwise the cost is one copy of the grants map and one
 * object per live grant; the compiled snapshot does the rest (snapshot.ts).
 */
export function mergeGrants(catalog: Catalog, live: readonly LiveGrant[]): MergedCatalog {
  const skipped: SkippedGrant[] = []
  const chosen = new Map<string, LiveGrant>()
  for (const grant of live) {
    if (grant.state === 'superseded') continue
    const problem = unusable(catalog, grant)
    if (problem !== undefined) {
      skipped.push({ grant, reason: problem })
      continue
    }
    const key = grantKey(grant.matter, grant.resource, grant.action, grant.consumer)
    const other = chosen.get(key)
    if (other === undefined) {
      chosen.set(key, grant)
      continue
    }
    const [kept, left] = laterDecision(grant, other) ? [grant, other] : [other, grant]
    chosen.set(key, kept)
    skipped.push({ grant: left, reason: `live grant ${kept.id} for the same matter, resource and action is newer` })
  }
  if (chosen.size === 0) return { catalog, skipped }
  const grants = new Map(catalog.grants)
  for (const [key, grant] of chosen) {
    const resource = catalog.resources.get(grant.resource) as Resource
    // A revoked grant releases nothing, so fields the resource lost since do not keep its revocation out.
    const converted = toGrant(grant)
    grants.set(
      key,
      isRevoked(grant) && fieldProblem(resource, grant) !== undefined
        ? Object.freeze({ ...converted, fields: [], masked: [] })
        : converted,
    )
  }
  const merged: Catalog = Object.freeze({
    ...catalog,
    grants,
    quotas: Object.freeze([...catalog.quotas, ...liveQuotas([...chosen.values()])]),
  })
  return { catalog: merged, skipped }
}

function isRevoked(grant: LiveGrant): boolean {
  return grant.state === 'revoked' || grant.revokedAt !== undefined
}

/** Why the catalog cannot carry this live grant, or undefined when it can. */
function unusable(catalog: Catalog, grant: LiveGrant): string | undefined {
  const resource = catalog.resources.get(grant.resource)
  if (resource === undefined) return `resource ${grant.resource} is no longer in the catalog`
  if (!catalog.matters.has(grant.matter)) return `matter ${grant.matter} is no longer in the catalog`
  if (!catalog.departments.has(grant.consumer)) return `department ${grant.consumer} is no longer in the catalog`
  if ((grant.action === 'read' ? resource.read : resource.write) === undefined) {
    return `resource ${resource.id} no longer binds ${grant.action}`
  }
  if (isRevoked(grant)) return undefined
  return fieldProblem(resource, grant) ?? quotaProblem(grant)
}

/** Fields the grant names that the resource no longer has, or masks with a field that has no mask rule. */
function fieldProblem(resource: Resource, grant: LiveGrant): string | undefined {
  const gone = [...grant.fields, ...grant.masked].filter((key) => !resource.fieldsByKey.has(key))
  if (gone.length > 0) return `resource ${resource.id} no longer has field(s) ${gone.join(', ')}`
  const unmaskable = grant.masked.filter((key) => resource.fieldsByKey.get(key)?.mask === undefined)
  if (unmaskable.length > 0) return `field(s) ${unmaskable.join(', ')} of ${resource.id} have no mask rule any more`
  return undefined
}

/** A quota the quota enforcer cannot count: as the catalog loader's checks, for a bucket of `limit` calls. */
function quotaProblem(grant: LiveGrant): string | undefined {
  if (grant.quota === undefined) return undefined
  const { limit, per } = grant.quota
  const window = quotaWindowSeconds(per)
  if (window === undefined) return `its quota per "${per}" is not second, minute, hour, day or <n>s|m|h|d`
  if (!Number.isInteger(limit) || limit < 1) return 'its quota limit is not a positive integer'
  if (window > MAX_QUOTA_REFILL_SECONDS) return `its quota window is longer than ${MAX_QUOTA_REFILL_SECONDS} s`
  return undefined
}

/** True when `a` is the later decision than `b`: approval or revocation time, a revocation first on a tie. */
function laterDecision(a: LiveGrant, b: LiveGrant): boolean {
  const at = (g: LiveGrant) => Date.parse(g.revokedAt ?? g.approvedAt)
  if (at(a) !== at(b)) return at(a) > at(b)
  if (isRevoked(a) !== isRevoked(b)) return isRevoked(a)
  return a.id > b.id
}
