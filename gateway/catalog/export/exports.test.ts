import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../../connectors/registry.js'
import { catalogExport, catalogExportRoutes, noneMatch } from '../../routes/catalog-exports.js'
import { loadCatalog } from '../load.js'
import type { CatalogSnapshot } from '../snapshot.js'
import type { Catalog } from '../types.js'

let catalog: Catalog

beforeAll(async () => {
  const loaded = await loadCatalog(fileURLToPath(new URL('../../../catalog.yaml', import.meta.url)), {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
})

/** What the routes read of a snapshot: only its file catalog. */
function routesOver(current: () => Catalog) {
  return catalogExportRoutes({ snapshot: () => ({ fileCatalog: current() }) as CatalogSnapshot })
}

describe('catalog exports, cached per file catalog', () => {
  it('builds each document once per catalog and a new one for a new catalog', () => {
    const first = catalogExport(catalog, 'jsonld')
    expect(catalogExport(catalog, 'jsonld')).toBe(first)
    expect(catalogExport(catalog, 'csv')).not.toBe(first)
    // A reload brings a new catalog object: new documents, even for the same content.
    const reloaded = { ...catalog }
    const again = catalogExport(reloaded, 'jsonld')
    expect(again).not.toBe(first)
    expect(again.etag).toBe(first.etag)
  })

  it('tags each document with the SHA-256 of its bytes', () => {
    for (const kind of ['jsonld', 'json', 'csv'] as const) {
      const doc = catalogExport(catalog, kind)
      expect(doc.etag).toBe(`"${createHash('sha256').update(doc.body).digest('base64url')}"`)
    }
    const changed = { ...catalog, version: '2026.12-demo.1' }
    expect(catalogExport(changed, 'json').etag).not.toBe(catalogExport(catalog, 'json').etag)
  })

  it('matches If-None-Match as RFC 9110 says: a list, weak tags, or *', () => {
    const etag = '"abc"'
    expect(noneMatch(undefined, etag)).toBe(false)
    expect(noneMatch('"abc"', etag)).toBe(true)
    expect(noneMatch('"x", W/"abc"', etag)).toBe(true)
    expect(noneMatch(' * ', etag)).toBe(true)
    expect(noneMatch('"abcd"', etag)).toBe(false)
  })

  it('serves the three documents without a token, with their types, and 304 for a current ETag', async () => {
    let current = catalog
    const app = routesOver(() => current)
    const types = {
      '/catalog.jsonld': 'application/ld+json',
      '/catalog/metadata.json': 'application/json',
      '/catalog/metadata.csv': 'text/csv; charset=utf-8',
    }
    for (const [path, type] of Object.entries(types)) {
      const res = await app.request(path)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe(type)
      expect(res.headers.get('cache-control')).toBe('public, max-age=300')
      const etag = res.headers.get('etag') as string
      const revalidated = await app.request(path, { headers: { 'if-none-match': etag } })
      expect(revalidated.status).toBe(304)
      expect(await revalidated.text()).toBe('')
      expect(revalidated.headers.get('etag')).toBe(etag)
    }
    const csv = await app.request('/catalog/metadata.csv')
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="catalog-metadata.csv"')
    expect(new Uint8Array(await csv.arrayBuffer()).subarray(0, 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf]))

    // After a reload the old ETag no longer matches.
    const before = (await app.request('/catalog/metadata.json')).headers.get('etag') as string
    current = { ...catalog, version: '2026.12-demo.1' }
    const after = await app.request('/catalog/metadata.json', { headers: { 'if-none-match': before } })
    expect(after.status).toBe(200)
    expect(((await after.json()) as { meta: { catalogVersion: string } }).meta.catalogVersion).toBe('2026.12-demo.1')
  })
})
