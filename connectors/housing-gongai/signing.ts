import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Request signing of the 工改 interface (primer §4.4): `sign = MD5(appKey + appSecret + requestTime)` as upper-case
 * hex, with `requestTime` in `yyyyMMddHHmmss`, Asia/Shanghai wall-clock time. Shared by the connector and the simulator.
 */

/** How far `requestTime` may be from the server clock before the request is refused (code 99). */
export const MAX_CLOCK_SKEW_MS = 300_000

/** China Standard Time has a fixed UTC+8 offset and no daylight saving time. */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000

const REQUEST_TIME_SHAPE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/

/** Formats epoch milliseconds as `yyyyMMddHHmmss` in Asia/Shanghai. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs + SHANGHAI_OFFSET_MS)
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return (
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1) +
    pad(d.getUTCDate()) +
    pad(d.getUTCHours()) +
    pad(d.getUTCMinutes()) +
    pad(d.getUTCSeconds())
  )
}

/** Parses an Asia/Shanghai `yyyyMMddHHmmss` into epoch milliseconds; undefined when it is not a real time. */
export function parseRequestTime(value: string): number | undefined {
  const m = REQUEST_TIME_SHAPE.exec(value)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const utc = Date.UTC(year, month - 1, day, hour, minute, second)
  const back = new Date(utc)
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  ) {
    return undefined
  }
  return utc - SHANGHAI_OFFSET_MS
}

/** MD5(appKey + appSecret + requestTime), upper-case hex. */
export function computeSign(appKey: string, appSecret: string, requestTime: string): string {
  return createHash('md5')
    .update(appKey + appSecret + requestTime, 'utf8')
    .digest('hex')
    .toUpperCase()
}

/** A request's `requestTime` and the `sign` over it. */
export interface RequestSignature {
  readonly requestTime: string
  readonly sign: string
}

/**
 * Signs requests for one appKey/appSecret. `requestTime` has a resolution of one second, so its formatting and the
 * MD5 are done once per second and shared by every call in it (the same values as computing them per call).
 */
export function createRequestSigner(appKey: string, appSecret: string): (epochMs: number) => RequestSignature {
  let second = Number.NaN
  let current: RequestSignature | undefined
  return (epochMs) => {
    const at = Math.floor(epochMs / 1000)
    if (at !== second || current === undefined) {
      const requestTime = formatRequestTime(epochMs)
      current = { requestTime, sign: computeSign(appKey, appSecret, requestTime) }
      second = at
    }
    return current
  }
}

/** Constant-time check of a received sign; hex case is ignored, as the provincial gateways do. */
export function verifySign(sign: string, appKey: string, appSecret: string, requestTime: string): boolean {
  const expected = Buffer.from(computeSign(appKey, appSecret, requestTime), 'latin1')
  const received = Buffer.from(sign.toUpperCase(), 'latin1')
  return expected.length === received.length && timingSafeEqual(expected, received)
}

export type RequestTimeProblem = 'format' | 'skew'

/** Checks `requestTime` against the server clock: a real time within ±MAX_CLOCK_SKEW_MS. */
export function requestTimeProblem(requestTime: string, nowMs: number): RequestTimeProblem | undefined {
  const at = parseRequestTime(requestTime)
  if (at === undefined) return 'format'
  return Math.abs(at - nowMs) > MAX_CLOCK_SKEW_MS ? 'skew' : undefined
}
