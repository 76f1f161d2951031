import { Counter, type Histogram, type Registry } from 'prom-client'

/**
 * The per-call exchange metrics, without a label object, a label validation or a label hash per call. prom-client
 * does all three on every `inc`/`observe`, also through a `labels(…)` child (it binds the labels, then hashes them
 * again each time). Here each series is looked up once by a string key and then reused:
 * - `qiao_requests_total`: counted in the series' own field and handed to prom-client when it is scraped
 *   (`collect`), as the other collected counters of metrics.ts are;
 * - the duration histograms: the series' `labels(…)` child is kept with it.
 * One entry per exported series, so these maps are bounded by exactly what bounds the series: label values come
 * from the catalog or from small fixed sets (metrics.ts), and prom-client keeps an entry per series anyway.
 */
export interface ExchangeMetrics {
  /** One finished exchange call (qiao_requests_total, qiao_request_duration_seconds); positional, so no object. */
  request(
    resource: string,
    matter: string,
    dept: string,
    action: string,
    decision: 'allow' | 'deny',
    status: number,
    seconds: number,
  ): void
  /** One connector operation (qiao_upstream_duration_seconds; failures also qiao_upstream_errors_total). */
  upstream(connector: string, outcome: string, seconds: number): void
}

type RequestLabelName = 'resource' | 'matter' | 'dept' | 'action' | 'decision' | 'status'

interface RequestSeries {
  readonly labels: Record<RequestLabelName, string>
  count: number
  readonly seconds: ReturnType<Histogram<'resource' | 'decision'>['labels']>
}

type Observe = ReturnType<Histogram<'connector' | 'outcome'>['labels']>

/** Label values are catalog ids, codes and numbers, none holding a NUL: it separates them in a series key. */
const SEP = '\u0000'

export function createExchangeMetrics(
  registry: Registry,
  requestSeconds: Histogram<'resource' | 'decision'>,
  upstreamSeconds: Histogram<'connector' | 'outcome'>,
  upstreamErrors: Counter<'connector' | 'kind'>,
): ExchangeMetrics {
  const requests = new Map<string, RequestSeries>()
  const upstreams = new Map<string, Observe>()
  new Counter({
    name: 'qiao_requests_total',
    help: 'Exchange calls by resource, matter, consumer department, action, decision and HTTP status.',
    labelNames: ['resource', 'matter', 'dept', 'action', 'decision', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const series of requests.values()) this.inc(series.labels, series.count)
    },
  })
  return {
    request(resource, matter, dept, action, decision, status, seconds) {
      const key = resource + SEP + matter + SEP + dept + SEP + action + SEP + decision + SEP + status
      let series = requests.get(key)
      if (series === undefined) {
        series = {
          labels: { resource, matter, dept, action, decision, status: String(status) },
          count: 0,
          seconds: requestSeconds.labels(resource, decision),
        }
        requests.set(key, series)
      }
      series.count++
      series.seconds.observe(seconds)
    },
    upstream(connector, outcome, seconds) {
      const key = connector + SEP + outcome
      let observe = upstreams.get(key)
      if (observe === undefined) {
        observe = upstreamSeconds.labels(connector, outcome)
        upstreams.set(key, observe)
      }
      observe.observe(seconds)
      if (outcome !== 'ok') upstreamErrors.inc({ connector, kind: outcome })
    },
  }
}
