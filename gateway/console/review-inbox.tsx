/** @jsxImportSource hono/jsx */
import type { Catalog } from '../catalog/types.js'
import type { Application, Stage } from '../sharing/model.js'
import { t } from './i18n.js'
import { Page, type View } from './layout.js'
import { type Due, DueText } from './review-due.js'
import { beijingTime, departmentName, matterName } from './review-request.js'
import { tr } from './review-texts.js'

/**
 * The deciding officer's inboxes (the 数据局's conformity checks, the provider's reviews): what waits for them,
 * oldest due first, with the due date and the working days left — overdue and last-day ones said in words (and
 * bold), not by colour only — and, separately, those they sent back with a 一次性告知, whose clock stands still.
 */

/** Oldest due first; a paused clock has no due date, so those go by submission, after the running ones. */
export function byDue(a: Application, b: Application): number {
  const key = (app: Application) => app.clock?.dueAt ?? Number.MAX_SAFE_INTEGER
  return key(a) - key(b) || a.submittedAt.localeCompare(b.submittedAt)
}

/** The latest notice of this stage still unanswered: what the applicant is holding the application for. */
export function openNoticeOf(app: Application, stage: Stage) {
  if (app.state !== 'awaiting-applicant') return undefined
  const open = app.notices.filter((n) => n.answeredAt === undefined)
  const last = open.at(-1)
  return last?.stage === stage ? last : undefined
}

function InboxTable(props: {
  view: View
  catalog: Catalog
  items: readonly Application[]
  due: (app: Application) => Due
  href: (app: Application) => string
  caption: string
  noticedAt?: (app: Application) => string | undefined
}) {
  const { view, catalog } = props
  const { lang } = view
  if (props.items.length === 0) return <p>{tr(lang, 'none')}</p>
  return (
    <table>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t(lang, 'resource')}</th>
          <th scope="col">{t(lang, 'provider')}</th>
          <th scope="col">{tr(lang, 'consumer')}</th>
          <th scope="col">{t(lang, 'matter')}</th>
          <th scope="col">{t(lang, 'submittedAt')}</th>
          {props.noticedAt !== undefined && <th scope="col">{tr(lang, 'noticedAt')}</th>}
          <th scope="col">{t(lang, 'dueDate')}</th>
          <th scope="col">{t(lang, 'daysLeft')}</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((app) => {
          const due = props.due(app)
          const noticed = props.noticedAt?.(app)
          return (
            <tr data-application={app.id}>
              <th scope="row">
                <a href={props.href(app)}>
                  {catalog.resources.get(app.request.resource)?.name ?? app.request.resource}
                </a>
              </th>
              <td>{departmentName(catalog, app.provider)}</td>
              <td>{departmentName(catalog, app.consumer)}</td>
              <td>{matterName(catalog, app.request.matter)}</td>
              <td>{beijingTime(app.submittedAt)}</td>
              {props.noticedAt !== undefined && <td>{noticed === undefined ? '—' : beijingTime(noticed)}</td>}
              <td>{due.dueDate ?? '—'}</td>
              <td class="days-left">
                <DueText view={view} due={due} />
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

export function InboxPage(props: {
  view: View
  title: string
  catalog: Catalog
  waitingTitle: string
  waiting: readonly Application[]
  noticed: readonly Application[]
  stage: Stage
  truncated: boolean
  due: (app: Application) => Due
  href: (app: Application) => string
}) {
  const { view, catalog } = props
  const { lang } = view
  return (
    <Page view={view} title={props.title}>
      <section aria-labelledby="waiting-title">
        <h2 id="waiting-title">{`${props.waitingTitle}（${props.waiting.length}）`}</h2>
        <p class="muted">{tr(lang, 'oldestDueFirst')}</p>
        <InboxTable
          view={view}
          catalog={catalog}
          items={props.waiting}
          due={props.due}
          href={props.href}
          caption={props.waitingTitle}
        />
      </section>
      <section aria-labelledby="noticed-title">
        <h2 id="noticed-title">{`${tr(lang, 'noticedByUs')}（${props.noticed.length}）`}</h2>
        <InboxTable
          view={view}
          catalog={catalog}
          items={props.noticed}
          due={props.due}
          href={props.href}
          caption={tr(lang, 'noticedByUs')}
          noticedAt={(app) => openNoticeOf(app, props.stage)?.at}
        />
      </section>
      {props.truncated && <p class="muted">{tr(lang, 'moreNotShown')}</p>}
    </Page>
  )
}
