import type { Dispatcher } from 'undici'
import { ConnectorError } from './connector-error.js'

/**
 * Reading legacy HTTP answers (undici bodies) safely: at most a given number of bytes, decoded in fatal mode with the
 * right charset, and answers the connector will not use drained so the socket can be reused. Every failure is a
 * `bad-response` ConnectorError whose message names the limit or the charset, never a byte of the payload.
 */

export type ResponseBody = Dispatcher.ResponseData['body']
/** What legacy bodies are decoded as: GB18030 stands for GBK and GB2312 too (it is their superset). */
export type BodyCharset = 'utf-8' | 'gb18030'

const UTF8_CHARSET = /charset\s*=\s*"?utf-?8/i
const GB_CHARSET = /charset\s*=\s*"?(gbk|gb2312|gb18030)/i

/** The whole body, at most `limit` bytes; a larger one is destroyed and refused as bad-response. */
export async function readBodyBytes(body: ResponseBody, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > limit) {
      body.destroy()
      throw new ConnectorError('bad-response', `response body exceeds ${limit} bytes`)
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}

/**
 * The charset to decode a body with, from its content-type. With `fallback` UTF-8 (JSON interfaces), a GBK, GB2312
 * or GB18030 label means GB18030, anything else UTF-8; with `fallback` GB18030 (systems known to send GB bytes
 * whatever they declare), only an explicit UTF-8 label means UTF-8.
 */
export function bodyCharset(contentType: string | string[] | undefined, fallback: BodyCharset = 'utf-8'): BodyCharset {
  const type = Array.isArray(contentType) ? contentType.join(';') : (contentType ?? '')
  if (fallback === 'utf-8') return GB_CHARSET.test(type) ? 'gb18030' : 'utf-8'
  return UTF8_CHARSET.test(type) ? 'utf-8' : 'gb18030'
}

/** Decodes in fatal mode: a byte that is not valid in the charset is a bad-response, never a silent U+FFFD. */
export function decodeBody(bytes: Uint8Array, charset: BodyCharset): string {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes)
  } catch (err) {
    throw new ConnectorError('bad-response', `response body is not valid ${charset}`, { cause: err })
  }
}

export interface ReadBodyTextOptions {
  /** Most bytes read. */
  readonly limit: number
  /** See bodyCharset. @default 'utf-8' */
  readonly fallbackCharset?: BodyCharset
}

/**
 * Reads the whole body (at most `limit` bytes) and decodes it (see bodyCharset).
 *
 * @example
 * const text = await readBodyText(res.body, res.headers['content-type'], { limit: 8 * 1024 * 1024 })
 */
export async function readBodyText(
  body: ResponseBody,
  contentType: string | string[] | undefined,
  options: ReadBodyTextOptions,
): Promise<string> {
  const bytes = await readBodyBytes(body, options.limit)
  return decodeBody(bytes, bodyCharset(contentType, options.fallbackCharset))
}

/** Consumes an answer the connector will not use (at most `limit` bytes), so the socket can be reused; gives the socket up on failure. */
export async function drainBody(body: ResponseBody, limit: number): Promise<void> {
  try {
    await body.dump({ limit })
  } catch {
    body.destroy()
  }
}
