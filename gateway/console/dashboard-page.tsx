/** @jsxImportSource hono/jsx */
import type { AuditStats } from '../audit/usage-stats.js'
import type { Catalog } from '../catalog/types.js'
import { Chart } from './chart.js'
import {
  afterHoursCalls,
  callsByDepartment,
  callsByResource,
  dashboardText,
  nameOf,
  refusalRate,
} from './dashboard-charts.js'
import type { Lang } from './i18n.js'
import { Page, type View } from './layout.js'

/**
 * 统计图表: the auditor's dashboards over a period of Beijing days — calls per day by requesting department, calls
 * by resource, the refusal rate, calls after office hours — and the officers who looked up the most data subjects,
 * the unusual ones said so in words (not by colour alone).
 */

/** The range form's values and, after a refused query, the API's problems by field. */
export interface DashboardForm {
  readonly from: string
  readonly to: string
  /** `field: message` lines of a 400 query-invalid, by the field they name (`from`, `to`, or '' for the rest). */
  readonly problems: ReadonlyMap<string, readonly string[]>
}

export function DashboardPage(props: {
  view: View
  catalog: Catalog
  form: DashboardForm
  stats?: AuditStats
  /** Said instead of the charts when the API gave nothing to draw. */
  failure?: 'unreadable' | 'unavailable'
}) {
  const { view, catalog, form, stats } = props
  const { lang } = view
  return (
    <Page view={view} title={dashboardText(lang, 'title')}>
      <p>{dashboardText(lang, 'intro')}</p>
      <RangeForm lang={lang} form={form} />
      {props.failure !== undefined && (
        <p class="error" role="alert">
          {dashboardText(lang, props.failure)}
        </p>
      )}
      {stats !== undefined && (
        <>
          <p aria-live="polite">
            {dashboardText(lang, 'period')}: {stats.from} – {stats.to} · {dashboardText(lang, 'records')}:{' '}
            <strong id="stats-records">{stats.records}</strong>
          </p>
          <Chart
            id="chart-departments"
            title={dashboardText(lang, 'byDepartment')}
            lang={lang}
            spec={callsByDepartment(lang, catalog, stats)}
          />
          <Chart
            id="chart-resources"
            title={dashboardText(lang, 'byResource')}
            lang={lang}
            spec={callsByResource(lang, catalog, stats)}
          />
          <Chart
            id="chart-refusals"
            title={dashboardText(lang, 'denialRate')}
            lang={lang}
            spec={refusalRate(lang, stats)}
          />
          <Chart
            id="chart-after-hours"
            title={dashboardText(lang, 'afterHours')}
            lang={lang}
            spec={afterHoursCalls(lang, stats)}
          />
          <OfficerTable lang={lang} catalog={catalog} stats={stats} />
        </>
      )}
    </Page>
  )
}

function RangeForm(props: { lang: Lang; form: DashboardForm }) {
  const { lang, form } = props
  const field = (name: 'from' | 'to') => {
    const problems = form.problems.get(name)
    const describedBy = problems === undefined ? 'range-hint' : `range-hint ${name}-error`
    return (
      <div>
        <label for={name}>{dashboardText(lang, name)}</label>
        <input
          type="date"
          id={name}
          name={name}
          value={form[name]}
          aria-describedby={describedBy}
          aria-invalid={problems === undefined ? undefined : 'true'}
        />
        {problems !== undefined && (
          <p id={`${name}-error`} class="error">
            {problems.join('；')}
          </p>
        )}
      </div>
    )
  }
  return (
    <form method="get" action="/console/audit/dashboard">
      {form.problems.size > 0 && (
        <div class="summary" role="alert" tabindex={-1} data-focus="">
          <p>{dashboardText(lang, 'problems')}</p>
          <ul>
            {[...form.problems.values()].flat().map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="search">
        {field('from')}
        {field('to')}
        <button type="submit">{dashboardText(lang, 'show')}</button>
      </div>
      <p id="range-hint" class="muted">
        {dashboardText(lang, 'rangeHint')}
      </p>
    </form>
  )
}

function OfficerTable(props: { lang: Lang; catalog: Catalog; stats: AuditStats }) {
  const { lang, catalog, stats } = props
  const officers = stats.officers.filter((o) => o.subjects > 0 || o.flagged)
  const rule = dashboardText(lang, 'officersRule')
    .replace('{min}', String(stats.officerRule.minSubjects))
    .replace('{factor}', String(stats.officerRule.factor))
  return (
    <section aria-labelledby="officers-title">
      <h2 id="officers-title">{dashboardText(lang, 'officersTitle')}</h2>
      <p class="muted">{rule}</p>
      {officers.length === 0 ? (
        <p>{dashboardText(lang, 'noOfficers')}</p>
      ) : (
        <table id="officers">
          <thead>
            <tr>
              <th scope="col">{dashboardText(lang, 'officer')}</th>
              <th scope="col">{dashboardText(lang, 'department')}</th>
              <th scope="col">{dashboardText(lang, 'calls')}</th>
              <th scope="col">{dashboardText(lang, 'subjects')}</th>
              <th scope="col">{dashboardText(lang, 'peerMedian')}</th>
              <th scope="col">{dashboardText(lang, 'assessment')}</th>
            </tr>
          </thead>
          <tbody>
            {officers.map((o) => (
              <tr>
                <th scope="row">{o.sub}</th>
                <td>{nameOf(lang, catalog.departments, o.dept)}</td>
                <td>{o.calls}</td>
                <td>{o.subjectsCapped ? `${dashboardText(lang, 'atLeast')} ${o.subjects}` : o.subjects}</td>
                <td>{o.peerMedian ?? '—'}</td>
                <td class={o.flagged ? 'warn' : undefined}>
                  {o.flagged
                    ? `⚠ ${dashboardText(lang, 'flagged')}`
                    : dashboardText(lang, o.peerMedian === null ? 'notCompared' : 'usual')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {stats.officerCount > stats.officers.length && (
        <p class="muted">
          {dashboardText(lang, 'officersShown')
            .replace('{count}', String(stats.officerCount))
            .replace('{shown}', String(stats.officers.length))}
        </p>
      )}
    </section>
  )
}
