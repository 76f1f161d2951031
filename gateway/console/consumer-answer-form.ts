import type { ApplicationRequest, Notice, NoticeItem } from '../sharing/model.js'
import { topLevelMember } from '../sharing/workflow-checks.js'

/**
 * 答复一次性告知 as a form: one group of inputs per member of the request the notice names (`/contact/phone` and
 * `/contact/name` share the contact inputs, `/fields/4` and `/masked` the field table), pre-filled with what the
 * application says now. Only what the officer actually changed is sent as `changes`, so an item left as it was is
 * one the workflow calls unaddressed — its 422 comes back to that item's group.
 */

/** The inputs a group shows; `fields` stands for both field lists (one table of clear / masked checkboxes). */
export type AnswerMember =
  | 'usage'
  | 'fields'
  | 'legalBasis'
  | 'scene'
  | 'scopeOfUse'
  | 'validFrom'
  | 'validTo'
  | 'contact'

const TEXT_MEMBERS = ['usage', 'legalBasis', 'scene', 'scopeOfUse', 'validFrom', 'validTo'] as const
type TextMember = (typeof TEXT_MEMBERS)[number]

export interface AnswerGroup {
  readonly member: AnswerMember
  readonly items: readonly NoticeItem[]
}

/** What the form holds, as strings and lists. */
export interface AnswerValues {
  readonly text: Readonly<Record<TextMember, string>>
  readonly contactName: string
  readonly contactPhone: string
  readonly contactEmail: string
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  readonly note: string
}

export interface AnswerProblem {
  readonly pointer: string
  readonly message: string
}

function groupMember(pointer: string): AnswerMember | undefined {
  const member = topLevelMember(pointer)
  if (member === 'masked') return 'fields'
  if (member === 'contact' || member === 'fields' || (TEXT_MEMBERS as readonly string[]).includes(member)) {
    return member as AnswerMember
  }
  return undefined
}

/** The notice's items grouped by the inputs that answer them, in the notice's order. */
export function groupsOf(notice: Notice): AnswerGroup[] {
  const groups = new Map<AnswerMember, NoticeItem[]>()
  for (const item of notice.items) {
    const member = groupMember(item.pointer)
    if (member === undefined) continue
    groups.set(member, [...(groups.get(member) ?? []), item])
  }
  return [...groups].map(([member, items]) => ({ member, items }))
}

export function valuesOf(request: ApplicationRequest): AnswerValues {
  return {
    text: {
      usage: request.usage,
      legalBasis: request.legalBasis,
      scene: request.scene,
      scopeOfUse: request.scopeOfUse,
      validFrom: request.validFrom ?? '',
      validTo: request.validTo,
    },
    contactName: request.contact.name,
    contactPhone: request.contact.phone,
    contactEmail: request.contact.email ?? '',
    fields: request.fields,
    masked: request.masked,
    note: '',
  }
}

const one = (v: unknown): string => (typeof v === 'string' ? v.trim() : Array.isArray(v) ? one(v[0]) : '')
const many = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string')

/** The posted form (parseBody with `all: true`); members the page did not show keep the application's values. */
export function valuesFromForm(
  form: Record<string, unknown>,
  groups: readonly AnswerGroup[],
  request: ApplicationRequest,
): AnswerValues {
  const current = valuesOf(request)
  const shown = new Set(groups.map((g) => g.member))
  const text = { ...current.text }
  for (const member of TEXT_MEMBERS) if (shown.has(member)) text[member] = one(form[member])
  const contact = shown.has('contact')
  const fields = shown.has('fields')
  return {
    text,
    contactName: contact ? one(form.contactName) : current.contactName,
    contactPhone: contact ? one(form.contactPhone) : current.contactPhone,
    contactEmail: contact ? one(form.contactEmail) : current.contactEmail,
    fields: fields ? many(form.fields) : current.fields,
    masked: fields ? many(form.masked) : current.masked,
    note: one(form.note),
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x))

/** The resubmission body: `changes` holds only the members whose value differs from the application's. */
export function resubmissionOf(values: AnswerValues, request: ApplicationRequest): Record<string, unknown> {
  const changes: Record<string, unknown> = {}
  for (const member of TEXT_MEMBERS) {
    if (values.text[member] !== (request[member] ?? '')) changes[member] = values.text[member]
  }
  if (!sameSet(values.fields, request.fields)) changes.fields = values.fields
  if (!sameSet(values.masked, request.masked)) changes.masked = values.masked
  const contact = {
    name: values.contactName,
    phone: values.contactPhone,
    ...(values.contactEmail === '' ? {} : { email: values.contactEmail }),
  }
  const was = request.contact
  if (contact.name !== was.name || contact.phone !== was.phone || contact.email !== was.email) {
    changes.contact = contact
  }
  return { changes, ...(values.note === '' ? {} : { note: values.note }) }
}

/**
 * The workflow's problems (pointers under `/changes`) by the group they belong to; a problem with the whole of
 * `changes` (nothing changed at all) belongs to every group. The rest (`/note`) stands in the summary only.
 */
export function problemsByGroup(
  problems: readonly AnswerProblem[],
  groups: readonly AnswerGroup[],
): Map<AnswerMember | 'note' | '', AnswerProblem[]> {
  const byGroup = new Map<AnswerMember | 'note' | '', AnswerProblem[]>()
  const add = (key: AnswerMember | 'note' | '', p: AnswerProblem) => byGroup.set(key, [...(byGroup.get(key) ?? []), p])
  const shown = new Set(groups.map((g) => g.member))
  for (const p of problems) {
    if (p.pointer === '/changes' || p.pointer === '') {
      for (const g of groups) add(g.member, p)
      continue
    }
    if (p.pointer.startsWith('/note')) {
      add('note', p)
      continue
    }
    const member = groupMember(p.pointer.replace(/^\/changes(?=\/)/, ''))
    add(member !== undefined && shown.has(member) ? member : '', p)
  }
  return byGroup
}
