/** @jsxImportSource hono/jsx */
import type { Catalog, Field, Resource } from '../catalog/types.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import { t, tOf } from './i18n.js'
import type { View } from './layout.js'
import type { Due } from './review-due.js'
import { controlProps, type DecisionForm, ErrorText, type Located, requestedKeys } from './review-forms.js'
import { DecisionPage, DecisionSection } from './review-sections.js'
import { tr } from './review-texts.js'

/**
 * 数源部门审核: one application as the provider's reviewer decides on it — the request, then each requested field
 * beside what the catalog says of it (name, sensitivity, mask rule) in the approval form, where unchecking narrows
 * and a field asked for in clear may be released masked when the catalog has a mask rule; then 一次性告知 and
 * refusal, and the history.
 */
export function ReviewPage(props: {
  view: View
  catalog: Catalog
  app: Application
  history: readonly SharingEvent[]
  due: Due
  form: DecisionForm
  located: Located
}) {
  const { view, catalog, app, form } = props
  const { lang } = view
  const resource = catalog.resources.get(app.request.resource)
  const action = `/console/review/${app.id}`
  return (
    <DecisionPage
      {...props}
      title={tr(lang, 'reviewTitle')}
      action={action}
      actionable={app.state === 'provider-review'}
      decision="approve"
      refuseTitle={tr(lang, 'reviewRefuseTitle')}
    >
      {(located) => (
        <ApproveSection view={view} action={action} app={app} resource={resource} form={form} located={located} />
      )}
    </DecisionPage>
  )
}

function ApproveSection(props: {
  view: View
  action: string
  app: Application
  resource: Resource | undefined
  form: DecisionForm
  located: Located
}) {
  const { view, app, form, located } = props
  const { lang } = view
  const applied = app.request
  return (
    <DecisionSection view={view} action={props.action} decision="approve" form={form} title={tr(lang, 'approveTitle')}>
      {app.action === 'read' && (
        <fieldset id="release-fields" tabindex={-1} {...describedBy(located, 'release-fields')}>
          <legend>{t(lang, 'fieldsWanted')}</legend>
          <p id="approve-hint">{tr(lang, 'approveHint')}</p>
          <ErrorText located={located} id="release-fields" />
          <table class="review-fields">
            <thead>
              <tr>
                <th scope="col">{`${tr(lang, 'releaseField')} · ${t(lang, 'fieldName')}`}</th>
                <th scope="col">{t(lang, 'sensitivity')}</th>
                <th scope="col">{t(lang, 'mask')}</th>
                <th scope="col">{tr(lang, 'appliedAs')}</th>
                <th scope="col">{tr(lang, 'releaseAs')}</th>
              </tr>
            </thead>
            <tbody>
              {requestedKeys(app).map((key) => (
                <FieldRow
                  view={view}
                  fieldKey={key}
                  field={props.resource?.fieldsByKey.get(key)}
                  appliedMasked={applied.masked.includes(key)}
                  form={form}
                  located={located}
                />
              ))}
            </tbody>
          </table>
        </fieldset>
      )}
      <DateInput
        view={view}
        id="validFrom"
        label={tr(lang, 'validFrom')}
        hint={tr(lang, 'validFromHint')}
        form={form}
        located={located}
      />
      <DateInput
        view={view}
        id="validTo"
        label={tr(lang, 'validToLabel')}
        hint={`${tr(lang, 'validToHint')} ${applied.validTo}`}
        form={form}
        located={located}
      />
      <label for="quota">{tr(lang, 'quota')}</label>
      <p id="quota-hint" class="muted">
        {tr(lang, 'quotaHint')}
      </p>
      <input
        type="text"
        inputmode="numeric"
        id="quota"
        name="quota"
        value={form.quota}
        {...controlProps(located, 'quota', true)}
      />
      <ErrorText located={located} id="quota" />
      <p>
        <button type="submit" id="approve-submit">
          {tr(lang, 'approveButton')}
        </button>
      </p>
    </DecisionSection>
  )
}

/** A group is described by its error (aria-invalid belongs on the controls, not on a fieldset). */
function describedBy(located: Located, id: string): Record<string, string> {
  return located.byId.has(id)
    ? { 'aria-describedby': `${id}-error approve-hint` }
    : { 'aria-describedby': 'approve-hint' }
}

function DateInput(props: {
  view: View
  id: 'validFrom' | 'validTo'
  label: string
  hint: string
  form: DecisionForm
  located: Located
}) {
  const { id, located } = props
  return (
    <>
      <label for={id}>{props.label}</label>
      <p id={`${id}-hint`} class="muted">
        {props.hint}
      </p>
      <input type="text" id={id} name={id} value={props.form[id]} {...controlProps(located, id, true)} />
      <ErrorText located={located} id={id} />
    </>
  )
}

/** One requested field: release it or not, and masked or not (a masked release needs the catalog's mask rule). */
function FieldRow(props: {
  view: View
  fieldKey: string
  field: Field | undefined
  appliedMasked: boolean
  form: DecisionForm
  located: Located
}) {
  const { view, fieldKey: key, field, form, located } = props
  const { lang } = view
  const includeId = `include-${key}`
  const maskId = `mask-${key}`
  const name = field?.name ?? key
  const rule = field?.mask?.rule
  return (
    <tr>
      <th scope="row">
        <input
          type="checkbox"
          id={includeId}
          name="include"
          value={key}
          checked={form.include.includes(key)}
          {...controlProps(located, includeId)}
        />
        <label for={includeId} class="inline">
          {name}
        </label>
        <span class="muted review-key">{key}</span>
        <ErrorText located={located} id={includeId} />
      </th>
      <td>{field === undefined ? '—' : tOf(lang, 'sensitivity', field.sensitivity)}</td>
      <td>{rule ?? t(lang, 'noMask')}</td>
      <td>{t(lang, props.appliedMasked ? 'masked' : 'clear')}</td>
      <td>
        {props.appliedMasked ? (
          `${tr(lang, 'maskedAsApplied')}${rule === undefined ? '' : `（${rule}）`}`
        ) : rule === undefined ? (
          <span class="muted">{tr(lang, 'noMaskRule')}</span>
        ) : (
          <>
            <input type="checkbox" id={maskId} name="mask" value={key} checked={form.mask.includes(key)} />
            <label for={maskId} class="inline">
              {`${tr(lang, 'releaseMasked')}（${rule}）`}
              <span class="visually-hidden">{`：${name}`}</span>
            </label>
          </>
        )}
      </td>
    </tr>
  )
}
