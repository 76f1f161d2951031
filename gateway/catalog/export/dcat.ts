import type { Catalog, Department, Field, Resource, SharingType, UpdateCycle } from '../types.js'
import { classificationPath, SHARING_TYPE_NAMES } from './national.js'

/**
 * The catalog as DCAT-AP 3.0 JSON-LD (`GET /v1/catalog.jsonld`): one `dcat:Catalog`, one `dcat:Dataset` per resource,
 * and for every resource with a read binding a `dcat:Distribution` served by a `dcat:DataService` (the query
 * endpoint). This is the metadata the catalog publishes anyway; grants (who may read what for which matter) are not in
 * it.
 *
 * The `@context` is inline: a remote context would make every consumer (and our tests) fetch it from the internet.
 * IRIs are relative references (`#…`, `resources/<id>/query`, `openapi.json`), resolved against the document's own URL
 * as JSON-LD prescribes: the gateway does not know the name it is reached by, and the Host header is the caller's to
 * choose, so it is never echoed into a document that is built once and cached.
 *
 * DCAT has no list of a dataset's fields. The 信息项 go into a Qiao extension term, `qiao:informationItems` (an
 * ordered `@list` of `qiao:InformationItem`, with its own entry in the context), not into `dct:description`: a
 * consumer can read them as data, and the description stays the 摘要. The sharing type, condition, legal basis and
 * mode, which DCAT-AP has no terms for, are Qiao terms too.
 */

const EU = 'http://publications.europa.eu/resource/authority/'

export const DCAT_CONTEXT = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  dcatap: 'http://data.europa.eu/r5r/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  adms: 'http://www.w3.org/ns/adms#',
  skos: 'http://www.w3.org/2004/02/skos/core#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  qiao: 'urn:qiao:vocab:',
  'qiao:informationItems': { '@container': '@list' },
} as const

/** EU frequency vocabulary (the one DCAT-AP prescribes for dct:accrualPeriodicity). */
export const ACCRUAL_PERIODICITY: Readonly<Record<UpdateCycle, string>> = {
  realtime: `${EU}frequency/CONT`,
  daily: `${EU}frequency/DAILY`,
  weekly: `${EU}frequency/WEEKLY`,
  monthly: `${EU}frequency/MONTHLY`,
  quarterly: `${EU}frequency/QUARTERLY`,
  'half-yearly': `${EU}frequency/ANNUAL_2`,
  yearly: `${EU}frequency/ANNUAL`,
  irregular: `${EU}frequency/IRREG`,
}

/**
 * EU access-right vocabulary. Government data sharing (政务数据共享) is sharing between government departments, not
 * open data: 开放属性 is a separate attribute, and this catalog opens nothing to the public (the national export says
 * 不予开放). So nothing here is PUBLIC ("publicly accessible by everyone").
 * - 无条件共享: every government department may use it, but only through the platform, with a registration grant
 *   and a token — "available under certain conditions" for a restricted group: RESTRICTED.
 * - 有条件共享: only relevant departments, after the provider approved an application: RESTRICTED as well.
 * - 不予共享: not provided to other departments at all: NON_PUBLIC.
 * The two RESTRICTED kinds are told apart by `qiao:sharingType`, which carries the 指南's own value.
 */
export const ACCESS_RIGHTS: Readonly<Record<SharingType, string>> = {
  unconditional: `${EU}access-right/RESTRICTED`,
  conditional: `${EU}access-right/RESTRICTED`,
  none: `${EU}access-right/NON_PUBLIC`,
}

export const LANGUAGE_ZH = `${EU}language/ZHO`
const FILE_TYPE_JSON = `${EU}file-type/JSON`
const MEDIA_TYPE_JSON = 'http://www.iana.org/assignments/media-types/application/json'
/** The OpenAPI description of the exchange routes, relative to this document (`/v1/openapi.json`). */
const OPENAPI = 'openapi.json'

type Node = Record<string, unknown>

const zh = (text: string) => ({ '@value': text, '@language': 'zh' })
const ref = (iri: string) => ({ '@id': iri })

/** `2026.11-demo.2` → 2026-11 (xsd:gYearMonth); `2026-11-03…` → a date; labels without a leading date give none. */
export function versionDate(version: string): { '@value': string; '@type': string } | undefined {
  const m = /^(\d{4})[.-](\d{1,2})(?!\d)(?:[.-](\d{1,2})(?!\d))?/.exec(version)
  if (!m) return undefined
  const [, year, month, day] = m as unknown as [string, string, string, string | undefined]
  const mm = Number(month)
  if (mm < 1 || mm > 12) return undefined
  const ym = `${year}-${month.padStart(2, '0')}`
  if (day === undefined) return { '@value': ym, '@type': 'xsd:gYearMonth' }
  const date = `${ym}-${day.padStart(2, '0')}`
  // Date.parse accepts 2026-02-30; a round trip does not.
  const ms = Date.parse(`${date}T00:00:00Z`)
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date)
    return { '@value': ym, '@type': 'xsd:gYearMonth' }
  return { '@value': date, '@type': 'xsd:date' }
}

/**
 * The catalog's publisher: the 政务数据共享主管部门 that publishes the region's catalog (primer §1.2). The catalog
 * names no such role, so it is the one department that takes no part in exchange: it provides no resource, runs no
 * connector, owns no matter and consumes no grant (the demo's 南京市数据局). If there is not exactly one, the
 * publisher is left out rather than guessed.
 */
export function catalogAuthority(catalog: Catalog): Department | undefined {
  const active = new Set<string>()
  for (const r of catalog.resources.values()) active.add(r.provider)
  for (const c of catalog.connectors.values()) active.add(c.department)
  for (const m of catalog.matters.values()) {
    active.add(m.owner)
    for (const g of m.grants) active.add(g.consumer)
  }
  const idle = [...catalog.departments.values()].filter((d) => !active.has(d.code))
  return idle.length === 1 ? idle[0] : undefined
}

/** A department as a foaf:Agent; its 统一社会信用代码 is the adms:identifier (typed with the scheme, as DCAT-AP asks). */
function agent(department: Department): Node {
  return {
    '@id': `#department/${department.code}`,
    '@type': 'foaf:Agent',
    'foaf:name': zh(department.name),
    'adms:identifier': {
      '@type': 'adms:Identifier',
      'skos:notation': { '@value': department.uscc, '@type': 'qiao:USCC' },
    },
  }
}

const CLASSIFICATION_SCHEME = '#classification'

/** The deepest level of the 信息资源分类 as a skos:Concept, with its parents as skos:broader. */
function theme(path: readonly string[]): Node | undefined {
  let concept: Node | undefined
  for (let depth = 1; depth <= path.length; depth++) {
    const segments = path.slice(0, depth)
    concept = {
      '@id': `${CLASSIFICATION_SCHEME}/${segments.map(encodeURIComponent).join('/')}`,
      '@type': 'skos:Concept',
      'skos:prefLabel': zh(segments[depth - 1] as string),
      'skos:inScheme': ref(CLASSIFICATION_SCHEME),
      ...(concept === undefined ? {} : { 'skos:broader': concept }),
    }
  }
  return concept
}

function informationItem(field: Field): Node {
  return {
    '@type': 'qiao:InformationItem',
    'qiao:key': field.key,
    'dct:title': zh(field.name),
    'qiao:sensitivity': field.sensitivity,
    ...(field.mask === undefined ? {} : { 'qiao:mask': field.mask.rule }),
    ...(field.description === undefined ? {} : { 'dct:description': field.description }),
  }
}

/** The query endpoint of a readable resource: a Distribution whose access service is the endpoint. */
function distribution(resource: Resource, publisher: Node | undefined): Node {
  const endpoint = `resources/${resource.id}/query`
  const recordSchema = resource.read?.response.schema.$id
  return {
    '@id': `#${resource.id}/distribution`,
    '@type': 'dcat:Distribution',
    'dct:title': zh(`${resource.name}（联机查询）`),
    'dct:description': zh(
      'POST 查询参数（JSON），答复 { data, meta }；需持令牌、声明事项（Qiao-Matter）和案件（Qiao-Case）。',
    ),
    'dcat:accessURL': ref(endpoint),
    'dct:format': ref(FILE_TYPE_JSON),
    'dcat:mediaType': ref(MEDIA_TYPE_JSON),
    ...(typeof recordSchema === 'string' ? { 'dct:conformsTo': ref(recordSchema) } : {}),
    'dcat:accessService': {
      '@id': `#${resource.id}/service`,
      '@type': 'dcat:DataService',
      'dct:title': zh(`${resource.name}查询服务`),
      'dcat:endpointURL': ref(endpoint),
      'dcat:endpointDescription': ref(OPENAPI),
      'dct:conformsTo': ref(OPENAPI),
      'dcat:servesDataset': ref(`#${resource.id}`),
      'dct:accessRights': ref(ACCESS_RIGHTS[resource.sharing.type]),
      ...(publisher === undefined ? {} : { 'dct:publisher': publisher }),
    },
  }
}

function dataset(catalog: Catalog, resource: Resource): Node {
  const provider = catalog.departments.get(resource.provider)
  const publisher = provider && agent(provider)
  const path = classificationPath(resource)
  const concept = theme(path)
  const { type, condition, legalBasis, mode } = resource.sharing
  return {
    '@id': `#${resource.id}`,
    '@type': 'dcat:Dataset',
    'dct:identifier': resource.code,
    'qiao:resourceId': resource.id,
    'dct:title': zh(resource.name),
    'dct:description': zh(resource.summary),
    ...(publisher === undefined ? {} : { 'dct:publisher': publisher }),
    ...(concept === undefined ? {} : { 'dcat:theme': concept }),
    ...(path.length === 0 ? {} : { 'dcat:keyword': path.map(zh) }),
    'dct:accrualPeriodicity': ref(ACCRUAL_PERIODICITY[resource.updateCycle]),
    ...(resource.publishedAt === undefined
      ? {}
      : { 'dct:issued': { '@value': resource.publishedAt, '@type': 'xsd:date' } }),
    'dct:language': ref(LANGUAGE_ZH),
    'dct:accessRights': ref(ACCESS_RIGHTS[type]),
    'qiao:sharingType': zh(SHARING_TYPE_NAMES[type]),
    ...(condition === undefined ? {} : { 'qiao:sharingCondition': zh(condition) }),
    ...(legalBasis === undefined ? {} : { 'qiao:legalBasis': zh(legalBasis) }),
    ...(mode === undefined ? {} : { 'qiao:sharingMode': zh(mode) }),
    'qiao:informationItems': resource.fields.map(informationItem),
    ...(resource.read === undefined ? {} : { 'dcat:distribution': [distribution(resource, publisher)] }),
  }
}

/** The whole document. Pure: the route caches its serialisation per catalog (never built per request). */
export function dcatCatalog(catalog: Catalog): Node {
  const authority = catalogAuthority(catalog)
  const resources = [...catalog.resources.values()]
  // The document describes this revision of the catalog, so the version's date is when it was issued and modified.
  const date = versionDate(catalog.version)
  return {
    '@context': DCAT_CONTEXT,
    '@id': '#catalog',
    '@type': 'dcat:Catalog',
    'dct:title': zh(authority === undefined ? '政务信息资源目录' : `${authority.name}政务信息资源目录`),
    'dct:description': zh(
      `政务信息资源目录（目录版本 ${catalog.version}，${resources.length} 个信息资源）：编制指南核心元数据及联机查询接口。` +
        '共享授权不在其中：有条件共享须经提供部门审核同意。',
    ),
    ...(authority === undefined ? {} : { 'dct:publisher': agent(authority) }),
    ...(date === undefined ? {} : { 'dct:issued': date, 'dct:modified': date }),
    'dcat:version': catalog.version,
    'dct:language': ref(LANGUAGE_ZH),
    'dcat:themeTaxonomy': {
      '@id': CLASSIFICATION_SCHEME,
      '@type': 'skos:ConceptScheme',
      'dct:title': zh('政务信息资源分类'),
    },
    'dcat:dataset': resources.map((resource) => dataset(catalog, resource)),
    'dcat:service': resources.filter((r) => r.read !== undefined).map((r) => ref(`#${r.id}/service`)),
  }
}
