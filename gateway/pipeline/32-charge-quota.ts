import { GatewayError } from '../errors/gateway-error.js'
import { quotaExceededHeaders, rateLimitHeaders } from '../quota/headers.js'
import type { QuotaOutcome } from '../quota/quotas.js'
import type { Authorized, Charged, Reached } from './exchange.js'

/**
 * Quotas (catalog `quotas`), once the call is authorized and before its parameters are read: the call takes a
 * token from every quota of its department, matter and resource; any empty bucket refuses it with 429
 * `quota-exceeded`, Retry-After and the RateLimit fields. Every authorized call counts, whatever its outcome later.
 * `quota` is undefined when no quota applies.
 */
export async function chargeQuota<A extends Authorized>(call: A): Promise<Charged<A>> {
  const outcome = await call.snapshot.quotas.charge({
    dept: call.principal.dept,
    matter: call.purpose.matter,
    resource: call.resource.id,
  })
  if (outcome && !outcome.allowed) {
    const quota = outcome.refusedBy.quota
    throw new GatewayError('quota-exceeded', {
      detail: `quota ${quota.id} allows ${quota.limit} call(s) per ${quota.per}${quota.burst === quota.limit ? '' : ` (burst ${quota.burst})`}`,
      extensions: { quota: quota.id },
      headers: quotaExceededHeaders(outcome),
    })
  }
  const reached: Reached = call
  reached.quota = outcome
  return call as Charged<A>
}

/** RateLimit-Policy and RateLimit for a successful answer, when a quota applied to the call. */
export function quotaHeaders(outcome: QuotaOutcome | undefined): Record<string, string> {
  return outcome ? rateLimitHeaders(outcome) : {}
}
