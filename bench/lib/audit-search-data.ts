import { createHash } from 'node:crypto'
import type { AuditFilter } from '../../gateway/audit/backend.js'
import type { AuditRecord } from '../../gateway/audit/record.js'

/**
 * The audit search bench's log: N records over 30 days, shaped like the gateway's (bench/audit-store.ts), with a
 * realistic spread of who asked about whom — N/10 distinct subjects (100,000 for a million records), five hot ones
 * that together appear in 5% of the calls (a big company every department asks about), the rest uniform (each
 * subject in about 14 calls); departments, officers, matters, resources and cases skewed the same way. And the
 * queries measured on it, the same for both stores.
 */

export const DAYS = 30
export const DAY0 = Date.parse('2026-10-01T00:00:00Z')
const DAY_MS = 86_400_000
const HOT_SUBJECTS = 5
const HOT_SHARE = 0.05

/** Departments, heaviest first (the first asks most). */
const DEPTS = [
  'drc',
  'housing',
  'natres',
  'market',
  'urban',
  'tax',
  'civil',
  'health',
  'edu',
  'traffic',
  'env',
  'water',
]
const RESOURCES = Array.from({ length: 24 }, (_, i) => `res.resource-${String(i).padStart(2, '0')}`)
const MATTERS = Array.from({ length: 60 }, (_, i) => `QT${String(300_000 + i * 17).padStart(8, '0')}`)
const FIELDS = ['permitNo', 'projectCode', 'projectName', 'ownerName', 'ownerUscc', 'contractorName', 'issueDate']
const ENDINGS = [
  ...Array.from({ length: 17 }, () => ({ decision: 'allow' as const, reason: 'ok', status: 200 })),
  { decision: 'deny' as const, reason: 'insufficient-scope', status: 403 },
  { decision: 'allow' as const, reason: 'quota-exceeded', status: 429 },
  { decision: 'allow' as const, reason: 'upstream-unavailable', status: 503 },
]

export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A skewed pick: index ⌊n·u²⌋, so the first values are the most frequent. */
const skewed = <T>(rand: () => number, values: readonly T[]): T => values[Math.floor(values.length * rand() ** 2)] as T
const uniform = <T>(rand: () => number, values: readonly T[]): T => values[Math.floor(values.length * rand())] as T

export interface SearchPlan {
  readonly records: number
  /** Keyed-digest-like subject values: the hot ones first. */
  readonly subjects: readonly string[]
}

export function searchPlan(records: number): SearchPlan {
  const distinct = Math.max(HOT_SUBJECTS + 100, Math.floor(records / 10))
  const subjects = Array.from({ length: distinct }, (_, i) =>
    createHash('sha256').update(`bench-subject:${i}`).digest('hex'),
  )
  return { records, subjects }
}

function subjectOf(plan: SearchPlan, rand: () => number): string {
  if (rand() < HOT_SHARE) return plan.subjects[Math.floor(rand() * HOT_SUBJECTS)] as string
  return plan.subjects[HOT_SUBJECTS + Math.floor(rand() * (plan.subjects.length - HOT_SUBJECTS))] as string
}

/** Record `i`, arriving at `timeMs`. */
export function searchRecord(plan: SearchPlan, rand: () => number, i: number, timeMs: number): AuditRecord {
  const subjects = rand() < 0.5 ? [subjectOf(plan, rand)] : [subjectOf(plan, rand), subjectOf(plan, rand)]
  return {
    action: 'read',
    case: `NJ-2026-${String(Math.floor(i / 3)).padStart(7, '0')}`,
    catalogVersion: '2026.11-bench',
    ...uniform(rand, ENDINGS),
    fields: FIELDS,
    id: `rec-${String(i).padStart(8, '0')}`,
    kind: 'exchange',
    masked: ['ownerLeadName'],
    matter: skewed(rand, MATTERS),
    paramsDigest: createHash('sha256').update(`params:${i}`).digest('hex'),
    provider: 'housing',
    recordCount: 1,
    requestId: `req-${i.toString(36)}`,
    requester: { clientId: 'bench-portal', dept: skewed(rand, DEPTS), sub: `officer-${Math.floor(2000 * rand())}` },
    resource: skewed(rand, RESOURCES),
    subjects: [...new Set(subjects)],
    time: new Date(timeMs).toISOString(),
    totalMs: 3,
    upstreamMs: 2,
  }
}

/**
 * The log in groups of records logged at the same moment (a group commit of 1–32 calls), evenly over DAYS days:
 * `from` is the index of the group's first record.
 */
export function* searchGroups(
  plan: SearchPlan,
  from = 0,
  count = plan.records,
): Iterable<{ loggedAtMs: number; records: AuditRecord[] }> {
  const rand = seeded(7 + from)
  const step = (DAYS * DAY_MS) / plan.records
  for (let i = from; i < from + count; ) {
    const size = Math.min(1 + Math.floor(rand() * 32), from + count - i)
    const loggedAtMs = DAY0 + Math.floor(i * step) + 5
    const records = Array.from({ length: size }, (_, j) =>
      searchRecord(plan, rand, i + j, loggedAtMs - 1 - Math.floor(rand() * 3)),
    )
    yield { loggedAtMs, records }
    i += size
  }
}

export interface QueryKind {
  readonly name: string
  readonly title: string
  /** Different filters of this kind, used in turn (warm-up first, then the measured ones). */
  readonly filters: readonly AuditFilter[]
}

const dayRange = (day: number) => ({
  from: new Date(DAY0 + day * DAY_MS).toISOString(),
  to: new Date(DAY0 + (day + 1) * DAY_MS).toISOString(),
})

/** The four first-page queries, `n` filters each. */
export function queryKinds(plan: SearchPlan, n: number): QueryKind[] {
  const rare = Array.from(
    { length: n },
    (_, i) => plan.subjects[HOT_SUBJECTS + ((i * 7919) % (plan.subjects.length - HOT_SUBJECTS))] as string,
  )
  const hot = (i: number) => plan.subjects[i % HOT_SUBJECTS] as string
  return [
    { name: 'rare-subject', title: 'a rare subject (≈14 calls)', filters: rare.map((subject) => ({ subject })) },
    {
      name: 'hot-subject',
      title: `a hot subject (≈${Math.round((plan.records * HOT_SHARE * 1.5) / HOT_SUBJECTS).toLocaleString('en-US')} calls)`,
      filters: Array.from({ length: n }, (_, i) => ({ subject: hot(i) })),
    },
    {
      name: 'dept-day',
      title: 'a department + one day',
      filters: Array.from({ length: n }, (_, i) => ({ dept: DEPTS[i % 4] as string, ...dayRange((i * 7) % DAYS) })),
    },
    {
      name: 'subject-resource',
      title: 'a hot subject + a resource',
      filters: Array.from({ length: n }, (_, i) => ({ subject: hot(i), resource: RESOURCES[i % 6] as string })),
    },
  ]
}
