/**
 * The only error a connector throws on purpose. The gateway maps `kind` to a problem code:
 * timeout → 504 upstream-timeout, unavailable → 503 upstream-unavailable, not-found → 404 record-not-found,
 * rejected → 502 upstream-rejected, bad-response → 502 upstream-bad-response.
 *
 * Messages describe what went wrong in terms of shape and protocol ("envelope code 99", "missing SGXKZBH"),
 * never with values from the payload or parameters.
 */
export type ConnectorErrorKind = 'timeout' | 'unavailable' | 'not-found' | 'rejected' | 'bad-response'

export interface ConnectorErrorOptions {
  cause?: unknown
  /** HTTP status the upstream answered with, if any. */
  upstreamStatus?: number
  /** The legacy system's own error code (envelope code, SOAP faultcode), if any. Must not hold payload data. */
  upstreamCode?: string
}

export class ConnectorError extends Error {
  readonly kind: ConnectorErrorKind
  readonly upstreamStatus: number | undefined
  readonly upstreamCode: string | undefined

  constructor(kind: ConnectorErrorKind, message: string, options: ConnectorErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = 'ConnectorError'
    this.kind = kind
    this.upstreamStatus = options.upstreamStatus
    this.upstreamCode = options.upstreamCode
  }
}

const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
])

const TIMEOUT_ERROR_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])

/**
 * Classifies a transport failure (undici, net, pg) into a ConnectorError. `signal` tells an abort at the
 * deadline apart from other aborts. Connectors call this in their catch blocks so every one maps alike.
 */
export function transportError(err: unknown, signal?: AbortSignal): ConnectorError {
  if (err instanceof ConnectorError) return err
  if (signal?.aborted)
    return new ConnectorError('timeout', 'deadline reached before the upstream answered', { cause: err })
  const code = (err as { code?: unknown } | null)?.code
  const name = (err as { name?: unknown } | null)?.name
  if (typeof code === 'string' && TIMEOUT_ERROR_CODES.has(code)) {
    return new ConnectorError('timeout', `upstream timed out (${code})`, { cause: err })
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new ConnectorError('timeout', 'upstream call aborted', { cause: err })
  }
  if (typeof code === 'string' && CONNECT_ERROR_CODES.has(code)) {
    return new ConnectorError('unavailable', `upstream unreachable (${code})`, { cause: err })
  }
  return new ConnectorError('unavailable', 'upstream call failed', { cause: err })
}
