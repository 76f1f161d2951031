/**
 * RFC 8785 (JCS) canonical JSON for the plain JSON data of audit entries: object keys sorted by UTF-16 code units,
 * no whitespace, strings and numbers serialised as ECMAScript JSON.stringify does (which is what RFC 8785 §3.2.2
 * prescribes), properties whose value is undefined left out.
 *
 * Hand-written instead of the `canonicalize` package on purpose: this runs for every audit record on the request
 * path, and the package's generality (toJSON, cycle detection, lone-surrogate scans) costs twice the time. It only
 * accepts what audit records hold — plain objects, arrays, strings, finite numbers, booleans, null — and a test
 * checks it against `canonicalize` on generated data.
 */
export function canonicalJson(value: unknown): string {
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
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out += value[i] === undefined ? 'null' : canonicalJson(value[i])
    }
    return `${out}]`
  }
  const object = value as Record<string, unknown>
  const keys = Object.keys(object).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const v = object[key]
    if (v === undefined) continue
    if (!first) out += ','
    first = false
    out += `${JSON.stringify(key)}:${canonicalJson(v)}`
  }
  return `${out}}`
}
