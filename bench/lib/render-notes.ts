import { fmt } from './format.js'
import type { Cell } from './measure.js'
import type { BenchResults } from './results.js'

/** What the results' Markdown computes from the data: the cells of a run, and notes derived from them. */

/** Pearson correlation. */
function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx
    const dy = (ys[i] as number) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxy / Math.sqrt(sxx * syy)
}

/** One line per failed section: which one, why, and that its figures are missing. */
export function sectionFailureLines(r: BenchResults): string[] {
  return (r.sectionFailures ?? []).map((f) => `Section ${f.section} failed: ${f.reason} — its figures are missing.`)
}

/** Above the figures: whether the run is still going (partial results) and which sections failed. */
export function runStatusLines(r: BenchResults): string[] {
  const lines: string[] = []
  if (r.partial) {
    const pending = r.partial.pending.length > 0 ? r.partial.pending.join(', ') : 'none'
    lines.push(
      `> **Partial results**, written after section ${r.partial.completed.at(-1) ?? '—'} while the run went on (sections done: ${r.partial.completed.join(', ') || 'none'}; still to run: ${pending}). The run's final results replace this file; if there are none, the run was stopped here.`,
    )
  }
  for (const line of sectionFailureLines(r)) lines.push(`> **${line}**`)
  // Each line its own quoted paragraph.
  return lines.flatMap((line) => [line, ''])
}

/** Notes computed from the data at render time. */
export function derivedNotes(r: BenchResults): string[] {
  const notes: string[] = [...sectionFailureLines(r)]
  // Qiao's 1 KB, one-token saturation runs: how much of their spread follows the core's speed.
  const cells = [r.main?.saturation.P3, r.curves?.catalog?.[0], r.curves?.tokens?.find((t) => t.mix === 'one')]
  const pts = cells
    .flatMap((c) => c?.samples ?? [])
    .filter((s) => s.speedIndex !== undefined && Number.isFinite(s.speedIndex) && Number.isFinite(s.cpuUsPerRequest))
  if (pts.length >= 5) {
    const speeds = pts.map((s) => s.speedIndex as number)
    const r2 = correlation(
      speeds,
      pts.map((s) => s.cpuUsPerRequest),
    )
    notes.push(
      `The (virtual) cores did not run at a constant speed: the speed index of core 1 before Qiao's 1 KB one-token runs ranged ${fmt(Math.min(...speeds))}–${fmt(Math.max(...speeds))}, and Qiao's CPU per request in those ${pts.length} runs correlates with it (r = ${r2.toFixed(2)}; a slower core, more CPU time per request). This, not other processes (see "other work"), is most of the spread between rounds; compare cells by their medians and ranges, not single rounds.`,
    )
  }
  return notes
}

export function allCells(r: BenchResults): Cell[] {
  const cells: Cell[] = []
  for (const c of Object.values(r.main?.saturation ?? {})) if (c) cells.push(c)
  for (const byPeer of Object.values(r.main?.fixedRate ?? {}))
    for (const c of Object.values(byPeer)) if (c) cells.push(c)
  cells.push(...(r.curves?.catalog ?? []), ...(r.curves?.tokens ?? []))
  for (const p of r.curves?.payload ?? []) cells.push(p.P0, p.P3)
  if (r.liveGrants) cells.push(r.liveGrants.none, r.liveGrants.live)
  cells.push(...(r.workers?.cells ?? []))
  return cells
}
