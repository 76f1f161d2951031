import { Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { countAbove, histogramDelta, histogramQuantile, latencyBreakdown, parseScrape, sumOf } from './prom.js'

/** A registry shaped like the gateway's (same names, buckets and labels as gateway/telemetry/metrics.ts). */
function gatewayLike() {
  const registry = new Registry()
  const request = new Histogram({
    name: 'qiao_request_duration_seconds',
    help: 'h',
    labelNames: ['resource', 'decision'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const audit = new Histogram({
    name: 'qiao_audit_write_duration_seconds',
    help: 'h',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  })
  const gc = new Histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'h',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
    registers: [registry],
  })
  const lagP99 = new Gauge({ name: 'nodejs_eventloop_lag_p99_seconds', help: 'h', registers: [registry] })
  const lagP50 = new Gauge({ name: 'nodejs_eventloop_lag_p50_seconds', help: 'h', registers: [registry] })
  const lagMax = new Gauge({ name: 'nodejs_eventloop_lag_max_seconds', help: 'h', registers: [registry] })
  return { registry, request, audit, gc, lagP50, lagP99, lagMax }
}

describe("Qiao's metrics between two scrapes", () => {
  it('parses the exposition format, labels included', async () => {
    const m = gatewayLike()
    m.request.observe({ resource: 'housing.construction-permit', decision: 'allow' }, 0.003)
    const scrape = parseScrape(await m.registry.metrics())
    expect(sumOf(scrape, 'qiao_request_duration_seconds_count', { decision: 'allow' })).toBe(1)
    expect(Number.isNaN(sumOf(scrape, 'qiao_request_duration_seconds_count', { decision: 'deny' }))).toBe(true)
    const inf = scrape.get('qiao_request_duration_seconds_bucket')?.find((s) => s.labels.le === '+Inf')
    expect(inf?.labels.resource).toBe('housing.construction-permit')
  })

  it('takes only the window: observations before the first scrape do not count', async () => {
    const m = gatewayLike()
    for (let i = 0; i < 50; i++) m.request.observe({ resource: 'r', decision: 'allow' }, 0.2) // before the window
    const before = parseScrape(await m.registry.metrics())
    // In the window: 90 calls at 2 ms, 10 at 30 ms, over two label sets (summed).
    for (let i = 0; i < 90; i++) m.request.observe({ resource: 'r', decision: i % 2 ? 'allow' : 'deny' }, 0.002)
    for (let i = 0; i < 10; i++) m.request.observe({ resource: 'r', decision: 'allow' }, 0.03)
    const after = parseScrape(await m.registry.metrics())
    const h = histogramDelta(before, after, 'qiao_request_duration_seconds')
    expect(h?.count).toBe(100)
    expect(h?.sumSeconds).toBeCloseTo(90 * 0.002 + 10 * 0.03, 9)
    // p50 lies in the (1 ms, 2.5 ms] bucket, which holds all 90 fast calls: 1 + 1.5 × 50/90 ms.
    expect(1000 * histogramQuantile(h as NonNullable<typeof h>, 0.5)).toBeCloseTo(1 + (1.5 * 50) / 90, 9)
    // p99 lies in (25 ms, 50 ms], which holds the 10 slow ones: 25 + 25 × 9/10 ms.
    expect(1000 * histogramQuantile(h as NonNullable<typeof h>, 0.99)).toBeCloseTo(25 + 25 * 0.9, 9)
    expect(countAbove(h as NonNullable<typeof h>, 0.025)).toBe(10)
  })

  it('reports no quantile without observations and the last finite bound for the +Inf bucket', async () => {
    const m = gatewayLike()
    const before = parseScrape(await m.registry.metrics())
    m.audit.observe(3) // beyond the last bucket (0.25 s)
    const after = parseScrape(await m.registry.metrics())
    const h = histogramDelta(before, after, 'qiao_audit_write_duration_seconds') as NonNullable<
      ReturnType<typeof histogramDelta>
    >
    expect(histogramQuantile(h, 0.99)).toBe(0.25)
    const empty = histogramDelta(before, before, 'qiao_audit_write_duration_seconds') as typeof h
    expect(Number.isNaN(histogramQuantile(empty, 0.5))).toBe(true)
    expect(histogramDelta(before, after, 'qiao_no_such_metric')).toBeUndefined()
  })

  it('breaks a window down: gateway, audit wait, GC pauses by kind, event-loop delay', async () => {
    const m = gatewayLike()
    m.gc.observe({ kind: 'minor' }, 0.0005) // before the window
    const before = parseScrape(await m.registry.metrics())
    for (let i = 0; i < 100; i++) m.request.observe({ resource: 'r', decision: 'allow' }, 0.004)
    for (let i = 0; i < 100; i++) m.audit.observe(0.0008)
    for (let i = 0; i < 40; i++) m.gc.observe({ kind: 'minor' }, 0.0005)
    m.gc.observe({ kind: 'major' }, 0.015)
    m.gc.observe({ kind: 'major' }, 0.005)
    m.lagP50.set(0.0101)
    m.lagP99.set(0.0125)
    m.lagMax.set(0.02)
    const after = parseScrape(await m.registry.metrics())
    const b = latencyBreakdown(before, after, 2)
    expect(b.gateway?.count).toBe(100)
    expect(b.gateway?.meanMs).toBeCloseTo(4, 9)
    expect(b.auditDurable?.p50Ms).toBeGreaterThan(0.5)
    expect(b.auditDurable?.p50Ms).toBeLessThanOrEqual(1)
    expect(b.upstream).toBeUndefined()
    expect(b.gc?.pauses).toBe(42)
    expect(b.gc?.totalMs).toBeCloseTo(40 * 0.5 + 15 + 5, 9)
    expect(b.gc?.shareOfWall).toBeCloseTo(0.04 / 2, 9)
    expect(b.gc?.over1ms).toBe(2)
    expect(b.gc?.over10ms).toBe(1)
    expect(b.gc?.byKind.major).toEqual({ pauses: 2, totalMs: expect.closeTo(20, 9) })
    expect(b.gc?.byKind.minor?.pauses).toBe(40)
    expect(b.eventLoopDelay).toEqual({ p50Ms: expect.closeTo(10.1, 9), p99Ms: expect.closeTo(12.5, 9), maxMs: 20 })
  })
})
