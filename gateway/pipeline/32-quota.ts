import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import type { Resource } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Purpose } from '../policy/decide.js'
import { quotaExceededHeaders, rateLimitHeaders } from '../quota/headers.js'
import type { QuotaOutcome } from '../quota/quotas.js'

/**
 * Quotas (catalog `quotas`), once the call is authorized and before its parameters are read: the call takes a
 * token from every quota of its department, matter and resource; any empty bucket refuses it with 429
 * `quota-exceeded`, Retry-After and the RateLimit fields. Every authorized call counts, whatever its outcome later.
 * Undefined when no quota applies.
 */
export async function chargeQuota(
  snapshot: CatalogSnapshot,
  principal: Principal,
  purpose: Purpose,
  resource: Resource,
): Promise<QuotaOutcome | undefined> {
  const outcome = await snapshot.quotas.charge({ dept: principal.dept, matter: purpose.matter, resource: resource.id })
  if (outcome && !outcome.allowed) {
    const quota = outcome.refusedBy.quota
    throw new GatewayError('quota-exceeded', {
      detail: `quota ${quota.id} allows ${quota.limit} call(s) per ${quota.per}${quota.burst === quota.limit ? '' : ` (burst ${quota.burst})`}`,
      extensions: { quota: quota.id },
      headers: quotaExceededHeaders(outcome),
    })
  }
  return outcome
}

/** RateLimit-Policy and RateLimit for a successful answer, when a quota applied to the call. */
export function quotaHeaders(outcome: QuotaOutcome | undefined): Record<string, string> {
  return outcome ? rateLimitHeaders(outcome) : {}
}
