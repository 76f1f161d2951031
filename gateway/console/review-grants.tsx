/** @jsxImportSource hono/jsx */
import { calendarDaysBetween } from '../../kernel/working-calendar.js'
import type { Catalog } from '../catalog/types.js'
import type { LiveGrant } from '../sharing/model.js'
import { t } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'
import { controlProps, ErrorSummary, ErrorText, type Located, NO_PROBLEMS } from './review-forms.js'
import { beijingTime, departmentName, matterName } from './review-request.js'
import { tr } from './review-texts.js'

/**
 * 已发授权: the live grants of the provider's resources (made by approved applications), what each releases and
 * until when, and for an active one a revocation with its mandatory reason — posted with the grant's version.
 */

/** A refused revocation, shown again at its grant: the reason as typed and the workflow's problems. */
export interface RevokeAttempt {
  readonly grantId: string
  readonly reason: string
  readonly located: Located
}

export const reasonInputId = (grantId: string): string => `reason-${grantId}`

export function ProviderGrantsPage(props: {
  view: View
  catalog: Catalog
  grants: readonly LiveGrant[]
  today: string
  attempt?: RevokeAttempt
}) {
  const { view, catalog, grants, attempt } = props
  const { lang } = view
  return (
    <Page view={view} title={tr(lang, 'grantsTitle')}>
      {attempt !== undefined && <ErrorSummary view={view} located={attempt.located} />}
      <p>{tr(lang, 'grantsIntro')}</p>
      {grants.length === 0 ? (
        <p>{tr(lang, 'noGrants')}</p>
      ) : (
        <table class="review-grants">
          <caption class="visually-hidden">{tr(lang, 'grantsTitle')}</caption>
          <thead>
            <tr>
              <th scope="col">{tr(lang, 'consumer')}</th>
              <th scope="col">{t(lang, 'matter')}</th>
              <th scope="col">{`${t(lang, 'fields')} · ${t(lang, 'clear')}`}</th>
              <th scope="col">{tr(lang, 'maskedColumn')}</th>
              <th scope="col">{tr(lang, 'validToShort')}</th>
              <th scope="col">{tr(lang, 'daysLeftCalendar')}</th>
              <th scope="col">{t(lang, 'state')}</th>
              <th scope="col">{tr(lang, 'actions')}</th>
            </tr>
          </thead>
          <tbody>
            {grants.map((grant) => (
              <GrantRow
                view={view}
                catalog={catalog}
                grant={grant}
                today={props.today}
                attempt={attempt?.grantId === grant.id ? attempt : undefined}
              />
            ))}
          </tbody>
        </table>
      )}
    </Page>
  )
}

function GrantRow(props: { view: View; catalog: Catalog; grant: LiveGrant; today: string; attempt?: RevokeAttempt }) {
  const { view, catalog, grant } = props
  const { lang } = view
  const resource = catalog.resources.get(grant.resource)
  const names = (keys: readonly string[]) =>
    keys.map((key) => resource?.fieldsByKey.get(key)?.name ?? key).join('、') || '—'
  const left = calendarDaysBetween(props.today, grant.validTo)
  const located = props.attempt?.located ?? NO_PROBLEMS
  const inputId = reasonInputId(grant.id)
  return (
    <tr data-grant={grant.id}>
      <th scope="row">
        {departmentName(catalog, grant.consumer)}
        <br />
        <span class="muted">{resource?.name ?? grant.resource}</span>
      </th>
      <td>{matterName(catalog, grant.matter)}</td>
      <td>{names(grant.fields)}</td>
      <td>{names(grant.masked)}</td>
      <td>{grant.validTo}</td>
      <td>
        {grant.state !== 'active' ? '—' : left < 0 ? <strong class="warn">{tr(lang, 'expired')}</strong> : String(left)}
      </td>
      <td class="grant-state">{tr(lang, `grant.${grant.state}`)}</td>
      <td>
        {grant.state === 'active' ? (
          <form method="post" action={`/console/provider/grants/${grant.id}/revoke`} novalidate class="review-revoke">
            <CsrfField view={view} />
            <input type="hidden" name="version" value={String(grant.version)} />
            <label for={inputId}>{tr(lang, 'revokeReason')}</label>
            <input
              type="text"
              id={inputId}
              name="reason"
              aria-required="true"
              value={props.attempt?.reason ?? ''}
              {...controlProps(located, inputId)}
            />
            <ErrorText located={located} id={inputId} />
            <button type="submit" id={`revoke-${grant.id}`}>
              {tr(lang, 'revokeButton')}
            </button>
          </form>
        ) : (
          grant.revokedAt !== undefined &&
          `${tr(lang, 'revokedOn')} ${beijingTime(grant.revokedAt)}${grant.revokeReason ? ` — ${grant.revokeReason}` : ''}`
        )}
      </td>
    </tr>
  )
}
