/** @jsxImportSource hono/jsx */
import type { Catalog } from '../catalog/types.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import { Page, type View } from './layout.js'
import type { Due } from './review-due.js'
import { type DecisionForm, ErrorSummary, type Located, NO_PROBLEMS } from './review-forms.js'
import { HistoryTable, RequestFacts } from './review-request.js'
import { DecisionSection, NoticeSection, RefuseSection } from './review-sections.js'
import { tr } from './review-texts.js'

/**
 * 合规审查: one application as the 数据局 checks it — the request, its history, and while it is in its conformity
 * check the three decisions: pass (on to the provider, or a registration grant for an unconditional resource),
 * 一次性告知, refuse with a reason.
 */
export function ConformityPage(props: {
  view: View
  catalog: Catalog
  app: Application
  history: readonly SharingEvent[]
  due: Due
  form: DecisionForm
  located: Located
}) {
  const { view, catalog, app, form, located } = props
  const { lang } = view
  const resource = catalog.resources.get(app.request.resource)
  const action = `/console/conformity/${app.id}`
  // Problems belong to the decision that was posted; the other forms come back empty.
  const shown = (decision: string) => (form.decision === decision ? located : NO_PROBLEMS)
  return (
    <Page view={view} title={`${tr(lang, 'conformityTitle')}：${resource?.name ?? app.request.resource}`}>
      <ErrorSummary view={view} located={located} />
      <RequestFacts view={view} catalog={catalog} app={app} due={props.due} />
      {app.state === 'conformity-check' ? (
        <>
          <DecisionSection view={view} action={action} decision="pass" form={form} title={tr(lang, 'passTitle')}>
            <p id="pass-hint">
              {tr(lang, app.sharingType === 'conditional' ? 'passConditional' : 'passUnconditional')}
            </p>
            <p>
              <button type="submit" id="pass-submit" aria-describedby="pass-hint">
                {tr(lang, 'passButton')}
              </button>
            </p>
          </DecisionSection>
          <NoticeSection
            view={view}
            action={action}
            app={app}
            resource={resource}
            form={form}
            located={shown('notice')}
          />
          <RefuseSection
            view={view}
            action={action}
            title={tr(lang, 'refuseTitle')}
            form={form}
            located={shown('refuse')}
          />
        </>
      ) : (
        <p class="card" id="not-actionable">
          {tr(lang, 'notAtThisStep')}
        </p>
      )}
      <HistoryTable view={view} catalog={catalog} app={app} history={props.history} />
    </Page>
  )
}
