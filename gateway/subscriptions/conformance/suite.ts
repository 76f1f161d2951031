import { afterEach, beforeEach, describe } from 'vitest'
import type { Delivery, DeliveryPolicy, EngineOptions, SubscriptionEngine } from '../engine.js'
import { deliveryCases } from './delivery-cases.js'
import { failureCases } from './failure-cases.js'
import { lifecycleCases } from './lifecycle-cases.js'

/**
 * One suite for every subscription engine backend (the outbox on SQLite and on PostgreSQL, NATS JetStream): order
 * per subscription with interleaved publishers, subscriptions kept apart, one event per event id, redelivery after
 * a handler or a whole engine went away, two engine instances never holding one event at once, replay from a
 * cursor, nothing delivered after a suspension, dead letters with their reason, resume, remove, and the generic
 * consume loop over each.
 */
export interface SubscriptionStorage {
  /** A new engine on this storage, as another instance or the same one after a restart (its own connection). */
  open(options: EngineOptions): Promise<SubscriptionEngine>
  /**
   * Where ack deadlines and retry delays run: `injected` — on the clock passed to `open`, which the suite moves;
   * `broker` — on the broker's own clock, so the suite waits them out (and cannot check that nothing came early).
   */
  readonly time: 'injected' | 'broker'
  cleanup(): Promise<void>
}

export interface SubscriptionSuiteOptions {
  readonly name: string
  /** Fresh storage per test (a new file, schema or stream namespace). */
  readonly storage: () => Promise<SubscriptionStorage>
}

/** Short enough to wait out on a broker's clock. */
export const SHORT_ACK_WAIT_MS = 1_000
/** Long enough that no deadline passes during a test. */
export const LONG_ACK_WAIT_MS = 120_000
export const RETRY_DELAY_MS = 300

/** What each group of cases gets from the suite. */
export interface SuiteContext {
  /** The suite's clock, as the engines see it when time is injected. */
  now(): number
  readonly time: () => SubscriptionStorage['time']
  /** Opens an engine (closed after the test). */
  engine(overrides?: Partial<EngineOptions>): Promise<SubscriptionEngine>
  /** An engine with `id` created on it with `policy`. */
  subscribed(id: string, policy?: Partial<DeliveryPolicy>): Promise<SubscriptionEngine>
  /** Lets `ms` pass: the injected clock moves, or the suite waits for the broker's. */
  elapse(ms: number): Promise<void>
  /** Fetches until `count` deliveries came (or 15 s passed), `max` at a time; answers them in order. */
  fetchUntil(engine: SubscriptionEngine, id: string, count: number, max?: number): Promise<Delivery[]>
  /** Publishes `ids` one after the other with payload `{ n: <id> }`; answers their cursors. */
  publishAll(engine: SubscriptionEngine, id: string, ids: readonly string[]): Promise<string[]>
}

export const T0 = Date.parse('2026-12-01T02:00:00Z')
export const payloadOf = (eventId: string) => ({ n: eventId, 名称: '南京青溪城市发展有限公司' })
export const idsOf = (deliveries: readonly { eventId: string }[]) => deliveries.map((d) => d.eventId)

export function testSubscriptionEngine(suite: SubscriptionSuiteOptions): void {
  describe(`subscription engine conformance: ${suite.name}`, () => {
    let storage: SubscriptionStorage
    let engines: SubscriptionEngine[] = []
    let now = T0

    beforeEach(async () => {
      storage = await suite.storage()
      engines = []
      now = T0
    })
    afterEach(async () => {
      for (const engine of engines) await engine.close().catch(() => {})
      await storage.cleanup()
    })

    const context: SuiteContext = {
      now: () => now,
      time: () => storage.time,
      async engine(overrides = {}) {
        const engine = await storage.open({
          clock: { now: () => now },
          retryDelayMs: () => RETRY_DELAY_MS,
          ...overrides,
        })
        engines.push(engine)
        return engine
      },
      async subscribed(id, policy = {}) {
        const engine = await context.engine()
        await engine.create(id, { ackWaitMs: LONG_ACK_WAIT_MS, ...policy })
        return engine
      },
      async elapse(ms) {
        now += ms
        if (storage.time === 'broker') await new Promise((resolve) => setTimeout(resolve, ms))
      },
      async fetchUntil(engine, id, count, max = 1) {
        const got: Delivery[] = []
        const until = Date.now() + 15_000
        while (got.length < count && Date.now() < until) {
          got.push(...(await engine.fetch(id, { max, waitMs: 100 })))
        }
        return got
      },
      async publishAll(engine, id, ids) {
        const cursors: string[] = []
        for (const eventId of ids) {
          const result = await engine.publish(id, { id: eventId, payload: payloadOf(eventId) })
          if (result.outcome !== 'stored') throw new Error(`${eventId} was not stored: ${result.outcome}`)
          cursors.push(result.cursor)
        }
        return cursors
      },
    }

    deliveryCases(context)
    failureCases(context)
    lifecycleCases(context)
  })
}
