import { timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import type { ConsoleSession } from './session.js'

/** The hidden form field every console POST carries. */
export const CSRF_FIELD = '_csrf'

/**
 * A request another origin made the browser send: `Sec-Fetch-Site` says cross-site (or same-site: a sibling host
 * is another origin), or `Origin` names another origin. SameSite=Strict already keeps the cookie off such requests
 * in current browsers; this refuses them even where it does not. `Origin: null` decides nothing: under the
 * console's own `Referrer-Policy: no-referrer` Chromium sends it for every form post, so the token decides.
 */
export function isCrossSite(c: Context): boolean {
  const site = c.req.header('sec-fetch-site')
  if (site === 'cross-site' || site === 'same-site') return true
  const origin = c.req.header('origin')
  if (origin === undefined || origin === 'null') return false
  // The Host header, not c.req.url: the URL the server rebuilds need not carry the host the browser used.
  const host = c.req.header('host')
  if (host === undefined) return true
  try {
    const url = new URL(origin)
    return url.host !== host || url.protocol !== new URL(c.req.url).protocol
  } catch {
    return true
  }
}

/** The form's token is the session's own (compared in constant time). */
export function csrfMatches(session: ConsoleSession | undefined, sent: unknown): boolean {
  if (session === undefined || typeof sent !== 'string') return false
  const a = Buffer.from(sent)
  const b = Buffer.from(session.csrf)
  return a.length === b.length && timingSafeEqual(a, b)
}
