/**
 * What the subscription engine refuses, with stable codes: the delivery workers, the pull API and the operators'
 * commands key on the code (the pull API maps them to problems), never on the message. A message names the
 * subscription or event id at most, never a payload value.
 */
export const subscriptionErrors = {
  'subscription-id-invalid':
    'A subscription id is 1–64 letters, digits, `_` or `-` (it names a subject and a consumer).',
  'subscription-unknown': 'No such subscription: never created, or removed.',
  'subscription-suspended':
    'The subscription is suspended (its grant was revoked or expired): nothing is delivered or replayed.',
  'delivery-policy-invalid': 'maxInFlight, ackWaitMs or maxAttempts is out of range.',
  'event-invalid': 'An event id is 1–200 visible ASCII characters and its payload a JSON value.',
  'event-too-large': 'The event payload, as JSON, is larger than the engine accepts.',
  'cursor-invalid': 'The replay cursor was not produced by this engine.',
  'engine-closed': 'The engine was closed.',
} as const

export type SubscriptionErrorCode = keyof typeof subscriptionErrors

export class SubscriptionError extends Error {
  readonly code: SubscriptionErrorCode

  constructor(code: SubscriptionErrorCode, detail?: string) {
    super(detail === undefined ? subscriptionErrors[code] : `${subscriptionErrors[code]} (${detail})`)
    this.name = 'SubscriptionError'
    this.code = code
  }
}
