import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ErrorObject, ValidateFunction } from 'ajv'
import type { Ajv2020 as Ajv } from 'ajv/dist/2020.js'
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type YAMLError } from 'yaml'
import { checkUscc, USCC_KNOWN_EXCEPTIONS } from '../../connectors/kit/identifiers.js'
import type { ConnectorDefinition, JsonSchema } from '../../connectors/kit/types.js'
import { createAjv } from '../validation/ajv.js'
import {
  type Action,
  type Approval,
  type Catalog,
  type CatalogIssue,
  type ConnectorInstance,
  DEFAULT_HTTP_POOL,
  DEFAULT_RESILIENCE,
  type Department,
  type Field,
  type Grant,
  grantKey,
  type HttpPoolSettings,
  type LoadedSchema,
  type MaskRule,
  type MaskRuleName,
  type Matter,
  type Quota,
  type ResilienceSettings,
  type Resource,
  type Sensitivity,
  type SharingType,
  type UpdateCycle,
  type Usage,
} from './types.js'

export interface LoadCatalogOptions {
  /** Connector types by `type:`; the loader checks instances, options and operations against them. */
  definitions: ReadonlyMap<string, ConnectorDefinition<never>>
  /** Values for ${NAME} / ${NAME:-default} in connector options (pass process.env from the CLI/gateway). */
  vars?: Readonly<Record<string, string | undefined>>
  /** File name used in messages; defaults to the path as given. */
  displayName?: string
}

export type LoadCatalogResult =
  | { ok: true; catalog: Catalog; warnings: CatalogIssue[] }
  | { ok: false; issues: CatalogIssue[] }

export const DEFAULT_RESOURCE_CODE_PATTERN = '^[0-9](/[0-9A-Za-z]+)+$'
export const DEFAULT_TIMEOUT_MS = 5000

/** Reads, checks and freezes a catalog file. Never throws for problems in the file: they come back as issues. */
export async function loadCatalog(file: string, options: LoadCatalogOptions): Promise<LoadCatalogResult> {
  const displayName = options.displayName ?? file
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    return {
      ok: false,
      issues: [{ file: displayName, line: 1, col: 1, message: `cannot read the catalog (${reason})` }],
    }
  }
  return loadCatalogText(text, { ...options, displayName, file, baseDir: dirname(resolve(file)) })
}

/** The synchronous core: `text` is the catalog, schema paths resolve against `baseDir`. */
export function loadCatalogText(
  text: string,
  options: LoadCatalogOptions & { file: string; baseDir: string },
): LoadCatalogResult {
  const lines = new LineCounter()
  // The YAML 1.2 core schema, even under a `%YAML 1.1` directive: 2025-01-01 stays a string for the JSON Schema.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, schema: 'core' })
  const report = new Reporter(options.displayName ?? options.file, doc, lines)

  for (const e of doc.errors) report.errorAtOffset(e.pos[0], `YAML: ${yamlErrorText(e, doc)}`)
  for (const w of doc.warnings) report.warnAtOffset(w.pos[0], `YAML: ${w.message}`)
  // A duplicate key leaves a usable tree; any other YAML error does not.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return report.result()

  if (doc.contents === null) {
    report.errorAtOffset(0, 'the catalog is empty')
    return report.result()
  }
  let data: unknown
  try {
    data = doc.toJS()
  } catch (err) {
    // yaml refuses alias bombs ("Excessive alias count …") here.
    report.errorAtOffset(0, `YAML: ${(err as Error).message}`)
    return report.result()
  }
  const usccExceptions = stringList(getIn(data, ['identifiers', 'usccExceptions']))
  const ajv = createAjv({ usccExceptions })
  const validateCatalog = ajv.compile(catalogSchema())
  if (!validateCatalog(data)) reportSchemaErrors(validateCatalog.errors ?? [], data, [], report, { prune: true })
  if (!isRecord(data)) return report.result()

  const loose = data as Loose<RawCatalog>
  const checker = new Checker(loose, options, report, ajv, new Set([...USCC_KNOWN_EXCEPTIONS, ...usccExceptions]))
  checker.checkAll()
  if (report.hasErrors()) return report.result()

  const catalog = buildCatalog(loose as RawCatalog, checker, {
    file: options.file,
    digest: createHash('sha256').update(text, 'utf8').digest('hex'),
  })
  return { ok: true, catalog, warnings: report.sortedWarnings() }
}

// ---------------------------------------------------------------------------------------------------------------
// The file's shape as the JSON Schema describes it. Before the checks pass, every part may be missing (`Loose`).

interface RawCatalog {
  version: string
  region?: string
  resourceCodePattern?: string
  identifiers?: { usccExceptions?: string[] }
  departments: RawDepartment[]
  connectors?: Record<string, RawConnector>
  resources?: RawResource[]
  matters?: RawMatter[]
  quotas?: RawQuota[]
}
interface RawDepartment {
  code: string
  name: string
  shortName?: string
  uscc: string
}
interface RawConnector {
  type: string
  department: string
  options?: Record<string, unknown>
  http?: Partial<HttpPoolSettings>
  resilience?: Partial<ResilienceSettings>
}
type RawMask = MaskRuleName | { rule: MaskRuleName; keepStart?: number; keepEnd?: number }
interface RawField {
  key: string
  name: string
  sensitivity: Sensitivity
  mask?: RawMask
  description?: string
}
interface RawResource {
  id: string
  code: string
  name: string
  summary: string
  provider: string
  classification?: Record<string, string>
  sharing: { type: SharingType; condition?: string; legalBasis?: string; mode?: string }
  updateCycle: UpdateCycle
  publishedAt?: string
  connector?: string
  timeoutMs?: number
  read?: { operation: string; request: string; response: string; cardinality: 'one' | 'many' }
  write?: { operation: string; request: string }
  fields: RawField[]
}
interface RawGrant {
  consumer: string
  resource: string
  action: Action
  usage: Usage
  fields?: string[]
  masked?: string[]
  approval?: Approval
}
interface RawMatter {
  code: string
  name: string
  owner: string
  legalBasis: string
  scene?: string
  grants: RawGrant[]
}

interface RawQuota {
  id: string
  department?: string
  matter?: string
  resource?: string
  limit: number
  per: string
  burst?: number
}

/** Everything optional, list items possibly removed: values of the wrong JSON type are pruned after the schema step. */
type Loose<T> = T extends readonly (infer E)[]
  ? readonly (Loose<E> | undefined)[]
  : T extends object
    ? { readonly [K in keyof T]?: Loose<T[K]> }
    : T

type Path = readonly (string | number)[]

// ---------------------------------------------------------------------------------------------------------------
// Issues and their positions.

class Reporter {
  private readonly errors: CatalogIssue[] = []
  private readonly warnings: CatalogIssue[] = []
  private readonly errorPaths: string[] = []

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** `at: 'key'` points at the key of a mapping entry (e.g. an unknown property) instead of its value. */
  error(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    this.errors.push(this.issue(this.offsetOf(path, at), message))
    this.errorPaths.push(pathKey(path))
  }

  warn(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    this.warnings.push(this.issue(this.offsetOf(path, at), message))
  }

  errorAtOffset(offset: number, message: string): void {
    this.errors.push(this.issue(offset, message))
  }

  warnAtOffset(offset: number, message: string): void {
    this.warnings.push(this.issue(offset, message))
  }

  hasErrors(): boolean {
    return this.errors.length > 0
  }

  /** True when an error was reported at `path` or inside it; used to avoid follow-up noise. */
  hasErrorWithin(path: Path): boolean {
    const key = pathKey(path)
    return this.errorPaths.some((p) => p === key || p.startsWith(`${key}/`))
  }

  lineOf(path: Path): number {
    return this.lines.linePos(this.offsetOf(path, 'value')).line
  }

  result(): LoadCatalogResult {
    return { ok: false, issues: byPosition(this.errors) }
  }

  sortedWarnings(): CatalogIssue[] {
    return byPosition(this.warnings)
  }

  private issue(offset: number, message: string): CatalogIssue {
    const { line, col } = this.lines.linePos(offset)
    return { file: this.file, line, col, message }
  }

  /** Start offset of the YAML node at `path`, or of the deepest node that exists along it. */
  private offsetOf(path: Path, at: 'value' | 'key'): number {
    let node: unknown = this.doc.contents
    let keyNode: unknown
    let offset = rangeStart(node) ?? 0
    for (const [i, segment] of path.entries()) {
      if (isAlias(node)) node = node.resolve(this.doc)
      keyNode = undefined
      if (isMap(node)) {
        const pair = node.items.findLast((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment))
        if (!pair) break
        keyNode = pair.key
        node = pair.value ?? pair.key
      } else if (isSeq(node)) {
        node = node.items[Number(segment)]
      } else {
        break
      }
      const isLast = i === path.length - 1
      offset = (isLast && at === 'key' ? rangeStart(keyNode) : undefined) ?? rangeStart(node) ?? offset
    }
    return offset
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range
  return range?.[0]
}

function byPosition(issues: CatalogIssue[]): CatalogIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col)
}

function pathKey(path: Path): string {
  return path.map(String).join('/')
}

/** `resources[2].sharing.type`; the root is `catalog`. */
function formatPath(path: Path): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out ? `.${segment}` : segment
    else out += `[${JSON.stringify(segment)}]`
  }
  return out || 'catalog'
}

function yamlErrorText(e: YAMLError, doc: Document): string {
  if (e.code === 'MULTIPLE_DOCS') return 'the catalog must be a single YAML document (remove the second ---)'
  if (e.code !== 'DUPLICATE_KEY') return e.message
  let key: string | undefined
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === e.pos[0]) key = String(pair.key.value)
    },
  })
  return key === undefined ? 'duplicate key' : `duplicate key "${key}"`
}

// ---------------------------------------------------------------------------------------------------------------
// JSON Schema errors → issues.

/**
 * Reports ajv errors for `data` found at `base` in the catalog. With `prune`, values of the wrong JSON type are
 * removed afterwards so the cross-reference checks can trust the types of whatever is left.
 */
function reportSchemaErrors(
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

function getIn(root: unknown, path: Path): unknown {
  let value = root
  for (const segment of path) {
    if (!isRecord(value) && !Array.isArray(value)) return undefined
    value = (value as Record<string, unknown>)[String(segment)]
  }
  return value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

// ---------------------------------------------------------------------------------------------------------------
// The catalog's own schema, found next to the sources (gateway/catalog/) or the build (dist/gateway/catalog/).

let catalogSchemaCache: JsonSchema | undefined

function catalogSchema(): JsonSchema {
  if (!catalogSchemaCache) {
    let dir = dirname(fileURLToPath(import.meta.url))
    while (!existsSync(join(dir, 'schemas', 'catalog.schema.json'))) {
      const parent = dirname(dir)
      if (parent === dir) throw new Error('schemas/catalog.schema.json not found above the catalog loader')
      dir = parent
    }
    catalogSchemaCache = JSON.parse(readFileSync(join(dir, 'schemas', 'catalog.schema.json'), 'utf8')) as JsonSchema
  }
  return catalogSchemaCache
}

// ---------------------------------------------------------------------------------------------------------------
// Resource schema files: read, parse and compile each file once per load.

type SchemaLoad = { ok: true; schema: JsonSchema; validate: ValidateFunction } | { ok: false; problem: string }

class SchemaFiles {
  private readonly byFile = new Map<string, SchemaLoad>()
  private readonly fileById = new Map<string, string>()

  constructor(
    private readonly ajv: Ajv,
    private readonly baseDir: string,
  ) {}

  /** The compiled schema for a path as written in the catalog; problems are reported at `path` every time. */
  load(written: string, path: Path, report: Reporter): SchemaLoad {
    const file = resolve(this.baseDir, written)
    let loaded = this.byFile.get(file)
    if (!loaded) {
      loaded = this.compile(file, written)
      this.byFile.set(file, loaded)
    }
    if (!loaded.ok) report.error(path, `${formatPath(path)}: ${loaded.problem}`)
    return loaded
  }

  get(written: string): SchemaLoad | undefined {
    return this.byFile.get(resolve(this.baseDir, written))
  }

  private compile(file: string, written: string): SchemaLoad {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return {
        ok: false,
        problem: code === 'ENOENT' ? `schema file not found: ${written}` : `cannot read ${written} (${code})`,
      }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      return { ok: false, problem: `${written} is not valid JSON: ${(err as Error).message}` }
    }
    if (!isRecord(parsed)) return { ok: false, problem: `${written} must contain a JSON Schema object` }
    const schema: JsonSchema = parsed
    if (typeof schema.$id === 'string') {
      const other = this.fileById.get(schema.$id)
      if (other !== undefined) {
        const otherName = relative(this.baseDir, other)
        return { ok: false, problem: `${written} has $id "${schema.$id}", which ${otherName} already uses` }
      }
      this.fileById.set(schema.$id, file)
    }
    try {
      return { ok: true, schema, validate: this.ajv.compile(schema) }
    } catch (err) {
      return { ok: false, problem: `${written} does not compile: ${(err as Error).message}` }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Connector options: ${NAME} / ${NAME:-default}.

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/** Substitutes variables in every string under `value`; a variable that is unset and has no default is an issue. */
function interpolate(
  value: unknown,
  path: Path,
  vars: Readonly<Record<string, string | undefined>>,
  report: Reporter,
): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const set = Object.hasOwn(vars, name) ? vars[name] : undefined
      // Like the shell's ${NAME:-default}: the default also covers an empty value.
      if (fallback !== undefined) return set ? set : fallback
      if (set === undefined) {
        report.error(path, `${formatPath(path)}: environment variable ${name} is not set and has no default`)
        return ''
      }
      return set
    })
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, [...path, i], vars, report))
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, [...path, k], vars, report)]))
  }
  return value
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-references and sharing rules.

type LooseResource = Loose<RawResource>

class Checker {
  readonly schemas: SchemaFiles
  /** Connector options after interpolation, by instance id. */
  readonly connectorOptions = new Map<string, Record<string, unknown>>()
  private readonly departments = new Set<string>()
  private readonly resources = new Map<string, LooseResource>()
  private readonly compiledOptions = new Map<string, ValidateFunction | undefined>()

  constructor(
    private readonly data: Loose<RawCatalog>,
    private readonly settings: LoadCatalogOptions & { baseDir: string },
    private readonly report: Reporter,
    private readonly ajv: Ajv,
    private readonly usccExceptions: ReadonlySet<string>,
  ) {
    this.schemas = new SchemaFiles(ajv, settings.baseDir)
  }

  /** The definition of a connector type that the checks found registered. */
  definition(type: string): ConnectorDefinition<never> {
    const definition = this.settings.definitions.get(type)
    if (!definition) throw new Error(`internal: connector type ${type} is not registered`)
    return definition
  }

  checkAll(): void {
    this.checkDepartments()
    this.checkConnectors()
    this.checkResources()
    this.checkMatters()
    this.checkQuotas()
  }

  private checkDepartments(): void {
    const firstCode = new Map<string, Path>()
    const firstUscc = new Map<string, Path>()
    for (const [i, d] of (this.data.departments ?? []).entries()) {
      if (!d) continue
      if (d.code !== undefined) {
        this.unique(firstCode, d.code, ['departments', i, 'code'], 'department code')
        this.departments.add(d.code)
      }
      if (d.uscc !== undefined) {
        const path = ['departments', i, 'uscc']
        this.unique(firstUscc, d.uscc, path, 'department uscc')
        if (!this.report.hasErrorWithin(path) && checkUscc(d.uscc, this.usccExceptions) === 'invalid') {
          this.problem(
            path,
            `${d.uscc} fails the GB 32100 check character (list real exceptions under identifiers.usccExceptions)`,
          )
        }
      }
    }
  }

  private checkConnectors(): void {
    const vars = this.settings.vars ?? {}
    for (const [id, c] of Object.entries(this.data.connectors ?? {})) {
      if (!c) continue
      const at = ['connectors', id]
      if (c.department !== undefined) this.department(c.department, [...at, 'department'])
      const options = interpolate(c.options ?? {}, [...at, 'options'], vars, this.report) as Record<string, unknown>
      this.connectorOptions.set(id, options)
      if (c.type === undefined) continue
      const definition = this.settings.definitions.get(c.type)
      if (!definition) {
        const known = [...this.settings.definitions.keys()].join(', ') || 'none'
        this.problem([...at, 'type'], `unknown connector type "${c.type}" (registered: ${known})`)
        continue
      }
      const validate = this.optionsValidator(definition, [...at, 'type'])
      // An unset variable was reported already; validating its empty string would only repeat that.
      if (this.report.hasErrorWithin([...at, 'options'])) continue
      if (validate && !validate(options)) {
        reportSchemaErrors(validate.errors ?? [], options, [...at, 'options'], this.report, { prune: false })
      }
    }
  }

  private optionsValidator(definition: ConnectorDefinition<never>, path: Path): ValidateFunction | undefined {
    if (!this.compiledOptions.has(definition.type)) {
      try {
        this.compiledOptions.set(definition.type, this.ajv.compile(definition.optionsSchema))
      } catch (err) {
        this.compiledOptions.set(definition.type, undefined)
        this.report.error(
          path,
          `connector type ${definition.type} has an invalid options schema: ${(err as Error).message}`,
        )
      }
    }
    return this.compiledOptions.get(definition.type)
  }

  private checkResources(): void {
    const firstId = new Map<string, Path>()
    const firstCode = new Map<string, Path>()
    const codePattern = this.resourceCodePattern()
    for (const [i, r] of (this.data.resources ?? []).entries()) {
      if (!r) continue
      const at: Path = ['resources', i]
      if (r.id !== undefined && this.unique(firstId, r.id, [...at, 'id'], 'resource id')) this.resources.set(r.id, r)
      if (r.code !== undefined) {
        this.unique(firstCode, r.code, [...at, 'code'], 'resource code')
        if (codePattern && !codePattern.regexp.test(r.code)) {
          this.report.error(
            [...at, 'code'],
            `${formatPath([...at, 'code'])} must match resourceCodePattern ${codePattern.source}`,
          )
        }
      }
      if (r.provider !== undefined && this.department(r.provider, [...at, 'provider']) && r.id?.includes('.')) {
        const prefix = r.id.slice(0, r.id.indexOf('.'))
        if (prefix !== r.provider) {
          this.problem([...at, 'id'], `the part before the dot must be the provider "${r.provider}", not "${prefix}"`)
        }
      }
      this.checkSharing(r, at)
      this.checkBinding(r, at)
      this.checkFields(r, at)
    }
  }

  private resourceCodePattern(): { source: string; regexp: RegExp } | undefined {
    const source = this.data.resourceCodePattern ?? DEFAULT_RESOURCE_CODE_PATTERN
    try {
      return { source, regexp: new RegExp(source, 'u') }
    } catch (err) {
      // V8 says "Invalid regular expression: /…/u: <reason>"; the reason is the useful part.
      const reason = (err as Error).message.split(': ').at(-1)
      this.report.error(['resourceCodePattern'], `resourceCodePattern is not a valid regular expression (${reason})`)
      return undefined
    }
  }

  private checkSharing(r: LooseResource, at: Path): void {
    const sharing = r.sharing
    const path = [...at, 'sharing']
    if (sharing?.type === 'conditional') {
      if (sharing.condition === undefined) this.problem(path, 'conditional sharing needs a condition')
      if (sharing.legalBasis === undefined) this.problem(path, 'conditional sharing needs a legalBasis')
    } else if (sharing?.type === 'none') {
      if (sharing.legalBasis === undefined) this.problem(path, 'sharing type none needs a legalBasis')
      for (const binding of ['read', 'write'] as const) {
        if (r[binding] !== undefined) {
          this.report.error(
            [...at, binding],
            `${formatPath(at)}: a resource with sharing type none cannot have ${binding}`,
            'key',
          )
        }
      }
    }
  }

  /** Connector, operations and the schema files of read/write. */
  private checkBinding(r: LooseResource, at: Path): void {
    const connectors = this.data.connectors ?? {}
    const known = r.connector !== undefined && Object.hasOwn(connectors, r.connector)
    const connector = known ? connectors[r.connector as string] : undefined
    if (r.connector !== undefined && !known) {
      this.problem([...at, 'connector'], `unknown connector "${r.connector}"`)
    } else if (
      connector?.department !== undefined &&
      this.departments.has(connector.department) &&
      r.provider !== undefined &&
      connector.department !== r.provider
    ) {
      this.problem(
        [...at, 'connector'],
        `connector "${r.connector}" belongs to department "${connector.department}", not to the provider "${r.provider}"`,
      )
    }
    const definition = connector?.type === undefined ? undefined : this.settings.definitions.get(connector.type)
    for (const kind of ['read', 'write'] as const) {
      const binding = r[kind]
      if (!binding) continue
      if (r.connector === undefined) {
        this.report.error([...at, kind], `${formatPath(at)}: ${kind} needs a connector`, 'key')
      }
      if (definition && binding.operation !== undefined) {
        const path = [...at, kind, 'operation']
        const operation = Object.hasOwn(definition.operations, binding.operation)
          ? definition.operations[binding.operation]
          : undefined
        if (!operation) {
          const known = Object.keys(definition.operations).join(', ') || 'none'
          this.problem(
            path,
            `connector type ${definition.type} has no operation "${binding.operation}" (operations: ${known})`,
          )
        } else if (operation.kind !== kind) {
          this.problem(path, `operation "${binding.operation}" is a ${operation.kind} operation`)
        }
      }
      if (binding.request !== undefined) this.schemas.load(binding.request, [...at, kind, 'request'], this.report)
    }
    if (r.read?.response !== undefined) {
      const path = [...at, 'read', 'response']
      const loaded = this.schemas.load(r.read.response, path, this.report)
      if (loaded.ok && !isClosedObjectSchema(loaded.schema)) {
        this.problem(
          path,
          `${r.read.response} must be an object schema with properties and "additionalProperties": false`,
        )
      }
    }
  }

  /** Field keys are unique and match the response schema's properties one to one; masks apply to strings. */
  private checkFields(r: LooseResource, at: Path): void {
    const firstKey = new Map<string, Path>()
    const response = r.read?.response === undefined ? undefined : this.schemas.get(r.read.response)
    const properties = response?.ok && isClosedObjectSchema(response.schema) ? response.schema.properties : undefined
    for (const [j, f] of (r.fields ?? []).entries()) {
      if (!f || f.key === undefined) continue
      const path = [...at, 'fields', j, 'key']
      this.unique(firstKey, f.key, path, 'field key')
      if (!properties) continue
      const property = properties[f.key]
      if (!isRecord(property) || !Object.hasOwn(properties, f.key)) {
        this.problem(path, `"${f.key}" is not a property of ${r.read?.response}`)
      } else if (f.mask !== undefined) {
        const maskPath = [...at, 'fields', j, 'mask']
        const types = property.type === undefined ? undefined : [property.type].flat()
        if (types === undefined) {
          this.report.warn(
            maskPath,
            `${formatPath(maskPath)}: "${f.key}" has no type in ${r.read?.response}; masks apply to strings`,
          )
        } else if (!types.includes('string')) {
          this.problem(maskPath, `a mask needs a string, but "${f.key}" is ${types.join(' or ')}`)
        }
      }
    }
    if (!properties) return
    for (const name of Object.keys(properties)) {
      if (!firstKey.has(name)) {
        this.problem([...at, 'fields'], `property "${name}" of ${r.read?.response} is not declared in fields`, 'key')
      }
    }
  }

  private checkMatters(): void {
    const firstCode = new Map<string, Path>()
    const firstGrant = new Map<string, Path>()
    for (const [i, m] of (this.data.matters ?? []).entries()) {
      if (!m) continue
      const at: Path = ['matters', i]
      const uniqueCode = m.code === undefined || this.unique(firstCode, m.code, [...at, 'code'], 'matter code')
      if (m.owner !== undefined) this.department(m.owner, [...at, 'owner'])
      for (const [j, g] of (m.grants ?? []).entries()) {
        if (!g) continue
        const path = [...at, 'grants', j]
        this.checkGrant(g, path)
        // A repeated matter code is already reported; its grants would only repeat that.
        if (!uniqueCode || m.code === undefined || !g.resource || !g.action || !g.consumer) continue
        const key = grantKey(m.code, g.resource, g.action, g.consumer)
        const first = firstGrant.get(key)
        if (first) {
          this.problem(path, `duplicate grant (same matter, resource, action and consumer as ${formatPath(first)})`)
        } else {
          firstGrant.set(key, path)
        }
      }
    }
  }

  private checkGrant(g: Loose<RawGrant>, at: Path): void {
    // After a schema error in the grant (say a misspelled `approval`), checks about missing parts would only echo it.
    const malformed = this.report.hasErrorWithin(at)
    if (g.consumer !== undefined) this.department(g.consumer, [...at, 'consumer'])
    if (
      g.approval?.validFrom !== undefined &&
      g.approval.validTo !== undefined &&
      g.approval.validFrom > g.approval.validTo
    ) {
      this.problem([...at, 'approval', 'validTo'], 'must not be before validFrom')
    }
    if (g.resource === undefined) return
    const r = this.resources.get(g.resource)
    if (!r) {
      this.problem([...at, 'resource'], `unknown resource "${g.resource}"`)
      return
    }
    if (g.consumer !== undefined && g.consumer === r.provider) {
      this.problem([...at, 'consumer'], `"${g.consumer}" provides ${g.resource} and cannot be granted it`)
    }
    if (r.sharing?.type === 'none') {
      this.problem([...at, 'resource'], `${g.resource} is not shared (sharing type none)`)
      return
    }
    if (r.sharing?.type === 'conditional' && !g.approval && !malformed) {
      this.problem(at, `${g.resource} is shared conditionally, so the grant needs an approval`)
    }
    if ((g.action === 'read' || g.action === 'write') && !r[g.action]) {
      const verb = g.action === 'read' ? 'read' : 'written'
      this.problem([...at, 'action'], `${g.resource} cannot be ${verb} (no ${g.action} binding)`)
      return
    }
    if (g.action === 'read') this.checkReleasedFields(g, r, at, malformed)
    else if (g.action === 'write') {
      for (const list of ['fields', 'masked'] as const) {
        if (g[list]?.length)
          this.report.error([...at, list], `${formatPath(at)}: ${list} applies to read grants only`, 'key')
      }
    }
  }

  /** `fields` (clear) and `masked` name existing fields, do not overlap and are not both empty. */
  private checkReleasedFields(g: Loose<RawGrant>, r: LooseResource, at: Path, malformed: boolean): void {
    const fieldsByKey = new Map<string, Loose<RawField>>()
    for (const f of r.fields ?? []) if (f?.key !== undefined && !fieldsByKey.has(f.key)) fieldsByKey.set(f.key, f)
    const clear = g.fields ?? []
    const masked = g.masked ?? []
    if (clear.length === 0 && masked.length === 0 && !malformed) {
      this.report.error(at, `${formatPath(at)}: the grant releases no fields (list them under fields or masked)`)
    }
    for (const [list, keys] of [
      ['fields', clear],
      ['masked', masked],
    ] as const) {
      for (const [k, key] of keys.entries()) {
        if (key === undefined) continue
        const path = [...at, list, k]
        const field = fieldsByKey.get(key)
        if (!field) {
          this.problem(path, `${r.id} has no field "${key}"`)
        } else if (list === 'masked') {
          if (clear.includes(key)) this.problem(path, `"${key}" is listed under both fields and masked`)
          if (field.mask === undefined) this.problem(path, `field "${key}" has no mask rule, so it cannot be masked`)
        } else if (field.sensitivity === 'sensitive-personal' && !g.approval) {
          this.problem(path, `"${key}" is sensitive personal information; in clear it needs an approval`)
        } else if (field.sensitivity === 'personal') {
          const where = formatPath(path)
          this.report.warn(path, `${where}: personal field "${key}" is released in clear; consider masked`)
        }
      }
    }
  }

  /**
   * Quota ids are unique; department, matter and resource exist; a department or a matter is named; the bucket
   * refills in whole seconds (the counters and the RateLimit fields count whole seconds). A quota that no grant can
   * ever reach is only a warning.
   */
  private checkQuotas(): void {
    const firstId = new Map<string, Path>()
    const matters = new Map<string, Loose<RawMatter>>()
    for (const m of this.data.matters ?? []) if (m?.code !== undefined && !matters.has(m.code)) matters.set(m.code, m)
    for (const [i, q] of (this.data.quotas ?? []).entries()) {
      if (!q) continue
      const at: Path = ['quotas', i]
      if (q.id !== undefined) this.unique(firstId, q.id, [...at, 'id'], 'quota id')
      const known = {
        department: q.department === undefined || this.department(q.department, [...at, 'department']),
        matter: q.matter === undefined || matters.has(q.matter),
        resource: q.resource === undefined || this.resources.has(q.resource),
      }
      if (!known.matter) this.problem([...at, 'matter'], `unknown matter "${q.matter}"`)
      if (!known.resource) this.problem([...at, 'resource'], `unknown resource "${q.resource}"`)
      if (q.department === undefined && q.matter === undefined && !this.report.hasErrorWithin(at)) {
        this.problem(at, 'a quota needs a department, a matter or both')
      }
      const window = q.per === undefined ? undefined : quotaWindowSeconds(q.per)
      if (q.limit !== undefined && window !== undefined && !this.report.hasErrorWithin(at)) {
        // The bucket is counted as `burst` calls per refill time (gateway/quota/quotas.ts): whole seconds only,
        // and no longer than the in-memory counters' timers can wait.
        const burst = q.burst ?? q.limit
        if ((burst * window) % q.limit !== 0) {
          const step = q.limit / gcd(q.limit, window)
          this.problem(
            [...at, 'burst'],
            `an empty bucket of ${burst} refilled at ${q.limit} per ${q.per} would fill in ${formatSeconds((burst * window) / q.limit)}; counters work in whole seconds, so burst must be a multiple of ${step}`,
          )
        } else if ((burst * window) / q.limit > MAX_QUOTA_REFILL_SECONDS) {
          this.problem(
            [...at, q.burst === undefined ? 'per' : 'burst'],
            `an empty bucket would take ${(burst * window) / q.limit} s to fill; at most 7 days (${MAX_QUOTA_REFILL_SECONDS} s)`,
          )
        }
      }
      if (known.department && known.matter && known.resource && !this.report.hasErrorWithin(at)) {
        const grants =
          q.matter === undefined
            ? [...matters.values()].flatMap((m) => m?.grants ?? [])
            : (matters.get(q.matter)?.grants ?? [])
        const reachable = grants.some(
          (g) =>
            g !== undefined &&
            (q.department === undefined || g.consumer === q.department) &&
            (q.resource === undefined || g.resource === q.resource),
        )
        if (!reachable) {
          this.report.warn(at, `${formatPath(at)}: no grant matches this quota, so it never applies`)
        }
      }
    }
  }

  /** Reports `text` about the value at `path`, prefixed with that path. */
  private problem(path: Path, text: string, point: 'value' | 'key' = 'value'): void {
    this.report.error(path, `${formatPath(path)}: ${text}`, point)
  }

  /** True if the department exists; reports it otherwise. */
  private department(code: string, path: Path): boolean {
    if (this.departments.has(code)) return true
    this.problem(path, `unknown department "${code}"`)
    return false
  }

  /** True for the first occurrence of `value`; later ones are reported with the first one's line. */
  private unique(first: Map<string, Path>, value: string, path: Path, what: string): boolean {
    const earlier = first.get(value)
    if (earlier) {
      this.problem(path, `duplicate ${what} "${value}" (first at line ${this.report.lineOf(earlier)})`)
      return false
    }
    first.set(value, path)
    return true
  }
}

/** Longest refill time of a quota's bucket: 7 days (Node timers, which expire in-memory counters, stop at ~24.8). */
export const MAX_QUOTA_REFILL_SECONDS = 7 * 86_400

const QUOTA_PERIODS: Readonly<Record<string, number>> = { second: 1, minute: 60, hour: 3600, day: 86_400 }
const QUOTA_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `per` of a quota in seconds: second, minute, hour, day or `<n>s|m|h|d`; undefined when it is neither. */
export function quotaWindowSeconds(per: string): number | undefined {
  if (Object.hasOwn(QUOTA_PERIODS, per)) return QUOTA_PERIODS[per]
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(per)
  return m ? Number(m[1]) * (QUOTA_UNITS[m[2] as string] as number) : undefined
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

function formatSeconds(seconds: number): string {
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(2).replace(/0+$/, '')} s`
}

function isClosedObjectSchema(schema: JsonSchema): schema is JsonSchema & { properties: Record<string, unknown> } {
  return schema.type === 'object' && schema.additionalProperties === false && isRecord(schema.properties)
}

// ---------------------------------------------------------------------------------------------------------------
// The frozen model. Only called when every check passed, so the raw data has the schema's shape.

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000

/** Epoch ms of 00:00 Asia/Shanghai (UTC+8, no DST) on `date` plus `days`. */
function shanghaiMidnight(date: string, days = 0): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  return Date.UTC(y, m - 1, d + days) - SHANGHAI_OFFSET_MS
}

function buildCatalog(raw: RawCatalog, checker: Checker, meta: { file: string; digest: string }): Catalog {
  const definitions = new Map<string, ConnectorDefinition<never>>()
  const departments = new Map<string, Department>(raw.departments.map((d) => [d.code, { ...d }]))
  const connectors = new Map<string, ConnectorInstance>()
  for (const [id, c] of Object.entries(raw.connectors ?? {})) {
    const definition = checker.definition(c.type)
    definitions.set(c.type, definition)
    connectors.set(id, {
      id,
      type: c.type,
      department: c.department,
      options: checker.connectorOptions.get(id) ?? {},
      http: { ...DEFAULT_HTTP_POOL, ...c.http },
      resilience: { ...DEFAULT_RESILIENCE, ...c.resilience },
      definition,
    })
  }
  const loaded = (written: string): LoadedSchema => {
    const schema = checker.schemas.get(written)
    if (!schema?.ok) throw new Error(`internal: schema ${written} was not loaded`)
    return { path: written, schema: schema.schema, validate: schema.validate }
  }
  const resources = new Map<string, Resource>()
  for (const r of raw.resources ?? []) {
    const fields = r.fields.map(toField)
    resources.set(r.id, {
      ...r,
      timeoutMs: r.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      read: r.read && {
        operation: r.read.operation,
        request: loaded(r.read.request),
        response: loaded(r.read.response),
        cardinality: r.read.cardinality,
      },
      write: r.write && { operation: r.write.operation, request: loaded(r.write.request) },
      fields,
      fieldsByKey: new Map(fields.map((f) => [f.key, f])),
    })
  }
  const matters = new Map<string, Matter>()
  const grants = new Map<string, Grant>()
  for (const m of raw.matters ?? []) {
    const matterGrants = m.grants.map((g) => toGrant(m.code, g))
    for (const g of matterGrants) grants.set(grantKey(g.matter, g.resource, g.action, g.consumer), g)
    matters.set(m.code, { ...m, grants: matterGrants })
  }
  const catalog: Catalog = {
    version: raw.version,
    digest: meta.digest,
    file: meta.file,
    departments,
    connectors,
    resources,
    matters,
    grants,
    usccExceptions: new Set(raw.identifiers?.usccExceptions ?? []),
    quotas: (raw.quotas ?? []).map(toQuota),
  }
  // Connector definitions belong to their modules and compiled validators keep `errors` on themselves: not frozen.
  return deepFreeze(catalog, new Set<unknown>(definitions.values()))
}

function toField(f: RawField): Field {
  const mask: MaskRule | undefined = typeof f.mask === 'string' ? { rule: f.mask } : f.mask && { ...f.mask }
  return { ...f, mask }
}

function toQuota(q: RawQuota): Quota {
  const windowSeconds = quotaWindowSeconds(q.per)
  if (windowSeconds === undefined) throw new Error(`internal: quota ${q.id} has per ${q.per}`)
  return { ...q, windowSeconds, burst: q.burst ?? q.limit }
}

function toGrant(matter: string, g: RawGrant): Grant {
  return {
    matter,
    ...g,
    fields: g.fields ?? [],
    masked: g.masked ?? [],
    validFromMs: g.approval && shanghaiMidnight(g.approval.validFrom),
    // Exclusive bound: the approval covers all of validTo, so it ends at the next midnight.
    validUntilMs: g.approval && shanghaiMidnight(g.approval.validTo, 1),
  }
}

function deepFreeze<T>(value: T, skip: ReadonlySet<unknown>): T {
  if (typeof value !== 'object' || value === null || skip.has(value) || Object.isFrozen(value)) return value
  if (value instanceof Map) for (const item of value.values()) deepFreeze(item, skip)
  else if (!(value instanceof Set)) for (const item of Object.values(value)) deepFreeze(item, skip)
  return Object.freeze(value)
}
