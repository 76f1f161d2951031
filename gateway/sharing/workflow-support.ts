import type { Clock } from '../../kernel/clock.js'
import type { WorkingCalendar } from '../../kernel/working-calendar.js'
import type { KeyedDigest } from '../audit/digest.js'
import type { AuditRecord } from '../audit/record.js'
import { AUDIT_READ_SCOPE, type Principal } from '../auth/principal.js'
import type { Catalog } from '../catalog/types.js'
import type { ProblemCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Violation } from '../validation/ajv.js'
import type { BodyCheck } from './application-schema.js'
import type { Application, ApplicationState, LiveGrant, Transition } from './model.js'
import { SHARING_ADMIN_SCOPE, SHARING_APPLY_SCOPE, SHARING_REVIEW_SCOPE, versionFromIfMatch } from './service.js'
import type { SharingStore } from './store.js'

/** What the workflow runs on; see createSharingWorkflow. */
export interface SharingWorkflowDeps {
  readonly store: SharingStore
  /** The current catalog (it may be reloaded between two calls). */
  readonly catalog: () => Catalog
  readonly calendar: WorkingCalendar
  readonly clock: Clock
  /** The tamper-evident log: every transition appends one admin record inside its transaction. */
  readonly audit: { append(record: AuditRecord): Promise<unknown> }
  /** Keyed digest of reasons in admin records (the reason text itself is only in the history). */
  readonly digest: KeyedDigest
  readonly days: { readonly conformity: number; readonly review: number; readonly reviewUnpublished: number }
  /**
   * Called after a committed transaction that changed grants, so this instance recompiles at once; the step answers
   * after it settles, so the caller's next call on this instance runs under the new grants (read your writes).
   */
  readonly onGrantsChanged?: () => void | Promise<void>
}

/** 422 with every problem at once (and `truncated`/`total` when the schema found more than are described). */
export function invalid(
  code: Extract<ProblemCode, 'application-invalid' | 'decision-invalid' | 'notice-item-repeated'>,
  violations: readonly Violation[],
  counted?: Pick<BodyCheck, 'total' | 'truncated'>,
): GatewayError {
  const truncated = counted?.truncated === true
  const shown = violations.map((v) => `${v.pointer || '/'} ${v.message}`).join('; ')
  const more = truncated && counted ? ` (and ${counted.total - violations.length} more)` : ''
  return new GatewayError(code, {
    detail: `${shown}${more}`,
    extensions: { errors: violations, ...(truncated && counted ? { truncated: true, total: counted.total } : {}) },
  })
}

/** Throws 422 unless the schema check passed. */
export function requireValid(code: 'application-invalid' | 'decision-invalid', check: BodyCheck): void {
  if (check.violations.length > 0 || check.total > 0) throw invalid(code, check.violations, check)
}

export function notPermitted(detail: string): GatewayError {
  return new GatewayError('sharing-not-permitted', { detail })
}

export function separationOfDuties(detail: string): GatewayError {
  return new GatewayError('separation-of-duties', { detail })
}

export function notAllowed(state: string, detail: string): GatewayError {
  return new GatewayError('transition-not-allowed', { detail, extensions: { state } })
}

export function staleState(): GatewayError {
  return new GatewayError('precondition-failed', {
    detail: 'the If-Match ETag is not the current one: read it again and decide on what it now says',
  })
}

/**
 * The version the If-Match header names for `id`: 428 when there is none, 412 when it is malformed, names another
 * item or another version than `current`.
 */
export function expectedVersion(ifMatch: string | undefined, id: string, current: number): number {
  requireIfMatch(ifMatch)
  const version = versionFromIfMatch(ifMatch as string, id)
  if (version !== current) throw staleState()
  return version
}

/** The header must be there before anything is looked up: a step that names no state is refused as such. */
export function requireIfMatch(ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new GatewayError('precondition-required', { detail: 'send If-Match with the ETag as last read' })
  }
}

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.has(scope)
}

/**
 * Which applications and grants a token may read: the authority and auditors all, an applying department its own
 * (as consumer), a reviewing department those for its resources (as provider). `undefined` for a token with none
 * of the workflow's scopes (403); `'all'` for no narrowing.
 */
export function readerOf(
  principal: Principal,
): 'all' | { readonly consumer?: string; readonly provider?: string } | undefined {
  if (hasScope(principal, SHARING_ADMIN_SCOPE) || hasScope(principal, AUDIT_READ_SCOPE)) return 'all'
  const consumer = hasScope(principal, SHARING_APPLY_SCOPE) ? principal.dept : undefined
  const provider = hasScope(principal, SHARING_REVIEW_SCOPE) ? principal.dept : undefined
  if (consumer === undefined && provider === undefined) return undefined
  return { ...(consumer === undefined ? {} : { consumer }), ...(provider === undefined ? {} : { provider }) }
}

/** The reader (403 without a workflow scope), and whether it may see an item of `consumer` and `provider`. */
export function readerFor(principal: Principal): {
  readonly visibleTo: { readonly consumer?: string; readonly provider?: string } | undefined
  readonly sees: (item: { readonly consumer: string; readonly provider: string }) => boolean
} {
  const reader = readerOf(principal)
  if (reader === undefined) {
    throw notPermitted('reading the sharing workflow needs sharing:apply, sharing:review, sharing:admin or audit:read')
  }
  if (reader === 'all') return { visibleTo: undefined, sees: () => true }
  return {
    visibleTo: reader,
    sees: (item) => item.consumer === reader.consumer || item.provider === reader.provider,
  }
}

/**
 * Fail closed, as the exchange path does (pipeline/70-write-audit.ts): a transition whose admin record cannot be
 * made durable answers 503 audit-unavailable, and throwing inside the transaction rolls the transition back.
 */
export async function appendAudit(
  deps: { readonly audit: { append(record: AuditRecord): Promise<unknown> } },
  record: AuditRecord,
): Promise<void> {
  try {
    await deps.audit.append(record)
  } catch (err) {
    throw new GatewayError('audit-unavailable', {
      detail: 'the step could not be audited, so it was not taken',
      internal: err instanceof Error ? err.message : 'audit append failed',
      cause: err,
    })
  }
}

/** The flat facts of a transition for its admin record: ids, departments, states, counts, a digest of the reason. */
export function auditDetails(
  deps: SharingWorkflowDeps,
  app: Application,
  step: {
    readonly transition: Transition
    readonly from: ApplicationState | LiveGrant['state'] | null
    readonly to: ApplicationState | LiveGrant['state']
    readonly seq: number
    readonly grant?: string
    readonly reason?: string
    readonly noticeItems?: number
  },
): Record<string, string | number | boolean | null> {
  const dueDate = app.clock !== undefined && !app.clock.paused ? app.clock.dueDate : undefined
  return {
    application: app.id,
    seq: step.seq,
    transition: step.transition,
    from: step.from,
    to: step.to,
    resource: app.request.resource,
    matter: app.request.matter,
    consumer: app.consumer,
    provider: app.provider,
    ...(step.grant === undefined ? {} : { grant: step.grant }),
    ...(step.reason === undefined ? {} : { reasonDigest: deps.digest(step.reason) }),
    ...(step.noticeItems === undefined ? {} : { noticeItems: step.noticeItems }),
    ...(dueDate === undefined ? {} : { dueDate }),
  }
}

/** A non-blank reason, trimmed; undefined when there is none. */
export function reasonOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

export function iso(now: number): string {
  return new Date(now).toISOString()
}
