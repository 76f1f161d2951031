import type { Catalog, Field, MaskRule } from '../catalog/types.js'
import { compileMask } from '../projection/masks.js'
import type { Texts } from './texts.js'

/** A JSON Schema as it goes into the document (OpenAPI 3.1 Schema Objects are JSON Schema 2020-12). */
export type Schema = Record<string, unknown>

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Component names must match ^[a-zA-Z0-9.\-_]+$ (OAS 3.1 §4.8.7.1). */
const componentName = (text: string): string =>
  text
    .replace(/[^a-zA-Z0-9.\-_]+/g, '.')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.|\.$/g, '') || 'schema'

/** `schemas/resources/housing/by-project.request.json` → `housing.by-project.request`. */
function nameFromPath(path: string): string {
  const parts = path.replace(/\.json$/, '').split(/[\\/]/)
  return componentName(parts.slice(-2).join('.'))
}

/**
 * `components/schemas` of one document. Catalog schemas come in without `$schema`/`$id` (the document is their
 * base now), and every `$ref` is rewritten to point into `components/schemas`: a target (a `$defs` entry, another
 * catalog schema by its `$id`, any JSON pointer) is moved there when first referenced, so a department's document
 * holds the definitions its granted fields use and nothing else.
 */
export class SchemaComponents {
  readonly schemas: Record<string, Schema> = {}
  /** Source object (a root or a pointed-at subschema) → its component name. */
  private readonly names = new Map<object, string>()
  /** Catalog schema files by `$id`, and each root's preferred name (from its file path). */
  private readonly byId = new Map<string, Schema>()
  private readonly rootNames = new Map<object, string>()

  constructor(catalog: Catalog) {
    for (const resource of catalog.resources.values()) {
      for (const loaded of [resource.read?.request, resource.read?.response, resource.write?.request]) {
        if (loaded === undefined) continue
        this.rootNames.set(loaded.schema, nameFromPath(loaded.path))
        if (typeof loaded.schema.$id === 'string') this.byId.set(loaded.schema.$id, loaded.schema)
      }
    }
  }

  /** Registers `schema` under `name` (made unique), converted; `source` is what later references resolve to. */
  add(name: string, schema: Schema, source?: object): string {
    let unique = componentName(name)
    for (let n = 2; Object.hasOwn(this.schemas, unique); n++) unique = `${componentName(name)}-${n}`
    if (source !== undefined) this.names.set(source, unique)
    // Reserved before converting, so a schema that refers to itself finds its own name.
    this.schemas[unique] = {}
    this.schemas[unique] = schema
    return unique
  }

  /** A `$ref` to the whole catalog schema `root` (a request schema), moved into components once. */
  ref(root: Schema): Schema {
    return { $ref: `#/components/schemas/${this.nameOf(root, root)}` }
  }

  /** A copy of `node` (part of the catalog schema `root`) fit for the document. */
  convert(node: unknown, root: Schema): unknown {
    if (Array.isArray(node)) return node.map((item) => this.convert(item, root))
    if (!isObject(node)) return node
    const out: Schema = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === '$schema' || key === '$id' || key === '$defs' || key === 'definitions') continue
      if (key === '$ref' && typeof value === 'string') out.$ref = this.rewrite(value, root)
      else out[key] = this.convert(value, root)
    }
    return out
  }

  private nameOf(target: object, root: Schema, pointer: readonly string[] = []): string {
    const known = this.names.get(target)
    if (known !== undefined) return known
    const base = this.rootNames.get(root) ?? componentName(String(root.title ?? 'schema'))
    const tail = pointer.filter((p) => p !== '$defs' && p !== 'definitions')
    const name = this.add([base, ...tail].join('.'), {}, target)
    this.schemas[name] = this.convert(target, root) as Schema
    return name
  }

  /** `#`, `#/$defs/x`, `urn:…#/…`: into components; a reference it cannot resolve is kept as written. */
  private rewrite(ref: string, root: Schema): string {
    const hash = ref.indexOf('#')
    const base = hash < 0 ? ref : ref.slice(0, hash)
    const fragment = hash < 0 ? '' : ref.slice(hash + 1)
    const doc = base === '' ? root : this.byId.get(base)
    if (doc === undefined || (fragment !== '' && !fragment.startsWith('/'))) return ref
    const pointer = fragment
      .split('/')
      .slice(1)
      .map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'))
    let target: unknown = doc
    for (const segment of pointer) {
      target = isObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[segment] : undefined
    }
    if (!isObject(target)) return ref
    return `#/components/schemas/${this.nameOf(target, doc, pointer)}`
  }
}

/** A value of the rule's kind, masked by the rule itself: shows the form exactly as the gateway releases it. */
const MASK_SAMPLES: Readonly<Record<MaskRule['rule'], string>> = {
  idcard: '110101199001011234',
  phone: '13812345678',
  landline: '02584123456',
  name: '张三丰',
  address: '江苏省南京市玄武区北京东路41号',
  bankcard: '6222021234567890123',
  email: 'zhangsan@example.com',
  keep: 'ABCDEFGH',
  redact: 'ABCDEFGH',
}

export function maskForm(rule: MaskRule): string {
  return compileMask(rule)(MASK_SAMPLES[rule.rule])
}

function allowsNull(schema: unknown): boolean {
  if (!isObject(schema)) return false
  const type = schema.type
  return type === 'null' || (Array.isArray(type) && type.includes('null'))
}

/** A masked field: a string of the mask's form (or null); format, pattern, enum and bounds no longer apply. */
export function maskedSchema(field: Field, source: unknown, texts: Texts): Schema {
  const rule = field.mask as MaskRule
  return {
    type: allowsNull(source) ? ['string', 'null'] : 'string',
    description: `${fieldLabel(field, texts)} ${texts.masked(texts.maskRule[rule.rule], maskForm(rule))}`,
    'x-qiao-sensitivity': field.sensitivity,
    'x-qiao-masked': true,
    'x-qiao-mask': rule.rule,
  }
}

function fieldLabel(field: Field, texts: Texts): string {
  const own = field.description === undefined ? '' : ` ${field.description}`
  return `${field.name}（${texts.sensitivity[field.sensitivity]}）${own}`
}

/** A field released in clear, annotated with its catalog name and sensitivity. */
function clearSchema(field: Field, source: unknown, root: Schema, components: SchemaComponents, texts: Texts): Schema {
  const converted = (isObject(source) ? components.convert(source, root) : {}) as Schema
  const own = typeof converted.description === 'string' ? ` ${converted.description}` : ''
  return {
    ...converted,
    description: `${fieldLabel(field, texts)}${own}`,
    'x-qiao-sensitivity': field.sensitivity,
  }
}

/**
 * Record-level keywords that look at the record's members, in the groups that only mean something together: a
 * group is kept when every member it names is released in clear.
 */
const CONDITIONAL_GROUPS = [
  ['if', 'then', 'else'],
  ['allOf'],
  ['anyOf'],
  ['oneOf'],
  ['not'],
  ['dependentRequired'],
  ['dependentSchemas'],
]

/** Property names a subschema mentions (properties, required, dependent*), at any depth. */
function mentionedMembers(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) mentionedMembers(item, into)
  else if (isObject(node)) {
    if (isObject(node.properties)) for (const key of Object.keys(node.properties)) into.add(key)
    if (Array.isArray(node.required)) for (const key of node.required) into.add(String(key))
    for (const k of ['dependentRequired', 'dependentSchemas']) {
      if (isObject(node[k])) for (const key of Object.keys(node[k])) into.add(key)
    }
    for (const value of Object.values(node)) if (typeof value === 'object') mentionedMembers(value, into)
  }
  return into
}

/** What one grant releases; absent for the public view (every field, each possibly masked). */
export interface Release {
  readonly clear: ReadonlySet<string>
  readonly masked: ReadonlySet<string>
}

/**
 * The record schema as a caller receives records: only released fields (catalog order, what the projector
 * copies), masked ones as masked strings, `required` kept for released fields (a masked required field is still
 * there), no other member (`additionalProperties: false`, as the projector leaves everything else behind).
 * Record-level conditions stay only when every member they name is released in clear; a dropped one makes the
 * schema looser, never wrong. The public view knows no grant: every field may be absent, and a field with a mask
 * rule may come in clear or masked.
 */
export function recordSchema(
  fields: readonly Field[],
  root: Schema,
  release: Release | undefined,
  components: SchemaComponents,
  texts: Texts,
): Schema {
  const declared = isObject(root.properties) ? root.properties : {}
  const properties: Schema = {}
  for (const field of fields) {
    const source = declared[field.key]
    if (release === undefined) {
      const clear = clearSchema(field, source, root, components, texts)
      properties[field.key] =
        field.mask === undefined
          ? clear
          : {
              anyOf: [clear, maskedSchema(field, source, texts)],
              description: `${fieldLabel(field, texts)} ${texts.maybeMasked(texts.maskRule[field.mask.rule], maskForm(field.mask))}`,
              'x-qiao-sensitivity': field.sensitivity,
              'x-qiao-mask': field.mask.rule,
            }
    } else if (release.masked.has(field.key) && field.mask !== undefined) {
      properties[field.key] = maskedSchema(field, source, texts)
    } else if (release.clear.has(field.key)) {
      properties[field.key] = clearSchema(field, source, root, components, texts)
    }
  }
  const out: Schema = { type: 'object' }
  if (typeof root.title === 'string') out.title = root.title
  out.description = release === undefined ? texts.publicRecord : String(root.description ?? root.title ?? '')
  out.properties = properties
  if (release !== undefined && Array.isArray(root.required)) {
    const required = root.required.filter((key) => Object.hasOwn(properties, String(key)))
    if (required.length > 0) out.required = required
  }
  if (release !== undefined) {
    for (const group of CONDITIONAL_GROUPS) {
      const present = group.filter((keyword) => root[keyword] !== undefined)
      const members = mentionedMembers(
        present.map((keyword) => root[keyword]),
        new Set(),
      )
      if (present.length === 0 || ![...members].every((m) => release.clear.has(m))) continue
      for (const keyword of present) out[keyword] = components.convert(root[keyword], root)
    }
    if (typeof root.maxProperties === 'number') out.maxProperties = root.maxProperties
  }
  out.additionalProperties = false
  return out
}
