import { readFileSync } from 'node:fs'
import { statfs } from 'node:fs/promises'
import { sql } from 'kysely'
import type { HealthStatus } from '../../connectors/kit/types.js'
import { answerWithin } from '../../kernel/within.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import type { GatewayDeps } from '../gateway-deps.js'
import type { QuotaUsage } from '../quota/quotas.js'
import type { CircuitStateName } from '../resilience/upstream-guard.js'
import type { SubscriptionsOverview } from '../subscriptions/overview.js'

/**
 * The operators' view of one gateway instance (GET /v1/admin/status): what runs, under which catalog, how each
 * connector and its breaker stand, how much of each quota is used, and whether the audit log and the state store
 * can take writes. Built from what the deps already hold — no probe of a provider system, no record read — so it
 * is cheap to ask often. It names ids, counts and times only: no URL, connection string, option value, token or
 * personal data; the connectors' probe details stay in the operational log (they can name a provider's internals).
 */
export interface StatusReport {
  readonly generatedAt: string
  readonly instance: InstanceReport
  readonly catalog: CatalogReport
  /** In catalog order. */
  readonly connectors: readonly ConnectorReport[]
  readonly quotas: QuotasReport
  readonly audit: AuditReport
  readonly stateStore: { readonly backend: 'sqlite' | 'postgres'; readonly reachable: boolean }
  /** Null when this instance runs no subscriptions, or their overview could not be read now. */
  readonly subscriptions: SubscriptionsReport | null
}

export interface SubscriptionsReport {
  readonly backend: 'outbox-sqlite' | 'outbox-postgres' | 'jetstream'
  /** Across every instance on the state store. */
  readonly counts: { readonly active: number; readonly suspended: number }
  /** Each resource with active subscriptions and a change feed, in id order. */
  readonly feeds: readonly FeedReport[]
  /** Dead letters of the webhook subscriptions this instance delivers; null when too many to count cheaply. */
  readonly deadLetters: number | null
}

export interface FeedReport {
  readonly resource: string
  /** Last successful poll by any instance; null: never yet. */
  readonly lastPolledAt: string | null
  readonly lagSeconds: number | null
  /** Whether this instance holds the feed's lease (one instance polls each feed). */
  readonly leader: boolean
  /** This instance's consecutive failed rounds. */
  readonly failures: number
  /** This instance's last failed round since start: a stable problem code, no message. */
  readonly lastError: { readonly code: string; readonly at: string } | null
}

export interface InstanceReport {
  /** The instance id (QIAO_AUDIT_LOG_ID: each instance keeps its own audit log). */
  readonly id: string
  readonly version: string
  readonly startedAt: string
  readonly demoMode: boolean
  readonly draining: boolean
  readonly inFlight: number
}

export interface CatalogReport {
  readonly version: string
  readonly digest: string
  /** When the running file was loaded: at start, or by the last accepted reload. */
  readonly loadedAt: string
  readonly resources: number
  readonly matters: number
  /** Grants in force, from the file and from approved applications. */
  readonly grants: number
  readonly liveGrants: number
  /** The last reload attempt since start; null when there was none. */
  readonly lastReload: {
    readonly at: string
    readonly outcome: 'accepted' | 'rejected'
    /** The version loaded, or the one kept serving after a rejection. */
    readonly version: string
    readonly problemCount: number
    /** The first MAX_PROBLEMS problems as `file:line:col message`. */
    readonly problems: readonly string[]
  } | null
}

export interface ConnectorReport {
  readonly id: string
  readonly type: string
  /** The department whose system it reaches. */
  readonly department: string
  /** The resources bound to it. */
  readonly resources: readonly string[]
  /** The last probe's status; `degraded` until the first probe. */
  readonly health: HealthStatus
  readonly checkedAt: string | null
  readonly breaker: {
    readonly state: CircuitStateName
    /** When it last opened, while open or half-open. */
    readonly openedAt: string | null
    /** Consecutive failures that open it, and how long it stays open before one probe call goes through. */
    readonly threshold: number
    readonly halfOpenAfterMs: number
  }
  readonly bulkhead: { readonly inFlight: number; readonly max: number }
}

export interface QuotasReport {
  readonly store: 'memory' | 'redis'
  /** Redis: one budget for every instance; memory: each instance has the whole budget. */
  readonly shared: boolean
  /** False while Redis cannot be reached: this instance then counts in its own memory (and reads those counts). */
  readonly reachable: boolean
  /** Calls counted in memory because Redis was unreachable, since start. */
  readonly fallbacks: number
  readonly total: number
  /** Quotas read (the first ones in catalog order): all of them in memory, at most REDIS_QUOTA_READS with Redis. */
  readonly listed: number
  /** How the counters were read, and what is left out. */
  readonly note: string
  readonly items: readonly QuotaItem[]
}

export interface QuotaItem {
  readonly id: string
  readonly department?: string
  readonly matter?: string
  readonly resource?: string
  /** `catalog` (the file's quotas) or `grant` (an approved application's). */
  readonly source: 'catalog' | 'grant'
  /** The counter key below the quota id: the department, or the matter for a matter-only quota. */
  readonly key: string
  /** As written: `limit` calls per `per`, in buckets of `burst`. */
  readonly limit: number
  readonly per: string
  readonly burst: number
  /** As counted: `points` calls per `windowSeconds` (one counter per window, starting with its first call). */
  readonly points: number
  readonly windowSeconds: number
  readonly used: number
  readonly remaining: number
  /** End of the current window; null when no window is running (nothing used). */
  readonly windowEndsAt: string | null
}

export interface AuditReport {
  readonly backend: 'file' | 'postgres'
  readonly logId: string
  readonly state: 'ok' | 'recovering' | 'broken'
  /** Since when that state holds: the log's opening, its last break or its last recovery. */
  readonly since: string
  /** Why records cannot be made durable now (as /readyz says); empty when they can. */
  readonly problems: readonly string[]
  /** Since this instance opened the log. */
  readonly appended: number
  readonly syncs: number
  readonly checkpoints: number
  readonly queueDepth: number
  readonly brokenEvents: number
  readonly recoveries: number
  readonly segment: number
  readonly segmentSize: number
  readonly segmentSizeUnit: 'bytes' | 'records'
  readonly lastCheckpoint: { readonly at: string; readonly segment: number; readonly size: number } | null
  /** Free bytes on the file system of the audit store (file backend) or else of the data directory. */
  readonly freeBytes: number | null
  /** QIAO_AUDIT_MIN_FREE: below it the gateway is not ready. */
  readonly minFreeBytes: number
}

/** Counters read from Redis per report: one round trip each, so thousands of approved-grant quotas are cut here. */
export const REDIS_QUOTA_READS = 200
/** Problems of a rejected reload listed in the report (the reload's own answer lists them all). */
export const MAX_PROBLEMS = 100
const STATE_PROBE_TIMEOUT_MS = 1_000

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : iso(ms))

/** The gateway's version from its package.json: two levels up from the source file, three from dist/. */
export const GATEWAY_VERSION: string = (() => {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'qiao' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not there: try the next level
    }
  }
  return 'unknown'
})()

export async function buildStatusReport(deps: GatewayDeps): Promise<StatusReport> {
  const snapshot = deps.snapshot()
  const now = deps.clock.now()
  const [quotas, audit, stateReachable, subscriptions] = await Promise.all([
    quotasReport(snapshot, now),
    auditReport(deps),
    stateStoreReachable(deps),
    subscriptionsReport(deps),
  ])
  return {
    generatedAt: iso(now),
    instance: {
      id: deps.config.auditLogId,
      version: GATEWAY_VERSION,
      startedAt: iso(deps.lifecycle.startedAt),
      demoMode: deps.config.demoMode,
      draining: deps.lifecycle.draining(),
      inFlight: deps.lifecycle.inFlight(),
    },
    catalog: catalogReport(deps, snapshot),
    connectors: connectorReports(deps, snapshot),
    quotas,
    audit,
    stateStore: { backend: deps.state.dialect, reachable: stateReachable },
    subscriptions,
  }
}

/** Under the state store probe's deadline: a store that hangs leaves the section null, not the report hanging. */
async function subscriptionsReport(deps: GatewayDeps): Promise<SubscriptionsReport | null> {
  if (deps.subscriptionsOverview === undefined) return null
  const overview = await answerWithin(
    deps.subscriptionsOverview().catch(() => undefined),
    STATE_PROBE_TIMEOUT_MS,
  )
  return overview === undefined ? null : subscriptionsReportOf(overview)
}

export function subscriptionsReportOf(overview: SubscriptionsOverview): SubscriptionsReport {
  return {
    backend: overview.backend as SubscriptionsReport['backend'],
    counts: { active: overview.subscriptions.active, suspended: overview.subscriptions.suspended },
    feeds: overview.feeds.map((feed) => ({
      resource: feed.resource,
      lastPolledAt: isoOrNull(feed.lastPolledAt),
      lagSeconds: feed.lagSeconds ?? null,
      leader: feed.leader,
      failures: feed.failures,
      lastError: feed.lastError === undefined ? null : { code: feed.lastError.code, at: iso(feed.lastError.at) },
    })),
    deadLetters: overview.deadLetters ?? null,
  }
}

function catalogReport(deps: GatewayDeps, snapshot: CatalogSnapshot): CatalogReport {
  const { catalog } = snapshot
  const reloads = deps.lifecycle.reloads()
  const last = reloads.last
  return {
    version: catalog.version,
    digest: catalog.digest,
    loadedAt: iso(reloads.acceptedAt ?? deps.lifecycle.startedAt),
    resources: catalog.resources.size,
    matters: catalog.matters.size,
    grants: catalog.grants.size,
    liveGrants: snapshot.liveGrants.length,
    lastReload:
      last === undefined
        ? null
        : {
            at: iso(last.at),
            outcome: last.outcome,
            version: last.version,
            problemCount: last.problems.length,
            problems: last.problems.slice(0, MAX_PROBLEMS),
          },
  }
}

function connectorReports(deps: GatewayDeps, snapshot: CatalogSnapshot): ConnectorReport[] {
  const resources = [...snapshot.catalog.resources.values()]
  return [...snapshot.catalog.connectors.values()].map((instance) => {
    const guard = snapshot.guards.get(instance.id)
    const health = deps.health.status(instance.id)
    return {
      id: instance.id,
      type: instance.type,
      department: instance.department,
      resources: resources.filter((r) => r.connector === instance.id).map((r) => r.id),
      health: health.status,
      checkedAt: health.checkedAt ?? null,
      breaker: {
        state: guard?.state ?? 'closed',
        openedAt: isoOrNull(guard?.openedAt),
        threshold: instance.resilience.breakerThreshold,
        halfOpenAfterMs: instance.resilience.breakerHalfOpenAfterMs,
      },
      bulkhead: { inFlight: guard?.inFlight ?? 0, max: instance.resilience.maxConcurrent },
    }
  })
}

async function quotasReport(snapshot: CatalogSnapshot, now: number): Promise<QuotasReport> {
  const { store } = snapshot.quotas
  const total = snapshot.quotas.quotas.length
  const redis = store.kind === 'redis'
  const usage = await snapshot.quotas.usage(redis ? REDIS_QUOTA_READS : total)
  const fromFile = new Set(snapshot.fileCatalog.quotas.map((q) => q.id))
  const note = !redis
    ? 'counted in this instance’s memory; every quota read'
    : `${store.reachable ? 'read from Redis' : 'Redis unreachable: read from this instance’s fallback counts'} by each quota’s own key (Redis cannot list the counters cheaply); ${
        usage.length < total ? `the first ${usage.length} of ${total} quotas in catalog order` : 'every quota'
      }`
  return {
    store: store.kind,
    shared: redis,
    reachable: store.reachable,
    fallbacks: store.stats.fallbacks,
    total,
    listed: usage.length,
    note,
    items: usage.map((u) => quotaItem(u, fromFile.has(u.quota.id), now)),
  }
}

function quotaItem(u: QuotaUsage, fromFile: boolean, now: number): QuotaItem {
  const { quota } = u
  return {
    id: quota.id,
    ...(quota.department === undefined ? {} : { department: quota.department }),
    ...(quota.matter === undefined ? {} : { matter: quota.matter }),
    ...(quota.resource === undefined ? {} : { resource: quota.resource }),
    source: fromFile ? 'catalog' : 'grant',
    key: u.key,
    limit: quota.limit,
    per: quota.per,
    burst: quota.burst,
    points: u.points,
    windowSeconds: u.windowSeconds,
    used: u.used,
    remaining: u.points - u.used,
    windowEndsAt: u.resetMs === undefined ? null : iso(now + u.resetMs),
  }
}

async function auditReport(deps: GatewayDeps): Promise<AuditReport> {
  const { audit, config } = deps
  const stats = audit.stats
  const file = config.auditUrl === undefined
  const [health, storeFree] = await Promise.all([audit.health(), audit.freeBytes()])
  const freeBytes =
    storeFree ??
    (await statfs(config.dataDir)
      .then((s) => s.bavail * s.bsize)
      .catch(() => undefined))
  const checkpoint = stats.lastCheckpoint
  return {
    backend: file ? 'file' : 'postgres',
    logId: audit.logId,
    state: stats.state,
    since: iso(stats.since),
    problems: health.problems,
    appended: stats.appended,
    syncs: stats.syncs,
    checkpoints: stats.checkpoints,
    queueDepth: stats.queueDepth,
    brokenEvents: stats.brokenEvents,
    recoveries: stats.recoveries,
    segment: stats.segment,
    segmentSize: stats.segmentSize,
    segmentSizeUnit: file ? 'bytes' : 'records',
    lastCheckpoint:
      checkpoint === undefined ? null : { at: checkpoint.time, segment: checkpoint.segment, size: checkpoint.size },
    freeBytes: freeBytes ?? null,
    minFreeBytes: config.auditMinFreeBytes,
  }
}

/** One `select 1` under a short deadline: a state store that hangs reports unreachable instead of hanging this. */
async function stateStoreReachable(deps: GatewayDeps): Promise<boolean> {
  const probe = sql`select 1`.execute(deps.state.db).then(
    () => true,
    () => false,
  )
  return (await answerWithin(probe, STATE_PROBE_TIMEOUT_MS)) ?? false
}
