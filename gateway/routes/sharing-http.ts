import { Readable } from 'node:stream'
import type { ReadableStream as NodeWebStream } from 'node:stream/web'
import type { HttpBindings } from '@hono/node-server'
import type { Context, MiddlewareHandler } from 'hono'
import type { ProblemCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdFrom } from '../pipeline/10-route-request.js'
import { type BodyStream, readJsonBody } from '../pipeline/35-read-parameters.js'
import type { Application } from '../sharing/model.js'
import { type Actor, etagOf } from '../sharing/service.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'

/**
 * What /v1/applications and /v1/grants share: who acts, the body, the query string, the answer. The routes are
 * thin: the workflow checks roles, states and If-Match; these helpers only turn HTTP into its arguments.
 */

/** What the sharing routes need of the gateway. */
export type SharingRouteDeps = Pick<GatewayDeps, 'verifier' | 'sharing' | 'clock'>

/** An application is small; the limit keeps a workflow step from ever buffering much, whatever QIAO_BODY_LIMIT is. */
export const SHARING_BODY_LIMIT = 64 * 1024

export const DEFAULT_PAGE_LIMIT = 50
export const MAX_PAGE_LIMIT = 200

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** As the catalog schema has them: departmentCode, resourceId, matter code. */
export const DEPARTMENT = /^[a-z][a-z0-9-]{1,31}$/
export const RESOURCE = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/
export const MATTER = /^[A-Za-z0-9._-]{1,64}$/
/** A grant from catalog.yaml: `catalog:<matter>:<resource>:<action>:<consumer>`. */
const CATALOG_GRANT =
  /^catalog:([A-Za-z0-9._-]{1,64}):([a-z][a-z0-9-]*\.[a-z][a-z0-9-]*):(read|write):([a-z][a-z0-9-]{1,31})$/
/** The store's cursors are base64url; anything else was never one of ours. */
const CURSOR = /^[A-Za-z0-9_-]{1,512}$/

export function isApplicationId(id: string): boolean {
  return UUID.test(id)
}

export function isGrantId(id: string): boolean {
  return UUID.test(id) || CATALOG_GRANT.test(id)
}

/**
 * One request id per request, whoever asks first: the request log line, the route (the Actor, so the admin audit
 * record) and the problem renderer. `requestIdFrom` makes a fresh one each time it is called without a usable
 * header, and a record whose request id is not the one the caller was answered with cannot be traced.
 */
const requestIds = new WeakMap<Request, string>()

export function requestIdOf(c: Context, now: number): string {
  let id = requestIds.get(c.req.raw)
  if (id === undefined) {
    id = requestIdFrom(c.req.header('x-request-id'), now)
    requestIds.set(c.req.raw, id)
  }
  return id
}

/** Every answer of these routes, problems included: they carry officers' names and phone numbers. */
export const noStore: MiddlewareHandler = async (c, next) => {
  await next()
  c.res.headers.set('cache-control', 'no-store')
}

/** The one auth middleware: any valid token; which role may take which step is the workflow's to say. */
export function authenticated(deps: SharingRouteDeps): MiddlewareHandler<AuthenticatedEnv> {
  return requireScope(undefined, { verifier: deps.verifier })
}

export function actorOf(c: Context<AuthenticatedEnv>, deps: SharingRouteDeps): Actor {
  return { principal: c.get('principal'), requestId: requestIdOf(c, deps.clock.now()) }
}

/** The If-Match header exactly as sent: the workflow tells a missing one (428) from a stale one (412). */
export function ifMatchOf(c: Context): string | undefined {
  return c.req.header('if-match')
}

/**
 * The body as a JSON object, read by the exchange pipeline's reader (media type, size limit before and while
 * reading, malformed JSON). Behind the Node server that is the request stream itself; a request made in-process
 * (`app.request`) has only the web body, handed over as a Node stream.
 */
export function jsonBody(c: Context): Promise<Record<string, unknown>> {
  return readJsonBody(bodyStreamOf(c), SHARING_BODY_LIMIT)
}

function bodyStreamOf(c: Context): BodyStream {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming
  if (incoming) return incoming
  const body = c.req.raw.body
  const stream = body === null ? Readable.from([]) : Readable.fromWeb(body as unknown as NodeWebStream<Uint8Array>)
  return Object.assign(stream, { headers: Object.fromEntries(c.req.raw.headers) })
}

/** `{ data }` as JSON, with the item's ETag and Location when it has them. */
export function dataAnswer(
  c: Context,
  status: 200 | 201,
  data: unknown,
  headers: { readonly etag?: string; readonly location?: string } = {},
): Response {
  if (headers.etag !== undefined) c.header('etag', headers.etag)
  if (headers.location !== undefined) c.header('location', headers.location)
  return c.json({ data }, status)
}

/** An application as answered: its ETag for the next step, and where it lives when it was just made. */
export function applicationAnswer(c: Context, application: Application, status: 200 | 201 = 200): Response {
  return dataAnswer(c, status, application, {
    etag: etagOf(application),
    ...(status === 201 ? { location: `/v1/applications/${application.id}` } : {}),
  })
}

/**
 * A page: `{ data, meta: { count, next? } }` and a Link to the next page, the same query with the cursor
 * replaced (a relative reference: the Host header is the caller's to choose and is not echoed).
 */
export function pageAnswer(c: Context, page: { readonly items: readonly unknown[]; readonly next?: string }): Response {
  if (page.next !== undefined) {
    const url = new URL(c.req.url)
    url.searchParams.set('cursor', page.next)
    c.header('link', `<${url.pathname}?${url.searchParams.toString()}>; rel="next"`)
  }
  const meta = page.next === undefined ? { count: page.items.length } : { count: page.items.length, next: page.next }
  return c.json({ data: page.items, meta })
}

/** A path id that cannot name an item is a 404 before anything is looked up. */
export function pathId(c: Context, valid: (id: string) => boolean, notFound: ProblemCode): string {
  const id = c.req.param('id') ?? ''
  if (!valid(id)) throw new GatewayError(notFound)
  return id
}

/**
 * The query string, checked strictly as the audit API checks its own (a mistyped filter must never widen a
 * listing silently). Every problem is collected, so that one 400 `query-invalid` names them all; messages name
 * the parameter, never its value.
 */
export class QueryReader {
  readonly errors: string[] = []
  private readonly params = new Map<string, string>()

  constructor(url: string, allowed: readonly string[]) {
    for (const [name, value] of new URL(url).searchParams) {
      const shown = JSON.stringify(name.slice(0, 32))
      if (!allowed.includes(name)) this.errors.push(`${shown}: unknown parameter (allowed: ${allowed.join(', ')})`)
      else if (this.params.has(name)) this.errors.push(`${shown}: given more than once`)
      else this.params.set(name, value)
    }
  }

  /** The value, or undefined when absent or empty (not filtered). */
  private raw(name: string): string | undefined {
    const value = this.params.get(name)
    return value === undefined || value === '' ? undefined : value
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const raw = this.raw(name)
    if (raw === undefined) return undefined
    if ((values as readonly string[]).includes(raw)) return raw as T
    this.errors.push(`${name}: expected ${values.join(', ')}`)
    return undefined
  }

  matching(name: string, pattern: RegExp, what: string): string | undefined {
    const raw = this.raw(name)
    if (raw === undefined) return undefined
    if (pattern.test(raw)) return raw
    this.errors.push(`${name}: expected ${what}`)
    return undefined
  }

  boolean(name: string): boolean | undefined {
    const raw = this.oneOf(name, ['true', 'false'] as const)
    return raw === undefined ? undefined : raw === 'true'
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.raw(name)
    if (raw === undefined) return undefined
    const n = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN
    if (n >= min && n <= max) return n
    this.errors.push(`${name}: expected an integer ${min}–${max}`)
    return undefined
  }

  limit(): number {
    return this.integer('limit', 1, MAX_PAGE_LIMIT) ?? DEFAULT_PAGE_LIMIT
  }

  cursor(): string | undefined {
    return this.matching('cursor', CURSOR, 'a cursor this API returned')
  }

  /** Throws the one 400 naming every problem found. */
  check(): void {
    if (this.errors.length > 0) {
      throw new GatewayError('query-invalid', { detail: this.errors.join('; '), extensions: { errors: this.errors } })
    }
  }
}

/** Routes that take no query parameters refuse any, as the audit API does. */
export function noQuery(c: Context): void {
  new QueryReader(c.req.url, []).check()
}
