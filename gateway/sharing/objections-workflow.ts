import { shanghaiDate } from '../../kernel/working-calendar.js'
import { actorOf } from '../audit/admin.js'
import { AUDIT_READ_SCOPE, exchangeScope, type Principal } from '../auth/principal.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Page } from './model.js'
import type { Objection, ObjectionQuery, ObjectionResolution, ObjectionState } from './objections-model.js'
import { raiseObjection } from './objections-raise.js'
import { checkObjectionWithdrawalBody, checkResolutionBody } from './objections-schema.js'
import { type ObjectionFigures, objectionFigures } from './objections-stats.js'
import {
  commitObjection,
  invalidObjection,
  notOpen,
  type ObjectionDeps,
  objectionNotFound,
} from './objections-support.js'
import { type Actor, SHARING_ADMIN_SCOPE, SHARING_APPLY_SCOPE, SHARING_REVIEW_SCOPE } from './service.js'
import { expectedVersion, requireIfMatch, staleState } from './workflow-support.js'

export type ObjectionRole = 'provider' | 'consumer'

export interface ObjectionListQuery extends Omit<ObjectionQuery, 'provider' | 'consumer'> {
  readonly role?: ObjectionRole
}

/**
 * The objection desk behind /v1/objections and POST /v1/resources/{id}/objections. Every method checks the actor's
 * role and throws a GatewayError with a stable code: objection-invalid / decision-invalid (422, every problem by
 * JSON pointer), objection-not-found (404, also for one the actor may not see), sharing-not-permitted (403),
 * transition-not-allowed (409: no longer open), precondition-required (428) and -failed (412). Every step appends
 * one `sharing.objection` admin record inside its transaction. ETags are `"<id>.<version>"`.
 */
export interface ObjectionDesk {
  raise(actor: Actor, resource: string, body: unknown): Promise<Objection>
  /** The provider's reviewer: corrected upstream, `{correction}` (mandatory). */
  accept(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Objection>
  /** The provider's reviewer: the value stands, `{reason}` (mandatory). */
  reject(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Objection>
  /** The department that raised it takes it back: `{reason?}`. */
  withdraw(actor: Actor, id: string, ifMatch: string | undefined, body: unknown): Promise<Objection>
  get(actor: Actor, id: string): Promise<Objection>
  list(actor: Actor, query: ObjectionListQuery): Promise<Page<Objection>>
  stats(actor: Actor): Promise<ObjectionFigures>
}

export function createObjectionDesk(deps: ObjectionDeps): ObjectionDesk {
  return {
    raise: (actor, resource, body) => raiseObjection(deps, actor, resource, body),
    accept: (actor, id, ifMatch, body) => resolve(deps, actor, id, ifMatch, body, 'accepted'),
    reject: (actor, id, ifMatch, body) => resolve(deps, actor, id, ifMatch, body, 'rejected'),
    withdraw: (actor, id, ifMatch, body) => withdraw(deps, actor, id, ifMatch, body),
    async get(actor, id) {
      const objection = await deps.store.get(id)
      if (objection === undefined || !sees(actor.principal, objection)) throw objectionNotFound()
      return objection
    },
    async list(actor, query) {
      const { role, ...rest } = query
      return deps.store.list({ ...rest, ...listedFor(actor.principal, role) })
    },
    async stats(actor) {
      if (!readsWorkflow(actor.principal)) throw notPermitted('the quality figures need a sharing role or audit:read')
      return objectionFigures(await deps.store.figures())
    },
  }
}

async function resolve(
  deps: ObjectionDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  body: unknown,
  outcome: 'accepted' | 'rejected',
): Promise<Objection> {
  requireIfMatch(ifMatch)
  const objection = await visible(deps, actor, id)
  const { principal } = actor
  if (!principal.scopes.has(SHARING_REVIEW_SCOPE) || principal.dept !== objection.provider) {
    throw notPermitted('only the provider’s reviewer (sharing:review) accepts or rejects an objection')
  }
  expectedVersion(ifMatch, objection.id, objection.version)
  if (objection.state !== 'open') throw notOpen(objection.state)
  const written = (body ?? {}) as { correction?: unknown; reason?: unknown }
  const check = checkResolutionBody(written)
  const problems = [...check.violations]
  const note = outcome === 'accepted' ? 'correction' : 'reason'
  const other = outcome === 'accepted' ? 'reason' : 'correction'
  const text = textOf(written[note])
  if (check.total === 0 && text === undefined) {
    problems.push({
      pointer: `/${note}`,
      message:
        outcome === 'accepted'
          ? 'say what was corrected upstream (a correction note is mandatory)'
          : 'a rejection needs a reason',
    })
  }
  if (check.total === 0 && written[other] !== undefined) {
    problems.push({
      pointer: `/${other}`,
      message: `not part of ${outcome === 'accepted' ? 'an acceptance' : 'a rejection'}`,
    })
  }
  if (problems.length > 0) throw invalidObjection('decision-invalid', problems)
  const next = resolved(deps, objection, principal, outcome, { [note]: text })
  return commitResolution(deps, actor, objection, next, { [note]: text })
}

async function withdraw(
  deps: ObjectionDeps,
  actor: Actor,
  id: string,
  ifMatch: string | undefined,
  body: unknown,
): Promise<Objection> {
  requireIfMatch(ifMatch)
  const objection = await visible(deps, actor, id)
  const { principal } = actor
  if (principal.dept !== objection.consumer || !raisesFor(principal, objection)) {
    throw notPermitted('only the department that raised an objection withdraws it')
  }
  expectedVersion(ifMatch, objection.id, objection.version)
  if (objection.state !== 'open') throw notOpen(objection.state)
  const written = body ?? {}
  const check = checkObjectionWithdrawalBody(written)
  if (check.total > 0) throw invalidObjection('decision-invalid', check.violations)
  const reason = textOf((written as { reason?: unknown }).reason)
  const next = resolved(deps, objection, principal, 'withdrawn', reason === undefined ? {} : { reason })
  return commitResolution(deps, actor, objection, next, { reason })
}

async function commitResolution(
  deps: ObjectionDeps,
  actor: Actor,
  before: Objection,
  next: Objection,
  secrets: Readonly<Record<string, unknown>>,
): Promise<Objection> {
  const taker = { actor: actorOf(actor.principal), requestId: actor.requestId }
  if (!(await commitObjection(deps, taker, before, next, secrets))) throw staleState()
  deps.onResolved?.(next)
  return next
}

function resolved(
  deps: ObjectionDeps,
  objection: Objection,
  principal: Principal,
  outcome: ObjectionResolution['outcome'],
  note: { correction?: string; reason?: string },
): Objection {
  const now = deps.clock.now()
  const at = new Date(now).toISOString()
  const workingDays = deps.calendar.workingDaysBetween(shanghaiDate(Date.parse(objection.raisedAt)), shanghaiDate(now))
  const resolution: ObjectionResolution = { outcome, by: actorOf(principal), at, ...note, workingDays }
  return { ...objection, version: objection.version + 1, state: outcome, updatedAt: at, resolution }
}

/** One the actor may see; any other is 404, so its existence is not told. */
async function visible(deps: ObjectionDeps, actor: Actor, id: string): Promise<Objection> {
  const objection = await deps.store.get(id)
  if (objection === undefined || !sees(actor.principal, objection)) throw objectionNotFound()
  return objection
}

/** The authority and auditors see every objection; the provider's reviewer its resources'; a department its own. */
function sees(principal: Principal, objection: Objection): boolean {
  if (principal.scopes.has(SHARING_ADMIN_SCOPE) || principal.scopes.has(AUDIT_READ_SCOPE)) return true
  if (principal.scopes.has(SHARING_REVIEW_SCOPE) && principal.dept === objection.provider) return true
  return principal.dept === objection.consumer && raisesFor(principal, objection)
}

/** A department's own objections are its officers': with the exchange scope of the call, or sharing:apply. */
function raisesFor(principal: Principal, objection: Objection): boolean {
  return (
    principal.scopes.has(SHARING_APPLY_SCOPE) ||
    principal.scopes.has(exchangeScope(objection.matter, objection.resource, 'read'))
  )
}

function readsWorkflow(principal: Principal): boolean {
  return [SHARING_ADMIN_SCOPE, AUDIT_READ_SCOPE, SHARING_REVIEW_SCOPE, SHARING_APPLY_SCOPE].some((s) =>
    principal.scopes.has(s),
  )
}

/** The listing's narrowing: the provider's inbox, the consumer's own, or (authority, auditors) everything. */
function listedFor(principal: Principal, role: ObjectionRole | undefined): { provider?: string; consumer?: string } {
  const all = principal.scopes.has(SHARING_ADMIN_SCOPE) || principal.scopes.has(AUDIT_READ_SCOPE)
  if (role === undefined) {
    if (all) return {}
    throw new GatewayError('query-invalid', {
      detail: 'role: expected provider or consumer',
      extensions: { errors: ['role: expected provider or consumer'] },
    })
  }
  if (role === 'provider') {
    if (!principal.scopes.has(SHARING_REVIEW_SCOPE)) throw notPermitted('the provider’s inbox needs sharing:review')
    return { provider: principal.dept }
  }
  const exchanges = [...principal.scopes].some((s) => s.endsWith(':read') && s.split(':').length === 3)
  if (!principal.scopes.has(SHARING_APPLY_SCOPE) && !exchanges) {
    throw notPermitted('a department’s own objections need sharing:apply or an exchange read scope')
  }
  return { consumer: principal.dept }
}

function notPermitted(detail: string): GatewayError {
  return new GatewayError('sharing-not-permitted', { detail })
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

export type { ObjectionState }
