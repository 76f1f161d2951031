import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { createClusterMetrics, listenForClusterMetrics, type ScrapeTarget } from './cluster-metrics.js'
import type { WorkerMetrics } from './messages.js'

/** A worker's registry: its calls, one latency, its circuit state, as the gateway's metrics name them. */
function workerRegistry(calls: number, state: number): Registry {
  const registry = new Registry()
  new Counter({ name: 'qiao_requests_total', help: 'calls', labelNames: ['resource'], registers: [registry] }).inc(
    { resource: 'housing.construction-permit' },
    calls,
  )
  new Histogram({
    name: 'qiao_request_duration_seconds',
    help: 'latency',
    buckets: [0.01, 0.1],
    registers: [registry],
  }).observe(0.05)
  new Gauge({
    name: 'qiao_upstream_circuit_state',
    help: 'state',
    labelNames: ['connector'],
    registers: [registry],
  }).set({ connector: 'housing-gongai' }, state)
  return registry
}

describe("the primary's metrics, from every worker", () => {
  it('sums counters and histograms, keeps one gauge series per worker, and leaves out a worker that does not answer', async () => {
    const registries = new Map([
      [1, workerRegistry(3, 0)],
      [2, workerRegistry(4, 2)],
      [3, workerRegistry(100, 1)],
    ])
    let metrics: ReturnType<typeof createClusterMetrics> | undefined
    const asked: number[] = []
    // Workers 1 and 2 answer (as over IPC, later); worker 3 never does.
    const targets = (): ScrapeTarget[] =>
      [...registries.keys()].map((slot) => ({
        slot,
        request(requestId) {
          asked.push(slot)
          if (slot !== 3) {
            void (registries.get(slot) as Registry)
              .getMetricsAsJSON()
              .then((json) => setTimeout(() => metrics?.answered(slot, requestId, json as WorkerMetrics), 5))
          }
          return true
        },
      }))
    metrics = createClusterMetrics(targets, 3)
    metrics.restarted()
    const { text } = await metrics.scrape()
    expect(asked).toEqual([1, 2, 3])
    expect(text).toContain('qiao_requests_total{resource="housing.construction-permit"} 7')
    expect(text).toContain('qiao_request_duration_seconds_count 2')
    expect(text).toContain('qiao_request_duration_seconds_bucket{le="0.1"} 2')
    expect(text).toContain('qiao_upstream_circuit_state{connector="housing-gongai",worker="1"} 0')
    expect(text).toContain('qiao_upstream_circuit_state{connector="housing-gongai",worker="2"} 2')
    expect(text).not.toContain('worker="3"')
    expect(text).toContain('qiao_cluster_scrape_missing_workers 1')
    expect(text).toContain('qiao_cluster_workers_ready 3')
    expect(text).toContain('qiao_cluster_worker_restarts_total 1')
  })

  it('serves GET /metrics and nothing else on its listener', async () => {
    const one = workerRegistry(1, 0)
    let metrics: ReturnType<typeof createClusterMetrics> | undefined
    metrics = createClusterMetrics(
      () => [
        {
          slot: 1,
          request(requestId) {
            void one.getMetricsAsJSON().then((json) => metrics?.answered(1, requestId, json as WorkerMetrics))
            return true
          },
        },
      ],
      1,
    )
    const { server, port } = await listenForClusterMetrics(metrics, '127.0.0.1', 0)
    try {
      const scraped = await request(`http://127.0.0.1:${port}/metrics`)
      expect(scraped.statusCode).toBe(200)
      expect(scraped.headers['content-type']).toContain('text/plain')
      expect(await scraped.body.text()).toContain('qiao_requests_total{resource="housing.construction-permit"} 1')
      const other = await request(`http://127.0.0.1:${port}/v1/catalog`)
      expect(other.statusCode).toBe(404)
      await other.body.dump()
    } finally {
      server.close()
    }
  })
})
