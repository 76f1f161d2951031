// A fast first read of the catalog. The `yaml` library gives exact YAML 1.2 semantics and a position for every node,
// but reads about 1 MB/s: a 10,000-resource catalog (~40 MB) took 40 s to start and a 2 GB transient heap. js-yaml
// reads the same text ~15× faster with far less garbage, without positions. So: js-yaml reads the catalog, and the
// `yaml` Document is built only when an issue needs a line and column, or when the text uses a construct on which
// the two parsers may disagree (then `yaml` alone decides, as before).

import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml'

const NULL = /^(?:~|null|Null|NULL)?$/
const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/
const DECIMAL = /^[-+]?[0-9]+$/
const OCTAL = /^0o[0-7]+$/
const HEX = /^0x[0-9a-fA-F]+$/
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/
const INFINITY = /^[-+]?\.(?:inf|Inf|INF)$/
const NOT_A_NUMBER = /^\.(?:nan|NaN|NAN)$/

// The YAML 1.2 core schema's tags with its exact patterns, as the `yaml` library resolves them. (js-yaml's own
// CORE_SCHEMA differs at the edges: it reads 0b101 as 5 and refuses +.5.)
const coreNull = new Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (s: string | null) => s === null || NULL.test(s),
  construct: () => null,
})
const coreBool = new Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string | null) => s !== null && BOOL.test(s),
  construct: (s: string) => s[0] === 't' || s[0] === 'T',
})
const coreInt = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string | null) => s !== null && (DECIMAL.test(s) || OCTAL.test(s) || HEX.test(s)),
  construct: (s: string) => (OCTAL.test(s) ? Number.parseInt(s.slice(2), 8) : Number(s)),
})
const coreFloat = new Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string | null) =>
    s !== null && !DECIMAL.test(s) && (FLOAT.test(s) || INFINITY.test(s) || NOT_A_NUMBER.test(s)),
  construct: (s: string) =>
    INFINITY.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : NOT_A_NUMBER.test(s) ? NaN : Number.parseFloat(s),
})
const YAML_12_CORE = FAILSAFE_SCHEMA.extend({ implicit: [coreNull, coreBool, coreInt, coreFloat] })

/**
 * Constructs the quick reader might read differently from `yaml` (or not at all): directives, aliases (which `yaml`
 * also bounds against alias bombs), explicit `?` keys, collections used as keys (js-yaml turns `[1, 2]` into the
 * key "1,2", `yaml` into "[ 1, 2 ]") and null keys (js-yaml "null", `yaml` ""). A false match only costs speed: the
 * exact parser then reads the file.
 */
const NEEDS_EXACT_PARSER = /^%|(?:^|[\s[{,])[?*]|[\]}]\s*:(?:\s|$)|(?:^|[\s{,])(?:~|null|Null|NULL)?\s*:(?:\s|$)/m

/** The catalog as plain data, or undefined when the exact parser must read it (including every invalid YAML). */
export function readYamlQuickly(text: string): unknown {
  if (NEEDS_EXACT_PARSER.test(text)) return undefined
  let data: unknown
  try {
    data = load(text, { schema: YAML_12_CORE })
  } catch {
    return undefined
  }
  // Empty or scalar documents take the exact path, which words those problems.
  return data !== null && typeof data === 'object' ? data : undefined
}

/**
 * A copy of parsed catalog data that no longer points into the source text. Parsers slice their strings out of the
 * text, and V8 keeps a sliced string's whole parent alive: every resource's name kept the entire catalog text (UTF-16,
 * 40 MB for 10,000 resources) for the life of the catalog. A JSON round trip makes standalone strings and shares
 * property names; it only runs when every number survives JSON (no NaN/±Infinity, which then stay as parsed).
 */
export function detachFromSource(data: unknown): unknown {
  return jsonSafe(data) ? JSON.parse(JSON.stringify(data)) : data
}

function jsonSafe(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  if (typeof value !== 'object' || value === null) return true
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (!jsonSafe(item)) return false
  return true
}
