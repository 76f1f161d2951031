import { ConnectorError } from './connector-error.js'

/**
 * Pieces every HTTP connector needs besides reading bodies (http-body.ts): which request headers it owns, what an
 * unexpected HTTP status means, and whether an upstream message is safe to repeat in an error.
 */

/** Request headers a connector owns: trace propagation may not replace them. */
export const CONNECTOR_OWNED_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'accept',
  'host',
  'transfer-encoding',
  'connection',
])

/**
 * The trace-context headers (`ctx.propagation`) to send, with lower-case names, minus the headers the connector
 * owns. Add the connector's own headers after these.
 *
 * @example
 * const headers = { ...propagatedHeaders(ctx.propagation), accept: 'application/json' }
 */
export function propagatedHeaders(
  propagation: Readonly<Record<string, string>> | undefined,
  owned: ReadonlySet<string> = CONNECTOR_OWNED_HEADERS,
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (propagation) {
    for (const [name, value] of Object.entries(propagation)) {
      if (!owned.has(name.toLowerCase())) headers[name.toLowerCase()] = value
    }
  }
  return headers
}

/** An HTTP status the protocol does not expect: 5xx → unavailable (retryable), anything else → rejected. */
export function httpStatusError(status: number): ConnectorError {
  return status >= 500
    ? new ConnectorError('unavailable', `upstream answered HTTP ${status}`, { upstreamStatus: status })
    : new ConnectorError('rejected', `upstream answered HTTP ${status}`, { upstreamStatus: status })
}

/** Longest upstream message copied into an error message. */
export const MAX_UPSTREAM_MESSAGE_CHARS = 40

/**
 * The upstream's own message (envelope msg, faultstring), if it cannot carry a parameter value, credential or
 * identifier: no value in `sent` (what the connector sent), no run of four or more digits; control characters
 * become spaces; at most `maxChars` characters. Undefined when it is not safe or empty: fall back to the code's
 * standard meaning.
 */
export function safeUpstreamMessage(
  message: string,
  sent: readonly string[],
  maxChars: number = MAX_UPSTREAM_MESSAGE_CHARS,
): string | undefined {
  const text = message.replace(/\p{Cc}/gu, ' ').trim()
  if (text === '' || /\d{4,}/.test(text)) return undefined
  if (sent.some((value) => value !== '' && text.includes(value))) return undefined
  return Array.from(text).slice(0, maxChars).join('')
}
