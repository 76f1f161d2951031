import { shanghaiDate } from '../../kernel/working-calendar.js'
import { actorOf } from '../audit/admin.js'
import { uuidv7 } from '../audit/ids.js'
import type { Resource } from '../catalog/types.js'
import type { Violation } from '../validation/ajv.js'
import { checkConformityBody, checkReviewBody } from './application-schema.js'
import { pauseClock, startClock } from './deadlines.js'
import type { Application, ApprovalTerms, LiveGrant, Notice, NoticeItem, Stage, StageClock } from './model.js'
import { type Actor, SHARING_ADMIN_SCOPE, SHARING_REVIEW_SCOPE } from './service.js'
import { type ApprovalBody, approvalTerms, noticeProblems, termsAsApplied } from './workflow-checks.js'
import { applicationNotFound, commitOrStale, issueGrant, type Step, type Taker } from './workflow-commit.js'
import {
  expectedVersion,
  hasScope,
  invalid,
  iso,
  notAllowed,
  notPermitted,
  reasonOf,
  requireIfMatch,
  requireValid,
  type SharingWorkflowDeps,
  separationOfDuties,
} from './workflow-support.js'

/**
 * The two checks: the data-sharing authority's conformity check (pass, notice, refuse) and the provider's review
 * of a conditional resource (approve with terms, notice, refuse). Separation of duties: nobody decides on an
 * application their own department filed, and the applicant never decides on their own.
 */

interface DecisionBody extends ApprovalBody {
  readonly decision: 'pass' | 'approve' | 'notice' | 'refuse'
  readonly items?: readonly NoticeItem[]
  readonly reason?: string
}

export async function conformity(
  deps: SharingWorkflowDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  body: unknown,
): Promise<Application> {
  const { principal } = actor
  if (!hasScope(principal, SHARING_ADMIN_SCOPE)) throw notPermitted('the conformity check needs sharing:admin')
  requireIfMatch(ifMatch)
  const app = await loadForDecision(deps, id, principal)
  expectedVersion(ifMatch, id, app.version)
  if (app.state !== 'conformity-check') throw notAllowed(app.state, 'the application is not in its conformity check')
  requireValid('decision-invalid', checkConformityBody(body))
  const decision = body as DecisionBody
  const now = deps.clock.now()
  const today = shanghaiDate(now)
  const taker: Taker = { actor: actorOf(principal), requestId: actor.requestId }
  requireShape(decision)
  if (decision.decision === 'notice') return notice(deps, taker, app, 'conformity', decision.items ?? [], now)
  if (decision.decision === 'refuse') return refuse(deps, taker, app, 'conformity-refuse', decision.reason, now)

  const resource = deps.catalog().resources.get(app.request.resource)
  if (resource === undefined || resource.sharing.type === 'none') {
    throw invalid('decision-invalid', [
      { pointer: '/decision', message: 'the resource is no longer shared in the catalog: refuse the application' },
    ])
  }
  const base = { ...app, version: app.version + 1, updatedAt: iso(now) }
  if (app.sharingType === 'conditional') {
    const clock = startClock(deps.calendar, 'review', reviewBudget(deps, resource, today), today)
    const next: Application = { ...base, state: 'provider-review', clock }
    const step: Step = {
      transition: 'conformity-pass',
      details: { dueDate: clock.dueDate, budgetDays: clock.budgetDays },
    }
    return commitOrStale(deps, taker, app, next, step, now)
  }
  // 无条件: the authority's pass registers the grant; no review follows.
  const terms = termsAsApplied(app, today)
  if (terms.validTo < today) {
    throw invalid('decision-invalid', [
      { pointer: '/decision', message: 'the validity applied for has ended: give notice on /validTo or refuse' },
    ])
  }
  return approve(deps, taker, app, 'conformity', terms, principal.dept, now)
}

export async function review(
  deps: SharingWorkflowDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  body: unknown,
): Promise<Application> {
  const { principal } = actor
  if (!hasScope(principal, SHARING_REVIEW_SCOPE)) throw notPermitted('a review needs sharing:review')
  requireIfMatch(ifMatch)
  const app = await loadForDecision(deps, id, principal)
  if (principal.dept !== app.provider) throw notPermitted('only the provider department reviews an application')
  expectedVersion(ifMatch, id, app.version)
  if (app.state !== 'provider-review') throw notAllowed(app.state, 'the application is not in its provider review')
  requireValid('decision-invalid', checkReviewBody(body))
  const decision = body as DecisionBody
  const now = deps.clock.now()
  const today = shanghaiDate(now)
  const taker: Taker = { actor: actorOf(principal), requestId: actor.requestId }
  requireShape(decision)
  if (decision.decision === 'notice') return notice(deps, taker, app, 'review', decision.items ?? [], now)
  if (decision.decision === 'refuse') return refuse(deps, taker, app, 'review-refuse', decision.reason, now)
  const { terms, problems } = approvalTerms(app, decision, today, deps.catalog().resources.get(app.request.resource))
  if (terms === undefined) throw invalid('decision-invalid', problems)
  return approve(deps, taker, app, 'review', terms, app.provider, now)
}

/** The application, with separation of duties checked before the role (a 403 says which rule refused). */
async function loadForDecision(
  deps: SharingWorkflowDeps,
  id: string,
  principal: Actor['principal'],
): Promise<Application> {
  const app = await deps.store.getApplication(id)
  if (app === undefined) throw applicationNotFound()
  if (principal.dept === app.consumer) {
    throw separationOfDuties('the applying department cannot decide on its own application')
  }
  if (principal.sub === app.applicant) throw separationOfDuties('the applicant cannot decide on their own application')
  return app
}

/** Working days of the provider's review: the resource's own, else by whether it is published yet. */
export function reviewBudget(deps: SharingWorkflowDeps, resource: Resource, today: string): number {
  const own = resource.sharing.reviewDays
  if (own !== undefined) return own
  const published = resource.publishedAt !== undefined && resource.publishedAt <= today
  return published ? deps.days.review : deps.days.reviewUnpublished
}

/** Which members go with which decision: a notice needs items, a refusal a reason, and each only those. */
function requireShape(body: DecisionBody): void {
  const problems: Violation[] = []
  const { decision } = body
  if (decision === 'notice' && body.items === undefined)
    problems.push({ pointer: '/items', message: 'is required for a notice' })
  if (decision !== 'notice' && body.items !== undefined) {
    problems.push({ pointer: '/items', message: `is only for a notice, not with decision ${decision}` })
  }
  if (decision === 'refuse' && reasonOf(body.reason) === undefined) {
    problems.push({ pointer: '/reason', message: 'is required for a refusal' })
  }
  if (decision !== 'refuse' && body.reason !== undefined) {
    problems.push({ pointer: '/reason', message: `is only for a refusal, not with decision ${decision}` })
  }
  if (decision !== 'approve') {
    for (const member of ['fields', 'masked', 'validFrom', 'validTo', 'quota'] as const) {
      if (body[member] !== undefined) {
        problems.push({ pointer: `/${member}`, message: `is only for an approval, not with decision ${decision}` })
      }
    }
  }
  if (problems.length > 0) throw invalid('decision-invalid', problems)
}

/** 一次性告知: the application goes back to the applicant with everything missing, and its clock stops. */
async function notice(
  deps: SharingWorkflowDeps,
  taker: Taker,
  app: Application,
  stage: Stage,
  items: readonly NoticeItem[],
  now: number,
): Promise<Application> {
  const { invalid: malformed, repeated } = noticeProblems(items, app.notices)
  if (malformed.length > 0) throw invalid('decision-invalid', malformed)
  if (repeated.length > 0) throw invalid('notice-item-repeated', repeated)
  const given: Notice = {
    id: uuidv7(now),
    stage,
    at: iso(now),
    by: taker.actor,
    items: items.map((item) => ({ pointer: item.pointer, message: item.message })),
  }
  const clock = pauseClock(deps.calendar, clockOf(deps, app, stage, now), shanghaiDate(now))
  const next: Application = {
    ...app,
    version: app.version + 1,
    state: 'awaiting-applicant',
    updatedAt: iso(now),
    clock,
    notices: [...app.notices, given],
  }
  const step: Step = {
    transition: stage === 'conformity' ? 'conformity-notice' : 'review-notice',
    details: { notice: given.id, items: given.items, usedDays: clock.usedDays },
    noticeItems: given.items.length,
  }
  return commitOrStale(deps, taker, app, next, step, now)
}

async function refuse(
  deps: SharingWorkflowDeps,
  taker: Taker,
  app: Application,
  transition: 'conformity-refuse' | 'review-refuse',
  written: string | undefined,
  now: number,
): Promise<Application> {
  const reason = reasonOf(written) as string
  const stage: Stage = transition === 'conformity-refuse' ? 'conformity' : 'review'
  const { clock: _ended, ...rest } = app
  const next: Application = {
    ...rest,
    version: app.version + 1,
    state: 'refused',
    updatedAt: iso(now),
    decision: { outcome: 'refused', stage, at: iso(now), by: taker.actor, reason },
  }
  return commitOrStale(deps, taker, app, next, { transition, details: { reason }, reason }, now)
}

/** The approval: the grant goes live with the application's move to `approved`, in one transaction. */
async function approve(
  deps: SharingWorkflowDeps,
  taker: Taker,
  app: Application,
  stage: Stage,
  terms: ApprovalTerms,
  approvedBy: string,
  now: number,
): Promise<Application> {
  const grant: LiveGrant = {
    id: uuidv7(now),
    version: 1,
    state: 'active',
    applicationId: app.id,
    matter: app.request.matter,
    consumer: app.consumer,
    resource: app.request.resource,
    provider: app.provider,
    action: app.action,
    usage: app.request.usage,
    fields: terms.fields,
    masked: terms.masked,
    validFrom: terms.validFrom,
    validTo: terms.validTo,
    ...(terms.quota === undefined ? {} : { quota: terms.quota }),
    approvedBy,
    approvedAt: iso(now),
    reminders: {},
  }
  const { clock: _ended, ...rest } = app
  const next: Application = {
    ...rest,
    version: app.version + 1,
    state: 'approved',
    updatedAt: iso(now),
    decision: { outcome: 'approved', stage, at: iso(now), by: taker.actor, terms, grantId: grant.id },
  }
  const step: Step = {
    transition: stage === 'conformity' ? 'conformity-pass' : 'review-approve',
    details: { grant: grant.id, terms },
    grants: async (tx) => {
      await issueGrant(tx, grant)
      return grant.id
    },
  }
  return commitOrStale(deps, taker, app, next, step, now)
}

/** The running clock of the stage; one is started if an application somehow lacks it (never paused twice). */
function clockOf(deps: SharingWorkflowDeps, app: Application, stage: Stage, now: number): StageClock {
  if (app.clock !== undefined && app.clock.stage === stage) return app.clock
  const budget = stage === 'conformity' ? deps.days.conformity : deps.days.review
  return startClock(deps.calendar, stage, budget, shanghaiDate(now))
}
