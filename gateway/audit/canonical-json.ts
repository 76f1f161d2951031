/**
 * RFC 8785 (JCS) canonical JSON for the plain JSON data of audit entries: object keys sorted by UTF-16 code units,
 * no whitespace, strings and numbers serialised as ECMAScript JSON.stringify does (which is what RFC 8785 §3.2.2
 * prescribes), properties whose value is undefined left out.
 *
 * Hand-written instead of the `canonicalize` package on purpose: this runs for every audit record on the request
 * path, and the package's generality (toJSON, cycle detection, lone-surrogate scans) costs twice the time. It only
 * accepts what audit records hold — plain objects, arrays, strings, finite numbers, booleans, null — and a test
 * checks it against `canonicalize` on generated data.
 *
 * Audit records are built with their keys already in canonical order; such a value, once checked (a walk that
 * builds no strings), is exactly what one native JSON.stringify writes, at about half the cost of the builder.
 */
export function canonicalJson(value: unknown): string {
  return inCanonicalOrder(value) ? JSON.stringify(value) : build(value)
}

/**
 * True when JSON.stringify(value) is already canonical: only plain objects whose own keys are in code-unit order,
 * arrays, strings, finite numbers, booleans and null (undefined object values are left out by both).
 */
function inCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object':
      break
    default:
      return false
  }
  if (value === null) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (typeof item !== 'string' && !inCanonicalOrder(item)) return false
    }
    return true
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return false
  let previous: string | undefined
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false
    previous = key
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined && !inCanonicalOrder(v)) return false
  }
  return true
}

function build(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity')
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`)
  }
  if (Array.isArray(value)) {
    // Arrays of strings (field lists, subject digests) are one native call: no keys to order.
    if (value.every(isString)) return JSON.stringify(value)
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out += value[i] === undefined ? 'null' : build(value[i])
    }
    return `${out}]`
  }
  const object = value as Record<string, unknown>
  const keys = Object.keys(object)
  // Records are mostly built in key order already; sorting is skipped when it would change nothing.
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort()
      break
    }
  }
  let out = '{'
  let first = true
  for (const key of keys) {
    const v = object[key]
    if (v === undefined) continue
    if (!first) out += ','
    first = false
    out += `${quotedKey(key)}:${build(v)}`
  }
  return `${out}}`
}

const isString = (v: unknown): v is string => typeof v === 'string'

/** Audit records use a small, fixed set of keys: their JSON spelling is kept (bounded, for odd detail keys). */
const quotedKeys = new Map<string, string>()
const QUOTED_KEYS_MAX = 4096

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key)
  if (quoted === undefined) {
    quoted = JSON.stringify(key)
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(key, quoted)
  }
  return quoted
}
