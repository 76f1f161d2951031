/** @jsxImportSource hono/jsx */
import type { Catalog } from '../catalog/types.js'
import type { Application, ApplicationState } from '../sharing/model.js'
import { t, textsFor, tOf } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'

/** What the applying department may do with its application from its page: answer a notice, withdraw it. */

export const actionText = textsFor({
  answer: ['答复告知', 'Answer the notice'],
  withdraw: ['撤回', 'Withdraw'],
  withdrawTitle: ['撤回申请', 'Withdraw the application'],
  withdrawQuestion: [
    '撤回后此申请结束办理，不能恢复；如仍需要数据，须重新提交申请。确定撤回吗？',
    'A withdrawn application ends here and cannot be resumed; to get the data later, apply again. Withdraw it?',
  ],
  withdrawReason: ['撤回理由（可选）', 'Reason (optional)'],
  confirmWithdraw: ['确认撤回', 'Yes, withdraw it'],
  cancel: ['不撤回，返回申请', 'No, back to the application'],
  notWithdrawable: ['此申请已办结，不能撤回。', 'This application is decided and can no longer be withdrawn.'],
  notWithdrawableTitle: ['不能撤回', 'Cannot withdraw'],
})

/** The workflow's undecided states: only these can be withdrawn. */
const WITHDRAWABLE: ReadonlySet<ApplicationState> = new Set([
  'conformity-check',
  'awaiting-applicant',
  'provider-review',
])

export const isWithdrawable = (app: Application) => WITHDRAWABLE.has(app.state)

export const hasOpenNotice = (app: Application) =>
  app.state === 'awaiting-applicant' && app.notices.some((n) => n.answeredAt === undefined)

/**
 * The links on the application's page: for the applying department's officer only (auditors see the same page),
 * and nothing once it is decided.
 */
export function ApplicationActions(props: { view: View; app: Application }) {
  const { view, app } = props
  const { lang } = view
  const user = view.session?.user
  if (user?.role !== 'applicant' || user.dept !== app.consumer || !isWithdrawable(app)) return null
  return (
    <p class="actions">
      {hasOpenNotice(app) && (
        <a href={`/console/applications/${app.id}/answer`} class="button">
          {actionText(lang, 'answer')}
        </a>
      )}
      <a href={`/console/applications/${app.id}/withdraw`}>{actionText(lang, 'withdraw')}</a>
    </p>
  )
}

/** The confirmation step before a withdrawal: what is withdrawn, an optional reason, and a way back. */
export function WithdrawPage(props: { view: View; catalog: Catalog; app: Application }) {
  const { view, catalog, app } = props
  const { lang } = view
  const r = app.request
  return (
    <Page view={view} title={actionText(lang, 'withdrawTitle')}>
      <dl>
        <dt>{t(lang, 'resource')}</dt>
        <dd>{catalog.resources.get(r.resource)?.name ?? r.resource}</dd>
        <dt>{t(lang, 'matter')}</dt>
        <dd>{`${catalog.matters.get(r.matter)?.name ?? r.matter}（${r.matter}）`}</dd>
        <dt>{t(lang, 'state')}</dt>
        <dd>{tOf(lang, 'state', app.state)}</dd>
      </dl>
      <form method="post" action={`/console/applications/${app.id}/withdraw`}>
        <CsrfField view={view} />
        <input type="hidden" name="version" value={String(app.version)} />
        <p id="withdraw-question" class="warn">
          {actionText(lang, 'withdrawQuestion')}
        </p>
        <label for="reason">{actionText(lang, 'withdrawReason')}</label>
        <textarea id="reason" name="reason" />
        <p>
          <button type="submit" aria-describedby="withdraw-question">
            {actionText(lang, 'confirmWithdraw')}
          </button>{' '}
          <a href={`/console/applications/${app.id}`}>{actionText(lang, 'cancel')}</a>
        </p>
      </form>
    </Page>
  )
}
