import type { LoadedSchema } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { validateBounded } from '../validation/bounded.js'
import type { Charged, Reached, WithParameters } from './exchange.js'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** The request body as the server has it: @hono/node-server's Node stream, with its headers. */
export type BodyStream = NodeJS.ReadableStream & { readonly headers: Readonly<Record<string, unknown>> }

/**
 * Reads a JSON request body under a size limit. The Content-Length is checked before reading, and a body
 * without one (chunked) is cut off as soon as it passes the limit, so an oversized body is never buffered.
 * The Node stream is read directly: materialising a web Request per call costs more than the rest of the
 * parameter stage.
 */
export async function readJsonBody(stream: BodyStream, limit: number): Promise<Record<string, unknown>> {
  const type = headerOf(stream, 'content-type')
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
    throw new GatewayError('unsupported-media-type', { detail: 'send the parameters as application/json' })
  }
  const declared = headerOf(stream, 'content-length')
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit)
  const text = await readNodeBody(stream, limit)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new GatewayError('body-malformed', { detail: 'the body is not valid JSON' })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('body-malformed', { detail: 'the body must be a JSON object' })
  }
  return parsed as Record<string, unknown>
}

/** The exchange stage: the body, validated against the request schema of the resource's binding. */
export async function readParameters<A extends Charged>(
  call: A,
  stream: BodyStream,
  limit: number,
): Promise<WithParameters<A>> {
  const body = await readJsonBody(stream, limit)
  const reached: Reached = call
  reached.params = validateParameters(call.binding.request, body)
  return call as WithParameters<A>
}

function headerOf(stream: BodyStream, name: string): string | undefined {
  const v = stream.headers[name]
  return typeof v === 'string' ? v : undefined
}

function readNodeBody(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        // Stop reading; the rest of an oversized body is discarded, never buffered.
        stream.resume()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
      )
    }
    const onError = () => {
      cleanup()
      reject(new GatewayError('body-malformed', { detail: 'the body could not be read' }))
    }
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
    }
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
  })
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body-too-large', { detail: `the body exceeds ${limit} bytes` })
}

/**
 * Validates against the resource's compiled request schema (a read's parameters or a write's body). A 400 lists the
 * violations by JSON pointer (the first MAX_VIOLATIONS, with `truncated` and `total` beyond), and names the
 * parameters the resource takes when an unknown one was sent, so the caller can fix the call: once, in `allowed`
 * and at the end of the detail, however many unknown members the body has.
 */
export function validateParameters(schema: LoadedSchema, params: Record<string, unknown>): Record<string, unknown> {
  const result = validateBounded(schema.validate, schema.schema, params)
  if (result.valid) return params
  const { errors, violations, total, truncated } = result
  const unknown = errors.some((e) => e.keyword === 'additionalProperties' && e.instancePath === '')
  const allowed = unknown ? allowedParameters(schema) : undefined
  const shown = violations.map((e) => `${e.pointer || '/'} ${e.message}`).join('; ')
  const more = truncated ? ` (and ${total - violations.length} more)` : ''
  const hint = allowed === undefined ? '' : `; allowed parameters: ${allowed.join(', ') || '(none)'}`
  throw new GatewayError('params-invalid', {
    detail: `${shown}${more}${hint}`,
    extensions: {
      errors: violations,
      ...(truncated ? { truncated: true, total } : {}),
      ...(allowed === undefined ? {} : { allowed }),
    },
  })
}

const allowedBySchema = new WeakMap<LoadedSchema, readonly string[]>()

/**
 * The top-level parameter (read) or body member (write) names the request schema declares, in its order; worked
 * out once per loaded schema.
 */
function allowedParameters(schema: LoadedSchema): readonly string[] {
  let allowed = allowedBySchema.get(schema)
  if (allowed === undefined) {
    const properties = (schema.schema as { properties?: unknown }).properties
    allowed = Object.freeze(typeof properties === 'object' && properties !== null ? Object.keys(properties) : [])
    allowedBySchema.set(schema, allowed)
  }
  return allowed
}
