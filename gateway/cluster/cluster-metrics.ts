import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client'
import type { WorkerMetrics } from './messages.js'

/**
 * The metrics listener of `qiao serve --workers N` (QIAO_METRICS_HOST:QIAO_METRICS_PORT), served by the primary:
 * one port cannot be opened by each worker, and a port shared the cluster's way would answer each scrape from
 * whichever worker took the connection. On each scrape the primary asks every ready worker for its registry as
 * JSON over IPC and merges them with prom-client's AggregatorRegistry.aggregate (made for cluster mode), so that:
 * - counters and histograms are summed: qiao_requests_total is the gateway's, whichever worker served the call;
 * - gauges get a `worker` label (the slot, 1…N) and stay one series per worker: a circuit state, an audit queue
 *   depth or a heap size summed over workers would mean nothing.
 * The transport is ours rather than AggregatorRegistry.clusterMetrics(), which fails the whole scrape when one
 * worker does not answer within 5 s — as a worker being restarted does not. Here a worker that does not answer in
 * SCRAPE_TIMEOUT_MS is left out of that scrape and counted in qiao_cluster_scrape_missing_workers.
 */

export const SCRAPE_TIMEOUT_MS = 2_000

/** A ready worker, as the scrape sees it. */
export interface ScrapeTarget {
  readonly slot: number
  /** Sends the request; false when the worker cannot be reached. */
  request(requestId: number): boolean
}

export interface ClusterMetrics {
  /** A worker was restarted by the primary (qiao_cluster_worker_restarts_total). */
  restarted(): void
  /** A worker's answer to a request (the primary routes `qiao:metrics` messages here). */
  answered(slot: number, requestId: number, metrics: WorkerMetrics | undefined): void
  /** The merged exposition text, and its content type. */
  scrape(): Promise<{ readonly text: string; readonly contentType: string }>
}

interface Pending {
  readonly expected: number
  readonly answers: Map<number, WorkerMetrics>
  readonly done: () => void
}

export function createClusterMetrics(targets: () => readonly ScrapeTarget[], slots: number): ClusterMetrics {
  const own = new Registry()
  const restarts = new Counter({
    name: 'qiao_cluster_worker_restarts_total',
    help: 'Workers the primary restarted after they exited on their own (crash, kill, out of memory).',
    registers: [own],
  })
  new Gauge({
    name: 'qiao_cluster_workers_ready',
    help: 'Workers ready to serve (of qiao_cluster_workers).',
    registers: [own],
    collect() {
      this.set(targets().length)
    },
  })
  new Gauge({
    name: 'qiao_cluster_workers',
    help: 'Worker slots of this gateway (QIAO_WORKERS).',
    registers: [own],
    collect() {
      this.set(slots)
    },
  })
  const missing = new Gauge({
    name: 'qiao_cluster_scrape_missing_workers',
    help: `Ready workers whose metrics did not come within ${SCRAPE_TIMEOUT_MS} ms for this scrape (left out of it).`,
    registers: [own],
  })
  const pending = new Map<number, Pending>()
  let nextRequest = 1

  const gather = (): Promise<Map<number, WorkerMetrics>> =>
    new Promise((resolve) => {
      const requestId = nextRequest++
      const answers = new Map<number, WorkerMetrics>()
      const asked = targets().filter((t) => t.request(requestId)).length
      const finish = () => {
        clearTimeout(timer)
        pending.delete(requestId)
        missing.set(targets().length - answers.size)
        resolve(answers)
      }
      const timer = setTimeout(finish, SCRAPE_TIMEOUT_MS)
      pending.set(requestId, { expected: asked, answers, done: finish })
      if (asked === 0) finish()
    })

  return {
    restarted: () => restarts.inc(),
    answered(slot, requestId, metrics) {
      const request = pending.get(requestId)
      if (request === undefined) return
      if (metrics !== undefined) request.answers.set(slot, metrics)
      else request.answers.delete(slot)
      if (request.answers.size >= request.expected) request.done()
    },
    async scrape() {
      const answers = await gather()
      const perWorker = [...answers].sort(([a], [b]) => a - b).map(([slot, metrics]) => labelGauges(metrics, slot))
      const merged = AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...perWorker])
      return { text: await merged.metrics(), contentType: merged.contentType }
    },
  }
}

/** A worker's gauges with its slot as the `worker` label: one series per worker, whatever their aggregator. */
export function labelGauges(metrics: WorkerMetrics, slot: number): WorkerMetrics {
  return metrics.map((metric) =>
    String(metric.type) !== 'gauge'
      ? metric
      : {
          ...metric,
          // One value per series now: `first` keeps it (prom-client's `omit`, e.g. for the start time, would drop it).
          aggregator: 'first',
          values: metric.values.map((v) => ({ ...v, labels: { ...v.labels, worker: String(slot) } })),
        },
  )
}

/** GET /metrics on the metrics listener (nothing else there), answered from every worker. */
export async function listenForClusterMetrics(
  metrics: ClusterMetrics,
  host: string,
  port: number,
): Promise<{ readonly server: Server; readonly port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    metrics.scrape().then(
      ({ text, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable'),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return { server, port: (server.address() as AddressInfo).port }
}
