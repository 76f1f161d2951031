import { Agent, type Dispatcher, request } from 'undici'
import type { Clock } from '../../../kernel/clock.js'
import { consume, DeliveryFailedError, LEAVE_UNANSWERED, type Settled } from '../consume.js'
import type { Delivery, SubscriptionEngine } from '../engine.js'
import { SubscriptionError } from '../errors.js'
import { webhookHeaders, webhookKey } from './signing.js'
import {
  ADDRESS_REFUSED_CODE,
  assertWebhookUrl,
  guardedLookup,
  type ResolveHost,
  systemResolve,
  type WebhookUrlPolicy,
} from './url-policy.js'

/**
 * Delivers one subscription's events as signed webhooks (Standard Webhooks, signing.ts): fetch from the engine,
 * POST, then ack on 2xx or nak with a short reason, so the engine retries with its backoff and dead-letters after
 * the policy's maxAttempts. At least once: an event whose answer never came back (crash, close) is handed out
 * again after its ack deadline with the same `webhook-id`, which is the receiver's de-duplication key.
 */

/** pino-compatible subset. Logged: subscription id, cursor, attempt, outcome — never the URL, payload or answer. */
export interface WebhookLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface WebhookDeliveryOptions {
  readonly engine: SubscriptionEngine
  readonly subscriptionId: string
  /** Checked against `urlPolicy` at start (a `WebhookUrlError` when refused). */
  readonly url: string
  /** `whsec_…` (a `WebhookError` `webhook-secret-invalid` when malformed). */
  readonly secret: string
  /** Default: https only, no private or loopback addresses, any host. */
  readonly urlPolicy?: WebhookUrlPolicy
  /**
   * Default: an Agent of our own with connect, headers and body timeouts and the address guard on every
   * connection (closed by `close`). One passed in is the caller's to close, and the caller's to guard.
   */
  readonly dispatcher?: Dispatcher
  /** Signs `webhook-timestamp`; the engine keeps its own clock for deadlines. */
  readonly clock: Clock
  readonly log: WebhookLogger
  /** Whole attempt, connecting to the end of the answer; default 10 s. */
  readonly timeoutMs?: number
  /** The answer's body is read and discarded up to this many bytes, then the connection is dropped; default 64 KiB. */
  readonly maxBodyBytes?: number
  /** Attempts in flight at once (also bounded by the subscription's maxInFlight); default 1, strictly ordered. */
  readonly concurrency?: number
  /** How long one fetch waits for an event; also how long `close` may wait for a fetch under way. Default 1 s. */
  readonly waitMs?: number
  /** Pause after the engine failed (store or broker down); default 1 s. */
  readonly retryAfterMs?: number
  /** How long `close` lets requests in flight finish before aborting them (then left unanswered); default 5 s. */
  readonly drainMs?: number
  /**
   * Runs before an event leaves, with nothing of it sent yet; throwing fails the attempt (`before-send-failed`).
   * Where the owner writes the delivery's audit record: no audit, no data.
   */
  readonly beforeSend?: (delivery: Delivery) => Promise<void>
  /**
   * After every settled attempt: the outcome, for metrics and the audit record (no payload in it), and how long the
   * attempt took, before-send included (monotonic time, not the injected clock).
   */
  readonly onAttempt?: (delivery: Delivery, outcome: AttemptOutcome, seconds: number) => void
  /**
   * The receiver answered `410 Gone`: Standard Webhooks' "this endpoint is gone", so the owner should disable the
   * subscription. Called once per deliverer; the attempt is nak'ed like any failure (it may still dead-letter).
   */
  readonly onGone?: (subscriptionId: string) => void
  /** Resolver of the default Agent's address guard (tests map names to loopback with it). */
  readonly resolve?: ResolveHost
}

export type AttemptOutcome =
  | { readonly result: 'delivered'; readonly status: number; readonly acknowledged: boolean }
  | {
      readonly result: 'failed'
      /** Kept with a dead letter: `http-<status>`, `timeout`, `address-refused`, `network-<code>`, … */
      readonly reason: string
      readonly status?: number
      readonly next: 'retry' | 'dead-lettered' | 'stale' | 'unrecorded'
    }

export interface WebhookDeliveryStats {
  /** 2xx answers acknowledged. */
  readonly delivered: number
  /** Failed attempts the engine will retry. */
  readonly retried: number
  readonly deadLettered: number
  /** 2xx answers whose acknowledgement the engine refused (suspended meanwhile) or a nak it found stale. */
  readonly refused: number
  /** Attempts under way now. */
  readonly inFlight: number
  /** A receiver answered 410 Gone. */
  readonly gone: boolean
  /** The last failure's reason, if any. */
  readonly lastFailure?: string
}

export interface WebhookDelivery {
  /**
   * Stops fetching; requests in flight get `drainMs` to finish (and are acked or nak'ed), then are aborted and left
   * unanswered, so the engine hands them out again after their ack deadline — nothing in flight is lost.
   */
  close(): Promise<void>
  stats(): WebhookDeliveryStats
  /** Resolves when the loop ends: closed, the subscription removed or the engine closed. */
  readonly done: Promise<void>
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024

export function startWebhookDelivery(options: WebhookDeliveryOptions): WebhookDelivery {
  const { engine, subscriptionId, clock, log } = options
  const policy = options.urlPolicy ?? {}
  // Both throw at start: a deliverer is never started for a URL or secret that could not be used.
  const url = assertWebhookUrl(options.url, policy).href
  const key = webhookKey(options.secret)
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const waitMs = options.waitMs ?? 1_000
  const retryAfterMs = options.retryAfterMs ?? 1_000
  const drainMs = options.drainMs ?? 5_000
  const workers = Math.max(1, Math.trunc(options.concurrency ?? 1))
  const ownAgent =
    options.dispatcher === undefined
      ? new Agent({
          connect: { timeout: timeoutMs, lookup: guardedLookup(policy, options.resolve ?? systemResolve) },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          connections: workers,
        })
      : undefined
  const dispatcher = options.dispatcher ?? (ownAgent as Agent)

  const counts = { delivered: 0, retried: 0, deadLettered: 0, refused: 0, inFlight: 0 }
  let gone = false
  let lastFailure: string | undefined
  let stopping = false
  const shutdown = new AbortController()
  // The receiver's status of each attempt, for onAttempt once the engine took the answer.
  const statuses = new WeakMap<Delivery, number>()
  // And how long it took, in seconds.
  const durations = new WeakMap<Delivery, number>()

  /** Sends one attempt: resolves to ack (2xx), throws the failure's reason to nak, or leaves it to redelivery. */
  async function deliver(delivery: Delivery): Promise<typeof LEAVE_UNANSWERED | undefined> {
    // Fetched while closing: left unanswered, handed out again after the ack deadline.
    if (stopping) return LEAVE_UNANSWERED
    counts.inFlight++
    let sent: number | string
    const started = performance.now()
    try {
      sent = await send(delivery)
    } finally {
      counts.inFlight--
      durations.set(delivery, (performance.now() - started) / 1000)
    }
    if (sent === 'aborted') return LEAVE_UNANSWERED
    if (typeof sent === 'number') statuses.set(delivery, sent)
    if (typeof sent === 'number' && sent >= 200 && sent < 300) return undefined
    const reason = typeof sent === 'string' ? sent : sent === 410 ? 'http-410-gone' : `http-${sent}`
    lastFailure = reason
    if (sent === 410 && !gone) {
      gone = true
      log.warn(
        { subscription: subscriptionId },
        'webhook receiver answered 410 Gone: the subscription should be disabled',
      )
      options.onGone?.(subscriptionId)
    }
    // Retry-After is not honoured: the engine's nak takes no delay (its retryDelayMs backoff applies to every
    // attempt), and holding the event here instead would keep the ordered slot past its ack deadline.
    throw new DeliveryFailedError(reason)
  }

  /** The answer's status, a failure reason, or `aborted` by close (not to be settled). */
  async function send(delivery: Delivery): Promise<number | string> {
    if (options.beforeSend !== undefined) {
      try {
        await options.beforeSend(delivery)
      } catch {
        return 'before-send-failed'
      }
    }
    const body = JSON.stringify({
      id: delivery.eventId,
      subscription: delivery.subscriptionId,
      cursor: delivery.cursor,
      attempt: delivery.attempt,
      publishedAt: new Date(delivery.publishedAt).toISOString(),
      data: delivery.payload,
    })
    // Signed per attempt: a retry minutes later must still be inside the receiver's tolerance window.
    const signed = webhookHeaders(key, delivery.eventId, Math.floor(clock.now() / 1000), body)
    const timeout = AbortSignal.timeout(timeoutMs)
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', 'user-agent': 'qiao-webhook', ...signed },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.any([timeout, shutdown.signal]),
      })
      // Read and thrown away, up to the cap (past it undici drops the connection): never logged, never kept.
      await res.body.dump({ limit: maxBodyBytes }).catch(() => {})
      return res.statusCode
    } catch (err) {
      if (shutdown.signal.aborted) return 'aborted'
      if (timeout.aborted) return 'timeout'
      return failureReason(err)
    }
  }

  function settled(delivery: Delivery, answer: Settled): void {
    const status = statuses.get(delivery)
    const seconds = durations.get(delivery) ?? 0
    if ('acknowledged' in answer) {
      if (answer.acknowledged) counts.delivered++
      else counts.refused++
      options.onAttempt?.(
        delivery,
        {
          result: 'delivered',
          status: status as number,
          acknowledged: answer.acknowledged,
        },
        seconds,
      )
      return
    }
    const { reason, next } = answer
    if (next === 'retry') counts.retried++
    else if (next === 'dead-lettered') counts.deadLettered++
    else if (next === 'stale') counts.refused++
    const line = { subscription: subscriptionId, cursor: delivery.cursor, attempt: delivery.attempt, reason, next }
    if (next === 'dead-lettered') log.error(line, 'webhook event dead-lettered')
    else log.warn(line, 'webhook attempt failed')
    options.onAttempt?.(
      delivery,
      status === undefined ? { result: 'failed', reason, next } : { result: 'failed', reason, status, next },
      seconds,
    )
  }

  const ENGINE_FAILURES = {
    fetch: 'webhook delivery: fetch failed; trying again',
    ack: 'webhook delivery: ack failed',
    nak: 'webhook delivery: nak failed',
  } as const
  const consumer = consume(engine, subscriptionId, deliver, {
    maxInFlight: workers,
    waitMs,
    retryAfterMs,
    // The receiver de-duplicates on webhook-id, so an unrecorded answer only costs a redelivery.
    onError: (err, during) => log.warn({ subscription: subscriptionId, err: errorKind(err) }, ENGINE_FAILURES[during]),
    onSettled: settled,
  })
  const done = consumer.done.then(() => {
    stopping = true
  })

  let closing: Promise<void> | undefined
  return {
    done,
    stats: () => ({ ...counts, gone, ...(lastFailure === undefined ? {} : { lastFailure }) }),
    close() {
      closing ??= (async () => {
        stopping = true
        const stopped = consumer.stop()
        const drained = await Promise.race([
          stopped.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(resolve, drainMs, false).unref()),
        ])
        if (!drained) shutdown.abort()
        await done
        await ownAgent?.close()
      })()
      return closing
    },
  }
}

/** A short, fixed vocabulary: no message (it could quote the URL), no body. */
function failureReason(err: unknown): string {
  const code = (err as { code?: unknown })?.code
  if (code === ADDRESS_REFUSED_CODE || (err as { cause?: { code?: unknown } })?.cause?.code === ADDRESS_REFUSED_CODE) {
    return 'address-refused'
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return 'timeout'
  }
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return `network-${code}`
  return `network-${(err as Error)?.name ?? 'error'}`
}

function errorKind(err: unknown): string {
  if (err instanceof SubscriptionError) return err.code
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' ? code : ((err as Error)?.name ?? 'error')
}
