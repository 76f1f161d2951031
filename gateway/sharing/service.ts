import type { Principal } from '../auth/principal.js'
import type { Grant } from '../catalog/types.js'
import type { Application, ApplicationQuery, GrantQuery, LiveGrant, Page, SharingEvent } from './model.js'

/** Scopes of the sharing workflow's roles (GB/T 39477 separation of duties: one role per token is advised). */
export const SHARING_APPLY_SCOPE = 'sharing:apply'
export const SHARING_REVIEW_SCOPE = 'sharing:review'
export const SHARING_ADMIN_SCOPE = 'sharing:admin'

/** Who acts, and the request it came with (carried into the admin audit record). */
export interface Actor {
  readonly principal: Principal
  readonly requestId: string
}

/** A grant as `/v1/grants` shows it: live (made by an application) or static (catalog.yaml, "granted by catalog"). */
export type GrantView =
  | (LiveGrant & { readonly source: 'application' })
  | {
      readonly source: 'catalog'
      /** `catalog:<matter>:<resource>:<action>:<consumer>`. */
      readonly id: string
      readonly version: 0
      readonly state: 'active'
      readonly matter: string
      readonly consumer: string
      readonly resource: string
      readonly action: Grant['action']
      readonly usage: Grant['usage']
      readonly fields: readonly string[]
      readonly masked: readonly string[]
      readonly validFrom?: string
      readonly validTo?: string
      readonly approvalRef?: string
      readonly approvedBy?: string
    }

/**
 * The workflow as the HTTP routes and the CLI use it. Every method checks the actor's role (scope and department)
 * and throws a GatewayError with a stable code: application-invalid / decision-invalid (422, every problem with
 * its JSON pointer), application-not-found (404, also for applications the actor may not see),
 * sharing-not-permitted (403: wrong role or department), separation-of-duties (403), transition-not-allowed (409),
 * precondition-required (428: no If-Match), precondition-failed (412: stale If-Match or a concurrent transition),
 * notice-item-repeated (422). Every transition appends exactly one admin audit record inside its transaction.
 *
 * `ifMatch` is the If-Match header as received; ETags are `"<id>.<version>"` (etagOf).
 */
export interface SharingWorkflow {
  apply(actor: Actor, body: unknown): Promise<Application>
  /** The authority (sharing:admin): `{decision: 'pass'}`, `{decision: 'notice', items}`, `{decision: 'refuse', reason}`. */
  conformity(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Application>
  /**
   * The provider's reviewer (sharing:review, dept = provider): `{decision: 'approve', fields?, masked?, validFrom?,
   * validTo?, quota?}`, `{decision: 'refuse', reason}`, `{decision: 'notice', items}`.
   */
  review(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Application>
  /** The applicant's department answers a notice: `{changes: {...request fields}, note?}`. */
  resubmit(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Application>
  withdraw(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Application>
  getApplication(actor: Actor, id: string): Promise<Application>
  listApplications(actor: Actor, query: ApplicationQuery): Promise<Page<Application>>
  history(actor: Actor, id: string): Promise<readonly SharingEvent[]>
  /** The provider's reviewer or the authority: `{reason}` (mandatory). */
  revokeGrant(actor: Actor, grantId: string, ifMatch: string | undefined, body: unknown): Promise<LiveGrant>
  /** The consumer: a new application pre-filled from the grant's, `{validTo, ...overrides}`; returns it. */
  renewGrant(actor: Actor, grantId: string, body: unknown): Promise<Application>
  getGrant(actor: Actor, id: string): Promise<GrantView>
  listGrants(
    actor: Actor,
    query: GrantQuery & { readonly source?: 'application' | 'catalog' },
  ): Promise<Page<GrantView>>
  /** The scheduler: marks an overdue application escalated (one admin record); false if another instance did. */
  escalate(id: string): Promise<boolean>
}

export function etagOf(item: { readonly id: string; readonly version: number }): string {
  return `"${item.id}.${item.version}"`
}

/**
 * The version an If-Match header names for `id`, or undefined when it names another item or is malformed.
 * `*` is not accepted: a transition must say which state it acts on.
 */
export function versionFromIfMatch(header: string, id: string): number | undefined {
  const match = /^\s*(?:W\/)?"([^"]+)\.(\d{1,9})"\s*$/.exec(header)
  if (match === null || match[1] !== id) return undefined
  return Number(match[2])
}
