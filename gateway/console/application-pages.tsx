/** @jsxImportSource hono/jsx */
import type { WorkingCalendar } from '../../kernel/working-calendar.js'
import type { Catalog } from '../catalog/types.js'
import { daysLeft } from '../sharing/deadlines.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import { ApplicationActions } from './consumer-actions.js'
import { t, tOf } from './i18n.js'
import { Page, type View } from './layout.js'
import { HistoryTable } from './review-request.js'

/** 我的申请 and one application's page: state in words, the running check's due date and working days left. */

export interface Deadline {
  readonly dueDate: string | undefined
  /** Working days from today to the due date; while paused, what the stage has left. */
  readonly left: number | undefined
  readonly paused: boolean
}

export function deadlineOf(app: Application, calendar: WorkingCalendar, today: string): Deadline {
  const clock = app.clock
  if (clock === undefined) return { dueDate: undefined, left: undefined, paused: false }
  if (clock.paused || clock.dueDate === undefined) return { dueDate: undefined, left: daysLeft(clock), paused: true }
  return { dueDate: clock.dueDate, left: calendar.workingDaysBetween(today, clock.dueDate), paused: false }
}

const openNotices = (app: Application) =>
  app.state === 'awaiting-applicant' ? app.notices.filter((n) => n.answeredAt === undefined) : []

const resourceName = (catalog: Catalog, id: string) => catalog.resources.get(id)?.name ?? id

function DeadlineText(props: { view: View; deadline: Deadline }) {
  const { lang } = props.view
  const d = props.deadline
  if (d.paused) return <>{`${t(lang, 'paused')} · ${t(lang, 'daysLeft')} ${d.left}`}</>
  if (d.dueDate === undefined) return <>—</>
  return <>{`${d.dueDate} · ${t(lang, 'daysLeft')} ${d.left}`}</>
}

export function ApplicationListPage(props: {
  view: View
  catalog: Catalog
  items: readonly Application[]
  deadline: (app: Application) => Deadline
}) {
  const { view, catalog, items } = props
  const { lang } = view
  return (
    <Page view={view} title={t(lang, 'myApplications')}>
      <p>
        <a href="/console/catalog">{t(lang, 'newApplication')}</a>
      </p>
      {items.length === 0 ? (
        <p>{t(lang, 'noApplications')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t(lang, 'resource')}</th>
              <th scope="col">{t(lang, 'matter')}</th>
              <th scope="col">{t(lang, 'state')}</th>
              <th scope="col">{t(lang, 'dueDate')}</th>
              <th scope="col">{t(lang, 'notices')}</th>
              <th scope="col">{t(lang, 'submittedAt')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((app) => (
              <tr>
                <th scope="row">
                  <a href={`/console/applications/${app.id}`}>{resourceName(catalog, app.request.resource)}</a>
                </th>
                <td>{catalog.matters.get(app.request.matter)?.name ?? app.request.matter}</td>
                <td>{tOf(lang, 'state', app.state)}</td>
                <td>
                  <DeadlineText view={view} deadline={props.deadline(app)} />
                </td>
                <td>{openNotices(app).length}</td>
                <td>{app.submittedAt}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  )
}

export function ApplicationPage(props: {
  view: View
  catalog: Catalog
  app: Application
  history: readonly SharingEvent[]
  deadline: Deadline
}) {
  const { view, catalog, app } = props
  const { lang } = view
  const r = app.request
  return (
    <Page view={view} title={`${t(lang, 'applyTitle')}：${resourceName(catalog, r.resource)}`}>
      <p class="muted">{app.id}</p>
      <dl>
        <dt>{t(lang, 'state')}</dt>
        <dd id="state">{tOf(lang, 'state', app.state)}</dd>
        <dt>{t(lang, 'dueDate')}</dt>
        <dd id="due">
          <DeadlineText view={view} deadline={props.deadline} />
        </dd>
        <dt>{t(lang, 'matter')}</dt>
        <dd>{`${catalog.matters.get(r.matter)?.name ?? r.matter}（${r.matter}）`}</dd>
        <dt>{t(lang, 'mode')}</dt>
        <dd>{tOf(lang, 'mode', r.mode)}</dd>
        <dt>{t(lang, 'usage')}</dt>
        <dd>{r.usage}</dd>
        <dt>{t(lang, 'fieldsWanted')}</dt>
        <dd>
          {`${t(lang, 'clear')}: ${r.fields.join(', ') || '—'} · ${t(lang, 'masked')}: ${r.masked.join(', ') || '—'}`}
        </dd>
        <dt>{t(lang, 'legalBasis')}</dt>
        <dd>{r.legalBasis}</dd>
        <dt>{t(lang, 'scene')}</dt>
        <dd>{r.scene}</dd>
        <dt>{t(lang, 'scopeOfUse')}</dt>
        <dd>{r.scopeOfUse}</dd>
        <dt>{t(lang, 'validTo')}</dt>
        <dd>{r.validTo}</dd>
        {app.decision !== undefined && (
          <>
            <dt>{t(lang, 'decision')}</dt>
            <dd>
              {tOf(lang, 'state', app.decision.outcome)}
              {app.decision.reason !== undefined && ` — ${t(lang, 'reason')}: ${app.decision.reason}`}
            </dd>
          </>
        )}
      </dl>
      <ApplicationActions view={view} app={app} />
      {openNotices(app).map((notice) => (
        <section class="card" aria-label={t(lang, 'notices')}>
          <h2>{t(lang, 'notices')}</h2>
          <ul>
            {notice.items.map((item) => (
              <li>
                <code>{item.pointer}</code> {item.message}
              </li>
            ))}
          </ul>
        </section>
      ))}
      <HistoryTable view={view} catalog={catalog} app={app} history={props.history} />
    </Page>
  )
}
