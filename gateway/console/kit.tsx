/** @jsxImportSource hono/jsx */
import type { Context, Hono } from 'hono'
import type { Child } from 'hono/jsx'
import { builtInWorkingCalendar, type WorkingCalendar } from '../../kernel/working-calendar.js'
import { actorOf, adminRecord } from '../audit/admin.js'
import type { Principal } from '../auth/principal.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdOf } from '../routes/sharing-http.js'
import type { Actor } from '../sharing/service.js'
import { type Lang, type TextKey, t } from './i18n.js'
import { MessagePage, type View } from './layout.js'
import type { ConsoleRole, ConsoleSession, SessionStore } from './session.js'

/** Hono variables of every console request: the session (if any), the language and a checked form body. */
export type ConsoleEnv = {
  Variables: { session: ConsoleSession | undefined; lang: Lang; form: Record<string, unknown> }
}
export type ConsoleContext = Context<ConsoleEnv>
export type ConsoleApp = Hono<ConsoleEnv>

export const ALL_ROLES: readonly ConsoleRole[] = ['applicant', 'reviewer', 'authority', 'auditor', 'operator']

/**
 * Calls Qiao's own HTTP API in process (the same app, the same routes, the same audit records) — how the console
 * stays a client of the API with the user's token instead of a side door.
 */
export type ApiFetch = (request: Request) => Promise<Response>

/** What every console page module gets: the gateway's deps and the shared helpers below. */
export interface ConsoleKit {
  readonly deps: GatewayDeps
  readonly sessions: SessionStore
  readonly calendar: WorkingCalendar
  view(c: ConsoleContext): View
  render(c: ConsoleContext, status: number, page: Child): Promise<Response>
  message(c: ConsoleContext, status: number, title: TextKey, text: TextKey): Promise<Response>
  /** The signed-in user's principal, from their token verified like any API token; undefined ends the session. */
  principalOf(c: ConsoleContext): Promise<Principal | undefined>
  /**
   * The actor for a page of these roles, or the response to give instead: the sign-in page, or a 403 page for
   * another role — audited as a `console.access` record, like a refused API call.
   */
  actorFor(c: ConsoleContext, roles: readonly ConsoleRole[]): Promise<Actor | Response>
  /**
   * Qiao's API with the session's token: `path` is absolute (`/v1/audit/records?…`). The answer is the API's
   * own, problem documents included; the console renders it.
   */
  api(c: ConsoleContext, path: string, init?: RequestInit): Promise<Response>
}

export function createKit(deps: GatewayDeps, sessions: SessionStore, apiFetch: ApiFetch): ConsoleKit {
  const calendar = builtInWorkingCalendar()

  const view = (c: ConsoleContext): View => {
    const session = c.get('session')
    const dept = session?.user?.dept
    const deptName = dept === undefined ? undefined : deps.snapshot().catalog.departments.get(dept)?.name
    return { lang: c.get('lang'), session, here: hereOf(c), ...(deptName === undefined ? {} : { deptName }) }
  }
  const message = (c: ConsoleContext, status: number, title: TextKey, text: TextKey) =>
    render(c, status, <MessagePage view={view(c)} title={t(c.get('lang'), title)} message={t(c.get('lang'), text)} />)

  async function principalOf(c: ConsoleContext): Promise<Principal | undefined> {
    const session = c.get('session')
    if (session?.user === undefined) return undefined
    try {
      return await deps.verifier.verify(session.user.token)
    } catch {
      sessions.delete(session.id)
      return undefined
    }
  }

  async function actorFor(c: ConsoleContext, roles: readonly ConsoleRole[]): Promise<Actor | Response> {
    const principal = await principalOf(c)
    if (principal === undefined) return c.redirect('/console/sign-in', 303)
    const requestId = requestIdOf(c, deps.clock.now())
    const role = c.get('session')?.user?.role as ConsoleRole
    if (!roles.includes(role)) {
      // Fail closed: a refusal that cannot be recorded is still a refusal; the log line says the append failed.
      const record = adminRecord(
        'console.access',
        deps.clock.now(),
        { page: c.req.routePath, method: c.req.method, role, status: 403 },
        { actor: actorOf(principal), outcome: 'rejected', requestId },
      )
      await deps.audit.append(record).catch((err: unknown) => {
        deps.log.error({ requestId, err: (err as Error).message }, 'console refusal not audited')
      })
      return message(c, 403, 'forbiddenTitle', 'forbidden')
    }
    return { principal, requestId }
  }

  async function api(c: ConsoleContext, path: string, init: RequestInit = {}): Promise<Response> {
    const token = c.get('session')?.user?.token
    const headers = new Headers(init.headers)
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`)
    headers.set('x-request-id', requestIdOf(c, deps.clock.now()))
    return apiFetch(new Request(new URL(path, 'http://qiao.console.internal'), { ...init, headers }))
  }

  return { deps, sessions, calendar, view, render, message, principalOf, actorFor, api }
}

export function hereOf(c: Context): string {
  const url = new URL(c.req.url)
  return `${url.pathname}${url.search}`
}

export async function render(c: Context, status: number, page: Child): Promise<Response> {
  return c.html(`<!DOCTYPE html>${await page}`, status as 200)
}
