import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { AuditLog } from '../audit/audit-log-types.js'
import { registerTimestampingMetrics } from '../audit/tsa/configured.js'
import type { Stage } from '../sharing/model.js'
import { type SubscriptionMetrics, subscriptionMetrics } from '../subscriptions/metrics.js'
import type { SubscriptionsOverview } from '../subscriptions/overview.js'
import { createExchangeMetrics, type ExchangeMetrics } from './exchange-metrics.js'
import { type ObjectionMetrics, objectionMetrics } from './objection-metrics.js'

/**
 * Prometheus metrics at /metrics (text exposition format). One registry per gateway instance. Label values come
 * from the catalog (resource, matter, department, connector ids) or small fixed sets (decision, status, kind);
 * anything a caller could invent is reported as `_other`, so label cardinality stays bounded.
 */
export interface Metrics {
  readonly registry: Registry
  /** The per-call ones (qiao_requests_total and the duration histograms), cheap per call: ./exchange-metrics.ts. */
  readonly exchange: ExchangeMetrics
  readonly requestSeconds: Histogram<'resource' | 'decision'>
  readonly upstreamSeconds: Histogram<'connector' | 'outcome'>
  readonly upstreamErrors: Counter<'connector' | 'kind'>
  readonly auditWriteSeconds: Histogram
  readonly tokenCache: Counter<'result'>
  readonly sharing: SharingMetrics
  /** Subscriptions: what the wiring reports as it goes (../subscriptions/metrics.ts). */
  readonly subscriptions: SubscriptionMetrics
}

/**
 * What the sharing scheduler (../sharing/scheduler.ts) and its webhook report. Fed by calls rather than collected
 * from sources: the scheduler knows the overdue counts only when it scans, and the events as they happen.
 */
export interface SharingMetrics {
  /** The counts of the last scan's overdue applications by stage (the gauge keeps them until the next scan). */
  overdue(counts: Readonly<Record<Stage, number>>): void
  /** This instance escalated an overdue application. */
  escalated(): void
  /** This instance gave a grant's 30- or 7-day expiry reminder. */
  reminded(days: 30 | 7): void
  /** A webhook notice was given up on after its retry. */
  webhookFailed(): void
  /** Data objections: open per provider, resolved (./objection-metrics.ts). */
  readonly objections: ObjectionMetrics
}

export interface MetricsSources {
  /** Circuit state per connector: 0 closed, 1 half-open, 2 open. */
  circuits(): Array<{ connector: string; state: number; inFlight: number }>
  audit(): {
    appended: number
    syncs: number
    queueDepth: number
    checkpoints: number
    brokenEvents?: number
    recoveries?: number
  }
  /** Free bytes on the audit store's file system; undefined for stores without one (PostgreSQL). */
  auditFreeBytes?(): Promise<number | undefined>
  /** The audit log itself, for the collectors of what it has attached (RFC 3161 timestamping). */
  readonly auditLog?: AuditLog
  tokenCache(): { hits: number; misses: number }
  connectorUp(): Array<{ connector: string; up: number }>
  /** Quota checks answered from this instance's memory because the shared store (Redis) failed. */
  quotaFallbacks(): number
  /** Live grants compiled into the current snapshot, and failed recompilations (the state store unreadable). */
  liveGrants?(): { readonly compiled: number; readonly syncFailures: number }
  /** The subscriptions' overview, read at scrape for their gauges; undefined before they started. */
  subscriptions?(): Promise<SubscriptionsOverview | undefined>
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry()
  // Process and runtime: CPU, memory and heap spaces, event-loop lag, GC, open handles and file descriptors.
  collectDefaultMetrics({ register: registry })
  if (sources.auditLog !== undefined) registerTimestampingMetrics(registry, sources.auditLog)
  const requestSeconds = new Histogram({
    name: 'qiao_request_duration_seconds',
    help: 'Exchange call latency inside the gateway, from arrival to the answer (audit included).',
    labelNames: ['resource', 'decision'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const upstreamSeconds = new Histogram({
    name: 'qiao_upstream_duration_seconds',
    help: 'Connector operation latency (retries included) by connector and outcome.',
    labelNames: ['connector', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const upstreamErrors = new Counter({
    name: 'qiao_upstream_errors_total',
    help: 'Failed connector operations by connector and problem code.',
    labelNames: ['connector', 'kind'] as const,
    registers: [registry],
  })
  const exchange = createExchangeMetrics(registry, requestSeconds, upstreamSeconds, upstreamErrors)
  const auditWriteSeconds = new Histogram({
    name: 'qiao_audit_write_duration_seconds',
    help: 'Time from handing an audit record to the log until it is durable (group commit included).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  })
  const tokenCache = new Counter({
    name: 'qiao_token_cache_lookups_total',
    help: 'Verified-token cache lookups by result (hit, miss); hit ratio = hit / (hit + miss).',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const { hits, misses } = sources.tokenCache()
      this.reset()
      this.inc({ result: 'hit' }, hits)
      this.inc({ result: 'miss' }, misses)
    },
  })
  new Gauge({
    name: 'qiao_upstream_circuit_state',
    help: 'Circuit breaker per connector: 0 closed, 1 half-open, 2 open.',
    labelNames: ['connector'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const c of sources.circuits()) this.set({ connector: c.connector }, c.state)
    },
  })
  new Gauge({
    name: 'qiao_upstream_in_flight',
    help: 'Calls in flight per connector (bounded by its concurrency limit).',
    labelNames: ['connector'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const c of sources.circuits()) this.set({ connector: c.connector }, c.inFlight)
    },
  })
  new Gauge({
    name: 'qiao_upstream_up',
    help: 'Last health probe per connector: 1 up, 0 not.',
    labelNames: ['connector'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const c of sources.connectorUp()) this.set({ connector: c.connector }, c.up)
    },
  })
  new Gauge({
    name: 'qiao_audit_queue_depth',
    help: 'Audit records waiting for the next group commit.',
    registers: [registry],
    collect() {
      this.set(sources.audit().queueDepth)
    },
  })
  new Counter({
    name: 'qiao_audit_records_total',
    help: 'Audit records made durable.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.audit().appended)
    },
  })
  new Counter({
    name: 'qiao_audit_syncs_total',
    help: 'Durable audit batch writes (fsync or transaction); records / syncs is the group-commit factor.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.audit().syncs)
    },
  })
  new Counter({
    name: 'qiao_audit_checkpoints_total',
    help: 'Signed audit checkpoints.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.audit().checkpoints)
    },
  })
  new Gauge({
    name: 'qiao_audit_free_bytes',
    help: 'Free bytes on the file system of the audit directory (file store); /readyz fails below QIAO_AUDIT_MIN_FREE.',
    registers: [registry],
    async collect() {
      const free = await sources.auditFreeBytes?.()
      this.reset()
      if (free !== undefined) this.set(free)
    },
  })
  new Counter({
    name: 'qiao_audit_log_broken_total',
    help: 'Times the audit log broke (a failed fsync, or a failed write that could not be cut back): appends refused until recovered.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.audit().brokenEvents ?? 0)
    },
  })
  new Counter({
    name: 'qiao_audit_log_recovered_total',
    help: 'Times a broken audit log was reopened, re-checked and taken back into use without a restart.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.audit().recoveries ?? 0)
    },
  })
  new Counter({
    name: 'qiao_quota_store_fallbacks_total',
    help: "Quota checks counted in this instance's memory because the shared quota store (Redis) failed; while it rises, each instance enforces its own budget.",
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.quotaFallbacks())
    },
  })
  new Gauge({
    name: 'qiao_sharing_live_grants',
    help: 'Live grants (approved applications, active or revoked) compiled into the snapshot this instance serves.',
    registers: [registry],
    collect() {
      this.set(sources.liveGrants?.().compiled ?? 0)
    },
  })
  new Counter({
    name: 'qiao_sharing_grant_sync_failures_total',
    help: 'Recompilations of live grants that failed (state store unreadable): the grants compiled before stay in force; alert when it rises.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(sources.liveGrants?.().syncFailures ?? 0)
    },
  })
  const sharing = sharingMetrics(registry)
  const subscriptions = subscriptionMetrics(registry, async () => sources.subscriptions?.())
  return {
    registry,
    exchange,
    requestSeconds,
    upstreamSeconds,
    upstreamErrors,
    auditWriteSeconds,
    tokenCache,
    sharing,
    subscriptions,
  }
}

function sharingMetrics(registry: Registry): SharingMetrics {
  const overdue = new Gauge({
    name: 'qiao_sharing_applications_overdue',
    help: 'Applications whose running check (conformity, review) is past its due date, by stage; set by each deadline scan (metrics.sharing.overdue).',
    labelNames: ['stage'] as const,
    registers: [registry],
  })
  const escalations = new Counter({
    name: 'qiao_sharing_escalations_total',
    help: 'Overdue applications this instance escalated to the data-sharing authority (metrics.sharing.escalated).',
    registers: [registry],
  })
  const reminders = new Counter({
    name: 'qiao_sharing_reminders_total',
    help: 'Grant expiry reminders this instance gave, by days before expiry: 30 or 7 (metrics.sharing.reminded).',
    labelNames: ['days'] as const,
    registers: [registry],
  })
  const webhookFailures = new Counter({
    name: 'qiao_sharing_webhook_failures_total',
    help: 'Sharing webhook notices not delivered after one retry (metrics.sharing.webhookFailed); the API still shows them.',
    registers: [registry],
  })
  return {
    overdue(counts) {
      for (const [stage, n] of Object.entries(counts)) overdue.set({ stage }, n)
    },
    escalated: () => escalations.inc(),
    reminded: (days) => reminders.inc({ days: String(days) }),
    webhookFailed: () => webhookFailures.inc(),
    objections: objectionMetrics(registry),
  }
}
