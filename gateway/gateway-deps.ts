import type { Clock } from '../connectors/kit/types.js'
import type { AuditLog } from './audit/audit-log.js'
import type { KeyedDigest } from './audit/digest.js'
import type { DevKey } from './auth/dev-keys.js'
import type { TokenVerifier } from './auth/verify-token.js'
import type { CatalogSnapshot } from './catalog/snapshot.js'
import type { Config } from './config/settings.js'
import type { HealthMonitor } from './health/connector-health.js'
import type { IdempotencyStore } from './idempotency/store.js'
import type { Logger } from './telemetry/logger.js'

/** What the HTTP layer needs, built once at start (gateway.ts) and passed to every route. */
export interface GatewayDeps {
  readonly config: Config
  readonly clock: Clock
  readonly log: Logger
  readonly verifier: TokenVerifier
  readonly audit: AuditLog
  readonly digest: KeyedDigest
  readonly idempotency: IdempotencyStore
  /** Last known health of each connector instance. */
  readonly health: HealthMonitor
  /** The catalog version new calls run under. */
  readonly snapshot: () => CatalogSnapshot
  /** Demo mode only: the dev signing key whose public half is served at /.well-known/jwks.json. */
  readonly devKey: DevKey | undefined
}
