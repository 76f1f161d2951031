// A matter's delayed disclosure (`disclosure: after 90d`): the one grammar, for the check and the build.

/** Longest delay a catalog may set: ten years of 365 days (longer would be concealment, not a delay). */
export const MAX_DISCLOSURE_DAYS = 3650

const DAY_MS = 86_400_000
const DISCLOSURE = /^after ([1-9][0-9]{0,3})d$/

export const DISCLOSURE_EXPECTED = `expected "after <days>d" with 1 to ${MAX_DISCLOSURE_DAYS} days, such as "after 90d"`

/** The delay in ms of `after <days>d`; undefined when the text is not that or the days are out of range. */
export function disclosureDelayMs(text: string): number | undefined {
  const m = DISCLOSURE.exec(text)
  const days = m ? Number(m[1]) : 0
  return days >= 1 && days <= MAX_DISCLOSURE_DAYS ? days * DAY_MS : undefined
}
