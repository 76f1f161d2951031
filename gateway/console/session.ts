import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Clock } from '../../kernel/clock.js'
import type { Lang } from './i18n.js'

/**
 * Console sessions, kept in memory by this gateway instance: several instances behind one address need sticky
 * sessions (or a shared store, a later step), since a session lives only where it was made. The cookie carries a
 * random 256-bit id and nothing else; the user's access token stays here, never in the browser.
 */

export const SESSION_COOKIE = 'qiao_console'
export const IDLE_TIMEOUT_MS = 30 * 60_000
export const ABSOLUTE_TIMEOUT_MS = 8 * 3_600_000
/** Beyond this many live sessions the oldest goes first, so a flood of sign-in pages cannot fill the memory. */
const MAX_SESSIONS = 10_000

/** One role per session (GB/T 39477 separation of duties): 办事部门, 数源部门审核, 数据局, 审计, 运维. */
export type ConsoleRole = 'applicant' | 'reviewer' | 'authority' | 'auditor' | 'operator'

export interface SignedIn {
  readonly role: ConsoleRole
  readonly dept: string
  /** The access token every page calls the API code paths with. */
  readonly token: string
}

export interface ConsoleSession {
  readonly id: string
  /** Per-session CSRF token, carried by every form in a hidden field. */
  readonly csrf: string
  /** Absent before sign-in: the sign-in form itself needs a CSRF token and a language. */
  readonly user: SignedIn | undefined
  lang: Lang
  readonly createdAt: number
  /** Epoch ms after which the session is gone whatever happens: the absolute timeout, or the token's end. */
  readonly endsAt: number
  lastSeenAt: number
}

const randomId = (): string => randomBytes(32).toString('base64url')

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>()

  constructor(private readonly clock: Clock) {}

  /** A new session (a new id: signing in never keeps the id the browser had before). */
  create(user: SignedIn | undefined, lang: Lang, endsAt?: number): ConsoleSession {
    const now = this.clock.now()
    this.sweep(now)
    const session: ConsoleSession = {
      id: randomId(),
      csrf: randomId(),
      user,
      lang,
      createdAt: now,
      endsAt: Math.min(now + ABSOLUTE_TIMEOUT_MS, endsAt ?? Number.POSITIVE_INFINITY),
      lastSeenAt: now,
    }
    this.sessions.set(session.id, session)
    return session
  }

  /** The live session with this id, its idle timer restarted; undefined (and forgotten) once timed out. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined) return undefined
    const session = this.sessions.get(id)
    if (session === undefined) return undefined
    const now = this.clock.now()
    if (expired(session, now)) {
      this.sessions.delete(id)
      return undefined
    }
    session.lastSeenAt = now
    return session
  }

  delete(id: string): void {
    this.sessions.delete(id)
  }

  get size(): number {
    return this.sessions.size
  }

  private sweep(now: number): void {
    for (const [id, session] of this.sessions) if (expired(session, now)) this.sessions.delete(id)
    // Maps iterate in insertion order: the first is the oldest.
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.sessions.delete(oldest)
    }
  }
}

function expired(session: ConsoleSession, now: number): boolean {
  return now >= session.endsAt || now - session.lastSeenAt >= IDLE_TIMEOUT_MS
}

export function sessionIdOf(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE)
}

/** HttpOnly, SameSite=Strict, only under /console; Secure when the request came over https. */
export function setSessionCookie(c: Context, session: ConsoleSession): void {
  setCookie(c, SESSION_COOKIE, session.id, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/console',
    secure: isHttps(c),
    maxAge: Math.max(1, Math.floor((session.endsAt - session.lastSeenAt) / 1000)),
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: isHttps(c), httpOnly: true, sameSite: 'Strict' })
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:'
}
