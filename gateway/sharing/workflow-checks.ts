import { MAX_QUOTA_REFILL_SECONDS, quotaWindowSeconds } from '../catalog/loader/quota-window.js'
import type { Catalog, Resource } from '../catalog/types.js'
import type { Violation } from '../validation/ajv.js'
import { CHANGEABLE_MEMBERS } from './application-schema.js'
import {
  type Application,
  type ApplicationRequest,
  type ApprovalTerms,
  type GrantQuota,
  MODE_ACTION,
  type Notice,
  type NoticeItem,
} from './model.js'

/**
 * What the schema cannot know: the checks of an application against the catalog, of a reviewer's terms against
 * the application, and of a notice against the notices before it. Each returns every problem it finds, with its
 * JSON pointer, so an officer fixes everything in one go (一次性告知 works both ways). Messages name rules and
 * catalog facts, never what the officer typed.
 */

/** How far ahead an application's last day may lie (使用时限: a grant is reviewed again at least this often). */
export const MAX_VALIDITY_YEARS = 5

export interface RequestContext {
  readonly catalog: Catalog
  /** The applying department (the token's `dept`). */
  readonly consumer: string
  /** Today in Asia/Shanghai (ISO date). */
  readonly today: string
}

/**
 * The catalog checks of an application (or of a renewal or resubmission, merged into a whole request). Works on a
 * body that may also have failed the schema: a member of the wrong type is skipped here (the schema named it).
 */
export function requestProblems(body: unknown, ctx: RequestContext): Violation[] {
  const problems: Violation[] = []
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return problems
  const req = body as Record<string, unknown>
  const add = (pointer: string, message: string) => problems.push({ pointer, message })
  const resource = typeof req.resource === 'string' ? ctx.catalog.resources.get(req.resource) : undefined
  if (typeof req.resource === 'string' && resource === undefined) add('/resource', 'is not a resource of the catalog')
  if (typeof req.matter === 'string' && !ctx.catalog.matters.has(req.matter)) {
    add('/matter', 'is not a matter of the catalog')
  }
  const fields = stringsOf(req.fields)
  const masked = stringsOf(req.masked)
  const mode = req.mode === 'query' || req.mode === 'write-back' ? req.mode : undefined
  if (resource !== undefined) {
    if (resource.provider === ctx.consumer) {
      add('/resource', 'is provided by the applying department itself: no sharing is needed within one department')
    }
    if (resource.sharing.type === 'none') {
      // Nothing else about it matters: no application can make it shared.
      const why = resource.sharing.legalBasis ?? 'the catalog gives no reason'
      add('/resource', `is not shared (不予共享): ${why}`)
    } else {
      if (mode === 'query' && resource.read === undefined) {
        add('/mode', 'the resource cannot be queried (no read binding)')
      }
      if (mode === 'write-back' && resource.write === undefined) {
        add('/mode', 'the resource takes no write-back (no write binding)')
      }
      fieldProblems(resource, fields, masked, problems)
    }
  }
  if (mode === 'query' && fields !== undefined && masked !== undefined && fields.length + masked.length === 0) {
    add('/fields', 'a query needs at least one field (in fields or masked)')
  }
  if (mode === 'write-back') {
    if (fields !== undefined && fields.length > 0) add('/fields', 'a write-back takes no fields')
    if (masked !== undefined && masked.length > 0) add('/masked', 'a write-back takes no fields')
  }
  const validFrom = isoDateOf(req.validFrom)
  const validTo = isoDateOf(req.validTo)
  if (validFrom !== undefined && validTo !== undefined && validFrom > validTo) {
    add('/validFrom', 'must not be after validTo')
  }
  if (validTo !== undefined) {
    if (validTo < ctx.today) add('/validTo', 'must not be in the past')
    else if (validTo > addYears(ctx.today, MAX_VALIDITY_YEARS)) {
      add('/validTo', `must be at most ${MAX_VALIDITY_YEARS} years ahead`)
    }
  }
  return problems
}

/** Every field must be the resource's, and none both in clear and masked (the pointer names the clear entry). */
function fieldProblems(
  resource: Resource,
  fields: readonly string[] | undefined,
  masked: readonly string[] | undefined,
  problems: Violation[],
): void {
  const maskedSet = new Set(masked ?? [])
  fields?.forEach((key, i) => {
    if (!resource.fieldsByKey.has(key))
      problems.push({ pointer: `/fields/${i}`, message: 'is not a field of the resource' })
    else if (maskedSet.has(key)) problems.push({ pointer: `/fields/${i}`, message: 'is also listed in masked' })
  })
  masked?.forEach((key, i) => {
    const field = resource.fieldsByKey.get(key)
    if (field === undefined) problems.push({ pointer: `/masked/${i}`, message: 'is not a field of the resource' })
    else if (field.mask === undefined) {
      problems.push({ pointer: `/masked/${i}`, message: 'has no mask rule in the catalog, so it cannot be masked' })
    }
  })
}

/** A request as stored, from a body that passed every check: defaults filled in, nothing unknown carried over. */
export function normalizedRequest(body: Record<string, unknown>): ApplicationRequest {
  const b = body as unknown as ApplicationRequest & { fields?: string[]; masked?: string[] }
  const contact = b.contact
  return {
    resource: b.resource,
    matter: b.matter,
    mode: b.mode,
    usage: b.usage,
    fields: b.fields ?? [],
    masked: b.masked ?? [],
    legalBasis: b.legalBasis,
    scene: b.scene,
    scopeOfUse: b.scopeOfUse,
    ...(b.validFrom === undefined ? {} : { validFrom: b.validFrom }),
    validTo: b.validTo,
    contact: {
      name: contact.name,
      phone: contact.phone,
      ...(contact.email === undefined ? {} : { email: contact.email }),
    },
  }
}

/** A review's approval body, after the schema. */
export interface ApprovalBody {
  readonly fields?: readonly string[]
  readonly masked?: readonly string[]
  readonly validFrom?: string
  readonly validTo?: string
  readonly quota?: GrantQuota
}

/**
 * The terms of an approval: the reviewer may narrow the fields, mask more of them, shorten the validity and attach
 * a quota, never widen what was applied for. A field applied for masked stays masked: releasing it in clear would
 * give more than the applicant asked for and the conformity check saw.
 */
export function approvalTerms(
  app: Application,
  body: ApprovalBody,
  today: string,
  /** The resource as the catalog has it now: a field masked must have a mask rule. */
  resource: Resource | undefined,
): { readonly terms?: ApprovalTerms; readonly problems: Violation[] } {
  const problems: Violation[] = []
  const add = (pointer: string, message: string) => problems.push({ pointer, message })
  const applied = app.request
  let fields: readonly string[] = []
  let masked: readonly string[] = []
  if (app.action === 'write') {
    if ((body.fields?.length ?? 0) > 0) add('/fields', 'a write-back grant carries no fields')
    if ((body.masked?.length ?? 0) > 0) add('/masked', 'a write-back grant carries no fields')
  } else {
    const clear = new Set(applied.fields)
    const appliedMasked = new Set(applied.masked)
    body.fields?.forEach((key, i) => {
      if (appliedMasked.has(key)) add(`/fields/${i}`, 'was applied for masked: it can only be released masked')
      else if (!clear.has(key)) add(`/fields/${i}`, 'was not applied for')
    })
    masked = body.masked ?? applied.masked
    const maskedSet = new Set(masked)
    fields = body.fields ?? applied.fields.filter((key) => !maskedSet.has(key))
    const fieldSet = new Set(fields)
    body.masked?.forEach((key, i) => {
      if (!clear.has(key) && !appliedMasked.has(key)) add(`/masked/${i}`, 'was not applied for')
      else if (fieldSet.has(key)) add(`/masked/${i}`, 'is also in fields: a field is released in clear or masked')
      else if (resource !== undefined && resource.fieldsByKey.get(key)?.mask === undefined) {
        add(`/masked/${i}`, 'has no mask rule in the catalog, so it cannot be released masked')
      }
    })
    if (fields.length + masked.length === 0) add('/fields', 'the grant would release no field')
  }
  const appliedFrom = applied.validFrom ?? today
  const validFrom = body.validFrom ?? appliedFrom
  const validTo = body.validTo ?? applied.validTo
  if (body.validFrom !== undefined && body.validFrom < appliedFrom) {
    add('/validFrom', `must not be before the first day applied for (${appliedFrom})`)
  }
  if (body.validTo !== undefined && body.validTo > applied.validTo) {
    add('/validTo', `must not be after the last day applied for (${applied.validTo})`)
  }
  if (validFrom > validTo) add('/validFrom', 'must not be after validTo')
  if (validTo < today) add(body.validTo === undefined ? '' : '/validTo', 'the validity would end before today')
  if (body.quota !== undefined) {
    const window = quotaWindowSeconds(body.quota.per)
    if (window === undefined) add('/quota/per', 'must be second, minute, hour, day or <n>s, <n>m, <n>h, <n>d')
    else if (window > MAX_QUOTA_REFILL_SECONDS) add('/quota/per', 'must be a window of at most 7 days')
  }
  if (problems.length > 0) return { problems }
  return {
    problems,
    terms: {
      fields,
      masked,
      validFrom,
      validTo,
      ...(body.quota === undefined ? {} : { quota: { limit: body.quota.limit, per: body.quota.per } }),
    },
  }
}

/** A registration grant (无条件 resources): the terms as applied, from the day of the check unless later. */
export function termsAsApplied(app: Application, today: string): ApprovalTerms {
  const write = MODE_ACTION[app.request.mode] === 'write'
  return {
    fields: write ? [] : app.request.fields,
    masked: write ? [] : app.request.masked,
    validFrom: app.request.validFrom ?? today,
    validTo: app.request.validTo,
  }
}

/**
 * A notice's items: each names a member the applicant can change (resource, matter and mode cannot be: that is
 * another application, so refuse it), once. `repeated` lists items an earlier notice of this application named
 * already: 一次性告知 means everything missing was to be named the first time.
 */
export function noticeProblems(
  items: readonly NoticeItem[],
  earlier: readonly Notice[],
): { readonly invalid: Violation[]; readonly repeated: Violation[] } {
  const invalid: Violation[] = []
  const seen = new Map<string, number>()
  items.forEach((item, i) => {
    const member = topLevelMember(item.pointer)
    if (!CHANGEABLE_MEMBERS.has(member)) {
      const members = [...CHANGEABLE_MEMBERS].join(', ')
      invalid.push({
        pointer: `/items/${i}/pointer`,
        message: `must point into a member the applicant can change (${members})`,
      })
    }
    const first = seen.get(item.pointer)
    if (first !== undefined)
      invalid.push({ pointer: `/items/${i}/pointer`, message: `names the same item as /items/${first}` })
    else seen.set(item.pointer, i)
  })
  const before = new Set(earlier.flatMap((n) => n.items.map((it) => it.pointer)))
  const repeated = [...seen.keys()]
    .filter((pointer) => before.has(pointer))
    .map((pointer) => ({ pointer, message: 'was already named by an earlier notice of this application' }))
  return { invalid, repeated }
}

/** `/contact/phone` → `contact` (RFC 6901 unescaping). */
export function topLevelMember(pointer: string): string {
  const token = pointer.split('/')[1] ?? ''
  return token.replaceAll('~1', '/').replaceAll('~0', '~')
}

/** The same calendar day `years` later (29 February becomes 28 February outside leap years). */
export function addYears(isoDate: string, years: number): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number]
  const year = y + years
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const day = m === 2 && d === 29 && !leap ? 28 : d
  return `${String(year).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`
}

function stringsOf(value: unknown): readonly string[] | undefined {
  if (value === undefined) return []
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined
}

function isoDateOf(value: unknown): string | undefined {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined
}
