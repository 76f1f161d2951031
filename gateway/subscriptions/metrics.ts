import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { answerWithin } from '../../kernel/within.js'
import type { SubscriptionsObserver, SubscriptionsOverview } from './overview.js'

/**
 * Subscriptions in Prometheus (registered on the instance's registry by telemetry/metrics.ts, as the objections'
 * are). Counters are fed by the wiring's observer calls as things happen on this instance; the gauges are read at
 * scrape from the overview (the registry's counts, shared by every instance, and each feed's last good poll).
 * Labels: catalog resource ids and fixed outcome words only — no subscription id, URL or value.
 */
export type SubscriptionMetrics = SubscriptionsObserver

/** A scrape waits at most this long for the overview (a state store that hangs leaves the gauges empty). */
const OVERVIEW_TIMEOUT_MS = 1_000
/** Both gauges of one scrape share one read of the overview. */
const OVERVIEW_REUSE_MS = 500

export function subscriptionMetrics(
  registry: Registry,
  overview: () => Promise<SubscriptionsOverview | undefined>,
): SubscriptionMetrics {
  const published = new Counter({
    name: 'qiao_subscription_events_published_total',
    help: 'Changes handed to subscriptions by this instance, per subscriber, by resource and outcome: stored, duplicate (published before), suspended (refused), filtered-out (the subscription’s filter kept it out).',
    labelNames: ['resource', 'outcome'] as const,
    registers: [registry],
  })
  const deliveries = new Counter({
    name: 'qiao_subscription_webhook_deliveries_total',
    help: 'Webhook attempts this instance settled, by how the engine took the answer: acknowledged, retry, dead-lettered, stale (no longer current, also a 2xx whose acknowledgement was refused), unrecorded (the nak failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const attemptSeconds = new Histogram({
    name: 'qiao_subscription_webhook_attempt_duration_seconds',
    help: 'One webhook attempt, from before-send to the end of the answer (or its failure), by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const polls = new Counter({
    name: 'qiao_subscription_feed_polls_total',
    help: 'Change feed rounds of the feeds this instance leads, by resource and outcome: ok or error (backing off).',
    labelNames: ['resource', 'outcome'] as const,
    registers: [registry],
  })

  let cached: { at: number; value: Promise<SubscriptionsOverview | undefined> } | undefined
  function current(): Promise<SubscriptionsOverview | undefined> {
    const now = performance.now()
    if (cached === undefined || now - cached.at > OVERVIEW_REUSE_MS) {
      cached = {
        at: now,
        value: answerWithin(
          overview().catch(() => undefined),
          OVERVIEW_TIMEOUT_MS,
        ),
      }
    }
    return cached.value
  }

  new Gauge({
    name: 'qiao_subscription_feed_lag_seconds',
    help: 'Seconds since a subscribed resource’s change feed was last polled successfully (by any instance); alert when it grows well past QIAO_SUBSCRIPTIONS_FEED_INTERVAL.',
    labelNames: ['resource'] as const,
    registers: [registry],
    async collect() {
      const seen = await current()
      this.reset()
      for (const feed of seen?.feeds ?? []) {
        if (feed.lagSeconds !== undefined) this.set({ resource: feed.resource }, feed.lagSeconds)
      }
    },
  })
  new Gauge({
    name: 'qiao_subscriptions',
    help: 'Subscriptions by state (active, suspended), across every instance on the state store.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const seen = await current()
      this.reset()
      if (seen === undefined) return
      this.set({ state: 'active' }, seen.subscriptions.active)
      this.set({ state: 'suspended' }, seen.subscriptions.suspended)
    },
  })

  return {
    published: (resource, outcome) => published.inc({ resource, outcome }),
    webhookSettled(outcome, seconds) {
      deliveries.inc({ outcome })
      attemptSeconds.observe({ outcome }, seconds)
    },
    feedPolled: (resource, outcome) => polls.inc({ resource, outcome }),
  }
}
