import { OBJECTION_STATES, type ObjectionState } from './objections-model.js'
import type { ObjectionFigureRows } from './objections-store.js'

/** One provider's (or one of its resources') data-quality figures. */
export interface ObjectionFigure {
  readonly provider: string
  readonly resource?: string
  readonly counts: Readonly<Record<ObjectionState, number>>
  /** Accepted and rejected ones (withdrawn ones were never the provider's to resolve). */
  readonly resolved: number
  /** Working days from raising to resolving; null while none is resolved. */
  readonly medianWorkingDays: number | null
  readonly p90WorkingDays: number | null
}

export interface ObjectionFigures {
  readonly providers: readonly ObjectionFigure[]
  readonly resources: readonly ObjectionFigure[]
}

/** Per provider and per resource, ordered by provider then resource. */
export function objectionFigures(rows: ObjectionFigureRows): ObjectionFigures {
  const groups = new Map<
    string,
    { provider: string; resource?: string; counts: Record<ObjectionState, number>; days: number[] }
  >()
  const group = (provider: string, resource?: string) => {
    const key = `${provider}\u0000${resource ?? ''}`
    let g = groups.get(key)
    if (g === undefined) {
      const counts = Object.fromEntries(OBJECTION_STATES.map((s) => [s, 0])) as Record<ObjectionState, number>
      g = { provider, ...(resource === undefined ? {} : { resource }), counts, days: [] }
      groups.set(key, g)
    }
    return g
  }
  for (const row of rows.counts) {
    for (const g of [group(row.provider), group(row.provider, row.resource)]) g.counts[row.state] += row.n
  }
  for (const row of rows.resolutions) {
    for (const g of [group(row.provider), group(row.provider, row.resource)]) g.days.push(row.days)
  }
  const figures = [...groups.values()]
    .sort((a, b) => (a.provider + (a.resource ?? '')).localeCompare(b.provider + (b.resource ?? '')))
    .map(({ days, ...g }): ObjectionFigure => {
      const sorted = [...days].sort((x, y) => x - y)
      return {
        ...g,
        resolved: sorted.length,
        medianWorkingDays: median(sorted),
        p90WorkingDays: nearestRank(sorted, 0.9),
      }
    })
  return {
    providers: figures.filter((f) => f.resource === undefined),
    resources: figures.filter((f) => f.resource !== undefined),
  }
}

/** The middle value, or the mean of the two middle ones. */
export function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** The nearest-rank percentile: the smallest value with at least `p` of the values at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number
}
