import { Document, isMap, isScalar, isSeq, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml'

/**
 * Reads and extends catalog.yaml for `qiao connector new`. The file is parsed with the yaml Document API and the
 * new entries are spliced in as text at the positions of the parsed nodes, so every comment, blank line, quote and
 * flow collection of the existing file stays exactly as it was. Only when a section has an unusual shape (a flow
 * collection, an empty value) is the document re-serialised through the Document API, which keeps the comments.
 */

export interface CatalogDepartment {
  readonly code: string
  readonly name: string
  readonly shortName?: string
  readonly uscc?: string
}

/** What the generator needs to know about an existing catalog. */
export interface CatalogFacts {
  readonly departments: ReadonlyMap<string, CatalogDepartment>
  readonly connectors: ReadonlySet<string>
  readonly resources: ReadonlySet<string>
  readonly resourceCodes: ReadonlySet<string>
  readonly resourceCodePattern?: string
  readonly region?: string
  /** Loopback ports named in connector options (e.g. the defaults of `${X_URL:-http://127.0.0.1:9101}`). */
  readonly ports: readonly number[]
}

export class CatalogEditError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CatalogEditError'
  }
}

/** The entries `qiao connector new` adds. */
export interface CatalogAddition {
  readonly connectorId: string
  /** The value under `connectors.<id>` (type, department, options). */
  readonly connector: Record<string, unknown>
  /** One item of `resources`; `sharing` and each field are written as flow maps, like the rest of the file. */
  readonly resource: Record<string, unknown>
  /** Comment line written above the resource. */
  readonly resourceComment?: string
}

const PARSE_OPTIONS = { schema: 'core', prettyErrors: false } as const
const LOOPBACK_PORT = /\/\/(?:127\.0\.0\.1|localhost|\[::1\]):([0-9]{2,5})\b/g

function parse(text: string): Document.Parsed {
  const doc = parseDocument(text, PARSE_OPTIONS)
  const error = doc.errors[0]
  if (error) throw new CatalogEditError(`the catalog is not valid YAML: ${error.message.split('\n')[0]}`)
  if (!isMap(doc.contents)) throw new CatalogEditError('the catalog is not a YAML mapping')
  return doc
}

/** Departments, connector and resource ids, resource codes, region and loopback ports of a catalog. */
export function readCatalogFacts(text: string): CatalogFacts {
  const data = parse(text).toJS() as Record<string, unknown>
  const departments = new Map<string, CatalogDepartment>()
  for (const d of list(data.departments)) {
    if (typeof d.code !== 'string') continue
    const name = typeof d.name === 'string' ? d.name : d.code
    departments.set(d.code, {
      code: d.code,
      name,
      ...(typeof d.shortName === 'string' ? { shortName: d.shortName } : {}),
      ...(typeof d.uscc === 'string' ? { uscc: d.uscc } : {}),
    })
  }
  const connectors = isRecord(data.connectors) ? new Set(Object.keys(data.connectors)) : new Set<string>()
  const resources = list(data.resources)
  const ports = [...text.matchAll(LOOPBACK_PORT)].map((m) => Number(m[1]))
  return {
    departments,
    connectors,
    resources: new Set(resources.flatMap((r) => (typeof r.id === 'string' ? [r.id] : []))),
    resourceCodes: new Set(resources.flatMap((r) => (typeof r.code === 'string' ? [r.code] : []))),
    ...(typeof data.resourceCodePattern === 'string' ? { resourceCodePattern: data.resourceCodePattern } : {}),
    ...(typeof data.region === 'string' ? { region: data.region } : {}),
    ports,
  }
}

/** The catalog text with the connector instance and the resource added; everything else unchanged. */
export function addToCatalog(text: string, addition: CatalogAddition): string {
  let next = addConnector(text, addition)
  next = addResource(next, addition)
  // The result must parse and hold both entries.
  const data = parse(next).toJS() as Record<string, unknown>
  const connectors = isRecord(data.connectors) ? data.connectors : {}
  if (!Object.hasOwn(connectors, addition.connectorId)) throw new CatalogEditError('internal: connector not added')
  if (!list(data.resources).some((r) => r.id === addition.resource.id)) {
    throw new CatalogEditError('internal: resource not added')
  }
  return next
}

/**
 * The catalog text with a department appended to `departments`, in the style of the existing items (block or flow
 * maps); everything else unchanged.
 */
export function addDepartment(text: string, department: CatalogDepartment): string {
  const doc = parse(text)
  const root = doc.contents as YAMLMap
  const value = topLevel(root, 'departments')?.value
  const item = new Document(department).contents as YAMLMap
  let next: string
  if (isSeq(value) && !value.flow && value.items.length > 0 && value.range) {
    item.flow = isMap(value.items[0]) && (value.items[0] as YAMLMap).flow === true
    const snippet = new Document([item]).toString({ lineWidth: 0 })
    next = splice(text, lineEndAfter(text, value.range[1]), indentLines(snippet, columnOf(text, value.range[0])))
  } else {
    // Unusual shape (no `departments:`, empty, a flow sequence): let the Document API place it.
    const seq = isSeq(value) ? value : doc.createNode([])
    seq.items.push(item)
    doc.set('departments', seq)
    next = doc.toString({ lineWidth: 0 })
  }
  const data = parse(next).toJS() as Record<string, unknown>
  if (!list(data.departments).some((d) => d.code === department.code && d.uscc === department.uscc)) {
    throw new CatalogEditError('internal: department not added')
  }
  return next
}

function addConnector(text: string, addition: CatalogAddition): string {
  const doc = parse(text)
  const root = doc.contents as YAMLMap
  const pair = topLevel(root, 'connectors')
  const snippet = new Document({ [addition.connectorId]: addition.connector }).toString({ lineWidth: 0 })
  if (!pair) return insertSection(text, root, 'connectors', snippet, ['resources', 'matters'])
  const value = pair.value
  if (isMap(value) && !value.flow && value.items.length > 0 && value.range) {
    const first = value.items[0] as Pair<Node>
    const indent = columnOf(text, first.key?.range?.[0] ?? value.range[0])
    return splice(text, lineEndAfter(text, value.range[1]), indentLines(snippet, indent))
  }
  // Unusual shape (`connectors:` empty, `connectors: {}`, a flow map): let the Document API place it.
  if (isMap(value) && value.items.length > 0) {
    doc.setIn(['connectors', addition.connectorId], doc.createNode(addition.connector))
  } else {
    doc.set('connectors', doc.createNode({ [addition.connectorId]: addition.connector }))
  }
  return doc.toString({ lineWidth: 0 })
}

function addResource(text: string, addition: CatalogAddition): string {
  const doc = parse(text)
  const root = doc.contents as YAMLMap
  const pair = topLevel(root, 'resources')
  const item = resourceNode(addition)
  const value = pair?.value
  if (!pair) {
    const section = new Document([item])
    return insertSection(text, root, 'resources', section.toString({ lineWidth: 0 }), ['matters'])
  }
  if (isSeq(value) && !value.flow && value.items.length > 0 && value.range) {
    const indent = columnOf(text, value.range[0])
    const snippet = new Document([item]).toString({ lineWidth: 0 })
    // Keep the file's habit: a blank line between resources if the existing ones have one.
    const gap = separatedByBlankLines(text, value.items as Node[]) ? '\n' : ''
    return splice(text, lineEndAfter(text, value.range[1]), gap + indentLines(snippet, indent))
  }
  // Unusual shape (`resources:` empty, a flow sequence): let the Document API place it.
  const seq = isSeq(value) && value.items.length > 0 ? value : doc.createNode([])
  seq.items.push(item)
  doc.set('resources', seq)
  return doc.toString({ lineWidth: 0 })
}

/** The resource as a YAML node: `sharing` and the fields in flow style, a comment above. */
function resourceNode(addition: CatalogAddition): Node {
  const doc = new Document(addition.resource)
  const node = doc.contents as YAMLMap
  markFlow(node)
  if (addition.resourceComment) node.commentBefore = ` ${addition.resourceComment}`
  return node
}

function markFlow(resource: YAMLMap): void {
  const sharing = resource.get('sharing', true)
  if (isMap(sharing)) sharing.flow = true
  const fields = resource.get('fields', true)
  if (isSeq(fields)) for (const f of fields.items) if (isMap(f)) f.flow = true
}

function topLevel(root: YAMLMap, key: string): Pair | undefined {
  return root.items.find((p) => isScalar(p.key) && p.key.value === key)
}

/** Adds a top-level `key:` section before the first of `before` present, or at the end of the file. */
function insertSection(text: string, root: YAMLMap, key: string, body: string, before: readonly string[]): string {
  const section = `${key}:\n${indentLines(body.replace(/\n+$/, ''), 2)}\n`
  for (const name of before) {
    const start = topLevel(root, name)?.key
    const offset = isScalar(start) ? start.range?.[0] : undefined
    if (offset !== undefined) return splice(text, text.lastIndexOf('\n', offset - 1) + 1, `${section}\n`)
  }
  return `${text}${text.endsWith('\n') ? '' : '\n'}\n${section}`
}

/** True when a blank line separates the first two items (or there is only one item). */
function separatedByBlankLines(text: string, items: readonly Node[]): boolean {
  const [first, second] = items
  if (!first?.range || !second?.range) return true
  return /\n[ \t]*\n/.test(text.slice(first.range[1] - 1, second.range[0]))
}

/** The offset of the start of the line after the one `offset - 1` is on (a node's end may stop before a comment). */
function lineEndAfter(text: string, offset: number): number {
  if (offset > 0 && text.charAt(offset - 1) === '\n') return offset
  const newline = text.indexOf('\n', offset)
  return newline === -1 ? text.length : newline + 1
}

function splice(text: string, offset: number, insert: string): string {
  const before = text.slice(0, offset)
  const separator = before === '' || before.endsWith('\n') ? '' : '\n'
  return before + separator + insert + text.slice(offset)
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1)
}

function indentLines(text: string, indent: number): string {
  const pad = ' '.repeat(indent)
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n')
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : []
}
