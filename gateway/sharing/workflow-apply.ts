import { shanghaiDate } from '../../kernel/working-calendar.js'
import { actorOf } from '../audit/admin.js'
import { uuidv7 } from '../audit/ids.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Violation } from '../validation/ajv.js'
import { type BodyCheck, checkApplicationBody, checkResubmissionBody } from './application-schema.js'
import { resumeClock, startClock } from './deadlines.js'
import { type Application, type ApplicationRequest, MODE_ACTION } from './model.js'
import { type Actor, SHARING_APPLY_SCOPE } from './service.js'
import { normalizedRequest, requestProblems, topLevelMember } from './workflow-checks.js'
import { applicationNotFound, commitNew, commitOrStale, type Step, type Taker } from './workflow-commit.js'
import {
  expectedVersion,
  hasScope,
  invalid,
  iso,
  notAllowed,
  notPermitted,
  requireIfMatch,
  type SharingWorkflowDeps,
} from './workflow-support.js'

/**
 * The applicant's side: an application (or a renewal of a grant, which is one), and the answer to a notice. The
 * whole request is checked every time, against the schema and the catalog as it is now, and every problem is
 * answered at once.
 */

/** The applying department: the token's, which must be a department of the catalog. */
export function applyingDepartment(deps: SharingWorkflowDeps, actor: Actor): string {
  const { principal } = actor
  if (!hasScope(principal, SHARING_APPLY_SCOPE)) throw notPermitted('applying needs sharing:apply')
  if (!deps.catalog().departments.has(principal.dept)) {
    throw new GatewayError('department-unknown', { detail: 'the token dept is not a department of the catalog' })
  }
  return principal.dept
}

/**
 * The applying department's own application, for a step only it takes (resubmit, withdraw): If-Match required and
 * current, the caller's department the consumer (`what` ends "only the applying department …").
 */
export async function loadOwnApplication(
  deps: SharingWorkflowDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  what: string,
): Promise<Application> {
  const consumer = applyingDepartment(deps, actor)
  requireIfMatch(ifMatch)
  const app = await deps.store.getApplication(id)
  if (app === undefined) throw applicationNotFound()
  if (app.consumer !== consumer) throw notPermitted(`only the applying department ${what}`)
  expectedVersion(ifMatch, id, app.version)
  return app
}

/**
 * A new application for `body` (a whole request), filed by the actor's department: conformity check next, its
 * clock started today (counting from the next working day). `renewalOf` only from renewGrant.
 */
export async function submit(
  deps: SharingWorkflowDeps,
  actor: Actor,
  body: unknown,
  renewalOf?: string,
): Promise<Application> {
  const consumer = applyingDepartment(deps, actor)
  const catalog = deps.catalog()
  const now = deps.clock.now()
  const today = shanghaiDate(now)
  const check = checkApplicationBody(body)
  const problems = [...check.violations, ...requestProblems(body, { catalog, consumer, today })]
  if (problems.length > 0 || check.total > 0) throw invalid('application-invalid', problems, counted(check, problems))
  const request = normalizedRequest(body as Record<string, unknown>)
  const resource = catalog.resources.get(request.resource)
  if (resource === undefined || resource.sharing.type === 'none') throw new Error('checked above: resource is shared')
  const clock = startClock(deps.calendar, 'conformity', deps.days.conformity, today)
  const app: Application = {
    id: uuidv7(now),
    version: 1,
    state: 'conformity-check',
    request,
    action: MODE_ACTION[request.mode],
    consumer,
    provider: resource.provider,
    sharingType: resource.sharing.type,
    applicant: actor.principal.sub,
    submittedAt: iso(now),
    updatedAt: iso(now),
    clock,
    notices: [],
    ...(renewalOf === undefined ? {} : { renewalOf }),
  }
  const step: Step = {
    transition: 'apply',
    details: {
      resource: request.resource,
      matter: request.matter,
      mode: request.mode,
      dueDate: clock.dueDate,
      ...(renewalOf === undefined ? {} : { renewalOf }),
    },
  }
  await commitNew(deps, { actor: actorOf(actor.principal), requestId: actor.requestId }, app, step, now)
  return app
}

interface Resubmission {
  readonly changes: Readonly<Record<string, unknown>>
  readonly note?: string
}

/**
 * The answer to a notice: every item of it must be addressed by a change of its member (`/contact/phone` by a new
 * `contact`), the merged request passes every check again, and the check goes on where it stopped, with the days
 * it had left.
 */
export async function resubmit(
  deps: SharingWorkflowDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  body: unknown,
): Promise<Application> {
  const app = await loadOwnApplication(deps, actor, id, ifMatch, 'answers a notice')
  const open = app.notices.findLast((n) => n.answeredAt === undefined)
  if (app.state !== 'awaiting-applicant' || open === undefined) {
    throw notAllowed(app.state, 'the application is not waiting for the applicant')
  }
  const shape = checkResubmissionBody(body)
  if (shape.violations.length > 0) throw invalid('application-invalid', shape.violations, shape)
  const { changes, note } = body as Resubmission
  const now = deps.clock.now()
  const today = shanghaiDate(now)
  const unaddressed: Violation[] = open.items
    .filter((item) => !Object.hasOwn(changes, topLevelMember(item.pointer)))
    .map((item) => ({ pointer: `/changes${item.pointer}`, message: 'is named by the notice and must be changed' }))
  const merged = { ...app.request, ...changes }
  const check = checkApplicationBody(merged)
  const catalogProblems = requestProblems(merged, { catalog: deps.catalog(), consumer: app.consumer, today })
  const problems = [...unaddressed, ...[...check.violations, ...catalogProblems].map(underChanges)]
  if (problems.length > 0 || check.total > 0) throw invalid('application-invalid', problems, counted(check, problems))
  const request: ApplicationRequest = normalizedRequest(merged)
  const answeredAt = iso(now)
  const stage = open.stage
  const clock = resumeClock(
    deps.calendar,
    app.clock ??
      startClock(deps.calendar, stage, stage === 'conformity' ? deps.days.conformity : deps.days.review, today),
    today,
  )
  const next: Application = {
    ...app,
    version: app.version + 1,
    state: stage === 'conformity' ? 'conformity-check' : 'provider-review',
    request,
    updatedAt: answeredAt,
    clock,
    notices: app.notices.map((n) => (n.id === open.id ? { ...n, answeredAt } : n)),
  }
  const step: Step = {
    transition: 'resubmit',
    details: {
      notice: open.id,
      changed: Object.keys(changes),
      ...(note === undefined ? {} : { note }),
      dueDate: clock.dueDate,
    },
  }
  const taker: Taker = { actor: actorOf(actor.principal), requestId: actor.requestId }
  return commitOrStale(deps, taker, app, next, step, now)
}

/** A problem of the merged request, named where the applicant fixes it: under `changes`. */
function underChanges(v: Violation): Violation {
  return { pointer: `/changes${v.pointer}`, message: v.message }
}

/** The schema's count (it may describe fewer than it found) with the other problems added. */
function counted(check: BodyCheck, problems: readonly Violation[]): Pick<BodyCheck, 'total' | 'truncated'> {
  const others = problems.length - check.violations.length
  return { total: check.total + others, truncated: check.truncated }
}
