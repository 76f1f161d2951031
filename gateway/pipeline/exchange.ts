import type { WriteReceipt } from '../../connectors/kit/types.js'
import type { CanonicalRecord } from '../../kernel/records.js'
import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import type { Action, ReadBinding, Resource, WriteBinding } from '../catalog/types.js'
import type { IdempotencyScope, StoredAnswer } from '../idempotency/store.js'
import type { Purpose } from '../policy/decide.js'
import type { QuotaOutcome } from '../quota/quotas.js'
import type { ExchangeResponse } from './80-respond.js'

/**
 * The stage contract. One object per call goes through the stages (files 10-… to 80-… in this folder, in order);
 * each stage takes the type the previous one returns and returns the next, so tsc proves the order:
 *
 *   read:  Routed → Authenticated → Authorized → Charged → WithParameters → Fetched → Released → Rendered
 *   write: Routed → Authenticated → Authorized → Charged → Keyed → WithParameters → Claimed → Delivered
 *                                                                                 ↘ Replayed
 *
 * A stage records what it learns on that same object before it narrows its type (no copy per stage), so when a
 * later stage fails the audit stage still finds every fact reached: it reads the object as `Reached`. The object
 * is made with every field of `Reached` declared (beginExchange, 10-route-request.ts), so it keeps one shape.
 */
export interface Routed {
  readonly requestId: string
  readonly auditId: string
  /** Epoch ms the call arrived (gateway clock). */
  readonly startedAt: number
  /** The catalog version this call runs under, taken once at the start. */
  readonly snapshot: CatalogSnapshot
  readonly resourceId: string
  readonly action: Action
  /** W3C trace id when tracing is on. */
  readonly traceId?: string
}

export interface Authenticated extends Routed {
  readonly principal: Principal
}

interface Granted<A extends Action, B> extends Authenticated {
  readonly action: A
  readonly purpose: Purpose
  readonly resource: Resource
  readonly grant: CompiledGrant
  /** The resource's binding for this action. */
  readonly binding: B
}
export type AuthorizedRead = Granted<'read', ReadBinding>
export type AuthorizedWrite = Granted<'write', WriteBinding>
export type Authorized = AuthorizedRead | AuthorizedWrite

/** Counted against its quotas; `quota` is undefined when none matched. */
export type Charged<A extends Authorized = Authorized> = A & { readonly quota: QuotaOutcome | undefined }

/** Writes: the Idempotency-Key is read before the body. */
export type Keyed = Charged<AuthorizedWrite> & { readonly idempotencyKey: string }

/** The request body, validated against the resource's request schema. */
export type WithParameters<A extends Charged> = A & { readonly params: Record<string, unknown> }

export type Fetched = WithParameters<Charged<AuthorizedRead>> & {
  /** Canonical records from the connector, already validated. */
  readonly records: CanonicalRecord[]
  readonly upstreamMs: number
}

/** What leaves the gateway: projected and masked records. */
export type Released = Fetched & { readonly released: CanonicalRecord[] }

/** A read's answer, rendered once before its audit record, which holds the digests of exactly these bytes. */
export type Rendered = Released & {
  readonly answer: ExchangeResponse
  readonly requestDigest: string
  readonly releaseDigest: string
}

/** The key is this call's: it delivers, and the key is completed, released or marked unknown after. */
export type Claimed = WithParameters<Keyed> & { readonly claim: IdempotencyScope; readonly replay?: undefined }

/** A retry of a finished write: it is answered with the first answer, nothing is delivered. */
export type Replayed = WithParameters<Keyed> & { readonly replay: StoredAnswer }

export type Delivered = Claimed & { readonly receipt: WriteReceipt; readonly upstreamMs: number }

/** The three ways a call ends well. */
export type Answered = Rendered | Delivered | Replayed

/** Every fact a call may have reached: what the audit record, the metrics and the log are made of. */
export interface Reached extends Routed {
  traceId?: string
  principal?: Principal
  purpose?: Purpose
  resource?: Resource
  /** Set when authorization passed. */
  grant?: CompiledGrant
  binding?: ReadBinding | WriteBinding
  quota?: QuotaOutcome
  params?: Record<string, unknown>
  upstreamMs?: number
  upstreamCode?: string
  records?: CanonicalRecord[]
  released?: CanonicalRecord[]
  /** Release evidence (65-render-release.ts): keyed digests of the canonical request and released records. */
  requestDigest?: string
  releaseDigest?: string
  answer?: ExchangeResponse
  idempotencyKey?: string
  claim?: IdempotencyScope
  receipt?: WriteReceipt
  replay?: StoredAnswer
}
