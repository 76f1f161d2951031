import { isIP } from 'node:net'

/** Value parsers for settings. Each throws an Error whose message says what was expected (never echoes secrets). */

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|y)?$/
const DURATION_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  y: 365 * 86_400_000,
}

/** `500ms`, `30s`, `10m`, `1h`, `7d`, `3y` (365-day years); a bare number is milliseconds. */
export function parseDuration(raw: string): number {
  const m = DURATION.exec(raw.trim())
  if (!m) throw new Error('expected a duration such as 500ms, 30s, 10m, 1h')
  return Math.round(Number(m[1]) * (DURATION_MS[m[2] ?? 'ms'] as number))
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i
const SIZE_BYTES: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1_000_000,
  mib: 1024 * 1024,
  gb: 1_000_000_000,
  gib: 1024 * 1024 * 1024,
}

/** `1MiB`, `512KiB`, `1000000`; a bare number is bytes. */
export function parseSize(raw: string): number {
  const m = SIZE.exec(raw.trim())
  if (!m) throw new Error('expected a size such as 1MiB, 512KiB or a number of bytes')
  return Math.round(Number(m[1]) * (SIZE_BYTES[(m[2] ?? 'b').toLowerCase()] as number))
}

export function parseInteger(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw.trim())
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`expected an integer from ${min} to ${max}`)
    return n
  }
}

export function parseOneOf<T extends string>(values: readonly T[]): (raw: string) => T {
  return (raw) => {
    const v = raw.trim() as T
    if (!values.includes(v)) throw new Error(`expected one of: ${values.join(', ')}`)
    return v
  }
}

export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

export function parseUrl(protocols: readonly string[]): (raw: string) => string {
  return (raw) => {
    let url: URL
    try {
      url = new URL(raw.trim())
    } catch {
      throw new Error('expected an absolute URL')
    }
    if (!protocols.includes(url.protocol)) throw new Error(`expected a ${protocols.join(' or ')} URL`)
    return url.toString()
  }
}

export function parseString(raw: string): string {
  const v = raw.trim()
  if (v.length === 0) throw new Error('expected a non-empty value')
  return v
}

export const JWT_ALGORITHMS = [
  'EdDSA',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'HS256',
  'HS384',
  'HS512',
] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

const isJwtAlgorithm = (alg: string): alg is JwtAlgorithm => (JWT_ALGORITHMS as readonly string[]).includes(alg)

export function parseJwtAlgorithms(raw: string): readonly JwtAlgorithm[] {
  const list = parseList(raw)
  const unknown = list.find((alg) => !isJwtAlgorithm(alg))
  if (unknown !== undefined) {
    throw new Error(`unknown algorithm ${JSON.stringify(unknown.slice(0, 16))}; allowed: ${JWT_ALGORITHMS.join(', ')}`)
  }
  if (list.length === 0) throw new Error('expected at least one algorithm')
  return list.filter(isJwtAlgorithm)
}

/** A key set over plain HTTP can be swapped by whoever sits on the path; only loopback (tests, local IdPs) may. */
export function parseJwksUrl(raw: string): string {
  const url = parseUrl(['https:', 'http:'])(raw)
  const { protocol, hostname } = new URL(url)
  if (protocol === 'http:' && !isLoopbackHost(hostname)) {
    throw new Error('expected an https: URL (http: only to a loopback address: 127.0.0.0/8, ::1, localhost)')
  }
  return url
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

export function parseAuditLogId(raw: string): string {
  const v = raw.trim()
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new Error('expected 1–64 characters of [A-Za-z0-9._-]')
  return v
}

export function parseQuotaKeyPrefix(raw: string): string {
  const v = raw.trim()
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/.test(v)) throw new Error('expected 1–64 characters of [A-Za-z0-9:._-]')
  return v
}
