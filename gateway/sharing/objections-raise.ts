import { randomUUID } from 'node:crypto'
import { endOfShanghaiDay, shanghaiDate } from '../../kernel/working-calendar.js'
import { actorOf } from '../audit/admin.js'
import type { ExchangeAuditRecord } from '../audit/record.js'
import { exchangeScope, type Principal } from '../auth/principal.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Violation } from '../validation/ajv.js'
import { keyFieldOf, type Objection, type ObjectionEvidence, type RecordValue } from './objections-model.js'
import { checkObjectionBody } from './objections-schema.js'
import { commitObjection, invalidObjection, type ObjectionDeps } from './objections-support.js'
import type { Actor } from './service.js'

interface ObjectionBody {
  readonly auditId: string
  readonly recordKey: Readonly<Record<string, string | number>>
  readonly field: string
  readonly claimedValue: RecordValue
  readonly evidence: ObjectionEvidence
}

/**
 * 提出: a department objects to one value of one record a call of its own released. The token is its officer's
 * exchange token, with the scope the call used (`<matter>:<resource>:read`). The call is looked up in the audit
 * log: it must be a read of this resource by the token's department that released records, and it must have
 * released `field`. Every problem — of the body's shape, of the key and field against the catalog, of the call —
 * comes back in one 422 `objection-invalid`. A call of another department reads exactly like one that does not
 * exist, so no department learns of another's calls.
 */
export async function raiseObjection(
  deps: ObjectionDeps,
  actor: Actor,
  resourceId: string,
  body: unknown,
): Promise<Objection> {
  const resource = deps.catalog().resources.get(resourceId)
  if (resource === undefined || resource.read === undefined) {
    throw new GatewayError('resource-not-found', { detail: 'no readable resource with this id' })
  }
  const { principal } = actor
  if (!readsResource(principal, resource.id)) {
    throw new GatewayError('insufficient-scope', {
      detail: `an objection is raised with the exchange token of the call: <matter>:${resource.id}:read`,
      extensions: { requiredScope: `<matter>:${resource.id}:read` },
    })
  }
  const check = checkObjectionBody(body)
  const problems: Violation[] = [...check.violations]
  // What is well-formed is checked further even when something else is not: every problem at once.
  const raw = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const bad = (at: string) => problems.some((p) => p.pointer === at || p.pointer.startsWith(`${at}/`))
  const keyField = keyFieldOf(resource)
  const auditId = !bad('/auditId') && typeof raw.auditId === 'string' ? raw.auditId : undefined
  const field = !bad('/field') && typeof raw.field === 'string' ? raw.field : undefined
  if (field !== undefined && !resource.fieldsByKey.has(field)) {
    problems.push({ pointer: '/field', message: `${resource.id} has no such field` })
  }
  if (!bad('/recordKey') && typeof raw.recordKey === 'object' && raw.recordKey !== null) {
    for (const name of Object.keys(raw.recordKey)) {
      if (name !== keyField) {
        problems.push({
          pointer: `/recordKey/${escapePointer(name)}`,
          message: `the key of ${resource.id} is ${keyField}`,
        })
      }
    }
  }
  const call = auditId === undefined ? undefined : await findCall(deps, auditId, principal.dept, resource.id)
  if (auditId !== undefined && call === undefined) {
    problems.push({
      pointer: '/auditId',
      message: `is not a call of your department that released records of ${resource.id}`,
    })
  }
  if (call !== undefined && field !== undefined && resource.fieldsByKey.has(field) && !call.fields.includes(field)) {
    problems.push({ pointer: '/field', message: 'that call did not release it' })
  }
  if (problems.length > 0 || check.total > 0) throw invalidObjection('objection-invalid', problems)
  const written = body as ObjectionBody
  const raised = call as ExchangeAuditRecord
  const matter = raised.matter as string
  if (!principal.scopes.has(exchangeScope(matter, resource.id, 'read'))) {
    throw new GatewayError('insufficient-scope', {
      detail: 'an objection is raised with the scope the call used',
      extensions: { requiredScope: exchangeScope(matter, resource.id, 'read') },
    })
  }
  const b = written
  const now = deps.clock.now()
  const today = shanghaiDate(now)
  const due = deps.calendar.addWorkingDays(today, deps.days)
  const objection: Objection = {
    id: randomUUID(),
    version: 1,
    state: 'open',
    resource: resource.id,
    provider: resource.provider,
    consumer: principal.dept,
    auditId: raised.id,
    matter,
    recordKey: { [keyField]: b.recordKey[keyField] as string | number },
    field: b.field,
    claimedValue: b.claimedValue,
    evidence: { description: b.evidence.description.trim(), ...(b.evidence.refs ? { refs: b.evidence.refs } : {}) },
    raisedBy: actorOf(principal),
    raisedAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    due: { workingDays: deps.days, dueDate: due.date, dueAt: endOfShanghaiDay(due.date), calendarCovered: due.covered },
  }
  const taker = { actor: actorOf(principal), requestId: actor.requestId }
  await commitObjection(deps, taker, undefined, objection, {
    claimedValue: objection.claimedValue,
    evidence: objection.evidence,
  })
  return objection
}

function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** Whether the token carries a read scope of this resource for some matter. */
export function readsResource(principal: Principal, resourceId: string): boolean {
  const suffix = `:${resourceId}:read`
  for (const scope of principal.scopes) if (scope.endsWith(suffix)) return true
  return false
}

/**
 * The call behind an audit id, when it is a read of `resource` by `dept` that released records. Audit ids are
 * UUIDv7: their first 48 bits are the millisecond the call arrived, which is the record's `time`, so the lookup
 * reads one millisecond of the log.
 */
async function findCall(
  deps: ObjectionDeps,
  auditId: string,
  dept: string,
  resource: string,
): Promise<ExchangeAuditRecord | undefined> {
  const at = Number.parseInt(auditId.replaceAll('-', '').slice(0, 12), 16)
  if (!Number.isSafeInteger(at)) return undefined
  const filter = {
    kind: 'exchange' as const,
    dept,
    resource,
    from: new Date(at).toISOString(),
    to: new Date(at + 1).toISOString(),
  }
  for await (const entry of deps.audit.query(filter)) {
    const record = entry.record
    if (record.kind !== 'exchange' || record.id !== auditId) continue
    const released = record.action === 'read' && record.decision === 'allow' && record.status === 200
    return released && record.recordCount > 0 && record.matter !== undefined ? record : undefined
  }
  return undefined
}
