import { type ProblemCode, problems } from './codes.js'

export interface GatewayErrorOptions {
  /** Public, occurrence-specific explanation. Never holds tokens, parameter values or personal data. */
  detail?: string
  /** Extra public members of the problem body (RFC 9457 §3.2), e.g. `errors` for params-invalid. */
  extensions?: Record<string, unknown>
  /** Response headers this problem needs (e.g. Retry-After). */
  headers?: Record<string, string>
  /** Internal explanation for the operational log; never rendered. */
  internal?: string
  cause?: unknown
}

/** An error raised on purpose. Its `code` decides status, title and audit reason; see codes.ts. */
export class GatewayError extends Error {
  readonly code: ProblemCode
  readonly status: number
  readonly detail: string | undefined
  readonly extensions: Record<string, unknown> | undefined
  readonly headers: Record<string, string> | undefined

  constructor(code: ProblemCode, options: GatewayErrorOptions = {}) {
    super(options.internal ?? options.detail ?? problems[code].title, { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
    this.status = problems[code].status
    this.detail = options.detail
    this.extensions = options.extensions
    this.headers = options.headers
  }
}

/** Anything thrown that is not a GatewayError is an internal fault: its message is kept for the log only. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err
  return new GatewayError('internal', {
    internal: err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown',
    cause: err,
  })
}
