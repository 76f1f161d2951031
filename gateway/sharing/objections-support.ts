import type { ValidateFunction } from 'ajv'
import type { Clock } from '../../kernel/clock.js'
import type { JsonSchema } from '../../kernel/records.js'
import type { WorkingCalendar } from '../../kernel/working-calendar.js'
import { adminRecord } from '../audit/admin.js'
import type { AuditFilter } from '../audit/backend.js'
import type { KeyedDigest } from '../audit/digest.js'
import type { LogEntry } from '../audit/entry.js'
import type { AuditRecord } from '../audit/record.js'
import type { Catalog } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { boundedViolations, createAjv, type Violation } from '../validation/ajv.js'
import type { BodyCheck } from './application-schema.js'
import type { Objection, ObjectionState } from './objections-model.js'
import type { ObjectionStore } from './objections-store.js'
import type { Taker } from './workflow-commit.js'
import { appendAudit } from './workflow-support.js'

/** What the objection steps run on (composed in objections-start.ts). */
export interface ObjectionDeps {
  readonly store: ObjectionStore
  /** The current catalog (resources, their fields and providers). */
  readonly catalog: () => Catalog
  readonly calendar: WorkingCalendar
  readonly clock: Clock
  /** The tamper-evident log: every step appends one admin record inside its transaction; raising reads the call. */
  readonly audit: {
    append(record: AuditRecord): Promise<unknown>
    query(filter: AuditFilter): AsyncIterable<LogEntry>
  }
  readonly digest: KeyedDigest
  /** Working days the provider has (QIAO_OBJECTION_DAYS). */
  readonly days: number
  /** This instance resolved one (metrics). */
  readonly onResolved?: (objection: Objection) => void
  /** After a committed step: this instance recompiles its open objections before the step answers. */
  readonly onChanged?: () => Promise<void>
}

const ajv = createAjv()

export function compiledBodyCheck(schema: JsonSchema): (body: unknown) => BodyCheck {
  const validate: ValidateFunction = ajv.compile(schema)
  return (body) =>
    validate(body) ? { violations: [], total: 0, truncated: false } : boundedViolations(validate.errors)
}

/** 422 `objection-invalid` (or `decision-invalid` for a resolution) with every problem by JSON pointer. */
export function invalidObjection(
  code: 'objection-invalid' | 'decision-invalid',
  violations: readonly Violation[],
): GatewayError {
  return new GatewayError(code, {
    detail: violations.map((v) => `${v.pointer || '/'} ${v.message}`).join('; '),
    extensions: { errors: violations },
  })
}

export function objectionNotFound(): GatewayError {
  return new GatewayError('objection-not-found', { detail: 'no objection with this id that you may see' })
}

export function notOpen(state: ObjectionState): GatewayError {
  return new GatewayError('transition-not-allowed', {
    detail: 'only an open objection can be accepted, rejected or withdrawn',
    extensions: { state },
  })
}

/**
 * Writes one step: the objection (only from the version read, else false), the epoch bump that makes every
 * instance recompile its marks, and the step's one `sharing.objection` admin record — last, inside the
 * transaction, so a step the log refuses is not taken. The record holds ids, departments, states and keyed
 * digests; never the claimed value, the evidence, the correction or the reason.
 */
export async function commitObjection(
  deps: ObjectionDeps,
  taker: Taker,
  before: Objection | undefined,
  next: Objection,
  secrets: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const now = deps.clock.now()
  const written = await deps.store.transaction(async (tx) => {
    if (before === undefined) await tx.insert(next)
    else if (!(await tx.update(next, before.version))) return false
    await tx.bumpEpoch()
    const details: Record<string, string | number | boolean | null> = {
      objection: next.id,
      transition: before === undefined ? 'raise' : (next.resolution?.outcome ?? next.state),
      from: before?.state ?? null,
      to: next.state,
      resource: next.resource,
      provider: next.provider,
      consumer: next.consumer,
      matter: next.matter,
      auditId: next.auditId,
      field: next.field,
      recordKeyDigest: deps.digest(next.recordKey),
      dueDate: next.due.dueDate,
      ...(next.resolution === undefined ? {} : { workingDays: next.resolution.workingDays }),
    }
    for (const [name, value] of Object.entries(secrets)) {
      if (value !== undefined) details[`${name}Digest`] = deps.digest(value)
    }
    const record = adminRecord('sharing.objection', now, details, {
      actor: taker.actor,
      ...(taker.requestId === undefined ? {} : { requestId: taker.requestId }),
    })
    // Fail closed, as every workflow step: thrown inside the transaction, it rolls the step back.
    await appendAudit(deps, record)
    return true
  })
  if (written) await deps.onChanged?.()
  return written
}
