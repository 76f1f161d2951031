import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { WebhookError } from './errors.js'

/**
 * Standard Webhooks (https://www.standardwebhooks.com/) signatures, so that a receiver can verify our deliveries
 * with any of that specification's libraries: `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the base64 part of a
 * `whsec_<base64>` secret.
 */

export const SECRET_PREFIX = 'whsec_'
/** The specification's bounds on the decoded key. */
const MIN_KEY_BYTES = 24
const MAX_KEY_BYTES = 64
/** How far a receiver lets `webhook-timestamp` be from its clock, either way: the specification's 5 minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** A new subscription's secret: 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`
}

/**
 * The HMAC key of a secret. The prefix may be left out, as the specification's libraries allow (a secret pasted
 * without it). Refused when it is not base64 or decodes outside 24–64 bytes; the error never quotes the secret.
 */
export function webhookKey(secret: string): Buffer {
  const encoded = typeof secret === 'string' && secret.startsWith(SECRET_PREFIX) ? secret.slice(6) : secret
  if (typeof encoded !== 'string' || encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
    throw new WebhookError('webhook-secret-invalid')
  }
  const key = Buffer.from(encoded, 'base64')
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) throw new WebhookError('webhook-secret-invalid')
  return key
}

export interface SignedHeaders {
  readonly 'webhook-id': string
  readonly 'webhook-timestamp': string
  readonly 'webhook-signature': string
}

/** `v1,<base64>` for one message; `body` is the exact bytes sent. */
export function signWebhook(key: Uint8Array, id: string, timestampSeconds: number, body: string | Uint8Array): string {
  return `v1,${mac(key, id, String(timestampSeconds), body).toString('base64')}`
}

/** The three headers of one delivery attempt (each attempt is signed afresh: its timestamp is the attempt's). */
export function webhookHeaders(
  key: Uint8Array,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): SignedHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signWebhook(key, id, timestampSeconds, body),
  }
}

export type VerifyResult =
  | { readonly ok: true; readonly id: string; readonly timestamp: number }
  | {
      readonly ok: false
      readonly reason: 'headers-missing' | 'timestamp-invalid' | 'timestamp-outside-tolerance' | 'signature-invalid'
    }

export interface VerifyOptions {
  /** `whsec_…` (or the bare base64). */
  readonly secret: string
  /** Node's `req.headers`, a fetch `Headers`, or a plain record with lower-case names. */
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>
  /** The raw body as received: re-serialised JSON would not verify. */
  readonly body: string | Uint8Array
  /** The receiver's clock, epoch ms; default `Date.now()`. */
  readonly now?: number
  readonly toleranceSeconds?: number
}

/**
 * What a receiver runs before trusting a delivery: the headers are present, the timestamp is within the tolerance
 * (a replayed old message is refused even with a good signature) and one of the space-separated `v1` signatures
 * matches, compared in constant time.
 */
export function verifyWebhook(options: VerifyOptions): VerifyResult {
  const key = webhookKey(options.secret)
  const id = header(options.headers, 'webhook-id')
  const timestamp = header(options.headers, 'webhook-timestamp')
  const signatures = header(options.headers, 'webhook-signature')
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    return { ok: false, reason: 'headers-missing' }
  }
  if (!/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'timestamp-invalid' }
  const seconds = Number(timestamp)
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000)
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS
  if (Math.abs(nowSeconds - seconds) > tolerance) return { ok: false, reason: 'timestamp-outside-tolerance' }
  const expected = mac(key, id, timestamp, options.body)
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2)
    if (version !== 'v1' || value === undefined) continue
    const candidate = Buffer.from(value, 'base64')
    // Lengths first: timingSafeEqual throws on unequal lengths, and a length says nothing about the key.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
      return { ok: true, id, timestamp: seconds }
    }
  }
  return { ok: false, reason: 'signature-invalid' }
}

function mac(key: Uint8Array, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest()
}

function header(headers: VerifyOptions['headers'], name: string): string | undefined {
  const value = headers instanceof Headers ? headers.get(name) : headers[name]
  const first: unknown = typeof value === 'string' || value == null ? value : value[0]
  return typeof first === 'string' && first.length > 0 ? first : undefined
}
