import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatusReport } from '../gateway/health/status-report.js'
import { type Harness, NOW, startHarness } from './support/gateway.js'
import { until } from './support/until.js'

/**
 * Issue 18: operators can watch subscriptions. On a real gateway (SQLite state, the outbox engine, the 住建
 * simulator's change feed polled every 50 ms), a pull subscription and a permit issued at the simulator show in
 * /metrics (publishes, feed rounds, lag, subscriptions by state) and in /v1/admin/status (backend, counts, the feed's
 * last good poll) — with no subscription id, URL or payload value in either.
 */

const PERMITS = 'housing.construction-permit'
const DRC_MATTER = 'QT00301001'

let h: Harness

beforeAll(async () => {
  h = await startHarness({ env: { QIAO_SUBSCRIPTIONS_FEED_INTERVAL: '50ms', QIAO_METRICS_PORT: '0' } })
}, 60_000)

afterAll(async () => {
  await h?.close()
})

interface Sample {
  labels: Record<string, string>
  value?: string
}
type Family = { name: string; type: string; metrics: Sample[] }

async function scrape(): Promise<{ families: Map<string, Family>; text: string }> {
  const res = await request(`${h.gateway.metricsUrl}/metrics`)
  expect(res.statusCode).toBe(200)
  const text = await res.body.text()
  const families = parsePrometheusTextFormat(text) as Family[]
  return { families: new Map(families.map((f) => [f.name, f])), text }
}

function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const sample = families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v))
  return sample?.value === undefined ? undefined : Number(sample.value)
}

async function status(): Promise<{ report: StatusReport; text: string }> {
  const res = await h.get('/v1/admin/status', await h.token({ dept: 'data', sub: 'ops-1', scope: 'ops:read' }))
  expect(res.status, res.text).toBe(200)
  return { report: res.json as unknown as StatusReport, text: res.text }
}

describe('subscriptions an operator can watch', () => {
  it('a pull subscription and an issued permit show in /metrics and /v1/admin/status', async () => {
    const drc = await h.token({ dept: 'drc', sub: 'drc-officer-1', scope: `${DRC_MATTER}:${PERMITS}:read` })
    const created = await h.call('POST', '/v1/subscriptions', drc, { matter: DRC_MATTER, resource: PERMITS })
    expect(created.status, created.text).toBe(201)
    const id = (created.json.data as { id: string }).id
    const filtered = await h.call('POST', '/v1/subscriptions', drc, {
      matter: DRC_MATTER,
      resource: PERMITS,
      filter: { keys: ['9999-000000-00-00-000000'] },
    })
    expect(filtered.status, filtered.text).toBe(201)
    const filteredId = (filtered.json.data as { id: string }).id

    const before = (await scrape()).families
    const storedBefore = sampleValue(before, 'qiao_subscription_events_published_total', {
      resource: PERMITS,
      outcome: 'stored',
    })
    const issued = h.sim.issuePermit()
    await until('the permit is in the pull API', async () => {
      const res = await h.call('GET', `/v1/subscriptions/${id}/events`, drc)
      return (res.json.data as unknown[] | undefined)?.length ? true : undefined
    })

    const { families, text } = await until('the metrics show the publish', async () => {
      const scraped = await scrape()
      const stored = sampleValue(scraped.families, 'qiao_subscription_events_published_total', {
        resource: PERMITS,
        outcome: 'stored',
      })
      return stored !== undefined && stored > (storedBefore ?? 0) ? scraped : undefined
    })
    expect(
      sampleValue(families, 'qiao_subscription_events_published_total', { resource: PERMITS, outcome: 'filtered-out' }),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sampleValue(families, 'qiao_subscription_feed_polls_total', { resource: PERMITS, outcome: 'ok' }),
    ).toBeGreaterThan(0)
    expect(sampleValue(families, 'qiao_subscription_feed_polls_total', { resource: PERMITS, outcome: 'error' })).toBe(
      undefined,
    )
    // The gateway's clock is frozen at NOW, as the poller's: no time has passed since the last good poll.
    expect(sampleValue(families, 'qiao_subscription_feed_lag_seconds', { resource: PERMITS })).toBe(0)
    expect(sampleValue(families, 'qiao_subscriptions', { state: 'active' })).toBe(2)
    expect(sampleValue(families, 'qiao_subscriptions', { state: 'suspended' })).toBe(0)
    expect(families.get('qiao_subscription_webhook_deliveries_total')?.type).toBe('COUNTER')
    for (const secret of [id, filteredId, issued.SGXKZBH, 'drc-officer-1', 'https://']) {
      expect(text).not.toContain(secret)
    }

    const { report, text: statusText } = await status()
    expect(report.subscriptions).toEqual({
      backend: 'outbox-sqlite',
      counts: { active: 2, suspended: 0 },
      feeds: [
        {
          resource: PERMITS,
          lastPolledAt: new Date(NOW).toISOString(),
          lagSeconds: 0,
          leader: true,
          failures: 0,
          lastError: null,
        },
      ],
      deadLetters: 0,
    })
    for (const secret of [id, filteredId, issued.SGXKZBH]) expect(statusText).not.toContain(secret)
  })
})
