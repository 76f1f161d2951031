import { adminRecord } from '../audit/admin.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Application, LiveGrant, SharingEvent, Transition } from './model.js'
import type { SharingTx } from './store.js'
import { appendAudit, auditDetails, iso, type SharingWorkflowDeps, staleState } from './workflow-support.js'

/**
 * How a transition is written: in one transaction, the application (only if its version is still the one read),
 * its history event, the grants it makes or ends, and its one admin audit record. The record is appended last,
 * inside the transaction: if the log refuses it, nothing of the step is kept.
 */

/** Who took the step, as admin records and the history name them. */
export interface Taker {
  /** `dept/sub`, or `system` for the scheduler. */
  readonly actor: string
  readonly requestId?: string
}

export interface Step {
  readonly transition: Transition
  /** Public facts for the history (reasons and notice items in full: the history is for auditors). */
  readonly details: Readonly<Record<string, unknown>>
  /** Given in the history in full; in the admin record only as a keyed digest. */
  readonly reason?: string
  readonly noticeItems?: number
  /** Grant work in the same transaction; returns the id of the grant made, for the admin record. */
  readonly grants?: (tx: SharingTx) => Promise<string>
}

/** Stores a new application (version 1) with its `apply` event and admin record. */
export async function commitNew(deps: SharingWorkflowDeps, taker: Taker, app: Application, step: Step, now: number) {
  const event = eventOf(app, step, 1, null, taker.actor, now)
  await deps.store.transaction(async (tx) => {
    await tx.insertApplication(app, event)
    const details = auditDetails(deps, app, { ...step, from: null, to: app.state, seq: 1 })
    await appendAudit(deps, adminRecord('sharing.application', now, details, recordOptions(taker)))
  })
}

/**
 * Moves `before` to `next` (whose version is before.version + 1). False when another actor moved the application
 * first: nothing was written. A GatewayError thrown by the grant work or the audit log rolls everything back.
 */
export async function commitStep(
  deps: SharingWorkflowDeps,
  taker: Taker,
  before: Application,
  next: Application,
  step: Step,
  now: number,
): Promise<boolean> {
  const moved = await deps.store.transaction(async (tx) => {
    const seq = await tx.nextSeq(before.id)
    const event = eventOf(next, step, seq, before.state, taker.actor, now)
    if (!(await tx.updateApplication(next, before.version, event))) return false
    const grant = step.grants === undefined ? undefined : await step.grants(tx)
    const details = auditDetails(deps, next, { ...step, from: before.state, to: next.state, seq, grant })
    await appendAudit(deps, adminRecord('sharing.application', now, details, recordOptions(taker)))
    return true
  })
  if (moved && step.grants !== undefined) await deps.onGrantsChanged?.()
  return moved
}

/** As commitStep, for a person acting on what they read: a lost race is 412. */
export async function commitOrStale(
  deps: SharingWorkflowDeps,
  taker: Taker,
  before: Application,
  next: Application,
  step: Step,
  now: number,
): Promise<Application> {
  if (!(await commitStep(deps, taker, before, next, step, now))) throw staleState()
  return next
}

/**
 * Makes `grant` live and supersedes every other grant not yet superseded for the same (matter, resource, action,
 * consumer): one grant per purpose, the newest decision wins (a renewal replaces the grant it renews). Bumps the
 * grant epoch so every instance recompiles.
 */
export async function issueGrant(tx: SharingTx, grant: LiveGrant): Promise<string[]> {
  const others = await tx.grantsFor(grant.matter, grant.resource, grant.action, grant.consumer)
  const superseded: string[] = []
  for (const other of others) {
    if (other.id === grant.id) continue
    const ended: LiveGrant = { ...other, state: 'superseded', supersededBy: grant.id, version: other.version + 1 }
    // A grant revoked or superseded meanwhile: the caller answers 412 and the whole approval is rolled back.
    if (!(await tx.updateGrant(ended, other.version))) throw staleState()
    superseded.push(other.id)
  }
  await tx.insertGrant(grant)
  await tx.bumpGrantEpoch()
  return superseded
}

/** The revocation of a live grant: its new version, an event in its application's history, a `sharing.grant` record. */
export async function commitRevocation(
  deps: SharingWorkflowDeps,
  taker: Taker,
  app: Application,
  before: LiveGrant,
  next: LiveGrant,
  reason: string,
  now: number,
): Promise<LiveGrant> {
  await deps.store.transaction(async (tx) => {
    if (!(await tx.updateGrant(next, before.version))) throw staleState()
    const seq = await tx.nextSeq(app.id)
    const step: Step = { transition: 'grant-revoke', details: { grant: next.id, reason }, reason }
    await tx.appendEvent(eventOf(app, step, seq, app.state, taker.actor, now))
    await tx.bumpGrantEpoch()
    const details = auditDetails(deps, app, { ...step, from: before.state, to: next.state, seq, grant: next.id })
    await appendAudit(deps, adminRecord('sharing.grant', now, details, recordOptions(taker)))
  })
  await deps.onGrantsChanged?.()
  return next
}

function eventOf(
  app: Application,
  step: Step,
  seq: number,
  from: SharingEvent['from'],
  actor: string,
  now: number,
): SharingEvent {
  return {
    applicationId: app.id,
    seq,
    at: iso(now),
    actor,
    transition: step.transition,
    from,
    to: app.state,
    details: step.details,
  }
}

function recordOptions(taker: Taker): { actor: string; requestId?: string } {
  return taker.requestId === undefined ? { actor: taker.actor } : { actor: taker.actor, requestId: taker.requestId }
}

/** 404 for an application that does not exist (or that the reader may not see). */
export function applicationNotFound(): GatewayError {
  return new GatewayError('application-not-found', { detail: 'no application with this id that you may see' })
}

export function grantNotFound(): GatewayError {
  return new GatewayError('grant-not-found', { detail: 'no grant with this id that you may see' })
}
