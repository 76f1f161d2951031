// JSON Schema errors → issues.

import type { ErrorObject } from 'ajv'
import type { Path } from './raw.js'
import { formatPath, type Reporter } from './report.js'
import { getIn, isRecord } from './values.js'

/**
 * Reports ajv errors for `data` found at `base` in the catalog. With `prune`, values of the wrong JSON type are
 * removed afterwards so the cross-reference checks can trust the types of whatever is left.
 */
export function reportSchemaErrors(
  errors: readonly ErrorObject[],
  data: unknown,
  base: Path,
  report: Reporter,
  { prune }: { prune: boolean },
): void {
  const typeErrorAt = new Set<string>()
  const toPrune: Path[] = []
  for (const e of errors) {
    // `if` and `propertyNames` only wrap the errors of their subschemas, which are reported themselves.
    if (e.keyword === 'if' || e.keyword === 'propertyNames') continue
    const local = pointerToPath(e.instancePath, data)
    const path = [...base, ...local]
    const where = formatPath(path)
    if (e.keyword === 'required') {
      report.error(path, `${where}: missing required property "${String(e.params.missingProperty)}"`)
    } else if (e.keyword === 'additionalProperties') {
      const property = String(e.params.additionalProperty)
      report.error([...path, property], `${where}: unknown property "${property}"`, 'key')
    } else if (e.propertyName !== undefined) {
      report.error([...path, e.propertyName], `${where}: key "${e.propertyName}" ${ruleText(e)}`, 'key')
    } else if (e.keyword === 'uniqueItems') {
      const index = Math.max(Number(e.params.i), Number(e.params.j))
      report.error([...path, index], `${where}[${index}] repeats an earlier item`)
    } else if (e.keyword === 'type') {
      // A union type also fails inside its branches; one message per value is enough.
      if (typeErrorAt.has(e.instancePath)) continue
      typeErrorAt.add(e.instancePath)
      report.error(path, `${where} ${ruleText(e)}`)
      toPrune.push(local)
    } else {
      report.error(path, `${where} ${ruleText(e)}`)
    }
  }
  if (prune) for (const path of toPrune) removeAt(data, path)
}

/** What the rule demands, in words. Never includes the offending value (it may be a secret). */
function ruleText(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'type': {
      const types = Array.isArray(p.type) ? p.type : String(p.type).split(',')
      return `must be ${types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ')}`
    }
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`
    case 'pattern':
      return `must match ${String(p.pattern)}`
    case 'format':
      return p.format === 'date' ? 'must be a date YYYY-MM-DD' : `must be a valid ${String(p.format)}`
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}`
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`
    case 'minItems':
      return `must have at least ${String(p.limit)} item(s)`
    case 'maxItems':
      return `must have at most ${String(p.limit)} item(s)`
    default:
      return e.message ?? `fails ${e.keyword}`
  }
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'empty',
}

/** JSON pointer → path, with list indices as numbers (so messages read `resources[2]`). */
function pointerToPath(pointer: string, root: unknown): Path {
  if (pointer === '') return []
  const path: (string | number)[] = []
  let value = root
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    const segment = Array.isArray(value) ? Number(token) : token
    path.push(segment)
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[token] : undefined
  }
  return path
}

function removeAt(root: unknown, path: Path): void {
  const parent = getIn(root, path.slice(0, -1))
  const last = path.at(-1)
  if (last === undefined) return
  // List items become holes rather than being spliced out, so indices still match the YAML nodes.
  if (Array.isArray(parent)) parent[Number(last)] = undefined
  else if (isRecord(parent)) delete parent[String(last)]
}
