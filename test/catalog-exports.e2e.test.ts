import jsonld from 'jsonld'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NATIONAL_COLUMNS } from '../gateway/catalog/export/national.js'
import type { Catalog } from '../gateway/catalog/types.js'
import { parseCsv } from './support/csv.js'
import { type Harness, startHarness } from './support/gateway.js'

/**
 * The published catalog metadata on a real gateway, read as its consumers read it: a data portal expands the
 * JSON-LD (with no network: the context is inline) and follows a distribution to its endpoint; a spreadsheet opens
 * the CSV (BOM, RFC 4180); the JSON carries the same rows. No token anywhere: the metadata is public.
 */

const DCAT = 'http://www.w3.org/ns/dcat#'

let h: Harness
let catalog: Catalog

beforeAll(async () => {
  h = await startHarness()
  catalog = h.gateway.deps.snapshot().fileCatalog
})
afterAll(async () => {
  await h?.close()
})

async function fetchRaw(path: string, headers: Record<string, string> = {}) {
  const res = await request(`${h.gateway.url}${path}`, { headers })
  const bytes = new Uint8Array(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers as Record<string, string>, bytes }
}

type Expanded = Record<string, unknown> & { '@id'?: string; '@type'?: string[] }
type Column = (typeof NATIONAL_COLUMNS)[number]

/** Refuses every fetch: expanding must need none. */
const documentLoader = async (url: string): Promise<never> => {
  throw new Error(`the document tried to fetch ${url}`)
}

describe('GET /v1/catalog.jsonld', () => {
  it('expands without fetching anything, one dcat:Dataset per catalog resource', async () => {
    const res = await h.get('/v1/catalog.jsonld')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/ld+json')
    const base = `${h.gateway.url}/v1/catalog.jsonld`
    const expanded = (await jsonld.expand(res.json as jsonld.JsonLdDocument, { base, documentLoader })) as Expanded[]
    const graph = (await jsonld.flatten(expanded as jsonld.JsonLdDocument, undefined, {
      documentLoader,
    })) as unknown as Expanded[]
    const datasets = graph.filter((n) => n['@type']?.includes(`${DCAT}Dataset`))
    expect(datasets).toHaveLength(catalog.resources.size)
    expect(datasets.map((d) => d['@id']).sort()).toEqual(
      [...catalog.resources.keys()].map((id) => `${base}#${id}`).sort(),
    )
  })

  it('leads to an endpoint that answers: the permits’ distribution is the query route', async () => {
    const res = await h.get('/v1/catalog.jsonld')
    const base = `${h.gateway.url}/v1/catalog.jsonld`
    const graph = (await jsonld.flatten(res.json as jsonld.JsonLdDocument, undefined, {
      base,
      documentLoader,
    })) as unknown as Expanded[]
    const node = (id: string) => graph.find((n) => n['@id'] === id)
    const first = (n: Expanded | undefined, p: string) => (n?.[p] as { '@id': string }[] | undefined)?.[0]?.['@id']
    const distribution = node(first(node(`${base}#housing.construction-permit`), `${DCAT}distribution`) as string)
    const endpoint = first(node(first(distribution, `${DCAT}accessService`) as string), `${DCAT}endpointURL`)
    expect(endpoint).toBe(`${h.gateway.url}/v1/resources/housing.construction-permit/query`)

    const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
    const token = await h.token({ dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' })
    const answer = await h.query(
      'housing.construction-permit',
      { projectCode },
      { token, matter: 'QT00301001', caseId: 'NJ-2026-000777', path: new URL(endpoint as string).pathname },
    )
    expect(answer.status).toBe(200)
  })
})

describe('GET /v1/catalog/metadata.csv and .json', () => {
  it('serves a CSV Excel opens as UTF-8, one row per resource with every column, Chinese intact', async () => {
    const res = await fetchRaw('/v1/catalog/metadata.csv')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect([...res.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(res.bytes)
    const [header, ...rows] = parseCsv(text.slice(1))
    expect(header).toEqual([...NATIONAL_COLUMNS])
    expect(rows).toHaveLength(catalog.resources.size)
    const column = (name: Column) => NATIONAL_COLUMNS.indexOf(name)
    // The elements every resource has, whatever its sharing type.
    const always: readonly Column[] = [
      '信息资源名称',
      '信息资源代码',
      '信息资源提供方',
      '信息资源提供方代码',
      '信息资源摘要',
      '信息项信息',
      '共享类型',
      '开放属性',
      '更新周期',
    ]
    for (const row of rows) {
      expect(row).toHaveLength(NATIONAL_COLUMNS.length)
      for (const name of always) expect(row[column(name)]).not.toBe('')
    }
    const permits = rows.find((r) => r[column('信息资源代码')] === '3/05/001/000001/00012')
    expect(permits?.[column('信息资源名称')]).toBe('建筑工程施工许可信息')
    expect(permits?.[column('信息资源提供方')]).toBe('南京市住房和城乡建设局')
    expect(permits?.[column('共享类型')]).toBe('有条件共享')
    expect(permits?.[column('信息项信息')]).toContain('负责人身份证件号码')
  })

  it('serves the same rows as JSON', async () => {
    const json = await h.get('/v1/catalog/metadata.json')
    expect(json.status).toBe(200)
    expect(json.headers['content-type']).toBe('application/json')
    const csv = await fetchRaw('/v1/catalog/metadata.csv')
    const [, ...rows] = parseCsv(new TextDecoder('utf-8', { ignoreBOM: true }).decode(csv.bytes).slice(1))
    const data = json.json.data as Record<string, string>[]
    expect(data.map((row) => NATIONAL_COLUMNS.map((c) => row[c]))).toEqual(rows)
    expect(json.json.meta).toMatchObject({ count: catalog.resources.size, catalogVersion: catalog.version })
  })

  it('answers 304 to a current ETag, for each document', async () => {
    for (const path of ['/v1/catalog.jsonld', '/v1/catalog/metadata.json', '/v1/catalog/metadata.csv']) {
      const first = await fetchRaw(path)
      expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/)
      const again = await fetchRaw(path, { 'if-none-match': first.headers.etag as string })
      expect(again.status).toBe(304)
      expect(again.bytes).toHaveLength(0)
    }
  })
})
