/**
 * The subscription delivery engine: per subscription, an ordered, durable, at-least-once queue of change events
 * with stable event ids, a replayable history for the pull API, and suspension the moment a grant is revoked.
 * Change feeds publish into it; the webhook deliverer and the pull API take from it.
 *
 * Two backends, one contract (conformance/suite.ts):
 * - **The state store's outbox** (outbox/engine.ts) is the embedded default: a single instance needs no other
 *   service, and the events live in the same SQLite file or PostgreSQL schema as the grants that decide whether
 *   they may be delivered. On PostgreSQL several instances can share it (claims take the subscription's row with
 *   `FOR UPDATE SKIP LOCKED`, so two instances never deliver one event at once), at the cost of polling the
 *   database.
 * - **NATS JetStream** (jetstream/engine.ts) is the choice for several instances: streams, durable consumers,
 *   ack deadlines, redelivery, `Nats-Msg-Id` de-duplication and replay by sequence are the broker's own, tested
 *   well beyond what a home-made queue would be, and consumers are woken by the broker instead of polling. Its
 *   de-duplication lasts a window (`dedupWindowMs`), the outbox's as long as an event is kept.
 *
 * Semantics both keep:
 * - `publish` is idempotent on the event id: the same change published twice (a feed that crashed between its poll
 *   and saving its cursor) is one event, and the second publish answers `duplicate` with the first's cursor.
 * - Events are delivered in publish order. At most `maxInFlight` of a subscription's events are in flight at once,
 *   across every engine instance on the same store or broker; with the default of 1 delivery is strictly ordered —
 *   event n+1 is not handed out before event n is acknowledged or dead-lettered. An event in flight is handed to
 *   nobody else until its ack deadline passes; then it is delivered again, in order, with the same id.
 * - A failed attempt (`nak`) is retried after `retryDelayMs(attempt)`; after `maxAttempts` failed or timed-out
 *   attempts the event is dead-lettered with its reason and delivery goes on with the next one.
 * - `suspend` (a revoked or expired grant) takes effect at once: no fetch returns the subscription's events any
 *   more, acknowledgements of events in flight are refused, and every event not yet delivered and the replay
 *   history are dropped — they were projected under a grant that no longer holds, so they are never delivered,
 *   not even after a `resume`. Publishes while suspended are refused (`suspended`). A resumed subscription starts
 *   with the events published after it; its cursors keep growing. Dead letters (ids and reasons, no payload) stay.
 * - Cursors are opaque, strictly increasing per subscription in publish order; `replay(after)` returns exactly the
 *   retained events that followed `after`, acknowledged or not.
 */
import type { Clock } from '../../kernel/clock.js'

/** What a change feed publishes: the change, already projected and masked for the subscriber's grant. */
export interface SubscriptionEvent {
  /** Stable id of the change (e.g. resource, record key and version): the de-duplication key. */
  readonly id: string
  readonly payload: JsonValue
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export type PublishResult =
  | { readonly outcome: 'stored'; readonly cursor: string }
  /** The event id was published before: nothing new was stored; `cursor` is the first publish's. */
  | { readonly outcome: 'duplicate'; readonly cursor: string }
  /** The subscription is suspended: the event was not kept. */
  | { readonly outcome: 'suspended' }

/** One event handed to a consumer; pass it back to `ack` or `nak`. */
export interface Delivery {
  readonly subscriptionId: string
  readonly eventId: string
  readonly cursor: string
  /** 1 for the first delivery, one more for every redelivery. */
  readonly attempt: number
  /** Epoch ms at which the event was published (the engine's clock). */
  readonly publishedAt: number
  readonly payload: JsonValue
  /** The backend's handle on this delivery (opaque). */
  readonly receipt: string
}

export interface ReplayedEvent {
  readonly eventId: string
  readonly cursor: string
  readonly publishedAt: number
  readonly payload: JsonValue
}

export interface ReplayPage {
  readonly events: readonly ReplayedEvent[]
  /** Where the next page starts: the last event's cursor, or the cursor asked for when nothing followed it. */
  readonly next: string | undefined
}

export interface DeadLetter {
  readonly eventId: string
  readonly cursor: string
  /** Attempts made before it was given up. */
  readonly attempts: number
  /** The last failure: the consumer's reason, or `ack-deadline` when the last attempt was never answered. */
  readonly reason: string
  readonly at: number
}

/** The reason recorded when an event's last attempt was neither acknowledged nor failed before its deadline. */
export const ACK_DEADLINE_REASON = 'ack-deadline'

export type NakResult =
  /** It will be delivered again after the retry delay. */
  | 'retry'
  /** That was its last attempt: it is a dead letter now, and delivery goes on with the next event. */
  | 'dead-lettered'
  /** The delivery was no longer current (acknowledged, redelivered, dropped or dead-lettered): nothing changed. */
  | 'stale'

/** How one subscription's events are delivered; fixed when it is created. */
export interface DeliveryPolicy {
  /** Events of the subscription in flight at once, across instances (1–1000); 1 = strictly ordered. */
  readonly maxInFlight: number
  /** How long a delivery may go unanswered before it is handed out again. */
  readonly ackWaitMs: number
  /** Attempts before an event is dead-lettered (1–100). */
  readonly maxAttempts: number
}

export interface SubscriptionStatus {
  readonly id: string
  readonly state: 'active' | 'suspended'
  readonly policy: DeliveryPolicy
  /** Why it was suspended (e.g. `grant-revoked`); absent while active. */
  readonly suspendedReason?: string
}

export interface FetchOptions {
  /** Most deliveries to return (also bounded by the policy's maxInFlight); default 1. */
  readonly max?: number
  /**
   * How long to wait when no event is ready; default 0 (answer at once). The outbox answers as soon as it has any;
   * the broker may wait the whole time to fill `max` (so `max: 1` is the low-latency way to wait).
   */
  readonly waitMs?: number
}

export interface SubscriptionEngine {
  /** `outbox-sqlite`, `outbox-postgres` or `jetstream`. */
  readonly backend: string
  /** Creates the subscription if it does not exist (an existing one is left as it is) and answers its status. */
  create(subscriptionId: string, policy?: Partial<DeliveryPolicy>): Promise<SubscriptionStatus>
  /** Undefined for an unknown (or removed) subscription. */
  status(subscriptionId: string): Promise<SubscriptionStatus | undefined>
  publish(subscriptionId: string, event: SubscriptionEvent): Promise<PublishResult>
  /** The next events ready for delivery, in order; empty while suspended. */
  fetch(subscriptionId: string, options?: FetchOptions): Promise<Delivery[]>
  /**
   * True when the acknowledgement was taken; false when it certainly could not be: the subscription was suspended
   * or removed, or the event dropped. (The outbox also answers false for an event already settled; the broker
   * takes any acknowledgement of its consumer's deliveries.)
   */
  ack(delivery: Delivery): Promise<boolean>
  /** A failed attempt; `reason` is kept with a dead letter, so it must hold no payload value or personal data. */
  nak(delivery: Delivery, reason: string): Promise<NakResult>
  /** Retained events after `after` (from the oldest when undefined), at most `limit`. */
  replay(subscriptionId: string, after: string | undefined, limit: number): Promise<ReplayPage>
  deadLetters(subscriptionId: string, limit?: number): Promise<DeadLetter[]>
  suspend(subscriptionId: string, reason: string): Promise<void>
  resume(subscriptionId: string): Promise<void>
  /** Forgets the subscription and all its events. */
  remove(subscriptionId: string): Promise<void>
  /** Stops the engine's timers and connections; deliveries not acknowledged are redelivered after their deadline. */
  close(): Promise<void>
}

/** Options every backend takes. */
export interface EngineOptions {
  readonly clock: Clock
  /** Policy of subscriptions created without one. */
  readonly defaultPolicy?: Partial<DeliveryPolicy>
  /** Wait before redelivering after the `attempt`-th failure; default 1 s doubling up to 5 min. */
  readonly retryDelayMs?: (attempt: number) => number
  /** Largest payload accepted, as JSON bytes; default 256 KiB. */
  readonly maxPayloadBytes?: number
  /**
   * How long an event is kept after its publish, delivered or not: the replay history, and the outbox's
   * de-duplication horizon. Default 7 days.
   */
  readonly retentionMs?: number
}
