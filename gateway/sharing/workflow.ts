import { actorOf } from '../audit/admin.js'
import { checkWithdrawalBody } from './application-schema.js'
import { isOverdue } from './deadlines.js'
import type { Application, ApplicationState } from './model.js'
import type { Actor, SharingWorkflow } from './service.js'
import { loadOwnApplication, resubmit, submit } from './workflow-apply.js'
import { applicationNotFound, commitOrStale, commitStep } from './workflow-commit.js'
import { conformity, review } from './workflow-decisions.js'
import { getGrant, listGrants, renewGrant, revokeGrant } from './workflow-grants.js'
import { iso, notAllowed, readerFor, reasonOf, requireValid, type SharingWorkflowDeps } from './workflow-support.js'

export type { SharingWorkflowDeps } from './workflow-support.js'

/**
 * The sharing workflow (issue 13): applications, the authority's conformity check, the provider's review, notices
 * and resubmissions, live grants and their revocation and renewal, and the escalation of overdue checks. The state
 * machine is in model.ts; the steps live in workflow-apply.ts (the applicant), workflow-decisions.ts (the two
 * checks) and workflow-grants.ts (grants). Every step reads the application, checks the actor's role and If-Match,
 * and writes in one transaction with its one admin audit record (workflow-commit.ts).
 */
export function createSharingWorkflow(deps: SharingWorkflowDeps): SharingWorkflow {
  return {
    apply: (actor, body) => submit(deps, actor, body),
    conformity: (actor, id, ifMatch, body) => conformity(deps, actor, id, ifMatch, body),
    review: (actor, id, ifMatch, body) => review(deps, actor, id, ifMatch, body),
    resubmit: (actor, id, ifMatch, body) => resubmit(deps, actor, id, ifMatch, body),
    withdraw: (actor, id, ifMatch, body) => withdraw(deps, actor, id, ifMatch, body),
    getApplication: (actor, id) => readApplication(deps, actor, id),
    async listApplications(actor, query) {
      const { visibleTo } = readerFor(actor.principal)
      return deps.store.listApplications(query, deps.clock.now(), visibleTo)
    },
    async history(actor, id) {
      const app = await readApplication(deps, actor, id)
      return deps.store.history(app.id)
    },
    revokeGrant: (actor, grantId, ifMatch, body) => revokeGrant(deps, actor, grantId, ifMatch, body),
    renewGrant: (actor, grantId, body) => renewGrant(deps, actor, grantId, body),
    getGrant: (actor, id) => getGrant(deps, actor, id),
    listGrants: (actor, query) => listGrants(deps, actor, query),
    escalate: (id) => escalate(deps, id),
  }
}

/** An application the actor may see; any other is 404, so its existence is not told. */
async function readApplication(deps: SharingWorkflowDeps, actor: Actor, id: string): Promise<Application> {
  const reader = readerFor(actor.principal)
  const app = await deps.store.getApplication(id)
  if (app === undefined || !reader.sees(app)) throw applicationNotFound()
  return app
}

const WITHDRAWABLE: ReadonlySet<ApplicationState> = new Set([
  'conformity-check',
  'awaiting-applicant',
  'provider-review',
])

/** The applying department takes its application back while it is undecided; the clock ends with it. */
async function withdraw(
  deps: SharingWorkflowDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  body: unknown,
): Promise<Application> {
  const app = await loadOwnApplication(deps, actor, id, ifMatch, 'withdraws its application')
  if (!WITHDRAWABLE.has(app.state)) throw notAllowed(app.state, 'only an undecided application can be withdrawn')
  const written = body ?? {}
  requireValid('application-invalid', checkWithdrawalBody(written))
  const reason = reasonOf((written as { reason?: unknown }).reason)
  const now = deps.clock.now()
  const { clock: _ended, ...rest } = app
  const next: Application = { ...rest, version: app.version + 1, state: 'withdrawn', updatedAt: iso(now) }
  const taker = { actor: actorOf(actor.principal), requestId: actor.requestId }
  const step = { transition: 'withdraw' as const, details: reason === undefined ? {} : { reason }, reason }
  return commitOrStale(deps, taker, app, next, step, now)
}

/**
 * The scheduler found a running check past its due day: the application is marked once (the authority
 * coordinates disputes and delays). False when it is not overdue, already marked, or another instance marked it
 * first (its optimistic update won).
 */
async function escalate(deps: SharingWorkflowDeps, id: string): Promise<boolean> {
  const now = deps.clock.now()
  const app = await deps.store.getApplication(id)
  if (app === undefined || app.escalatedAt !== undefined || !WITHDRAWABLE.has(app.state)) return false
  if (app.state === 'awaiting-applicant' || !isOverdue(app.clock, now)) return false
  const next: Application = { ...app, version: app.version + 1, escalatedAt: iso(now), updatedAt: iso(now) }
  const details = { stage: app.clock?.stage, dueDate: app.clock?.dueDate }
  return commitStep(deps, { actor: 'system' }, app, next, { transition: 'escalate', details }, now)
}
