import type { LoadedSchema } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { toViolations } from '../validation/ajv.js'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Reads a JSON request body under a size limit. The Content-Length is checked before reading, and a body
 * without one (chunked) is cut off as soon as it passes the limit, so an oversized body is never buffered.
 */
export async function readJsonBody(request: Request, limit: number): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type')
  if (type === null || !JSON_MEDIA_TYPE.test(type)) {
    throw new GatewayError('unsupported-media-type', { detail: 'send the parameters as application/json' })
  }
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  const body = request.body
  if (body === null) throw new GatewayError('body-malformed', { detail: 'the body is empty' })
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.concat(chunks, size).toString('utf8'))
  } catch {
    throw new GatewayError('body-malformed', { detail: 'the body is not valid JSON' })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('body-malformed', { detail: 'the body must be a JSON object' })
  }
  return parsed as Record<string, unknown>
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body-too-large', { detail: `the body exceeds ${limit} bytes` })
}

/** Validates against the resource's compiled request schema; a 400 lists every violation by JSON pointer. */
export function validateParameters(schema: LoadedSchema, params: Record<string, unknown>): Record<string, unknown> {
  if (schema.validate(params)) return params
  const errors = toViolations(schema.validate.errors)
  throw new GatewayError('params-invalid', {
    detail: errors.map((e) => `${e.pointer || '/'} ${e.message}`).join('; '),
    extensions: { errors },
  })
}
