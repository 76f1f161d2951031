/** @jsxImportSource hono/jsx */
import type { Resource } from '../catalog/types.js'
import type { Application } from '../sharing/model.js'
import { etagOf } from '../sharing/service.js'
import { t } from './i18n.js'
import type { View } from './layout.js'
import { tr } from './review-texts.js'

/**
 * The decision forms as data: what an officer posted (kept as typed, to show again beside the problems), the
 * workflow body made from it, and where each problem the workflow answers with (by JSON pointer into that body)
 * belongs on the page — so a 422 comes back with every problem at its input, as the apply form does.
 */

/** Rows offered for a 一次性告知; blank rows are left out of the notice. */
export const NOTICE_ROWS = 5

export interface NoticeRow {
  readonly pointer: string
  readonly message: string
}

export interface DecisionForm {
  readonly decision: string
  /** The application's (or grant's) version the page showed: the step's If-Match. */
  readonly version: string
  readonly reason: string
  readonly rows: readonly NoticeRow[]
  /** Requested fields the reviewer releases (checked). */
  readonly include: readonly string[]
  /** Fields asked for in clear that the reviewer releases masked (those asked for masked stay masked anyway). */
  readonly mask: readonly string[]
  readonly validFrom: string
  readonly validTo: string
  readonly quota: string
}

const one = (v: unknown): string => (typeof v === 'string' ? v.trim() : Array.isArray(v) ? one(v[0]) : '')
const many = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string')

/** Every field key the application asked for, clear ones first, as the request lists them. */
export const requestedKeys = (app: Application): string[] => [...app.request.fields, ...app.request.masked]

/** The parsed form body (hono's parseBody with `all: true`). */
export function decisionFormFrom(body: Record<string, unknown>): DecisionForm {
  return {
    decision: one(body.decision),
    version: one(body.version),
    reason: one(body.reason),
    rows: Array.from({ length: NOTICE_ROWS }, (_, i) => ({
      pointer: one(body[`notice-${i}-pointer`]),
      message: one(body[`notice-${i}-message`]),
    })),
    include: many(body.include),
    mask: many(body.mask),
    validFrom: one(body.validFrom),
    validTo: one(body.validTo),
    quota: one(body.quota),
  }
}

/** What the page shows before anything was posted: every requested field released as asked, the validity asked. */
export function initialForm(app: Application): DecisionForm {
  return {
    decision: '',
    version: String(app.version),
    reason: '',
    rows: Array.from({ length: NOTICE_ROWS }, () => ({ pointer: '', message: '' })),
    include: requestedKeys(app),
    mask: [],
    validFrom: app.request.validFrom ?? '',
    validTo: app.request.validTo,
    quota: '',
  }
}

/** `"<id>.<version>"` from the version the form carried; a form without one gets none (the workflow says 428). */
export function ifMatchOf(id: string, form: Pick<DecisionForm, 'version'>): string | undefined {
  return /^\d{1,9}$/.test(form.version) ? etagOf({ id, version: Number(form.version) }) : undefined
}

/** Where a problem goes: an input's id and the label the summary names it by. */
export type Place = readonly [id: string, label: string]

export interface Sent {
  readonly body: Record<string, unknown>
  readonly place: (pointer: string) => Place | undefined
}

/** The places every decision shares: the reason, and a notice's rows (by the items actually sent). */
function commonPlace(view: View, form: DecisionForm, rowOf: readonly number[], pointer: string): Place | undefined {
  const { lang } = view
  if (pointer === '/reason') return ['reason', tr(lang, 'reason')]
  const item = /^\/items(?:\/(\d+)(\/pointer|\/message)?)?/.exec(pointer)
  if (item !== null) {
    const row = item[1] === undefined ? 0 : (rowOf[Number(item[1])] ?? 0)
    const part = item[2] === '/message' ? 'message' : 'pointer'
    return [`notice-${row}-${part}`, `${tr(lang, 'noticeItem')} ${row + 1}`]
  }
  // notice-item-repeated names the item's own pointer.
  const repeated = form.rows.findIndex((r) => r.pointer !== '' && r.pointer === pointer)
  if (repeated >= 0) return [`notice-${repeated}-pointer`, `${tr(lang, 'noticeItem')} ${repeated + 1}`]
  return undefined
}

/** A notice's items from the rows with something in them, and which row each item came from. */
function noticeItems(form: DecisionForm): { items: NoticeRow[]; rowOf: number[] } {
  const rowOf: number[] = []
  const items: NoticeRow[] = []
  form.rows.forEach((row, i) => {
    if (row.pointer === '' && row.message === '') return
    rowOf.push(i)
    items.push({ pointer: row.pointer, message: row.message })
  })
  return { items, rowOf }
}

/** Notice and refusal bodies, the same at both checks; `undefined` for the approval-only decisions. */
function sharedBody(form: DecisionForm): { body: Record<string, unknown>; rowOf: number[] } | undefined {
  if (form.decision === 'notice') {
    const { items, rowOf } = noticeItems(form)
    return { body: { decision: 'notice', items }, rowOf }
  }
  if (form.decision === 'refuse') {
    return {
      body: form.reason === '' ? { decision: 'refuse' } : { decision: 'refuse', reason: form.reason },
      rowOf: [],
    }
  }
  return undefined
}

/** The 数据局's conformity decision: pass, notice or refuse. */
export function conformityBody(view: View, form: DecisionForm): Sent {
  const shared = sharedBody(form)
  const body = shared?.body ?? { decision: form.decision }
  const rowOf = shared?.rowOf ?? []
  return { body, place: (pointer) => commonPlace(view, form, rowOf, pointer) }
}

/** The provider's review: approve with the terms on the form, notice or refuse. */
export function reviewBody(view: View, form: DecisionForm, app: Application, resource: Resource | undefined): Sent {
  const { lang } = view
  const shared = sharedBody(form)
  if (shared !== undefined) {
    return { body: shared.body, place: (pointer) => commonPlace(view, form, shared.rowOf, pointer) }
  }
  const body: Record<string, unknown> = { decision: form.decision }
  const included = new Set(form.include)
  const appliedMasked = new Set(app.request.masked)
  const chosen = requestedKeys(app).filter((key) => included.has(key))
  const maskedOf = (key: string) => appliedMasked.has(key) || form.mask.includes(key)
  const fields = chosen.filter((key) => !maskedOf(key))
  const masked = chosen.filter(maskedOf)
  if (app.action === 'read') Object.assign(body, { fields, masked })
  if (form.validFrom !== '') body.validFrom = form.validFrom
  if (form.validTo !== '') body.validTo = form.validTo
  // A number when it is one; anything else goes as typed, so the schema names what is wrong with it.
  if (form.quota !== '')
    body.quota = { limit: /^\d{1,10}$/.test(form.quota) ? Number(form.quota) : form.quota, per: 'day' }
  const fieldLabel = (key: string | undefined) => resource?.fieldsByKey.get(key ?? '')?.name ?? key ?? ''
  const place = (pointer: string): Place | undefined => {
    const member = /^\/(fields|masked)(?:\/(\d+))?$/.exec(pointer)
    if (member !== null) {
      if (member[2] === undefined) return ['release-fields', t(lang, 'fieldsWanted')]
      const key = (member[1] === 'fields' ? fields : masked)[Number(member[2])]
      return [`include-${key}`, fieldLabel(key)]
    }
    if (pointer === '/validFrom') return ['validFrom', tr(lang, 'validFrom')]
    if (pointer === '/validTo' || pointer === '') return ['validTo', tr(lang, 'validToLabel')]
    if (pointer.startsWith('/quota')) return ['quota', tr(lang, 'quota')]
    return undefined
  }
  return { body, place }
}

/** The problems of a 422, located: per input id the messages, and the summary's list in order. */
export interface Located {
  readonly byId: ReadonlyMap<string, readonly string[]>
  readonly list: readonly { readonly id: string | undefined; readonly label: string; readonly message: string }[]
}

export const NO_PROBLEMS: Located = { byId: new Map(), list: [] }

export function locate(
  view: View,
  problems: readonly Problem[],
  sent: Sent,
  message: (problem: Problem) => string,
): Located {
  const byId = new Map<string, string[]>()
  const list = withoutEcho(problems).map((p) => {
    const place = sent.place(p.pointer)
    const text = message(p)
    if (place !== undefined) byId.set(place[0], [...(byId.get(place[0]) ?? []), text])
    return { id: place?.[0], label: place?.[1] ?? (p.pointer || t(view.lang, 'decision')), message: text }
  })
  return { byId, list }
}

export interface Problem {
  readonly pointer: string
  readonly message: string
}

/** An empty text fails both its minimum length and its "not blank" pattern: one problem, said once. */
function withoutEcho(problems: readonly Problem[]): readonly Problem[] {
  const empty = new Set(
    problems.filter((p) => p.message === 'must NOT have fewer than 1 characters').map((p) => p.pointer),
  )
  return problems.filter((p) => !(empty.has(p.pointer) && p.message === 'does not match the required pattern'))
}

/** aria attributes of a control: invalid and described by its error (and its hint, when it has one). */
export function controlProps(located: Located, id: string, hint = false): Record<string, string> {
  const invalid = located.byId.has(id)
  const described = [hint ? `${id}-hint` : '', invalid ? `${id}-error` : ''].filter(Boolean).join(' ')
  return {
    ...(invalid ? { 'aria-invalid': 'true' } : {}),
    ...(described === '' ? {} : { 'aria-describedby': described }),
  }
}

export function ErrorText(props: { located: Located; id: string }) {
  const texts = props.located.byId.get(props.id)
  if (texts === undefined) return null
  return (
    <p id={`${props.id}-error`} class="error">
      {texts.join('；')}
    </p>
  )
}

/** The summary at the top of a refused decision: focused on load (console.js), each problem a link to its input. */
export function ErrorSummary(props: { view: View; located: Located }) {
  if (props.located.list.length === 0) return null
  return (
    <div class="summary" role="alert" tabindex={-1} data-focus="" aria-labelledby="summary-title">
      <h2 id="summary-title">{tr(props.view.lang, 'errorSummary')}</h2>
      <ul>
        {props.located.list.map((p) => (
          <li>
            <a href={`#${p.id ?? 'main'}`}>{`${p.label}：${p.message}`}</a>
          </li>
        ))}
      </ul>
    </div>
  )
}

/**
 * The forms as shown again after a refused decision: the posted decision's inputs as typed, every other form as it
 * first was — and the version the officer read, never a newer one (deciding on what they did not see is a 412).
 */
export function formAfter(app: Application, posted: DecisionForm): DecisionForm {
  const initial = { ...initialForm(app), version: posted.version, decision: posted.decision }
  switch (posted.decision) {
    case 'approve': {
      const { include, mask, validFrom, validTo, quota } = posted
      return { ...initial, include, mask, validFrom, validTo, quota }
    }
    case 'notice':
      return { ...initial, rows: posted.rows }
    case 'refuse':
      return { ...initial, reason: posted.reason }
    default:
      return initial
  }
}
