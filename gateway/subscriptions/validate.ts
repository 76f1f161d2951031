import type { DeliveryPolicy, EngineOptions, JsonValue, SubscriptionEvent } from './engine.js'
import { SubscriptionError } from './errors.js'

/** Names a NATS subject token and consumer as it is, so both backends accept the same ids. */
const SUBSCRIPTION_ID = /^[A-Za-z0-9_-]{1,64}$/
/** Visible ASCII: it travels in a `Nats-Msg-Id` header. */
const EVENT_ID = /^[\x21-\x7e]{1,200}$/
const CURSOR = /^\d{16}$/
/** Longest dead-letter reason kept; a reason is the consumer's short explanation, not a body. */
const MAX_REASON_CHARS = 500

export const DEFAULT_POLICY: DeliveryPolicy = { maxInFlight: 1, ackWaitMs: 30_000, maxAttempts: 8 }
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000

/** 1 s, doubling per failed attempt, at most 5 min. */
export const defaultRetryDelayMs = (attempt: number): number => Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1))

export function checkSubscriptionId(id: string): void {
  if (typeof id !== 'string' || !SUBSCRIPTION_ID.test(id)) throw new SubscriptionError('subscription-id-invalid')
}

/** The policy a create asks for, over the engine's defaults; refused when out of range. */
export function resolvePolicy(options: EngineOptions, asked: Partial<DeliveryPolicy> | undefined): DeliveryPolicy {
  const policy = { ...DEFAULT_POLICY, ...options.defaultPolicy, ...asked }
  const inRange = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max
  if (
    !inRange(policy.maxInFlight, 1, 1000) ||
    !inRange(policy.ackWaitMs, 1, 24 * 3_600_000) ||
    !inRange(policy.maxAttempts, 1, 100)
  ) {
    throw new SubscriptionError('delivery-policy-invalid')
  }
  return policy
}

/** The event's payload as JSON, after checking its id and size. */
export function encodeEvent(event: SubscriptionEvent, maxPayloadBytes: number): string {
  if (typeof event?.id !== 'string' || !EVENT_ID.test(event.id)) throw new SubscriptionError('event-invalid')
  let json: string | undefined
  try {
    json = JSON.stringify(event.payload)
  } catch {
    json = undefined
  }
  if (json === undefined) throw new SubscriptionError('event-invalid', `event ${event.id}`)
  if (Buffer.byteLength(json, 'utf8') > maxPayloadBytes) throw new SubscriptionError('event-too-large', event.id)
  return json
}

export const decodePayload = (json: string): JsonValue => JSON.parse(json) as JsonValue

/** Cursors are the event's sequence, fixed-width so that they also sort as strings. */
export const encodeCursor = (seq: number): string => String(seq).padStart(16, '0')

export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0
  if (typeof cursor !== 'string' || !CURSOR.test(cursor)) throw new SubscriptionError('cursor-invalid')
  const seq = Number(cursor)
  if (!Number.isSafeInteger(seq)) throw new SubscriptionError('cursor-invalid')
  return seq
}

export const boundReason = (reason: string): string =>
  (typeof reason === 'string' && reason.length > 0 ? reason : 'unspecified').slice(0, MAX_REASON_CHARS)

/** Replay and fetch sizes: a positive integer, at most `max`. */
export function boundCount(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new RangeError('count must be a positive integer')
  return Math.min(value, max)
}
