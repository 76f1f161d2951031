import { fileURLToPath } from 'node:url'
import jsonld from 'jsonld'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../../connectors/registry.js'
import { loadCatalog } from '../load.js'
import type { Catalog, Department, Resource, SharingType, UpdateCycle } from '../types.js'
import { ACCESS_RIGHTS, ACCRUAL_PERIODICITY, catalogAuthority, dcatCatalog, versionDate } from './dcat.js'

const BASE = 'https://gateway.example.invalid/v1/catalog.jsonld'
const DCAT = 'http://www.w3.org/ns/dcat#'
const DCT = 'http://purl.org/dc/terms/'
const QIAO = 'urn:qiao:vocab:'
const EU = 'http://publications.europa.eu/resource/authority/'

let catalog: Catalog

beforeAll(async () => {
  const loaded = await loadCatalog(fileURLToPath(new URL('../../../catalog.yaml', import.meta.url)), {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
})

type Expanded = Record<string, unknown> & { '@id'?: string; '@type'?: string[] }

/** Expanded and flattened, with a loader that refuses every fetch: the context must be inline. */
async function graphOf(doc: object): Promise<Expanded[]> {
  const documentLoader = async (url: string): Promise<never> => {
    throw new Error(`the document tried to fetch ${url}`)
  }
  await jsonld.expand(doc as jsonld.JsonLdDocument, { base: BASE, documentLoader })
  // No context: the flattened graph stays expanded (full IRIs), one node object per subject.
  const flat = await jsonld.flatten(doc as jsonld.JsonLdDocument, undefined, { base: BASE, documentLoader })
  return flat as unknown as Expanded[]
}

const ofType = (graph: Expanded[], type: string) => graph.filter((n) => n['@type']?.includes(type))
const nodeById = (graph: Expanded[], id: string) => graph.find((n) => n['@id'] === id)
const ids = (node: Expanded | undefined, property: string) =>
  ((node?.[property] ?? []) as { '@id': string }[]).map((v) => v['@id'])
const values = (node: Expanded | undefined, property: string) =>
  ((node?.[property] ?? []) as { '@value': unknown }[]).map((v) => v['@value'])

describe('the catalog as DCAT-AP JSON-LD', () => {
  it('expands without fetching anything and has one dcat:Dataset per resource', async () => {
    const graph = await graphOf(dcatCatalog(catalog))
    const datasets = ofType(graph, `${DCAT}Dataset`)
    expect(datasets).toHaveLength(catalog.resources.size)
    expect(datasets.map((d) => values(d, `${DCT}identifier`)[0]).sort()).toEqual(
      [...catalog.resources.values()].map((r) => r.code).sort(),
    )
    expect(ofType(graph, `${DCAT}Catalog`)).toHaveLength(1)
  })

  it('describes a dataset with its provider, frequency, access rights and 信息项', async () => {
    const graph = await graphOf(dcatCatalog(catalog))
    const permits = catalog.resources.get('housing.construction-permit') as Resource
    const dataset = nodeById(graph, `${BASE}#housing.construction-permit`)
    expect(values(dataset, `${DCT}title`)).toEqual(['建筑工程施工许可信息'])
    expect(values(dataset, `${DCT}description`)).toEqual([permits.summary])
    expect(values(dataset, `${DCT}issued`)).toEqual(['2025-01-01'])
    expect(ids(dataset, `${DCT}accrualPeriodicity`)).toEqual([`${EU}frequency/CONT`])
    expect(ids(dataset, `${DCT}accessRights`)).toEqual([`${EU}access-right/RESTRICTED`])
    expect(values(dataset, `${QIAO}sharingType`)).toEqual(['有条件共享'])
    expect(values(dataset, `${DCAT}keyword`).sort()).toEqual(['主题信息资源', '城乡建设'].sort())

    const publisher = nodeById(graph, ids(dataset, `${DCT}publisher`)[0] as string)
    expect(publisher?.['@type']).toEqual(['http://xmlns.com/foaf/0.1/Agent'])
    expect(values(publisher, 'http://xmlns.com/foaf/0.1/name')).toEqual(['南京市住房和城乡建设局'])
    const identifier = nodeById(graph, ids(publisher, 'http://www.w3.org/ns/adms#identifier')[0] as string)
    expect(values(identifier, 'http://www.w3.org/2004/02/skos/core#notation')).toEqual(['11320100002493021L'])

    // The 信息项 stay in catalog order: an RDF list.
    const lists = (dataset?.[`${QIAO}informationItems`] ?? []) as { '@list': { '@id': string }[] }[]
    const list = lists[0]?.['@list'] ?? []
    const names = list.map((item) => values(nodeById(graph, item['@id']), `${DCT}title`)[0])
    expect(names).toEqual(permits.fields.map((f) => f.name))
    const idNo = list
      .map((item) => nodeById(graph, item['@id']))
      .find((n) => values(n, `${QIAO}key`)[0] === 'ownerLeadIdNo')
    expect(values(idNo, `${QIAO}sensitivity`)).toEqual(['sensitive-personal'])
    expect(values(idNo, `${QIAO}mask`)).toEqual(['idcard'])
  })

  it('offers a readable resource through its query endpoint, described by the OpenAPI document', async () => {
    const graph = await graphOf(dcatCatalog(catalog))
    const dataset = nodeById(graph, `${BASE}#drc.investment-project`)
    const distribution = nodeById(graph, ids(dataset, `${DCAT}distribution`)[0] as string)
    const endpoint = 'https://gateway.example.invalid/v1/resources/drc.investment-project/query'
    expect(ids(distribution, `${DCAT}accessURL`)).toEqual([endpoint])
    expect(ids(distribution, `${DCT}conformsTo`)).toEqual(['urn:qiao:schema:drc.investment-project:record:v1'])
    const service = nodeById(graph, ids(distribution, `${DCAT}accessService`)[0] as string)
    expect(service?.['@type']).toEqual([`${DCAT}DataService`])
    expect(ids(service, `${DCAT}endpointURL`)).toEqual([endpoint])
    expect(ids(service, `${DCT}conformsTo`)).toEqual(['https://gateway.example.invalid/v1/openapi.json'])
    expect(ids(service, `${DCAT}servesDataset`)).toEqual([dataset?.['@id']])
  })

  it('gives write-only and 不予共享 resources no distribution', async () => {
    const graph = await graphOf(dcatCatalog(catalog))
    for (const id of ['drc.permit-feedback', 'housing.security-applicant']) {
      expect(ids(nodeById(graph, `${BASE}#${id}`), `${DCAT}distribution`)).toEqual([])
    }
    expect(ids(nodeById(graph, `${BASE}#housing.security-applicant`), `${DCT}accessRights`)).toEqual([
      `${EU}access-right/NON_PUBLIC`,
    ])
    const readable = [...catalog.resources.values()].filter((r) => r.read).length
    expect(ofType(graph, `${DCAT}DataService`)).toHaveLength(readable)
    expect(ids(nodeById(graph, `${BASE}#catalog`), `${DCAT}service`)).toHaveLength(readable)
  })

  it('maps every update cycle and sharing type onto the EU vocabularies', () => {
    expect(Object.keys(ACCRUAL_PERIODICITY) as UpdateCycle[]).toHaveLength(8)
    expect(Object.values(ACCRUAL_PERIODICITY).map((iri) => iri.slice(`${EU}frequency/`.length))).toEqual([
      'CONT',
      'DAILY',
      'WEEKLY',
      'MONTHLY',
      'QUARTERLY',
      'ANNUAL_2',
      'ANNUAL',
      'IRREG',
    ])
    const rights = (type: SharingType) => ACCESS_RIGHTS[type].slice(`${EU}access-right/`.length)
    // Sharing between departments is never open data: nothing is PUBLIC.
    expect([rights('unconditional'), rights('conditional'), rights('none')]).toEqual([
      'RESTRICTED',
      'RESTRICTED',
      'NON_PUBLIC',
    ])
  })

  it('is published by the data-sharing authority, dated by the catalog version', async () => {
    const graph = await graphOf(dcatCatalog(catalog))
    const root = nodeById(graph, `${BASE}#catalog`)
    const publisher = nodeById(graph, ids(root, `${DCT}publisher`)[0] as string)
    expect(values(publisher, 'http://xmlns.com/foaf/0.1/name')).toEqual(['南京市数据局'])
    expect(root?.[`${DCT}modified`]).toEqual([
      { '@value': '2026-11', '@type': 'http://www.w3.org/2001/XMLSchema#gYearMonth' },
    ])
    expect(values(root, `${DCAT}version`)).toEqual(['2026.11-demo.2'])
    expect(ids(root, `${DCT}language`)).toEqual([`${EU}language/ZHO`])
  })

  it('names no publisher rather than guess one when no single department stands apart', async () => {
    const extra: Department = { code: 'audit', name: '南京市审计局', uscc: '11320100002493080X' }
    const two = { ...catalog, departments: new Map([...catalog.departments, [extra.code, extra]]) }
    expect(catalogAuthority(catalog)?.code).toBe('data')
    expect(catalogAuthority(two)).toBeUndefined()
    const graph = await graphOf(dcatCatalog(two))
    expect(ids(nodeById(graph, `${BASE}#catalog`), `${DCT}publisher`)).toEqual([])
  })

  it('publishes no grant: no matter, consumer or approval reference appears', () => {
    const text = JSON.stringify(dcatCatalog(catalog))
    for (const matter of catalog.matters.values()) {
      expect(text).not.toContain(matter.code)
      for (const grant of matter.grants) if (grant.approval) expect(text).not.toContain(grant.approval.ref)
    }
  })

  it('dates the catalog from a version label that starts with a date, and only then', () => {
    expect(versionDate('2026.11-demo.2')).toEqual({ '@value': '2026-11', '@type': 'xsd:gYearMonth' })
    expect(versionDate('2026-03-05')).toEqual({ '@value': '2026-03-05', '@type': 'xsd:date' })
    expect(versionDate('2026.3.5-rc1')).toEqual({ '@value': '2026-03-05', '@type': 'xsd:date' })
    expect(versionDate('2026-02-30')).toEqual({ '@value': '2026-02', '@type': 'xsd:gYearMonth' })
    expect(versionDate('2026.13')).toBeUndefined()
    expect(versionDate('v1')).toBeUndefined()
  })
})
