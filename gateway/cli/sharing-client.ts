import { type Dispatcher, request } from 'undici'
import type { Application, ApplicationState, GrantState, SharingEvent } from '../sharing/model.js'
import type { GrantView } from '../sharing/service.js'

/**
 * The HTTP client of `qiao apply`, `review`, `check`, `grants` …: the gateway's /v1/applications and /v1/grants,
 * as any department's system would call them, and its answers as text. The token goes in the Authorization
 * header and nowhere else.
 */

export interface SharingClientOptions {
  /** The gateway's base URL; a path prefix (a reverse proxy's) is kept. */
  readonly url: string
  readonly token: string
  readonly dispatcher?: Dispatcher
  readonly timeoutMs?: number
}

/** A 2xx answer: the JSON body and the headers the workflow steps need. */
export interface Answer {
  readonly status: number
  readonly body: Record<string, unknown>
  readonly etag?: string
  readonly location?: string
}

/** The entry of a problem's `errors`: a JSON pointer and a message, or (query-invalid) a sentence. */
export type ProblemEntry = { readonly pointer: string; readonly message: string } | string

/** A problem answer (RFC 9457), or any other answer that is not 2xx. */
export class ProblemError extends Error {
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly errors: readonly ProblemEntry[]
  readonly body: unknown

  constructor(status: number, body: unknown) {
    const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
    const code = typeof problem.code === 'string' ? problem.code : 'http-error'
    const detail = typeof problem.detail === 'string' ? problem.detail : `the gateway answered HTTP ${status}`
    super(`${status} ${code}: ${detail}`)
    this.name = 'ProblemError'
    this.status = status
    this.code = code
    this.detail = detail
    this.errors = Array.isArray(problem.errors) ? problem.errors.filter(isEntry) : []
    this.body = body
  }
}

function isEntry(value: unknown): value is ProblemEntry {
  if (typeof value === 'string') return true
  const entry = value as { pointer?: unknown; message?: unknown } | null
  return typeof entry?.pointer === 'string' && typeof entry.message === 'string'
}

/** The gateway could not be reached (refused, timed out, DNS): nothing was answered. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError'
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>

export interface SharingClient {
  get(path: string, query?: Query): Promise<Answer>
  post(path: string, body: unknown, ifMatch?: string): Promise<Answer>
}

export function createSharingClient(options: SharingClientOptions): SharingClient {
  const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`)
  const timeout = options.timeoutMs ?? 30_000

  async function send(method: 'GET' | 'POST', path: string, body?: unknown, ifMatch?: string, query?: Query) {
    const url = new URL(path.replace(/^\//, ''), base)
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (ifMatch !== undefined) headers['if-match'] = ifMatch
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      })
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      throw new UnreachableError(`cannot reach the gateway at ${base.origin}: ${reason}`)
    }
    const text = await res.body.text()
    let parsed: unknown
    try {
      parsed = text === '' ? {} : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (res.statusCode < 200 || res.statusCode > 299) throw new ProblemError(res.statusCode, parsed)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ProblemError(res.statusCode, { code: 'answer-not-json', detail: 'the answer is not a JSON object' })
    }
    return {
      status: res.statusCode,
      body: parsed as Record<string, unknown>,
      ...headerField('etag', res.headers.etag),
      ...headerField('location', res.headers.location),
    }
  }

  return {
    get: (path, query) => send('GET', path, undefined, undefined, query),
    post: (path, body, ifMatch) => send('POST', path, body, ifMatch),
  }
}

function headerField<K extends string>(name: K, value: string | string[] | undefined): { [P in K]?: string } {
  const one = Array.isArray(value) ? value[0] : value
  return (one === undefined ? {} : { [name]: one }) as { [P in K]?: string }
}

/** `/v1/applications/{id}` and `/v1/grants/{id}`: catalog grant ids hold `:`, sent percent-encoded. */
export function itemPath(collection: 'applications' | 'grants', id: string, step?: string): string {
  return `/v1/${collection}/${encodeURIComponent(id)}${step === undefined ? '' : `/${step}`}`
}

/**
 * A workflow step on an item: its current ETag first (unless the caller names the state it acts on), then the
 * step with that ETag as If-Match, so that a step decided on a stale reading is refused (412), not applied.
 */
export async function step(
  client: SharingClient,
  collection: 'applications' | 'grants',
  id: string,
  name: string,
  body: unknown,
  ifMatch?: string,
): Promise<Answer> {
  const etag = ifMatch ?? (await client.get(itemPath(collection, id))).etag
  return client.post(itemPath(collection, id, name), body, etag)
}

/** A problem as the CLI prints it: `<status> <code>: <detail>`, then each entry of `errors` indented. */
export function formatProblem(problem: ProblemError): string {
  const lines = [`${problem.status} ${problem.code}: ${problem.detail}`]
  for (const entry of problem.errors) {
    lines.push(typeof entry === 'string' ? `  ${entry}` : `  ${entry.pointer} ${entry.message}`)
  }
  return `${lines.join('\n')}\n`
}

/*
 * What the gateway answered, as aligned plain text for officers. Only what is in the answer is shown, and only
 * to the officer who asked: contacts appear in `show`, never in listings.
 */

export const APPLICATION_STATE_NAMES: Readonly<Record<ApplicationState, string>> = {
  'conformity-check': '待合规审查',
  'awaiting-applicant': '待补正',
  'provider-review': '待提供方审核',
  approved: '已批准',
  refused: '已拒绝',
  withdrawn: '已撤回',
}

export const GRANT_STATE_NAMES: Readonly<Record<GrantState, string>> = {
  active: '有效',
  revoked: '已撤销',
  superseded: '已替代',
}

const STAGE_NAMES: Readonly<Record<string, string>> = { conformity: '合规审查', review: '提供方审核' }

const named = (names: Readonly<Record<string, string>>, key: string | undefined) => names[key ?? ''] ?? key ?? ''

/** Columns a terminal gives a character: CJK and full-width forms take two. */
function widthOf(text: string): number {
  let width = 0
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x20000 && cp <= 0x3fffd)
    width += wide ? 2 : 1
  }
  return width
}

/** Rows under a header, columns two spaces apart (the last one not padded). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((row) => widthOf(row[i] ?? ''))))
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] as number) - widthOf(cell))))
      .join('  ')
  return `${all.map(line).join('\n')}\n`
}

type Pair = readonly [string, string | undefined]

/** `key  value` lines, keys aligned; absent values are left out. */
function keyValues(pairs: readonly Pair[]): string {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined && p[1] !== '')
  const width = Math.max(...shown.map(([k]) => widthOf(k)))
  return `${shown.map(([k, v]) => `${k}${' '.repeat(width - widthOf(k))}  ${v}`).join('\n')}\n`
}

function dueOf(app: Application): string | undefined {
  const clock = app.clock
  if (clock === undefined) return undefined
  if (clock.paused) return `已暂停: waiting for the applicant (${STAGE_NAMES[clock.stage] ?? clock.stage})`
  const uncovered = clock.calendarCovered ? '' : '; beyond the official calendar: weekends only counted'
  return `${clock.dueDate} (${named(STAGE_NAMES, clock.stage)}, ${clock.budgetDays} working days${uncovered})`
}

function decisionOf(app: Application): readonly Pair[] {
  const d = app.decision
  if (d === undefined) return []
  const terms = d.terms
  return [
    ['decision', `${d.outcome === 'approved' ? '已批准' : '已拒绝'} by ${d.by} at ${d.at}`],
    ['reason', d.reason],
    ['grant', d.grantId],
    ['granted', terms === undefined ? undefined : `${terms.fields.join(', ')} ${terms.validFrom} – ${terms.validTo}`],
  ]
}

function latestNotice(app: Application): readonly Pair[] {
  const notice = app.notices.at(-1)
  if (app.state !== 'awaiting-applicant' || notice === undefined) return []
  return [
    ['notice', `${notice.at} by ${notice.by} (一次性告知)`],
    ...notice.items.map((item): Pair => ['', `${item.pointer} ${item.message}`]),
  ]
}

/** After apply, a step or a renewal: where the application is and what comes next. */
export function applicationSummary(data: unknown): string {
  const app = data as Application
  return keyValues([
    ['application', app.id],
    ['state', `${named(APPLICATION_STATE_NAMES, app.state)} (${app.state})`],
    ['resource', `${app.request.resource} for matter ${app.request.matter}`],
    ['due', dueOf(app)],
    ...decisionOf(app),
    ...latestNotice(app),
  ])
}

export function applicationDetail(data: unknown, etag?: string): string {
  const app = data as Application
  const r = app.request
  const notices = app.notices.flatMap((n): Pair[] => [
    ['notice', `${named(STAGE_NAMES, n.stage)} ${n.at} by ${n.by}${n.answeredAt ? `, answered ${n.answeredAt}` : ''}`],
    ...n.items.map((item): Pair => ['', `${item.pointer} ${item.message}`]),
  ])
  return keyValues([
    ['application', app.id],
    ['state', `${named(APPLICATION_STATE_NAMES, app.state)} (${app.state})`],
    ['resource', `${r.resource} (${app.sharingType === 'conditional' ? '有条件' : '无条件'}), ${r.mode}`],
    ['matter', r.matter],
    ['consumer', `${app.consumer}, applied by ${app.applicant} at ${app.submittedAt}`],
    ['provider', app.provider],
    ['usage', r.usage],
    ['fields', r.fields.join(', ')],
    ['masked', r.masked.join(', ')],
    ['legal basis', r.legalBasis],
    ['scene', r.scene],
    ['scope of use', r.scopeOfUse],
    ['valid', `${r.validFrom ?? 'approval day'} – ${r.validTo}`],
    ['contact', `${r.contact.name} ${r.contact.phone}${r.contact.email ? ` ${r.contact.email}` : ''}`],
    ['renews', app.renewalOf],
    ['due', dueOf(app)],
    ['escalated', app.escalatedAt],
    ...notices,
    ...decisionOf(app),
    ['updated', app.updatedAt],
    ['etag', etag],
  ])
}

export function applicationTable(data: unknown): string {
  const apps = data as Application[]
  if (apps.length === 0) return 'no applications\n'
  const rows = apps.map((a) => [
    a.id,
    named(APPLICATION_STATE_NAMES, a.state),
    a.consumer,
    a.provider,
    a.request.resource,
    a.request.matter,
    a.clock === undefined ? '' : a.clock.paused ? '已暂停' : (a.clock.dueDate ?? ''),
  ])
  return table(['ID', 'STATE', 'CONSUMER', 'PROVIDER', 'RESOURCE', 'MATTER', 'DUE'], rows)
}

export function historyTable(data: unknown): string {
  const events = data as SharingEvent[]
  const rows = events.map((e) => [
    String(e.seq),
    e.at,
    e.actor,
    e.transition,
    `${e.from === null ? '' : `${named(APPLICATION_STATE_NAMES, e.from)} → `}${named(APPLICATION_STATE_NAMES, e.to)}`,
  ])
  return table(['SEQ', 'AT', 'ACTOR', 'STEP', 'STATE'], rows)
}

export function grantTable(data: unknown): string {
  const grants = data as GrantView[]
  if (grants.length === 0) return 'no grants\n'
  const rows = grants.map((g) => [
    g.id,
    named(GRANT_STATE_NAMES, g.state),
    g.source,
    g.consumer,
    g.resource,
    g.matter,
    g.validTo ?? '',
  ])
  return table(['ID', 'STATE', 'SOURCE', 'CONSUMER', 'RESOURCE', 'MATTER', 'VALID TO'], rows)
}

export function grantDetail(data: unknown, etag?: string): string {
  const g = data as GrantView
  const live = g.source === 'application' ? g : undefined
  return keyValues([
    ['grant', g.id],
    ['state', `${named(GRANT_STATE_NAMES, g.state)} (${g.state})`],
    ['source', g.source === 'catalog' ? 'catalog.yaml (granted by catalog)' : `application ${live?.applicationId}`],
    ['consumer', g.consumer],
    ['resource', `${g.resource} ${g.action}`],
    ['matter', g.matter],
    ['usage', g.usage],
    ['fields', g.fields.join(', ')],
    ['masked', g.masked.join(', ')],
    [
      'valid',
      g.validFrom === undefined && g.validTo === undefined ? undefined : `${g.validFrom ?? ''} – ${g.validTo ?? ''}`,
    ],
    ['quota', live?.quota === undefined ? undefined : `${live.quota.limit}/${live.quota.per}`],
    ['approved', g.approvedBy === undefined ? undefined : `by ${g.approvedBy}${live ? ` at ${live.approvedAt}` : ''}`],
    [
      'revoked',
      live?.revokedAt === undefined ? undefined : `${live.revokedAt} by ${live.revokedBy}: ${live.revokeReason}`,
    ],
    ['superseded', live?.supersededBy],
    ['etag', etag],
  ])
}
