/** @jsxImportSource hono/jsx */
import type { Catalog, Field, Resource } from '../catalog/types.js'
import { type Lang, type TextKey, t, tOf } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'

/**
 * 申请: the sharing workflow's application as a form. It posts to the console, which hands the same body the API
 * takes to `sharing.apply`; a 422 comes back here with each problem next to its input (by JSON pointer).
 */

const USAGES = ['行政依据', '业务协同', '数据校核', '工作参考'] as const

/** What the form sends, as strings (checkbox groups as lists). */
export interface ApplicationForm {
  readonly resource: string
  readonly matter: string
  readonly mode: string
  readonly usage: string
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  readonly legalBasis: string
  readonly scene: string
  readonly scopeOfUse: string
  readonly validTo: string
  readonly contactName: string
  readonly contactPhone: string
  readonly contactEmail: string
}

export interface FormProblem {
  readonly pointer: string
  readonly message: string
}

const one = (v: unknown): string => (typeof v === 'string' ? v.trim() : Array.isArray(v) ? one(v[0]) : '')
const many = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string')

/** The parsed form body (hono's parseBody with `all: true`) as an ApplicationForm. */
export function formFrom(body: Record<string, unknown>): ApplicationForm {
  return {
    resource: one(body.resource),
    matter: one(body.matter),
    mode: one(body.mode),
    usage: one(body.usage),
    fields: many(body.fields),
    masked: many(body.masked),
    legalBasis: one(body.legalBasis),
    scene: one(body.scene),
    scopeOfUse: one(body.scopeOfUse),
    validTo: one(body.validTo),
    contactName: one(body.contactName),
    contactPhone: one(body.contactPhone),
    contactEmail: one(body.contactEmail),
  }
}

export function emptyForm(resource: Resource): ApplicationForm {
  return {
    resource: resource.id,
    matter: '',
    mode: resource.read !== undefined ? 'query' : 'write-back',
    usage: '',
    fields: [],
    masked: [],
    legalBasis: '',
    scene: '',
    scopeOfUse: '',
    validTo: '',
    contactName: '',
    contactPhone: '',
    contactEmail: '',
  }
}

/** The API's request body: a blank input is an absent member, so the workflow says "is required" for it. */
export function applicationBody(form: ApplicationForm): Record<string, unknown> {
  const body: Record<string, unknown> = { resource: form.resource, fields: form.fields, masked: form.masked }
  const put = (key: string, value: string) => {
    if (value !== '') body[key] = value
  }
  put('matter', form.matter)
  put('mode', form.mode)
  put('usage', form.usage)
  put('legalBasis', form.legalBasis)
  put('scene', form.scene)
  put('scopeOfUse', form.scopeOfUse)
  put('validTo', form.validTo)
  if (form.contactName !== '' || form.contactPhone !== '' || form.contactEmail !== '') {
    const contact: Record<string, string> = {}
    if (form.contactName !== '') contact.name = form.contactName
    if (form.contactPhone !== '') contact.phone = form.contactPhone
    if (form.contactEmail !== '') contact.email = form.contactEmail
    body.contact = contact
  }
  return body
}

/** Which input a problem belongs to: the JSON pointer's first members name it; the rest go to the summary only. */
const INPUTS: Readonly<Record<string, readonly [id: string, label: TextKey]>> = {
  '/matter': ['matter', 'matter'],
  '/mode': ['mode-query', 'mode'],
  '/usage': ['usage', 'usage'],
  '/fields': ['fields', 'fieldsWanted'],
  '/masked': ['fields', 'fieldsWanted'],
  '/legalBasis': ['legalBasis', 'legalBasis'],
  '/scene': ['scene', 'scene'],
  '/scopeOfUse': ['scopeOfUse', 'scopeOfUse'],
  '/validTo': ['validTo', 'validTo'],
  '/validFrom': ['validTo', 'validTo'],
  '/contact': ['contactName', 'contactName'],
  '/contact/name': ['contactName', 'contactName'],
  '/contact/phone': ['contactPhone', 'contactPhone'],
  '/contact/email': ['contactEmail', 'contactEmail'],
  '/resource': ['resource', 'resource'],
}

export function inputFor(pointer: string): readonly [string, TextKey] | undefined {
  const parts = pointer.split('/')
  return INPUTS[parts.slice(0, 3).join('/')] ?? INPUTS[parts.slice(0, 2).join('/')]
}

/** Error texts per input id, in the page's language. */
function errorsById(view: View, problems: readonly FormProblem[]): Map<string, string[]> {
  const byId = new Map<string, string[]>()
  for (const p of problems) {
    const id = inputFor(p.pointer)?.[0] ?? ''
    byId.set(id, [...(byId.get(id) ?? []), message(view, p.message)])
  }
  return byId
}

const message = (view: View, text: string): string => (text === 'is required' ? t(view.lang, 'required') : text)

/** aria attributes and the message element of one input. */
function invalidProps(errors: Map<string, string[]>, id: string): Record<string, string> {
  return errors.has(id) ? { 'aria-invalid': 'true', 'aria-describedby': `${id}-error` } : {}
}

function ErrorText(props: { errors: Map<string, string[]>; id: string }) {
  const texts = props.errors.get(props.id)
  if (texts === undefined) return null
  return (
    <p id={`${props.id}-error`} class="error">
      {texts.join('；')}
    </p>
  )
}

function TextInput(props: {
  view: View
  id: keyof ApplicationForm & TextKey
  form: ApplicationForm
  errors: Map<string, string[]>
  multiline?: boolean
  hint?: string
  type?: string
}) {
  const { id, form, errors } = props
  const value = form[id] as string
  return (
    <>
      <label for={id}>{t(props.view.lang, id)}</label>
      {props.hint !== undefined && (
        <p id={`${id}-hint`} class="muted">
          {props.hint}
        </p>
      )}
      {props.multiline ? (
        <textarea id={id} name={id} {...invalidProps(errors, id)}>
          {value}
        </textarea>
      ) : (
        <input type={props.type ?? 'text'} id={id} name={id} value={value} {...invalidProps(errors, id)} />
      )}
      <ErrorText errors={errors} id={id} />
    </>
  )
}

export function ApplicationFormPage(props: {
  view: View
  catalog: Catalog
  resource: Resource
  form: ApplicationForm
  problems: readonly FormProblem[]
}) {
  const { view, catalog, resource, form, problems } = props
  const { lang } = view
  const errors = errorsById(view, problems)
  const modes = [...(resource.read ? ['query'] : []), ...(resource.write ? ['write-back'] : [])]
  return (
    <Page view={view} title={`${t(lang, 'applyTitle')}：${resource.name}`}>
      {problems.length > 0 && (
        <div class="summary" role="alert" tabindex={-1} data-focus="" aria-labelledby="summary-title">
          <h2 id="summary-title">{t(lang, 'errorSummary')}</h2>
          <ul>
            {problems.map((p) => {
              const input = inputFor(p.pointer)
              const label = input === undefined ? p.pointer || '/' : t(lang, input[1])
              return (
                <li>
                  <a href={`#${input?.[0] ?? 'main'}`}>{`${label}：${message(view, p.message)}`}</a>
                </li>
              )
            })}
          </ul>
        </div>
      )}
      <form method="post" action="/console/applications" novalidate>
        <CsrfField view={view} />
        <input type="hidden" id="resource" name="resource" value={form.resource} />
        <p>
          {t(lang, 'resource')}: {resource.name} <span class="muted">({resource.id})</span>
        </p>
        <ErrorText errors={errors} id="resource" />
        <label for="matter">{t(lang, 'matter')}</label>
        <select id="matter" name="matter" {...invalidProps(errors, 'matter')}>
          <option value="">—</option>
          {[...catalog.matters.values()].map((m) => (
            <option value={m.code} selected={m.code === form.matter}>{`${m.name}（${m.code}）`}</option>
          ))}
        </select>
        <ErrorText errors={errors} id="matter" />
        <fieldset {...invalidProps(errors, 'mode-query')}>
          <legend>{t(lang, 'mode')}</legend>
          {modes.map((mode) => (
            <>
              <input type="radio" id={`mode-${mode}`} name="mode" value={mode} checked={form.mode === mode} />
              <label for={`mode-${mode}`}>{tOf(lang, 'mode', mode)}</label>
            </>
          ))}
          <ErrorText errors={errors} id="mode-query" />
        </fieldset>
        <label for="usage">{t(lang, 'usage')}</label>
        <select id="usage" name="usage" {...invalidProps(errors, 'usage')}>
          <option value="">—</option>
          {USAGES.map((u) => (
            <option value={u} selected={u === form.usage}>
              {u}
            </option>
          ))}
        </select>
        <ErrorText errors={errors} id="usage" />
        <fieldset id="fields" tabindex={-1} {...invalidProps(errors, 'fields')}>
          <legend>{t(lang, 'fieldsWanted')}</legend>
          <ErrorText errors={errors} id="fields" />
          <table>
            <tbody>
              {resource.fields.map((f) => (
                <tr>
                  <th scope="row">
                    {f.name} <span class="muted">{tOf(lang, 'sensitivity', f.sensitivity)}</span>
                  </th>
                  <FieldChoice lang={lang} field={f} fields={form.fields} masked={form.masked} />
                </tr>
              ))}
            </tbody>
          </table>
        </fieldset>
        <TextInput view={view} id="legalBasis" form={form} errors={errors} multiline />
        <TextInput view={view} id="scene" form={form} errors={errors} />
        <TextInput view={view} id="scopeOfUse" form={form} errors={errors} multiline />
        <TextInput view={view} id="validTo" form={form} errors={errors} hint="YYYY-MM-DD" />
        <TextInput view={view} id="contactName" form={form} errors={errors} />
        <TextInput view={view} id="contactPhone" form={form} errors={errors} type="tel" />
        <TextInput view={view} id="contactEmail" form={form} errors={errors} type="email" />
        <p>
          <button type="submit">{t(lang, 'submit')}</button>
        </p>
      </form>
    </Page>
  )
}

/** One catalog field's choice on a request: clear, and masked where the catalog has a mask rule for it. */
export function FieldChoice(props: { lang: Lang; field: Field; fields: readonly string[]; masked: readonly string[] }) {
  const { lang, field: f } = props
  return (
    <td>
      <input type="checkbox" id={`clear-${f.key}`} name="fields" value={f.key} checked={props.fields.includes(f.key)} />
      <label for={`clear-${f.key}`}>{t(lang, 'clear')}</label>
      {f.mask !== undefined && (
        <>
          <input
            type="checkbox"
            id={`masked-${f.key}`}
            name="masked"
            value={f.key}
            checked={props.masked.includes(f.key)}
          />
          <label for={`masked-${f.key}`}>{`${t(lang, 'masked')}（${f.mask.rule}）`}</label>
        </>
      )}
    </td>
  )
}
