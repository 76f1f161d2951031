import type { Delivery, NakResult, SubscriptionEngine } from './engine.js'
import { SubscriptionError } from './errors.js'

/**
 * What a handler returns to answer neither way: the delivery stays in flight and is handed out again after its ack
 * deadline, same id (e.g. a webhook request cut short by a shutdown, whose fate is unknown).
 */
export const LEAVE_UNANSWERED = Symbol('leave-unanswered')

/**
 * Resolve to acknowledge; throw to fail the attempt (a `DeliveryFailedError` says why); resolve to
 * `LEAVE_UNANSWERED` to answer neither way. (Any other value resolved with is ignored: an acknowledgement.)
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<unknown>

/** How a delivery was answered: acknowledged (false: the engine no longer held it), or failed and what follows. */
export type Settled =
  | { readonly acknowledged: boolean }
  /** `unrecorded`: the nak itself failed; the event comes again after its ack deadline. */
  | { readonly reason: string; readonly next: NakResult | 'unrecorded' }

/** A handler's failure with a reason fit to keep with a dead letter: no payload value, no personal data. */
export class DeliveryFailedError extends Error {
  constructor(readonly reason: string) {
    super(reason)
    this.name = 'DeliveryFailedError'
  }
}

export interface ConsumeOptions {
  /**
   * Handler calls running at once on this instance; default 1. More than the subscription's policy allows gains
   * nothing, and above 1 events are handed out in order but may finish out of order.
   */
  readonly maxInFlight?: number
  /** How long one fetch waits for an event before looking again; default 1 s. */
  readonly waitMs?: number
  /** Pause after a failed fetch, acknowledgement or nak (store or broker down) before trying again; default 1 s. */
  readonly retryAfterMs?: number
  /** A failed fetch, ack or nak (for the operational log: it holds no payload). The loop goes on. */
  readonly onError?: (err: unknown, during: 'fetch' | 'ack' | 'nak') => void
  /** Every answered delivery, after the engine took the answer (not called for a failed ack). */
  readonly onSettled?: (delivery: Delivery, settled: Settled) => void
}

export interface Consumer {
  /** Stops fetching, lets running handlers finish (their outcome is still reported), and resolves when done. */
  stop(): Promise<void>
  /** Resolves when the loop ends: stopped, the subscription removed or the engine closed. */
  readonly done: Promise<void>
}

/**
 * Delivers a subscription's events to `handler` with any engine: fetch, call, then ack or nak — so a crash at any
 * point leaves the event to be delivered again after its ack deadline. A suspended subscription fetches nothing
 * (and is looked at again every `waitMs`, as it may resume); a removed one, or a closed engine, ends the loop.
 */
export function consume(
  engine: SubscriptionEngine,
  subscriptionId: string,
  handler: DeliveryHandler,
  options: ConsumeOptions = {},
): Consumer {
  const workers = Math.max(1, Math.trunc(options.maxInFlight ?? 1))
  const waitMs = options.waitMs ?? 1_000
  const retryAfterMs = options.retryAfterMs ?? 1_000
  let stopping = false
  let wakeStopped: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    wakeStopped = resolve
  })
  const pause = (ms: number) => Promise.race([stopped, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())])

  async function work(): Promise<void> {
    while (!stopping) {
      let deliveries: Delivery[]
      try {
        deliveries = await engine.fetch(subscriptionId, { max: 1, waitMs })
      } catch (err) {
        if (isFinal(err)) return
        options.onError?.(err, 'fetch')
        await pause(retryAfterMs)
        continue
      }
      for (const delivery of deliveries) await deliver(delivery)
    }
  }

  async function deliver(delivery: Delivery): Promise<void> {
    let failure: string | undefined
    try {
      if ((await handler(delivery)) === LEAVE_UNANSWERED) return
    } catch (err) {
      failure = err instanceof DeliveryFailedError ? err.reason : `handler threw ${(err as Error)?.name ?? 'a value'}`
    }
    // Unrecorded answers: the event comes again after its ack deadline.
    if (failure === undefined) {
      try {
        const acknowledged = await engine.ack(delivery)
        options.onSettled?.(delivery, { acknowledged })
      } catch (err) {
        if (!isFinal(err)) options.onError?.(err, 'ack')
      }
      return
    }
    let next: NakResult | 'unrecorded' = 'unrecorded'
    try {
      next = await engine.nak(delivery, failure)
    } catch (err) {
      if (!isFinal(err)) options.onError?.(err, 'nak')
    }
    options.onSettled?.(delivery, { reason: failure, next })
  }

  const done = Promise.all(Array.from({ length: workers }, work)).then(() => {
    stopping = true
  })
  return {
    done,
    async stop() {
      stopping = true
      wakeStopped()
      await done
    },
  }
}

function isFinal(err: unknown): boolean {
  return err instanceof SubscriptionError && (err.code === 'subscription-unknown' || err.code === 'engine-closed')
}
