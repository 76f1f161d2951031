/**
 * Adds a connector definition and its simulator for `qiao connector new`: the definition to `connectors/registry.ts`
 * (what `serve` loads), the simulator to `connectors/simulators.ts` (loaded by `demo` and `simulate` only). Each file
 * gets the entries of the maps it declares, so one call per file. The files are edited as text, in the layout Biome
 * gives them (no formatter runs afterwards): import lines in Biome's order, and the map entries one per line once a
 * map has two or more.
 */

export class RegistryEditError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RegistryEditError'
  }
}

export interface RegistryAddition {
  /** Export of `connectors/<id>/index.ts` (e.g. waterDrainage); its entry is `[name.type, name]`. */
  readonly definition: string
  /** Module of the definition, relative to the registry (e.g. ./water-drainage/index.js). */
  readonly definitionSource: string
  /** Export of the simulator module; its entry is `[name.name, name]`. */
  readonly simulator: string
  readonly simulatorSource: string
}

export const REGISTRY_FILE = 'connectors/registry.ts'
export const SIMULATORS_FILE = 'connectors/simulators.ts'

/** The two maps, with what each takes from an addition. */
const MAPS = [
  {
    map: 'connectorDefinitions',
    name: (a: RegistryAddition) => a.definition,
    source: (a: RegistryAddition) => a.definitionSource,
    key: 'type',
  },
  {
    map: 'simulatorDefinitions',
    name: (a: RegistryAddition) => a.simulator,
    source: (a: RegistryAddition) => a.simulatorSource,
    key: 'name',
  },
] as const

/** The maps the file declares (`const connectorDefinitions`, `const simulatorDefinitions`). */
function declaredMaps(text: string) {
  return MAPS.filter(({ map }) => new RegExp(`\\bconst ${map}\\b`).test(text))
}

/** Biome's line width (biome.json). */
const LINE_WIDTH = 120
const IMPORT = /^import\s[^;]*?\sfrom\s+'([^']+)'\n/gm

/** Problems that stop the edit, in words; empty when the file can take the addition. */
export function registryProblems(text: string, addition: RegistryAddition, file: string = REGISTRY_FILE): string[] {
  const problems: string[] = []
  const maps = declaredMaps(text)
  if (maps.length === 0) return [`${file} declares neither connectorDefinitions nor simulatorDefinitions`]
  for (const { source } of maps) {
    if (text.includes(`'${source(addition)}'`)) problems.push(`${file} already imports ${source(addition)}`)
  }
  // Identifiers only: without strings (import sources) and comments, `water` does not match `./water-drainage/`.
  const code = text.replace(/'[^'\n]*'|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '')
  for (const { name } of maps) {
    if (new RegExp(`(?<![\\w$.])${name(addition)}(?![\\w$])`).test(code)) {
      problems.push(`${file} already uses the name ${name(addition)}`)
    }
  }
  for (const { map } of maps) {
    if (!findMapEntries(text, map)) problems.push(`cannot find the entries of ${map} in ${file}`)
  }
  return problems
}

/** The file with the imports and map entries of the maps it declares added. Throws RegistryEditError when it cannot. */
export function addToRegistry(text: string, addition: RegistryAddition, file: string = REGISTRY_FILE): string {
  const problems = registryProblems(text, addition, file)
  if (problems.length > 0) throw new RegistryEditError(problems.join('; '))
  const maps = declaredMaps(text)
  let next = text
  for (const { name, source } of maps) next = addImport(next, `import { ${name(addition)} } from '${source(addition)}'`)
  for (const { map, name, key } of maps)
    next = addEntry(next, map, `[${name(addition)}.${key}, ${name(addition)}]`, file)
  return next
}

/** Inserts an import statement among the file's leading imports, where Biome's import sorting puts it. */
export function addImport(text: string, statement: string): string {
  const source = /'([^']+)'$/.exec(statement)?.[1] ?? ''
  let insertAt: number | undefined
  let lastEnd = 0
  for (const m of text.matchAll(IMPORT)) {
    // Only the leading block: stop at the first gap between statements.
    if (m.index !== lastEnd) break
    lastEnd = m.index + m[0].length
    if (insertAt === undefined && compareSources(source, m[1] ?? '') < 0) insertAt = m.index
  }
  const at = insertAt ?? lastEnd
  return `${text.slice(0, at)}${statement}\n${text.slice(at)}`
}

/**
 * Biome's order of import sources, for the cases a registry has: bare and `node:` packages before relative paths,
 * then path segment by segment (so `./water/…` sorts before `./water-drainage/…`), natural and case-insensitive
 * within a segment.
 */
export function compareSources(a: string, b: string): number {
  const rank = (s: string) => (s.startsWith('../') ? 2 : s.startsWith('./') ? 3 : 1)
  if (rank(a) !== rank(b)) return rank(a) - rank(b)
  const as = a.split('/')
  const bs = b.split('/')
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const c = naturalCompare(as[i] ?? '', bs[i] ?? '')
    if (c !== 0) return c
  }
  return as.length - bs.length
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' })

function naturalCompare(a: string, b: string): number {
  const c = collator.compare(a, b)
  return c !== 0 ? c : a < b ? -1 : a > b ? 1 : 0
}

interface MapEntries {
  /** Offsets of the array literal `[ … ]` passed to `new Map<…>(…)`, or of `()` when the map starts empty. */
  readonly start: number
  readonly end: number
  readonly entries: string[]
  readonly empty: boolean
}

/** The entries of `export const <name> … = new Map<…>([ … ])`, or undefined when the shape is not that. */
function findMapEntries(text: string, name: string): MapEntries | undefined {
  const declaration = new RegExp(`\\bconst ${name}\\b[^=]*=\\s*new Map\\b`).exec(text)
  if (!declaration) return undefined
  let i = declaration.index + declaration[0].length
  i = skipSpace(text, i)
  if (text.charAt(i) === '<') {
    let depth = 0
    for (; i < text.length; i++) {
      if (text.charAt(i) === '<') depth++
      else if (text.charAt(i) === '>' && --depth === 0) break
    }
    i = skipSpace(text, i + 1)
  }
  if (text.charAt(i) !== '(') return undefined
  const open = i
  i = skipSpace(text, i + 1)
  if (text.charAt(i) === ')') return { start: open + 1, end: i, entries: [], empty: true }
  if (text.charAt(i) !== '[') return undefined
  const start = i
  let depth = 0
  const entries: string[] = []
  let entryStart = -1
  for (; i < text.length; i++) {
    const c = text.charAt(i)
    if (c === '/' && (text.charAt(i + 1) === '/' || text.charAt(i + 1) === '*')) return undefined // comments: by hand
    if (c === '[') {
      depth++
      if (depth === 2) entryStart = i
    } else if (c === ']') {
      if (depth === 2) entries.push(normaliseEntry(text.slice(entryStart, i + 1)))
      if (--depth === 0) break
    } else if (depth === 1 && !/[\s,]/.test(c)) {
      return undefined // something other than `[key, value]` pairs
    }
  }
  if (depth !== 0) return undefined
  return { start, end: i + 1, entries, empty: false }
}

function addEntry(text: string, map: string, entry: string, file: string): string {
  const found = findMapEntries(text, map)
  if (!found) throw new RegistryEditError(`cannot find the entries of ${map} in ${file}`)
  const entries = [...found.entries, entry]
  let literal = `[${entries.join(', ')}]`
  if (entries.length > 1 || lineWidthWith(text, found, literal) > LINE_WIDTH) {
    literal = `[\n${entries.map((e) => `  ${e},\n`).join('')}]`
  }
  return text.slice(0, found.start) + literal + text.slice(found.end)
}

/** Width of the line holding the literal once it replaces the map's argument. */
function lineWidthWith(text: string, found: MapEntries, literal: string): number {
  const lineStart = text.lastIndexOf('\n', found.start - 1) + 1
  const lineEnd = text.indexOf('\n', found.end)
  return found.start - lineStart + literal.length + (lineEnd === -1 ? text.length : lineEnd) - found.end
}

/** `[\n  a.type,\n  a\n]` → `[a.type, a]`. */
function normaliseEntry(entry: string): string {
  return entry
    .replace(/\s+/g, ' ')
    .replace(/^\[\s*/, '[')
    .replace(/,?\s*\]$/, ']')
}

function skipSpace(text: string, from: number): number {
  let i = from
  while (i < text.length && /\s/.test(text.charAt(i))) i++
  return i
}
