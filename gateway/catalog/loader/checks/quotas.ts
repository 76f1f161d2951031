// Quotas: unique ids, known references, whole-second refills, and whether any grant reaches them.

import type { Checker } from '../checks.js'
import { MAX_QUOTA_REFILL_SECONDS, quotaWindowSeconds } from '../quota-window.js'
import type { Loose, Path, RawMatter } from '../raw.js'
import { formatPath } from '../report.js'

/**
 * Quota ids are unique; department, matter and resource exist; a department or a matter is named; the bucket
 * refills in whole seconds (the counters and the RateLimit fields count whole seconds). A quota that no grant can
 * ever reach is only a warning.
 */
export function checkQuotas(checker: Checker): void {
  const firstId = new Map<string, Path>()
  const matters = new Map<string, Loose<RawMatter>>()
  for (const m of checker.data.matters ?? []) if (m?.code !== undefined && !matters.has(m.code)) matters.set(m.code, m)
  for (const [i, q] of (checker.data.quotas ?? []).entries()) {
    if (!q) continue
    const at: Path = ['quotas', i]
    if (q.id !== undefined) checker.unique(firstId, q.id, [...at, 'id'], 'quota id')
    const known = {
      department: q.department === undefined || checker.department(q.department, [...at, 'department']),
      matter: q.matter === undefined || matters.has(q.matter),
      resource: q.resource === undefined || checker.resources.has(q.resource),
    }
    if (!known.matter) checker.problem([...at, 'matter'], `unknown matter "${q.matter}"`)
    if (!known.resource) checker.problem([...at, 'resource'], `unknown resource "${q.resource}"`)
    if (q.department === undefined && q.matter === undefined && !checker.report.hasErrorWithin(at)) {
      checker.problem(at, 'a quota needs a department, a matter or both')
    }
    const window = q.per === undefined ? undefined : quotaWindowSeconds(q.per)
    if (q.limit !== undefined && window !== undefined && !checker.report.hasErrorWithin(at)) {
      // The bucket is counted as `burst` calls per refill time (gateway/quota/quotas.ts): whole seconds only,
      // and no longer than the in-memory counters' timers can wait.
      const burst = q.burst ?? q.limit
      if ((burst * window) % q.limit !== 0) {
        const step = q.limit / gcd(q.limit, window)
        checker.problem(
          [...at, 'burst'],
          `an empty bucket of ${burst} refilled at ${q.limit} per ${q.per} would fill in ${formatSeconds((burst * window) / q.limit)}; counters work in whole seconds, so burst must be a multiple of ${step}`,
        )
      } else if ((burst * window) / q.limit > MAX_QUOTA_REFILL_SECONDS) {
        checker.problem(
          [...at, q.burst === undefined ? 'per' : 'burst'],
          `an empty bucket would take ${(burst * window) / q.limit} s to fill; at most 7 days (${MAX_QUOTA_REFILL_SECONDS} s)`,
        )
      }
    }
    if (known.department && known.matter && known.resource && !checker.report.hasErrorWithin(at)) {
      const grants =
        q.matter === undefined
          ? [...matters.values()].flatMap((m) => m?.grants ?? [])
          : (matters.get(q.matter)?.grants ?? [])
      const reachable = grants.some(
        (g) =>
          g !== undefined &&
          (q.department === undefined || g.consumer === q.department) &&
          (q.resource === undefined || g.resource === q.resource),
      )
      if (!reachable) {
        checker.report.warn(at, `${formatPath(at)}: no grant matches this quota, so it never applies`)
      }
    }
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

function formatSeconds(seconds: number): string {
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(2).replace(/0+$/, '')} s`
}
