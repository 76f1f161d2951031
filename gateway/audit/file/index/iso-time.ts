/** Times as toISOString writes them, read without Date.parse (which also takes 31 November and 24:00). */

/** The number written in `n` digits at `i`, or -1. */
function digits(t: string, i: number, n: number): number {
  let v = 0
  for (let k = i; k < i + n; k++) {
    const c = t.charCodeAt(k) - 0x30
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

/**
 * Epoch ms of loggedAt or record.time as toISOString writes them (string order is time order only in this form),
 * else NaN. Read digit by digit (this runs for every record); Date.parse would also take 31 November or 24:00.
 */
export function utcIsoMs(t: string): number {
  if (
    t.length !== 24 ||
    t.charCodeAt(4) !== 0x2d ||
    t.charCodeAt(7) !== 0x2d ||
    t.charCodeAt(10) !== 0x54 ||
    t.charCodeAt(13) !== 0x3a ||
    t.charCodeAt(16) !== 0x3a ||
    t.charCodeAt(19) !== 0x2e ||
    t.charCodeAt(23) !== 0x5a
  ) {
    return Number.NaN
  }
  const year = digits(t, 0, 4)
  const month = digits(t, 5, 2)
  const day = digits(t, 8, 2)
  const hour = digits(t, 11, 2)
  const minute = digits(t, 14, 2)
  const second = digits(t, 17, 2)
  const milli = digits(t, 20, 3)
  // Date.UTC reads years below 100 as 19xx; such times only narrow nothing.
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return Number.NaN
  }
  if (
    second < 0 ||
    second > 59 ||
    milli < 0 ||
    day > (DAYS_IN_MONTH[month - 1] as number) + (month === 2 && leap(year) ? 1 : 0)
  ) {
    return Number.NaN
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, milli)
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const
const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
