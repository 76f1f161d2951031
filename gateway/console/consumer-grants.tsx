/** @jsxImportSource hono/jsx */
import { calendarDaysBetween } from '../../kernel/working-calendar.js'
import type { Catalog } from '../catalog/types.js'
import type { GrantView } from '../sharing/service.js'
import { addYears, MAX_VALIDITY_YEARS } from '../sharing/workflow-checks.js'
import { type Lang, t, textsFor } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'

/**
 * 我的授权: the requesting department's grants — those its approved applications made (renewable here) and the
 * catalog's static ones (they change with catalog.yaml only) — with the days each has left.
 */

export const grantText = textsFor({
  title: ['我的授权', 'My grants'],
  intro: [
    '本部门可使用的数据授权。到期前 30 天内标为“即将到期”，请及时续期；续期会生成一份新的申请，审批通过后替代原授权。',
    'The grants your department may use. Those ending within 30 days are marked “expiring soon”: renew them in time; a renewal is a new application that replaces the grant once approved.',
  ],
  liveTitle: ['经审批的授权', 'Grants from approved applications'],
  catalogTitle: ['目录中的授权', 'Grants written in the catalog'],
  catalogNote: [
    '以下授权写在目录文件（catalog.yaml）中，随目录变更，不能在此续期；需要延长时请重新提交申请。',
    'These grants are written in the catalog file (catalog.yaml) and change with it; they cannot be renewed here. To extend one, apply again.',
  ],
  none: ['暂无授权。', 'None.'],
  provider: ['数源部门', 'Provider'],
  fields: ['信息项', 'Fields'],
  validity: ['有效期', 'Validity'],
  validTo: ['有效期至', 'Valid to'],
  daysLeft: ['剩余', 'Left:'],
  actions: ['操作', 'Actions'],
  'standing.active': ['有效', 'In force'],
  'standing.expiring': ['即将到期', 'Expiring soon'],
  'standing.expired': ['已过期', 'Expired'],
  'standing.not-yet': ['尚未生效', 'Not yet in force'],
  'standing.revoked': ['已撤销', 'Revoked'],
  'standing.superseded': ['已被新授权替代', 'Superseded'],
  open: ['长期有效', 'Open-ended'],
  days: ['天', 'days'],
  renewTo: ['续期至', 'Renew to'],
  renew: ['申请续期', 'Apply to renew'],
  applyAgain: ['重新申请', 'Apply again'],
  apiReference: ['接口文档', 'API reference'],
  approvalRef: ['批准文号', 'Approval'],
  renewProblem: ['续期申请未能提交：', 'The renewal could not be filed:'],
})

/** The expiry reminder's horizon (the scheduler reminds 30 and 7 days before the last day). */
export const EXPIRING_WITHIN_DAYS = 30

export type GrantStanding = 'active' | 'expiring' | 'expired' | 'not-yet' | 'revoked' | 'superseded'

/** Where a grant stands today, and the calendar days left until its last day (inclusive) when it has one. */
export function standingOf(grant: GrantView, today: string): { standing: GrantStanding; daysLeft?: number } {
  if (grant.state === 'revoked' || grant.state === 'superseded') return { standing: grant.state }
  const { validFrom, validTo } = grant
  if (validTo === undefined) return { standing: 'active' }
  const daysLeft = calendarDaysBetween(today, validTo)
  if (daysLeft < 0) return { standing: 'expired', daysLeft }
  if (validFrom !== undefined && validFrom > today) return { standing: 'not-yet', daysLeft }
  return { standing: daysLeft <= EXPIRING_WITHIN_DAYS ? 'expiring' : 'active', daysLeft }
}

/** The renewal's proposed last day: a year past the current one (or today), within the longest validity allowed. */
export function proposedRenewal(validTo: string | undefined, today: string): string {
  const from = validTo !== undefined && validTo > today ? validTo : today
  const proposal = addYears(from, 1)
  const latest = addYears(today, MAX_VALIDITY_YEARS)
  // ISO dates compare as strings (Math.min would not).
  if (proposal > latest) return latest
  return proposal
}

/** A renewal the workflow refused (422): which grant, what was asked, and its problems. */
export interface RenewalProblem {
  readonly grantId: string
  readonly validTo: string
  readonly messages: readonly string[]
}

const departmentName = (catalog: Catalog, code: string) => catalog.departments.get(code)?.name ?? code

function FieldList(props: { lang: Lang; catalog: Catalog; grant: GrantView }) {
  const { lang, catalog, grant } = props
  const resource = catalog.resources.get(grant.resource)
  const [list, colon] = lang === 'en' ? [', ', ': '] : ['、', '：']
  const names = (keys: readonly string[]) => keys.map((k) => resource?.fieldsByKey.get(k)?.name ?? k).join(list) || '—'
  if (grant.action === 'write') return <>—</>
  return (
    <>
      {`${t(lang, 'clear')}${colon}${names(grant.fields)}`}
      <br />
      {`${t(lang, 'masked')}${colon}${names(grant.masked)}`}
    </>
  )
}

function StandingText(props: { lang: Lang; standing: GrantStanding; grant: GrantView }) {
  const { lang, standing, grant } = props
  const css = standing === 'expiring' ? 'tag warn' : standing === 'active' ? 'tag ok' : 'tag muted'
  const revoked = grant.source === 'application' && grant.state === 'revoked' ? grant : undefined
  return (
    <>
      <span class={css}>{grantText(lang, `standing.${standing}`)}</span>
      {revoked?.revokedAt !== undefined && <span class="muted">{` ${revoked.revokedAt.slice(0, 10)}`}</span>}
      {revoked?.revokeReason !== undefined && (
        <div class="muted">{`${t(lang, 'reason')}：${revoked.revokeReason}`}</div>
      )}
    </>
  )
}

function RenewForm(props: { view: View; grant: GrantView; index: number; today: string; problem?: RenewalProblem }) {
  const { view, grant, index, problem } = props
  const { lang } = view
  const id = `renew-${index}`
  const errorId = `${id}-error`
  const value = problem?.validTo ?? proposedRenewal(grant.validTo, props.today)
  return (
    <form method="post" action={`/console/grants/${encodeURIComponent(grant.id)}/renew`} class="renew">
      <CsrfField view={view} />
      <label for={id}>{grantText(lang, 'renewTo')}</label>
      <input
        type="text"
        id={id}
        name="validTo"
        value={value}
        inputmode="numeric"
        aria-describedby={problem === undefined ? `${id}-hint` : `${id}-hint ${errorId}`}
        {...(problem === undefined ? {} : { 'aria-invalid': 'true' })}
      />
      <span id={`${id}-hint`} class="muted">
        YYYY-MM-DD
      </span>
      {problem !== undefined && (
        <p id={errorId} class="error">
          {`${grantText(lang, 'renewProblem')}${problem.messages.join('；')}`}
        </p>
      )}
      <button type="submit">{grantText(lang, 'renew')}</button>
    </form>
  )
}

function GrantTable(props: {
  view: View
  catalog: Catalog
  today: string
  grants: readonly GrantView[]
  problem?: RenewalProblem
}) {
  const { view, catalog, today, grants, problem } = props
  const { lang } = view
  if (grants.length === 0) return <p>{grantText(lang, 'none')}</p>
  return (
    <table class="grants">
      <thead>
        <tr>
          <th scope="col">{t(lang, 'resource')}</th>
          <th scope="col">{grantText(lang, 'provider')}</th>
          <th scope="col">{t(lang, 'matter')}</th>
          <th scope="col">{grantText(lang, 'fields')}</th>
          <th scope="col">{grantText(lang, 'validity')}</th>
          <th scope="col">{grantText(lang, 'actions')}</th>
        </tr>
      </thead>
      <tbody>
        {grants.map((grant, index) => {
          const resource = catalog.resources.get(grant.resource)
          const provider = grant.source === 'application' ? grant.provider : (resource?.provider ?? '')
          const { standing, daysLeft } = standingOf(grant, today)
          const renewable = grant.source === 'application' && grant.state === 'active'
          const resourceName = resource?.name ?? grant.resource
          return (
            <tr class={standing === 'expiring' ? 'expiring' : undefined} data-grant={grant.id}>
              <th scope="row">
                <a href={`/console/catalog/${encodeURIComponent(grant.resource)}`}>{resourceName}</a>
                <div class="muted">{grant.resource}</div>
              </th>
              <td>{departmentName(catalog, provider)}</td>
              <td>
                {catalog.matters.get(grant.matter)?.name ?? grant.matter}
                <div class="muted">{grant.matter}</div>
              </td>
              <td>
                <FieldList lang={lang} catalog={catalog} grant={grant} />
              </td>
              <td class="validity">
                <StandingText lang={lang} standing={standing} grant={grant} />
                <div>
                  {grant.validTo === undefined
                    ? grantText(lang, 'open')
                    : `${grantText(lang, 'validTo')} ${grant.validTo}`}
                </div>
                {daysLeft !== undefined && daysLeft >= 0 && (
                  <div>{`${grantText(lang, 'daysLeft')} ${daysLeft} ${grantText(lang, 'days')}`}</div>
                )}
                {grant.source === 'catalog' && grant.approvalRef !== undefined && (
                  <div class="muted">{`${grantText(lang, 'approvalRef')}：${grant.approvalRef}`}</div>
                )}
              </td>
              <td>
                {renewable && (
                  <RenewForm
                    view={view}
                    grant={grant}
                    index={index}
                    today={today}
                    {...(problem?.grantId === grant.id ? { problem } : {})}
                  />
                )}
                {grant.source === 'catalog' && standing !== 'active' && (
                  <a href={`/console/applications/new?resource=${encodeURIComponent(grant.resource)}`}>
                    {grantText(lang, 'applyAgain')}
                    <span class="visually-hidden">{`：${resourceName}`}</span>
                  </a>
                )}
                <div>
                  <a href="/docs">
                    {grantText(lang, 'apiReference')}
                    <span class="visually-hidden">{`：${resourceName}`}</span>
                  </a>
                </div>
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

export function GrantsPage(props: {
  view: View
  catalog: Catalog
  today: string
  grants: readonly GrantView[]
  problem?: RenewalProblem
}) {
  const { view, catalog, today, grants, problem } = props
  const { lang } = view
  const live = grants.filter((g) => g.source === 'application')
  const fromCatalog = grants.filter((g) => g.source === 'catalog')
  return (
    <Page view={view} title={grantText(lang, 'title')}>
      <p>{grantText(lang, 'intro')}</p>
      {problem !== undefined && (
        <div class="summary" role="alert" tabindex={-1} data-focus="">
          <a href={`#renew-${live.findIndex((g) => g.id === problem.grantId)}`}>
            {`${grantText(lang, 'renewProblem')}${problem.messages.join('；')}`}
          </a>
        </div>
      )}
      <section aria-labelledby="live-title">
        <h2 id="live-title">{grantText(lang, 'liveTitle')}</h2>
        <GrantTable
          view={view}
          catalog={catalog}
          today={today}
          grants={live}
          {...(problem === undefined ? {} : { problem })}
        />
      </section>
      <section aria-labelledby="catalog-title">
        <h2 id="catalog-title">{grantText(lang, 'catalogTitle')}</h2>
        <p class="muted">{grantText(lang, 'catalogNote')}</p>
        <GrantTable view={view} catalog={catalog} today={today} grants={fromCatalog} />
      </section>
    </Page>
  )
}
