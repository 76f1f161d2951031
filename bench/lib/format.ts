import type { Cell } from './measure.js'
import type { Stat } from './stats.js'

/** Number and table formatting of the results' Markdown. */

export const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export const pct = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${Math.round(n * 100)}%`)

/** A ratio as a signed percentage change: 0.95 → "−5.0%". */
export const change = (ratio: number | undefined, digits = 1) =>
  ratio === undefined || !Number.isFinite(ratio)
    ? '—'
    : `${ratio >= 1 ? '+' : '−'}${fmt(Math.abs(100 * (ratio - 1)), digits)}%`

/** "median (min–max)" */
export const range = (s: Stat | undefined, digits = 0) =>
  !s
    ? '—'
    : s.values.length > 1
      ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
      : fmt(s.median, digits)

export function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

const CORE0_LIMIT = 0.85
const FOREIGN_LIMIT = 0.1
/** Busy share of core 0 and core 1 (medians), and in brackets the largest share taken by other processes. */
export const cores = (c: Cell) =>
  `${pct(c.core0Busy.median)} / ${pct(c.core1Busy.median)} (${pct(c.foreignBusyMax[0])} / ${pct(c.foreignBusyMax[1])})`
export const flag = (c: Cell, wrapsExpected = false) =>
  [
    c.core0Busy.median > CORE0_LIMIT ? '⚠ core 0 saturated' : '',
    c.errors > 0 ? `⚠ ${fmt(c.errors)} errors` : '',
    c.wraps > 0 && !wrapsExpected ? `⚠ token pool used up ${c.wraps}× (tokens seen again)` : '',
    c.foreignBusyMax.some((f) => f > FOREIGN_LIMIT) ? '⚠ other work' : '',
  ]
    .filter(Boolean)
    .join('; ')
