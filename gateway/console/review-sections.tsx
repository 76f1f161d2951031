/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import type { Catalog, Resource } from '../catalog/types.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import { CsrfField, Page, type View } from './layout.js'
import type { Due } from './review-due.js'
import { controlProps, type DecisionForm, ErrorSummary, ErrorText, type Located, NO_PROBLEMS } from './review-forms.js'
import { HistoryTable, RequestFacts, requestParts } from './review-request.js'
import { tr } from './review-texts.js'

/**
 * The parts both checks' pages share: the page itself, a decision's form frame (CSRF token, the decision, the version
 * read), the 一次性告知 with its rows, the refusal with its mandatory reason, and the page saying someone else acted
 * first.
 */

/**
 * One application at a check: the problems, the request, and — while it waits at this check (`actionable`) — the
 * check's own decision (`children`, given the problems that belong to it), 一次性告知 and refusal; then the history.
 */
export function DecisionPage(props: {
  view: View
  catalog: Catalog
  app: Application
  history: readonly SharingEvent[]
  due: Due
  form: DecisionForm
  located: Located
  title: string
  action: string
  actionable: boolean
  /** The check's own decision (pass, approve) and the name it goes by in the form. */
  decision: string
  refuseTitle: string
  children: (located: Located) => Child
}) {
  const { view, catalog, app, form, located, action } = props
  const resource = catalog.resources.get(app.request.resource)
  // Problems belong to the decision that was posted; the other forms come back empty.
  const shown = (decision: string) => (form.decision === decision ? located : NO_PROBLEMS)
  return (
    <Page view={view} title={`${props.title}：${resource?.name ?? app.request.resource}`}>
      <ErrorSummary view={view} located={located} />
      <RequestFacts view={view} catalog={catalog} app={app} due={props.due} />
      {props.actionable ? (
        <>
          {props.children(shown(props.decision))}
          <NoticeSection
            view={view}
            action={action}
            app={app}
            resource={resource}
            form={form}
            located={shown('notice')}
          />
          <RefuseSection view={view} action={action} title={props.refuseTitle} form={form} located={shown('refuse')} />
        </>
      ) : (
        <p class="card" id="not-actionable">
          {tr(view.lang, 'notAtThisStep')}
        </p>
      )}
      <HistoryTable view={view} catalog={catalog} app={app} history={props.history} />
    </Page>
  )
}

export function DecisionSection(props: {
  view: View
  action: string
  decision: string
  form: DecisionForm
  title: string
  children?: Child
}) {
  const id = `${props.decision}-title`
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{props.title}</h2>
      <form method="post" action={props.action} novalidate>
        <CsrfField view={props.view} />
        <input type="hidden" name="decision" value={props.decision} />
        <input type="hidden" name="version" value={props.form.version} />
        {props.children}
      </form>
    </section>
  )
}

/** Rows of (which part of the request, what to correct); the hint says what 一次性告知 means. */
export function NoticeSection(props: {
  view: View
  action: string
  app: Application
  resource: Resource | undefined
  form: DecisionForm
  located: Located
}) {
  const { view, form, located } = props
  const { lang } = view
  const options = requestParts(props.app, props.resource, lang)
  return (
    <DecisionSection view={view} action={props.action} decision="notice" form={form} title={tr(lang, 'noticeTitle')}>
      <p id="notice-hint">{tr(lang, 'noticeHint')}</p>
      {form.rows.map((row, i) => {
        const pointerId = `notice-${i}-pointer`
        const messageId = `notice-${i}-message`
        return (
          <fieldset class="review-notice">
            <legend>{`${tr(lang, 'noticeItem')} ${i + 1}`}</legend>
            <div>
              <label for={pointerId}>{tr(lang, 'noticeWhere')}</label>
              <select id={pointerId} name={pointerId} {...controlProps(located, pointerId)}>
                <option value="">—</option>
                {options.map(([pointer, label]) => (
                  <option value={pointer} selected={pointer === row.pointer}>
                    {label}
                  </option>
                ))}
              </select>
              <ErrorText located={located} id={pointerId} />
            </div>
            <div>
              <label for={messageId}>{tr(lang, 'noticeWhat')}</label>
              <input
                type="text"
                id={messageId}
                name={messageId}
                value={row.message}
                {...controlProps(located, messageId)}
              />
              <ErrorText located={located} id={messageId} />
            </div>
          </fieldset>
        )
      })}
      <p>
        <button type="submit" id="notice-submit" aria-describedby="notice-hint">
          {tr(lang, 'noticeButton')}
        </button>
      </p>
    </DecisionSection>
  )
}

export function RefuseSection(props: {
  view: View
  action: string
  title: string
  form: DecisionForm
  located: Located
}) {
  const { view, form, located } = props
  const { lang } = view
  return (
    <DecisionSection view={view} action={props.action} decision="refuse" form={form} title={props.title}>
      <label for="reason">{tr(lang, 'reason')}</label>
      <textarea id="reason" name="reason" aria-required="true" {...controlProps(located, 'reason')}>
        {form.reason}
      </textarea>
      <ErrorText located={located} id="reason" />
      <p>
        <button type="submit" id="refuse-submit">
          {props.title}
        </button>
      </p>
    </DecisionSection>
  )
}

/** 412 and the like: the step was not taken because the page was out of date; reloading shows what stands now. */
export function StalePage(props: { view: View; reload: string }) {
  const { lang } = props.view
  return (
    <Page view={props.view} title={tr(lang, 'staleTitle')}>
      <p id="stale" role="alert">
        {tr(lang, 'staleText')}
      </p>
      <p>
        <a href={props.reload} id="reload">
          {tr(lang, 'reload')}
        </a>
      </p>
    </Page>
  )
}
