import type { Clock } from '../kernel/clock.js'
import type { AuditLog } from './audit/audit-log.js'
import type { KeyedDigest } from './audit/digest.js'
import type { DevKey } from './auth/dev-keys.js'
import type { TokenVerifier } from './auth/verify-token.js'
import type { ReloadHistory, ReloadResult } from './catalog/reload.js'
import type { CatalogSnapshot } from './catalog/snapshot.js'
import type { Config } from './config/settings.js'
import type { ResourceExample } from './examples.js'
import type { HealthMonitor } from './health/connector-health.js'
import type { IdempotencyStore } from './idempotency/store.js'
import type { ObjectionDesk } from './sharing/objections-workflow.js'
import type { SharingWorkflow } from './sharing/service.js'
import type { StateStore } from './state/store.js'
import type { SubscriptionsOverview } from './subscriptions/overview.js'
import type { SubscriptionService } from './subscriptions/service.js'
import type { Logger } from './telemetry/logger.js'
import type { Metrics } from './telemetry/metrics.js'

export interface Lifecycle {
  /**
   * True once a shutdown began: /readyz answers 503 `draining` so load balancers stop sending calls, and new
   * exchange calls get 503 gateway-draining.
   */
  draining(): boolean
  /** Requests being handled right now. */
  inFlight(): number
  /** Counts one request in (returns the function that counts it out). */
  track(): () => void
  reload(actor: string, requestId?: string): Promise<ReloadResult>
  /** When this gateway instance started (clock ms). */
  readonly startedAt: number
  /** The last catalog reload attempt and when the running file was loaded (the operators' status). */
  reloads(): ReloadHistory
}

/** What the HTTP layer needs, built once at start (gateway.ts) and passed to every route. */
export interface GatewayDeps {
  readonly config: Config
  readonly clock: Clock
  readonly log: Logger
  readonly verifier: TokenVerifier
  readonly audit: AuditLog
  readonly digest: KeyedDigest
  /** What instances share (state/): idempotency keys, and the sharing workflow's state to come. */
  readonly state: StateStore
  readonly idempotency: IdempotencyStore
  /** The sharing workflow behind /v1/applications and /v1/grants (applications, reviews, live grants). */
  readonly sharing: SharingWorkflow
  /** Data objections (数据异议): raised by consumers, resolved by providers; open ones mark later answers. */
  readonly objections: ObjectionDesk
  /** Subscriptions to resources' changes behind /v1/subscriptions (registry, pull API). */
  readonly subscriptions: SubscriptionService
  /** The operators' view of subscriptions (/v1/admin/status): backend, counts, feeds, dead letters. */
  readonly subscriptionsOverview?: () => Promise<SubscriptionsOverview>
  /** Last known health of each connector instance. */
  readonly health: HealthMonitor
  readonly metrics: Metrics
  /** The catalog version new calls run under (without taking a reference). */
  readonly snapshot: () => CatalogSnapshot
  /** The catalog version for one call: kept alive until `release`, even across a reload. */
  readonly acquireSnapshot: () => CatalogSnapshot
  readonly releaseSnapshot: (snapshot: CatalogSnapshot) => void
  readonly lifecycle: Lifecycle
  /** Demo mode only: the dev signing key whose public half is served at /.well-known/jwks.json. */
  readonly devKey: DevKey | undefined
  /** Sample parameters per resource id (demo: from the simulators; serve: none). */
  readonly examples: ReadonlyMap<string, readonly ResourceExample[]>
}
