import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import type { StateStore } from '../state/store.js'
import type { FeedTables } from './feed/tables.js'
import { subscriptionMetrics } from './metrics.js'
import { openOutboxEngine } from './outbox/engine.js'
import { readSubscriptionsOverview, type SubscriptionsOverview, settlementOf } from './overview.js'
import type { SubscriptionRegistryTables } from './registry/tables.js'

const PERMITS = 'housing.construction-permit'
const PROJECTS = 'drc.investment-project'

/** Every series of a metric: its labels and value (histograms: their count). */
async function series(registry: Registry, name: string): Promise<Array<{ labels: object; value: number }>> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) throw new Error(`${name} not registered`)
  const { values } = await metric.get()
  return values
    .filter((v) => {
      const metricName = (v as { metricName?: string }).metricName
      return metricName === undefined || metricName.endsWith('_count')
    })
    .map((v) => ({ labels: v.labels, value: v.value }))
}

const OVERVIEW: SubscriptionsOverview = {
  backend: 'outbox-sqlite',
  subscriptions: { active: 3, suspended: 1 },
  feeds: [
    { resource: PERMITS, lastPolledAt: 1_000, lagSeconds: 4.5, leader: true, failures: 0 },
    { resource: PROJECTS, leader: false, failures: 2, lastError: { code: 'upstream-unavailable', at: 2_000 } },
  ],
}

describe('subscription metrics: the observer', () => {
  it('counts publishes, webhook settlements and feed rounds under bounded labels', async () => {
    const registry = new Registry()
    const observer = subscriptionMetrics(registry, async () => undefined)
    for (let i = 0; i < 5; i++) observer.published(PERMITS, 'stored')
    observer.published(PERMITS, 'duplicate')
    observer.published(PERMITS, 'filtered-out')
    observer.published(PROJECTS, 'suspended')
    observer.webhookSettled('acknowledged', 0.02)
    observer.webhookSettled('acknowledged', 0.03)
    observer.webhookSettled('retry', 1.5)
    observer.webhookSettled('dead-lettered', 0.4)
    for (let i = 0; i < 3; i++) observer.feedPolled(PERMITS, 'ok')
    observer.feedPolled(PERMITS, 'error')

    expect(await series(registry, 'qiao_subscription_events_published_total')).toEqual([
      { labels: { resource: PERMITS, outcome: 'stored' }, value: 5 },
      { labels: { resource: PERMITS, outcome: 'duplicate' }, value: 1 },
      { labels: { resource: PERMITS, outcome: 'filtered-out' }, value: 1 },
      { labels: { resource: PROJECTS, outcome: 'suspended' }, value: 1 },
    ])
    expect(await series(registry, 'qiao_subscription_webhook_deliveries_total')).toEqual([
      { labels: { outcome: 'acknowledged' }, value: 2 },
      { labels: { outcome: 'retry' }, value: 1 },
      { labels: { outcome: 'dead-lettered' }, value: 1 },
    ])
    expect(await series(registry, 'qiao_subscription_webhook_attempt_duration_seconds')).toEqual([
      { labels: { outcome: 'acknowledged' }, value: 2 },
      { labels: { outcome: 'retry' }, value: 1 },
      { labels: { outcome: 'dead-lettered' }, value: 1 },
    ])
    const text = await registry.metrics()
    expect(text).toContain('qiao_subscription_webhook_attempt_duration_seconds_sum{outcome="acknowledged"} 0.05')
    expect(await series(registry, 'qiao_subscription_feed_polls_total')).toEqual([
      { labels: { resource: PERMITS, outcome: 'ok' }, value: 3 },
      { labels: { resource: PERMITS, outcome: 'error' }, value: 1 },
    ])
    // Only resource ids and outcome words: no subscription id, URL or department anywhere in the exposition.
    for (const line of text.split('\n').filter((l) => l.startsWith('qiao_subscription'))) {
      const labels = [...line.matchAll(/(\w+)="/g)].map((m) => m[1])
      expect(
        labels.every((l) => ['resource', 'outcome', 'state', 'le'].includes(l as string)),
        line,
      ).toBe(true)
    }
  })

  it('maps every webhook attempt outcome to one of five settlements', () => {
    expect(settlementOf({ result: 'delivered', status: 200, acknowledged: true })).toBe('acknowledged')
    expect(settlementOf({ result: 'delivered', status: 204, acknowledged: false })).toBe('stale')
    for (const next of ['retry', 'dead-lettered', 'stale', 'unrecorded'] as const) {
      expect(settlementOf({ result: 'failed', reason: 'http-500', status: 500, next })).toBe(next)
    }
  })
})

describe('subscription metrics: the gauges, read at scrape', () => {
  it('show the subscriptions by state and each polled feed’s lag', async () => {
    const registry = new Registry()
    let reads = 0
    subscriptionMetrics(registry, async () => {
      reads++
      return OVERVIEW
    })
    expect(await series(registry, 'qiao_subscriptions')).toEqual([
      { labels: { state: 'active' }, value: 3 },
      { labels: { state: 'suspended' }, value: 1 },
    ])
    // A feed never polled successfully has no lag to show (its polls_total errors say why).
    expect(await series(registry, 'qiao_subscription_feed_lag_seconds')).toEqual([
      { labels: { resource: PERMITS }, value: 4.5 },
    ])
    expect(reads).toBe(1) // both gauges of one scrape share a read
  })

  it('stay empty, without failing the scrape, when the overview fails or hangs', async () => {
    const failing = new Registry()
    subscriptionMetrics(failing, async () => {
      throw new Error('state store down')
    })
    expect(await series(failing, 'qiao_subscriptions')).toEqual([])
    const hanging = new Registry()
    subscriptionMetrics(hanging, () => new Promise<never>(() => {}))
    const started = Date.now()
    await expect(hanging.metrics()).resolves.toContain('# TYPE qiao_subscriptions gauge')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(await series(hanging, 'qiao_subscription_feed_lag_seconds')).toEqual([])
  })
})

describe('readSubscriptionsOverview', () => {
  let dir: string | undefined
  let state: StateStore | undefined
  afterEach(async () => {
    await state?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('counts by state from the registry, times feeds from their cursor rows, counts webhook dead letters', async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-subs-overview-'))
    state = await openSqliteState({ file: join(dir, 'state.sqlite'), modules: STATE_MODULES })
    let now = 1_000_000
    const clock = { now: () => now }
    const engine = await openOutboxEngine({ state, clock, purgeIntervalMs: 0 })
    const row = (id: string, subscriptionState: 'active' | 'suspended') => ({
      id,
      consumer: 'drc',
      matter: 'QT00301001',
      resource: PERMITS,
      grant_ref: 'g',
      filter: '{}',
      delivery_kind: 'pull' as const,
      webhook_url: null,
      webhook_secret: null,
      state: subscriptionState,
      suspended_reason: null,
      last_event_id: null,
      last_event_at: null,
      created_at: 1,
      updated_at: 1,
    })
    await state.db
      .withTables<SubscriptionRegistryTables>()
      .insertInto('subscription_registry')
      .values([row('sub_a', 'active'), row('sub_b', 'active'), row('sub_c', 'suspended')])
      .execute()
    await state.db
      .withTables<FeedTables>()
      .insertInto('feed_cursors')
      .values([
        { resource: PERMITS, cursor: 'c-17', lease_owner: 'me', lease_until: now + 30_000, updated_at: now - 7_000 },
        // Created by a first round that failed: never polled, whatever its updated_at.
        { resource: PROJECTS, cursor: null, lease_owner: null, lease_until: 0, updated_at: now - 1_000 },
      ])
      .execute()
    await engine.create('sub_hook', { maxAttempts: 1 })
    await engine.publish('sub_hook', { id: 'e1', payload: { n: 1 } })
    const [delivery] = await engine.fetch('sub_hook')
    expect(await engine.nak(delivery as NonNullable<typeof delivery>, 'http-500')).toBe('dead-lettered')
    now += 1_000

    const overview = await readSubscriptionsOverview({
      state,
      engine,
      clock,
      feeds: new Map([
        [PROJECTS, { leader: false, failures: 1, lastError: { code: 'upstream-timeout', at: now - 500 } }],
        [PERMITS, { leader: true, failures: 0 }],
      ]),
      webhookSubscriptions: ['sub_hook'],
    })
    expect(overview).toEqual({
      backend: 'outbox-sqlite',
      subscriptions: { active: 2, suspended: 1 },
      feeds: [
        { resource: PROJECTS, leader: false, failures: 1, lastError: { code: 'upstream-timeout', at: now - 500 } },
        { resource: PERMITS, lastPolledAt: now - 8_000, lagSeconds: 8, leader: true, failures: 0 },
      ],
      deadLetters: 1,
    })
    await engine.close()
  })
})
