import type { CanonicalRecord, WriteReceipt } from '../../connectors/kit/types.js'
import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import type { Action, Resource } from '../catalog/types.js'
import type { GatewayError } from '../errors/gateway-error.js'
import type { StoredAnswer } from '../idempotency/store.js'
import type { Purpose } from '../policy/decide.js'
import type { QuotaOutcome } from '../quota/quotas.js'

/**
 * The state of one exchange call as it moves through the stages (files 10-… to 80-… in this folder, in order).
 * Each stage fills in what it learns; the audit stage records whatever was reached, whether the call succeeded,
 * was denied or failed.
 */
export interface Exchange {
  readonly requestId: string
  readonly auditId: string
  /** Epoch ms the call arrived (gateway clock). */
  readonly startedAt: number
  /** The catalog version this call runs under, taken once at the start. */
  readonly snapshot: CatalogSnapshot
  readonly resourceId: string
  readonly action: Action
  /** W3C trace id when tracing is on. */
  traceId?: string
  principal?: Principal
  purpose?: Purpose
  resource?: Resource
  /** Set when authorization passed. */
  grant?: CompiledGrant
  /** The quotas the call was counted against (none matched: undefined). */
  quota?: QuotaOutcome
  params?: Record<string, unknown>
  upstreamMs?: number
  upstreamCode?: string
  /** Canonical records from the connector, already validated. */
  records?: CanonicalRecord[]
  /** What leaves the gateway: projected and masked records. */
  released?: CanonicalRecord[]
  /** Writes: the Idempotency-Key, and the provider's receipt once delivered. */
  idempotencyKey?: string
  receipt?: WriteReceipt
  /** Writes: the first answer to this Idempotency-Key, when this call is a retry. */
  replay?: StoredAnswer
  error?: GatewayError
}
