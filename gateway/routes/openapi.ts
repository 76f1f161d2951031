import { createHash } from 'node:crypto'
import { type Context, Hono, type Next } from 'hono'
import type { Principal } from '../auth/principal.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { buildOpenApi, type OpenApiDocument } from '../openapi/build.js'
import type { Lang } from '../openapi/texts.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'
import { QueryReader } from './sharing-http.js'

interface Serialized {
  readonly json: string
  readonly etag: string
}

/** Each cached document is serialized and digested once; the WeakMap lets both go with the document. */
const serialized = new WeakMap<OpenApiDocument, Serialized>()

function serialize(document: OpenApiDocument): Serialized {
  let entry = serialized.get(document)
  if (entry === undefined) {
    const json = JSON.stringify(document)
    entry = { json, etag: `"${createHash('sha256').update(json).digest('base64url')}"` }
    serialized.set(document, entry)
  }
  return entry
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags or `*`. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

/**
 * GET /v1/openapi.json[?lang=en]: the OpenAPI document for the caller. Authentication is optional, but never
 * silently so: without an `Authorization` header the public view; with one, the token is verified like on every
 * other route (a bad token is 401) and its department's view is answered. The document of the current snapshot
 * is built once per view and language (gateway/openapi/build.ts), so a reload or a grant change shows at once.
 */
export function openApiRoutes(deps: GatewayDeps): Hono<AuthenticatedEnv> {
  const app = new Hono<AuthenticatedEnv>()
  const authenticate = requireScope(undefined, { verifier: deps.verifier })
  const optionalAuth = (c: Context<AuthenticatedEnv>, next: Next) =>
    c.req.header('authorization') === undefined ? next() : authenticate(c, next)

  app.get('/', optionalAuth, (c) => {
    const query = new QueryReader(c.req.url, ['lang'])
    const lang: Lang = query.oneOf('lang', ['zh', 'en'] as const) ?? 'zh'
    query.check()
    const principal = c.get('principal') as Principal | undefined
    const document = buildOpenApi(deps.snapshot(), principal === undefined ? 'public' : { dept: principal.dept }, {
      lang,
      serverUrl: new URL(c.req.url).origin,
      examples: deps.examples,
      now: deps.clock.now(),
    })
    const { json, etag } = serialize(document)
    const headers = {
      etag,
      // A department's document says what it may call: for its officers' caches only, and for a short while.
      'cache-control': principal === undefined ? 'public, max-age=300' : 'private, max-age=60',
      vary: 'Authorization',
    }
    if (matches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers)
    return c.body(json, 200, { ...headers, 'content-type': 'application/json; charset=utf-8' })
  })
  return app
}
