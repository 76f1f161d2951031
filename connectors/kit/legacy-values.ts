/**
 * Checks shared by mappings of legacy values. Legacy systems send dates, times and amounts as text in formats of
 * their own; each mapping keeps its own patterns (which formats a system sends is a real difference) and uses these
 * for what every one of them must check the same way.
 */

type Part = number | string

/** True for a real calendar date in 1900–2199, the years legacy values are accepted in. Parts as numbers or digits. */
export function isRealDate(year: Part, month: Part, day: Part): boolean {
  const y = Number(year)
  const m = Number(month)
  const d = Number(day)
  if (y < 1900 || y > 2199) return false
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/** True for a wall-clock time of day, 00:00:00 to 23:59:59 (parts as numbers or digits, never negative). */
export function isRealTimeOfDay(hour: Part, minute: Part, second: Part): boolean {
  return Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59
}

const PLAIN_DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/
const GROUPED_DECIMAL = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/

/**
 * A number sent as text (`"12345.67"`, `"-1"`, `".5"`; with `grouped`, also `"1,234.5"`) to a JSON number. Units are
 * not converted. Undefined for anything else: units, words, exponents, NaN, empty.
 */
export function parseDecimalText(value: string, options: { readonly grouped?: boolean } = {}): number | undefined {
  let text = value
  if (options.grouped && GROUPED_DECIMAL.test(text)) text = text.replaceAll(',', '')
  else if (!PLAIN_DECIMAL.test(text)) return undefined
  const n = Number(text)
  return Number.isFinite(n) ? n : undefined
}
