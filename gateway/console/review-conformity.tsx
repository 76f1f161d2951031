/** @jsxImportSource hono/jsx */
import type { Catalog } from '../catalog/types.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import type { View } from './layout.js'
import type { Due } from './review-due.js'
import type { DecisionForm, Located } from './review-forms.js'
import { DecisionPage, DecisionSection } from './review-sections.js'
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
  const { view, app, form } = props
  const { lang } = view
  const action = `/console/conformity/${app.id}`
  return (
    <DecisionPage
      {...props}
      title={tr(lang, 'conformityTitle')}
      action={action}
      actionable={app.state === 'conformity-check'}
      decision="pass"
      refuseTitle={tr(lang, 'refuseTitle')}
    >
      {() => (
        <DecisionSection view={view} action={action} decision="pass" form={form} title={tr(lang, 'passTitle')}>
          <p id="pass-hint">{tr(lang, app.sharingType === 'conditional' ? 'passConditional' : 'passUnconditional')}</p>
          <p>
            <button type="submit" id="pass-submit" aria-describedby="pass-hint">
              {tr(lang, 'passButton')}
            </button>
          </p>
        </DecisionSection>
      )}
    </DecisionPage>
  )
}
