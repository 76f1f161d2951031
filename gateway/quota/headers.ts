import type { QuotaOutcome, QuotaState } from './quotas.js'

/**
 * The RateLimit header fields of draft-ietf-httpapi-ratelimit-headers-10 (September 2025): both are Structured
 * Field Lists (RFC 9651) whose members are quoted policy names (sf-string) with parameters.
 *
 *   RateLimit-Policy: "<quota id>";q=<calls>;w=<window seconds>, …   every quota that applies to the call
 *   RateLimit: "<quota id>";r=<remaining>;t=<seconds until tokens are back>   the tightest one
 *
 * The policy lists every matching quota (it is the same for every call of that department, matter and resource);
 * RateLimit reports the quota with the fewest calls left, as the draft requires when several windows apply, or on
 * a 429 the empty bucket that refills last, and then `t` equals Retry-After. `q`/`w` are the bucket as counted:
 * `burst` calls per refill time, i.e. `limit` per `per` with the default burst.
 */

/** RFC 9651 §4.1.6: a String is printable ASCII with `"` and `\` escaped. Quota ids never need it; names may. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error('structured-field strings are printable ASCII')
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** Whole seconds until `ms` has passed, at least 1: Retry-After and `t` never promise a token sooner. */
export function resetSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

export function policyMember(state: QuotaState): string {
  return `${sfString(state.quota.id)};q=${state.points};w=${state.windowSeconds}`
}

export function rateLimitMember(state: QuotaState): string {
  return `${sfString(state.quota.id)};r=${state.remaining};t=${resetSeconds(state.resetMs)}`
}

/** RateLimit-Policy and RateLimit for an answer (lower-case names, as every header the gateway sets). */
export function rateLimitHeaders(outcome: QuotaOutcome): Record<string, string> {
  const reported = outcome.allowed ? outcome.tightest : outcome.refusedBy
  return {
    'ratelimit-policy': outcome.states.map(policyMember).join(', '),
    ratelimit: rateLimitMember(reported),
  }
}

/** The 429's headers: Retry-After when the refusing bucket is full again, and the RateLimit fields. */
export function quotaExceededHeaders(outcome: QuotaOutcome & { allowed: false }): Record<string, string> {
  return { 'retry-after': String(resetSeconds(outcome.refusedBy.resetMs)), ...rateLimitHeaders(outcome) }
}
