import type { Action, Catalog, Department, Grant, Resource } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { ResourceExample } from '../examples.js'
import {
  envelopeSchemas,
  exchangeOperation,
  exchangePath,
  MATTER_PATTERN,
  type OperationContext,
} from './operations.js'
import { problemExamples, problemSchema } from './problems.js'
import { CATALOG_TAG, EVIDENCE_TAG, evidenceRoutes, otherRoutes, PROBLEMS_TAG, SHARING_TAG } from './routes.js'
import { maskForm, type Schema, SchemaComponents } from './schemas.js'
import { SUBSCRIPTIONS_TAG } from './subscription-routes.js'
import { type Lang, TEXTS, type Texts } from './texts.js'

/**
 * The OpenAPI 3.1 description of the exchange, per caller: the public view (every shareable resource, nothing
 * about grants) or one department's (the operations its grants allow, each answer cut to the fields granted).
 *
 * It reads the catalog only, not a whole CatalogSnapshot: `qiao openapi` describes a catalog file without starting
 * its connectors (building a snapshot creates each connector's pool and client), and a snapshot is a `{ catalog }`
 * too, so the gateway passes its current snapshot and the cache follows it.
 */
export interface OpenApiSource {
  /** The catalog with the live grants merged in (CatalogSnapshot.catalog). */
  readonly catalog: Catalog
}

export type OpenApiView =
  | 'public'
  | {
      readonly dept: string
      /**
       * Not read: the document is the department's, shared (and cached) by all its officers; the scope each
       * operation needs is in its `security`, and GET /v1/catalog says which of them a token carries.
       */
      readonly scopes?: ReadonlySet<string>
    }

export interface OpenApiOptions {
  /** The gateway's origin as the caller reached it; default `/` (relative to where the document is served). */
  readonly serverUrl?: string
  /** Sample parameters per resource (demo mode); each becomes a named request example. */
  readonly examples?: ReadonlyMap<string, readonly ResourceExample[]>
  readonly lang: Lang
  /** Grants are in force or not at this instant (epoch ms); default now. */
  readonly now?: number
}

export type OpenApiDocument = Readonly<Record<string, unknown>> & {
  readonly openapi: '3.1.0'
  readonly paths: Readonly<Record<string, Readonly<Record<string, Schema>>>>
  readonly tags: readonly Schema[]
  readonly components: Readonly<Record<string, Record<string, Schema>>>
}

export const APPLY_TAG = '可申请 / Can apply for'
export const NOT_SHARED_TAG = '不予共享 / Not shared'

const NO_EXAMPLES: ReadonlyMap<string, readonly ResourceExample[]> = new Map()
/** Distinct (view, language, origin) documents kept per catalog: the origin comes from the request's Host. */
const MAX_PER_SOURCE = 64

interface Cached {
  readonly document: OpenApiDocument
  /**
   * The instants around `now` at which a grant of the view starts or ends: the document holds in [since, until)
   * and is rebuilt outside it.
   */
  readonly since: number
  readonly until: number
}

const cache = new WeakMap<object, WeakMap<object, Map<string, Cached>>>()

/**
 * One document per (source, examples, view, language, origin), built on first use and frozen; a catalog reload or
 * a live-grant change brings a new snapshot, so a new document. A department's document also changes when one of
 * its grants starts or ends: it is kept only until then.
 */
export function buildOpenApi(source: OpenApiSource, view: OpenApiView, options: OpenApiOptions): OpenApiDocument {
  const now = options.now ?? Date.now()
  const examples = options.examples ?? NO_EXAMPLES
  let byExamples = cache.get(source)
  if (byExamples === undefined) {
    byExamples = new WeakMap()
    cache.set(source, byExamples)
  }
  let entries = byExamples.get(examples)
  if (entries === undefined) {
    entries = new Map()
    byExamples.set(examples, entries)
  }
  const key = `${view === 'public' ? 'public' : `dept:${view.dept}`}\u0000${options.lang}\u0000${options.serverUrl ?? ''}`
  const hit = entries.get(key)
  if (hit !== undefined && hit.since <= now && now < hit.until) return hit.document
  const built = build(source.catalog, view === 'public' ? undefined : view.dept, { ...options, examples }, now)
  entries.delete(key)
  if (entries.size >= MAX_PER_SOURCE) entries.delete(entries.keys().next().value as string)
  entries.set(key, built)
  return built.document
}

type GrantState = 'active' | 'not-yet-valid' | 'expired'

function stateOf(grant: Grant, now: number): GrantState {
  if (grant.validFromMs !== undefined && now < grant.validFromMs) return 'not-yet-valid'
  if (grant.validUntilMs !== undefined && now >= grant.validUntilMs) return 'expired'
  return 'active'
}

/** A department's grants by resource and action (catalog order), revoked ones left out: they never come back. */
function grantsOf(catalog: Catalog, dept: string): Map<string, Grant[]> {
  const by = new Map<string, Grant[]>()
  for (const grant of catalog.grants.values()) {
    if (grant.consumer !== dept || grant.revoked !== undefined) continue
    const key = `${grant.resource}\u0000${grant.action}`
    by.set(key, [...(by.get(key) ?? []), grant])
  }
  return by
}

function fieldTable(resource: Resource, texts: Texts, shown?: { keys: Set<string>; masked: Set<string> }): string {
  const rows = resource.fields
    .filter((f) => shown === undefined || shown.keys.has(f.key))
    .map((f) => {
      const mask = f.mask === undefined ? '' : `${f.mask.rule} \`${maskForm(f.mask)}\``
      const masked = shown === undefined || shown.masked.has(f.key) ? mask : ''
      return `| \`${f.key}\` | ${f.name} | ${texts.sensitivity[f.sensitivity]} | ${masked || '—'} |`
    })
  const [a, b, c, d] = texts.fieldTable
  return [`| ${a} | ${b} | ${c} | ${d} |`, '|---|---|---|---|', ...rows].join('\n')
}

function build(
  catalog: Catalog,
  dept: string | undefined,
  options: OpenApiOptions & { examples: ReadonlyMap<string, readonly ResourceExample[]> },
  now: number,
): Cached {
  const texts = TEXTS[options.lang]
  let department: Department | undefined
  if (dept !== undefined) {
    department = catalog.departments.get(dept)
    if (department === undefined) {
      throw new GatewayError('department-unknown', { detail: 'the token department is not in the catalog' })
    }
  }
  const components = new SchemaComponents(catalog)
  const ctx: OperationContext = {
    components,
    texts,
    examples: options.examples,
    matterName: (code) => catalog.matters.get(code)?.name ?? code,
  }
  const providerName = (code: string) => catalog.departments.get(code)?.name ?? code
  const grants = department === undefined ? undefined : grantsOf(catalog, department.code)
  let since = Number.NEGATIVE_INFINITY
  let until = Number.POSITIVE_INFINITY
  const paths: Record<string, Record<string, Schema>> = {}
  const tags: Schema[] = []
  const apply: Schema[] = []
  const applyLines: string[] = []
  const notShared: Schema[] = []
  const notSharedLines: string[] = []
  for (const resource of catalog.resources.values()) {
    if (resource.sharing.type === 'none') {
      const reason = resource.sharing.legalBasis ?? texts.sharing.none
      notShared.push({ resource: resource.id, name: resource.name, provider: resource.provider, reason })
      notSharedLines.push(`- ${texts.notSharedEntry(resource.id, resource.name, reason)}`)
      continue
    }
    const shown = { keys: new Set<string>(), masked: new Set<string>() }
    let callable = false
    for (const action of ['read', 'write'] as const satisfies readonly Action[]) {
      if ((action === 'read' ? resource.read : resource.write) === undefined) continue
      const held = grants?.get(`${resource.id}\u0000${action}`) ?? []
      for (const grant of held) {
        for (const edge of [grant.validFromMs, grant.validUntilMs]) {
          if (edge === undefined) continue
          if (edge > now) until = Math.min(until, edge)
          else since = Math.max(since, edge)
        }
      }
      const active = held.filter((g) => stateOf(g, now) === 'active')
      if (grants !== undefined && active.length === 0) {
        if (resource.provider === department?.code) continue
        const mode = action === 'read' ? 'query' : 'write-back'
        const notes = held.map((g) =>
          stateOf(g, now) === 'expired'
            ? texts.grantEnded(g.matter, g.approval?.validTo ?? '')
            : texts.grantStarts(g.matter, g.approval?.validFrom ?? ''),
        )
        const sharing = texts.sharing[resource.sharing.type]
        const line = texts.applyEntry(resource.id, resource.name, providerName(resource.provider), sharing, mode)
        applyLines.push(`- ${line}${notes.length > 0 ? `: ${notes.join('; ')}` : ''}`)
        apply.push({
          resource: resource.id,
          name: resource.name,
          provider: resource.provider,
          sharing: resource.sharing.type,
          ...(resource.sharing.condition === undefined ? {} : { condition: resource.sharing.condition }),
          mode,
          fields: action === 'read' ? resource.fields.map((f) => f.key) : [],
          maskable: action === 'read' ? resource.fields.filter((f) => f.mask !== undefined).map((f) => f.key) : [],
          ...(held.length === 0
            ? {}
            : { grants: held.map((g) => ({ matter: g.matter, state: stateOf(g, now), ...g.approval })) }),
        })
        continue
      }
      callable = true
      for (const grant of active) {
        for (const key of [...grant.fields, ...grant.masked]) shown.keys.add(key)
        for (const key of grant.masked) shown.masked.add(key)
      }
      const path = exchangePath(resource, action)
      paths[path] = { post: exchangeOperation(resource, action, grants === undefined ? undefined : active, ctx) }
    }
    if (!callable) continue
    const sharing = texts.sharing[resource.sharing.type]
    const about = texts.resourceTag(
      resource.summary,
      providerName(resource.provider),
      sharing,
      texts.cycle[resource.updateCycle],
    )
    tags.push({
      name: resource.id,
      description: `**${resource.name}**\n\n${about}\n\n${fieldTable(resource, texts, grants === undefined ? undefined : shown)}`,
    })
  }
  if (grants !== undefined) {
    tags.push({
      name: APPLY_TAG,
      description: [texts.applyTag, '', ...(applyLines.length > 0 ? applyLines : [texts.noApply])].join('\n'),
      'x-qiao-apply': {
        method: 'post',
        path: '/v1/applications',
        operationId: 'createApplication',
        scope: 'sharing:apply',
        resources: apply,
      },
    })
  }
  tags.push({
    name: NOT_SHARED_TAG,
    description: [texts.notSharedTag, '', ...(notSharedLines.length > 0 ? notSharedLines : [texts.noneNotShared])].join(
      '\n',
    ),
    'x-qiao-not-shared': notShared,
  })
  tags.push(
    { name: CATALOG_TAG, description: texts.routes.catalogTag },
    { name: SHARING_TAG, description: texts.routes.sharingTag },
    { name: SUBSCRIPTIONS_TAG, description: texts.routes.subscriptionsTag },
    { name: PROBLEMS_TAG, description: texts.routes.problemsTag },
    { name: EVIDENCE_TAG, description: texts.routes.evidenceTag },
  )
  // Evidence bundles name matters, so only a department's view shows them: those where it may read an item now.
  if (grants !== undefined) {
    const mayRead = (matter: string, resource: string) =>
      (grants.get(`${resource}\u0000read`) ?? []).some((g) => g.matter === matter && stateOf(g, now) === 'active')
    Object.assign(paths, evidenceRoutes(catalog, texts, mayRead))
  }
  Object.assign(paths, otherRoutes(texts, components))
  const intro = department === undefined ? texts.publicIntro : texts.departmentIntro(department.name)
  const document = {
    openapi: '3.1.0' as const,
    info: {
      title: department === undefined ? texts.publicTitle : texts.departmentTitle(department.name, department.code),
      version: catalog.version,
      description: [intro, texts.common, texts.catalogVersion(catalog.version)].join('\n\n'),
      'x-qiao-view': department === undefined ? 'public' : department.code,
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags,
    paths,
    components: {
      schemas: { ...envelopeSchemas(), Problem: problemSchema(), ...components.schemas },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'scope: `<matter>:<resource>:<read|write>`, `sharing:apply` …',
        },
      },
      parameters: sharedParameters(texts),
      headers: {
        'Qiao-Audit-Id': { description: texts.auditIdHeader, schema: { type: 'string' } },
        'Idempotent-Replayed': { description: texts.replayedHeader, schema: { type: 'string', enum: ['true'] } },
      },
      examples: problemExamples(),
    },
  }
  return { document: deepFreeze(document), since, until }
}

function sharedParameters(texts: Texts): Record<string, Schema> {
  return {
    'Qiao-Matter': {
      name: 'Qiao-Matter',
      in: 'header',
      required: true,
      description: texts.publicMatterHeader,
      schema: { type: 'string', pattern: MATTER_PATTERN },
    },
    'Qiao-Case': {
      name: 'Qiao-Case',
      in: 'header',
      required: true,
      description: texts.caseHeader,
      schema: { type: 'string', minLength: 1, pattern: '^[\\x21-\\x7e]+$' },
    },
    'Idempotency-Key': {
      name: 'Idempotency-Key',
      in: 'header',
      required: true,
      description: texts.idempotencyHeader,
      schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' },
    },
  }
}

/** The document is shared by every caller of its view: nobody may change it under another. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
