import type { ExchangeAuditRecord } from './record.js'

/**
 * Officers who looked up unusually many people or companies: per officer (`dept/sub` of the token) the calls and
 * the distinct data subjects their calls named — the keyed subject digests of the parameters and of what was
 * released, so a lookup counts even when it was refused. Only digests are counted, never an identifier.
 *
 * The rule (OFFICER_RULE): an officer is flagged when their calls named at least `minSubjects` distinct subjects
 * and more than `factor` times the median of the other officers of the same department in the same window. An
 * officer alone in their department has nobody to be compared with and is never flagged.
 *
 * Bounded memory: at most MAX_OFFICERS officers are tracked, and at most SUBJECT_BUDGET (officer, subject) pairs in
 * all; an officer whose subjects no longer fit is reported with `subjectsCapped` (the count is then a lower bound).
 */

export const OFFICER_RULE = { minSubjects: 20, factor: 3 } as const
export const MAX_OFFICERS = 10_000
export const SUBJECT_BUDGET = 500_000
/** Officers in an answer: the flagged ones first, then the most subjects. */
export const OFFICERS_SHOWN = 100

export interface OfficerStats {
  /** `dept/sub`, as admin records name actors. */
  readonly officer: string
  readonly dept: string
  readonly sub: string
  readonly calls: number
  /** Distinct data subjects their calls named. */
  readonly subjects: number
  /** The subject budget ran out while this officer was counted: `subjects` is at least this many. */
  readonly subjectsCapped: boolean
  /** The median of the other officers of the department; null when there are none. */
  readonly peerMedian: number | null
  readonly flagged: boolean
}

export interface OfficerSummary {
  /** The first OFFICERS_SHOWN officers: flagged first, then by subjects, calls and name. */
  readonly officers: readonly OfficerStats[]
  /** Officers counted (the answer may show fewer). */
  readonly officerCount: number
  readonly flaggedCount: number
  /** More than MAX_OFFICERS officers called: the later ones were not counted. */
  readonly officersCapped: boolean
}

interface Counting {
  readonly dept: string
  readonly sub: string
  calls: number
  /** The digests' first 52 bits: as good as the whole digest for counting, at a fraction of the memory. */
  readonly subjects: Set<number>
  capped: boolean
}

const subjectKey = (digest: string): number => Number.parseInt(digest.slice(0, 13), 16)

export class OfficerTally {
  private readonly byOfficer = new Map<string, Counting>()
  private pairs = 0
  private capped = false

  add(record: ExchangeAuditRecord): void {
    const { dept, sub } = record.requester
    if (dept === undefined || sub === undefined) return
    const officer = `${dept}/${sub}`
    let counting = this.byOfficer.get(officer)
    if (counting === undefined) {
      if (this.byOfficer.size >= MAX_OFFICERS) {
        this.capped = true
        return
      }
      counting = { dept, sub, calls: 0, subjects: new Set(), capped: false }
      this.byOfficer.set(officer, counting)
    }
    counting.calls += 1
    for (const digest of record.subjects ?? []) {
      const key = subjectKey(digest)
      if (counting.subjects.has(key)) continue
      if (this.pairs >= SUBJECT_BUDGET) {
        counting.capped = true
        continue
      }
      counting.subjects.add(key)
      this.pairs += 1
    }
  }

  summary(): OfficerSummary {
    const byDept = new Map<string, Counting[]>()
    for (const counting of this.byOfficer.values()) {
      const list = byDept.get(counting.dept) ?? []
      list.push(counting)
      byDept.set(counting.dept, list)
    }
    const officers: OfficerStats[] = []
    for (const list of byDept.values()) {
      const counts = list.map((o) => o.subjects.size).sort((a, b) => a - b)
      for (const o of list) {
        const subjects = o.subjects.size
        const peerMedian = medianWithoutOne(counts, subjects)
        const flagged =
          peerMedian !== null && subjects >= OFFICER_RULE.minSubjects && subjects > OFFICER_RULE.factor * peerMedian
        officers.push({
          officer: `${o.dept}/${o.sub}`,
          dept: o.dept,
          sub: o.sub,
          calls: o.calls,
          subjects,
          subjectsCapped: o.capped,
          peerMedian,
          flagged,
        })
      }
    }
    officers.sort(
      (a, b) =>
        Number(b.flagged) - Number(a.flagged) ||
        b.subjects - a.subjects ||
        b.calls - a.calls ||
        (a.officer < b.officer ? -1 : a.officer > b.officer ? 1 : 0),
    )
    return {
      officers: officers.slice(0, OFFICERS_SHOWN),
      officerCount: officers.length,
      flaggedCount: officers.filter((o) => o.flagged).length,
      officersCapped: this.capped,
    }
  }
}

/**
 * The median of `sorted` (ascending) with one occurrence of `value` taken out: the officer's peers. Read by index,
 * so a department of many officers costs a binary search per officer, not a copy.
 */
export function medianWithoutOne(sorted: readonly number[], value: number): number | null {
  const rest = sorted.length - 1
  if (rest < 1) return null
  let lo = 0
  let hi = sorted.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((sorted[mid] as number) < value) lo = mid + 1
    else hi = mid
  }
  const removed = lo
  const at = (k: number): number => sorted[k < removed ? k : k + 1] as number
  return rest % 2 === 1 ? at((rest - 1) / 2) : (at(rest / 2 - 1) + at(rest / 2)) / 2
}
