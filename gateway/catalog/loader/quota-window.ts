// Quota windows: what `per` may say, in seconds, and how long an empty bucket may take to fill.

/** Longest refill time of a quota's bucket: 7 days (Node timers, which expire in-memory counters, stop at ~24.8). */
export const MAX_QUOTA_REFILL_SECONDS = 7 * 86_400

const QUOTA_PERIODS: Readonly<Record<string, number>> = { second: 1, minute: 60, hour: 3600, day: 86_400 }
const QUOTA_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `per` of a quota in seconds: second, minute, hour, day or `<n>s|m|h|d`; undefined when it is neither. */
export function quotaWindowSeconds(per: string): number | undefined {
  if (Object.hasOwn(QUOTA_PERIODS, per)) return QUOTA_PERIODS[per]
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(per)
  return m ? Number(m[1]) * (QUOTA_UNITS[m[2] as string] as number) : undefined
}
