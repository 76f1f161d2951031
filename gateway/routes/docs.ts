import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { type Context, Hono } from 'hono'
import { GatewayError } from '../errors/gateway-error.js'
import { DOCS_INIT_SCRIPT, docsPage } from './docs-page.js'

/**
 * The page allows this origin's scripts only: Swagger UI and init.js come from /docs/assets/, nothing inline and
 * nothing from a CDN. Inline styles stay allowed because Swagger UI sets them on its own elements.
 */
export const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'"

const ASSET_CACHE = 'public, max-age=86400, immutable'
const CSS = 'text/css; charset=utf-8'
const JS = 'text/javascript; charset=utf-8'

/** The files of swagger-ui-dist the page uses (the standalone preset is not: the page has its own top bar). */
const VENDOR_FILES: Readonly<Record<string, string>> = { 'swagger-ui.css': CSS, 'swagger-ui-bundle.js': JS }

interface Asset {
  readonly body: Uint8Array<ArrayBuffer>
  readonly gzipped: Uint8Array<ArrayBuffer>
  readonly etag: string
  readonly gzipEtag: string
  readonly headers: Readonly<Record<string, string>>
}

interface DocsAssets {
  readonly page: Asset
  readonly files: ReadonlyMap<string, Asset>
}

const gzipAsync = promisify(gzip)

async function asset(body: Uint8Array, headers: Record<string, string>): Promise<Asset> {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27)
  return {
    // Copies into plain ArrayBuffers (what a response body takes), once.
    body: new Uint8Array(body),
    gzipped: new Uint8Array(await gzipAsync(body, { level: 9 })),
    etag: `"${hash}"`,
    // Another representation, so another strong validator (RFC 9110 §8.8.3).
    gzipEtag: `"${hash}-gz"`,
    headers: { 'x-content-type-options': 'nosniff', vary: 'Accept-Encoding', ...headers },
  }
}

/** `?v=` from the content: the assets are immutable for a day, so a changed file must have a changed URL. */
const versioned = (name: string, a: Asset) => `/docs/assets/${name}?v=${a.etag.slice(1, 13)}`

async function loadAssets(): Promise<DocsAssets> {
  // The package's folder, found the way Node finds it (the built gateway and tsx alike); it has no `exports`.
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const files = new Map<string, Asset>()
  for (const [name, type] of Object.entries(VENDOR_FILES)) {
    files.set(
      name,
      await asset(await readFile(join(root, name)), { 'content-type': type, 'cache-control': ASSET_CACHE }),
    )
  }
  const init = await asset(Buffer.from(DOCS_INIT_SCRIPT), { 'content-type': JS, 'cache-control': ASSET_CACHE })
  files.set('init.js', init)
  const html = docsPage({
    css: versioned('swagger-ui.css', files.get('swagger-ui.css')!),
    bundle: versioned('swagger-ui-bundle.js', files.get('swagger-ui-bundle.js')!),
    init: versioned('init.js', init),
  })
  const page = await asset(Buffer.from(html), {
    'content-type': 'text/html; charset=utf-8',
    // Revalidated every time (cheap, with the ETag), so a new gateway version's page is seen at once.
    'cache-control': 'no-cache',
    'content-security-policy': DOCS_CSP,
    'referrer-policy': 'no-referrer',
  })
  return { page, files }
}

/** Whether the client takes gzip: listed with q > 0, or `*` with q > 0 when gzip is not listed. */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
  let star = false
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    const weight = q === undefined ? 1 : Number(q.slice(2))
    const ok = Number.isFinite(weight) && weight > 0
    if (coding === 'gzip' || coding === 'x-gzip') return ok
    if (coding === '*') star = ok
  }
  return star
}

/** If-None-Match (RFC 9110 §13.1.2): weak comparison, `*`, or a list. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

function serve(c: Context, a: Asset): Response {
  const gz = acceptsGzip(c.req.header('accept-encoding'))
  const etag = gz ? a.gzipEtag : a.etag
  const headers: Record<string, string> = { ...a.headers, etag }
  if (matches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers)
  if (gz) headers['content-encoding'] = 'gzip'
  return c.body(gz ? a.gzipped : a.body, 200, headers)
}

/**
 * GET /docs, the interactive API reference (Swagger UI from the swagger-ui-dist package, no CDN), and
 * GET /docs/assets/<file>, the few files it needs. They are read once, at the first request, and kept in memory;
 * any other path under /docs is 404 route-not-found. The page needs no token: the document it loads is per caller.
 */
export function docsRoutes(): Hono {
  const app = new Hono()
  let loading: Promise<DocsAssets> | undefined
  const assets = (): Promise<DocsAssets> => {
    // A failed read (the package missing from an install) is tried again at the next request, not kept.
    loading ??= loadAssets().catch((err: unknown) => {
      loading = undefined
      throw err
    })
    return loading
  }
  app.get('/', async (c) => serve(c, (await assets()).page))
  app.get('/assets/:file', async (c) => {
    const file = (await assets()).files.get(c.req.param('file'))
    if (file === undefined) throw new GatewayError('route-not-found')
    return serve(c, file)
  })
  return app
}
