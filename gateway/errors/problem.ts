import { type ProblemCode, problems } from './codes.js'
import type { GatewayError } from './gateway-error.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: ProblemCode
  instance: string
  requestId: string
  [extension: string]: unknown
}

export interface RenderedProblem {
  status: number
  headers: Record<string, string>
  body: string
}

/** The relative type URI resolves against the gateway, which serves the catalogue entry at GET /problems/{code}. */
export function problemType(code: ProblemCode): string {
  return `/problems/${code}`
}

/** Renders an error as RFC 9457 problem+json. The only place a problem body is built. */
export function renderProblem(
  err: GatewayError,
  requestId: string,
  options: { traceId?: string; realm?: string } = {},
): RenderedProblem {
  const realm = options.realm ?? 'qiao'
  const spec = problems[err.code]
  const body: ProblemBody = {
    ...err.extensions,
    type: problemType(err.code),
    title: spec.title,
    status: spec.status,
    detail: err.detail ?? spec.title,
    code: err.code,
    instance: `urn:qiao:request:${requestId}`,
    requestId,
    ...(options.traceId ? { traceId: options.traceId } : {}),
  }
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, ...err.headers }
  if (spec.status === 401) {
    // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
    headers['www-authenticate'] =
      'bearerError' in spec ? `Bearer realm="${realm}", error="${spec.bearerError}"` : `Bearer realm="${realm}"`
  } else if ('bearerError' in spec) {
    const scope = typeof err.extensions?.requiredScope === 'string' ? `, scope="${err.extensions.requiredScope}"` : ''
    headers['www-authenticate'] = `Bearer realm="${realm}", error="${spec.bearerError}"${scope}`
  }
  return { status: spec.status, headers, body: JSON.stringify(body) }
}
