import { createHash } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { dcatCatalog } from '../catalog/export/dcat.js'
import { nationalCsv, nationalJson, nationalRows } from '../catalog/export/national.js'
import type { Catalog } from '../catalog/types.js'
import type { GatewayDeps } from '../gateway-deps.js'

/**
 * The published catalog metadata, public (no token): DCAT-AP 3.0 JSON-LD for data portals and the national core
 * metadata (编制指南) as JSON and CSV for the sharing platform's catalog. It is what a catalog publishes anyway —
 * resources, providers, fields, sharing types — and never the grants, which say which department uses what for
 * which matter.
 *
 * Each document is serialised and digested once per file catalog (a WeakMap keyed by `snapshot.fileCatalog`): live
 * grant changes swap the snapshot but not the file catalog, and grants are not in these documents anyway; a reload
 * brings a new file catalog, hence new documents and new ETags. Requests only look the bytes up.
 */

export type CatalogExportKind = 'jsonld' | 'json' | 'csv'

export interface PublishedExport {
  readonly body: Uint8Array<ArrayBuffer>
  /** Strong ETag: the SHA-256 of the body. */
  readonly etag: string
  readonly contentType: string
}

const CONTENT_TYPES: Readonly<Record<CatalogExportKind, string>> = {
  jsonld: 'application/ld+json',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
}

/** The same as the public OpenAPI view: shared caches may keep it a few minutes, then revalidate with the ETag. */
const CACHE_CONTROL = 'public, max-age=300'

function render(catalog: Catalog, kind: CatalogExportKind): string {
  switch (kind) {
    case 'jsonld':
      return JSON.stringify(dcatCatalog(catalog))
    case 'json':
      return JSON.stringify(nationalJson(catalog))
    case 'csv':
      return nationalCsv(nationalRows(catalog))
  }
}

const published = new WeakMap<Catalog, Map<CatalogExportKind, PublishedExport>>()

/** The document of `kind` for this file catalog, built on first use and then kept as long as the catalog lives. */
export function catalogExport(catalog: Catalog, kind: CatalogExportKind): PublishedExport {
  let byKind = published.get(catalog)
  if (byKind === undefined) {
    byKind = new Map()
    published.set(catalog, byKind)
  }
  let doc = byKind.get(kind)
  if (doc === undefined) {
    const body = new TextEncoder().encode(render(catalog, kind))
    const etag = `"${createHash('sha256').update(body).digest('base64url')}"`
    doc = Object.freeze({ body, etag, contentType: CONTENT_TYPES[kind] })
    byKind.set(kind, doc)
  }
  return doc
}

/** If-None-Match (RFC 9110 §13.1.2): `*` or a list of entity tags, compared weakly. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

function serve(deps: Pick<GatewayDeps, 'snapshot'>, kind: CatalogExportKind, extra: Record<string, string> = {}) {
  return function catalogExportHandler(c: Context): Response {
    const doc = catalogExport(deps.snapshot().fileCatalog, kind)
    const headers = { etag: doc.etag, 'cache-control': CACHE_CONTROL }
    if (noneMatch(c.req.header('if-none-match'), doc.etag)) return c.body(null, 304, headers)
    return c.body(doc.body, 200, { ...headers, 'content-type': doc.contentType, ...extra })
  }
}

/** Mounted under /v1: `/catalog.jsonld`, `/catalog/metadata.json`, `/catalog/metadata.csv`. */
export function catalogExportRoutes(deps: Pick<GatewayDeps, 'snapshot'>): Hono {
  const app = new Hono()
  app.get('/catalog.jsonld', serve(deps, 'jsonld'))
  app.get('/catalog/metadata.json', serve(deps, 'json'))
  app.get(
    '/catalog/metadata.csv',
    serve(deps, 'csv', { 'content-disposition': 'attachment; filename="catalog-metadata.csv"' }),
  )
  return app
}
