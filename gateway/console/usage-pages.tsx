/** @jsxImportSource hono/jsx */
import type { Catalog } from '../catalog/types.js'
import { Chart } from './chart.js'
import { type Lang, textsFor } from './i18n.js'
import { Page, type View } from './layout.js'
import {
  type Counts,
  daysOf,
  OVERFLOW_CODE,
  outcomesPerDay,
  overall,
  totalsBy,
  trendBy,
  type UsageAnswer,
  type UsageGroupKey,
} from './usage-summary.js'

/**
 * 使用情况 (the requesting department's own calls) and 谁在使用 (the provider's view: who calls its resources), drawn
 * from `GET /v1/usage` as the signed-in user's token sees it: a trend per day, totals per group, refusals and
 * failures counted apart. A failed API call is said plainly on the page.
 */

export const usageText = textsFor({
  consumerTitle: ['本部门的使用情况', 'My department’s usage'],
  providerTitle: ['谁在使用本部门的数据', 'Who uses my department’s data'],
  consumerIntro: [
    '本部门经网关调用各数源部门数据的次数（按北京时间统计），包括被拒绝和失败的调用。',
    'Your department’s calls to the providers’ data through the gateway (days in Beijing time), refused and failed calls included.',
  ],
  providerIntro: [
    '各使用部门按事项调用本部门数据资源的次数（按北京时间统计）。',
    'Calls by each consumer department, per matter, to your department’s resources (days in Beijing time).',
  ],
  from: ['起始日期', 'From'],
  to: ['截止日期', 'To'],
  rangeHint: ['最长 92 天。', 'At most 92 days.'],
  show: ['查询', 'Show'],
  failedTitle: ['未能取得使用情况', 'The usage could not be read'],
  unreadable: ['使用情况接口返回了无法识别的内容。', 'The usage API answered something the console cannot read.'],
  unavailable: ['使用情况接口暂不可用，请稍后再试。', 'The usage API is not available; try again later.'],
  badRange: [
    '查询期间有误：请填写起止日期（YYYY-MM-DD），起始不晚于截止，最长 92 天。',
    'The period is not valid: give both days (YYYY-MM-DD), the first not after the last, at most 92 days.',
  ],
  period: ['统计期间', 'Period'],
  calls: ['调用次数', 'Calls'],
  allowed: ['允许', 'Allowed'],
  refused: ['拒绝', 'Refused'],
  failed: ['失败', 'Failed'],
  noCalls: ['所选期间没有调用记录。', 'No calls in this period.'],
  trendByResource: ['每日调用量（按资源）', 'Calls per day, by resource'],
  trendByConsumer: ['每日调用量（按使用部门）', 'Calls per day, by consumer department'],
  outcomes: ['每日调用结果', 'Outcomes per day'],
  others: ['其他', 'Others'],
  dataTable: ['数据表', 'Data table'],
  totalsConsumer: ['按数源部门、事项和资源汇总', 'Totals by provider, matter and resource'],
  totalsProvider: ['按使用部门、事项和资源汇总', 'Totals by consumer department, matter and resource'],
  provider: ['数源部门', 'Provider'],
  consumer: ['使用部门', 'Consumer department'],
  matter: ['事项', 'Matter'],
  resource: ['资源', 'Resource'],
  day: ['日期', 'Day'],
  unnamed: ['（未声明）', '(none given)'],
  overflow: ['（其余组合合计）', '(all other combinations)'],
})

/** What the page shows when the API call did not give an answer it could read. */
export interface UsageFailure {
  readonly status: number
  /** The problem's title and detail, when the API gave a problem document. */
  readonly title?: string
  readonly detail?: string
}

type UsageView = UsageAnswer['view']

/**
 * `名称（code）`: the catalog's name beside the code, or the code alone when the catalog has no such thing. The API
 * gives '' when a call named none (no token, no matter) and `*` for the rows past its tally's bound.
 */
function named(lang: Lang, catalog: Catalog, kind: UsageGroupKey, code: string): string {
  if (code === '') return usageText(lang, 'unnamed')
  if (code === OVERFLOW_CODE) return usageText(lang, 'overflow')
  const name =
    kind === 'resource'
      ? catalog.resources.get(code)?.name
      : kind === 'matter'
        ? catalog.matters.get(code)?.name
        : catalog.departments.get(code)?.name
  return name === undefined ? code : `${name}（${code}）`
}

/** In the page's language: a bad range is the user's to correct; anything else is the API's failure. */
function failureText(lang: Lang, failure: UsageFailure): string {
  if (failure.status === 200) return usageText(lang, 'unreadable')
  if (failure.status === 400) return usageText(lang, 'badRange')
  return usageText(lang, 'unavailable')
}

function RangeForm(props: { lang: Lang; action: string; from: string; to: string }) {
  const { lang } = props
  return (
    <form method="get" action={props.action} class="search">
      <div>
        <label for="from">{usageText(lang, 'from')}</label>
        <input type="date" id="from" name="from" value={props.from} aria-describedby="range-hint" />
      </div>
      <div>
        <label for="to">{usageText(lang, 'to')}</label>
        <input type="date" id="to" name="to" value={props.to} aria-describedby="range-hint" />
      </div>
      <button type="submit">{usageText(lang, 'show')}</button>
      <span id="range-hint" class="muted">
        {usageText(lang, 'rangeHint')}
      </span>
    </form>
  )
}

function CountsList(props: { lang: Lang; counts: Counts }) {
  const { lang, counts } = props
  return (
    <dl class="stats">
      {(['calls', 'allowed', 'refused', 'failed'] as const).map((k) => (
        <div>
          <dt>{usageText(lang, k)}</dt>
          <dd id={`total-${k}`} class={k !== 'calls' && k !== 'allowed' && counts[k] > 0 ? 'warn' : undefined}>
            {counts[k]}
          </dd>
        </div>
      ))}
    </dl>
  )
}

function TotalsTable(props: { lang: Lang; catalog: Catalog; answer: UsageAnswer; by: readonly UsageGroupKey[] }) {
  const { lang, catalog, answer, by } = props
  const caption = usageText(lang, answer.view === 'consumer' ? 'totalsConsumer' : 'totalsProvider')
  return (
    <table class="usage-totals">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {by.map((k) => (
            <th scope="col">{usageText(lang, k)}</th>
          ))}
          {(['calls', 'allowed', 'refused', 'failed'] as const).map((k) => (
            <th scope="col" class="number">
              {usageText(lang, k)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {totalsBy(answer.rows, by).map((total) => (
          <tr>
            {total.keys.map((code, i) =>
              i === 0 ? (
                <th scope="row">{named(lang, catalog, by[i] as UsageGroupKey, code)}</th>
              ) : (
                <td>{named(lang, catalog, by[i] as UsageGroupKey, code)}</td>
              ),
            )}
            <td class="number">{total.calls}</td>
            <td class="number">{total.allowed}</td>
            <td class={total.refused > 0 ? 'number warn' : 'number'}>{total.refused}</td>
            <td class={total.failed > 0 ? 'number warn' : 'number'}>{total.failed}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function UsageCharts(props: { lang: Lang; catalog: Catalog; answer: UsageAnswer }) {
  const { lang, catalog, answer } = props
  const days = daysOf(answer.from, answer.to)
  const others = usageText(lang, 'others')
  const yName = usageText(lang, 'calls')
  const tableLabel = usageText(lang, 'dataTable')
  if (answer.view === 'provider') {
    const series = trendBy(
      answer.rows,
      days,
      (r) => r.consumer,
      (k) => named(lang, catalog, 'consumer', k),
      others,
    )
    const spec = { kind: 'stacked-bar' as const, categories: days, series, yName }
    return (
      <Chart
        id="provider-trend"
        title={usageText(lang, 'trendByConsumer')}
        lang={lang}
        spec={spec}
        {...{ tableLabel }}
      />
    )
  }
  const byResource = trendBy(
    answer.rows,
    days,
    (r) => r.resource,
    (k) => named(lang, catalog, 'resource', k),
    others,
  )
  const outcomes = outcomesPerDay(answer.rows, days, {
    allowed: usageText(lang, 'allowed'),
    refused: usageText(lang, 'refused'),
    failed: usageText(lang, 'failed'),
  })
  return (
    <>
      <Chart
        id="usage-trend"
        title={usageText(lang, 'trendByResource')}
        lang={lang}
        spec={{ kind: 'stacked-bar', categories: days, series: byResource, yName }}
        tableLabel={tableLabel}
      />
      <Chart
        id="usage-outcomes"
        title={usageText(lang, 'outcomes')}
        lang={lang}
        spec={{ kind: 'stacked-bar', categories: days, series: outcomes, yName }}
        tableLabel={tableLabel}
      />
    </>
  )
}

export function UsagePage(props: {
  view: View
  catalog: Catalog
  usageView: UsageView
  from: string
  to: string
  answer?: UsageAnswer
  failure?: UsageFailure
}) {
  const { view, catalog, usageView, answer, failure } = props
  const { lang } = view
  const consumer = usageView === 'consumer'
  const action = consumer ? '/console/usage' : '/console/provider/usage'
  const by: readonly UsageGroupKey[] = consumer
    ? ['provider', 'matter', 'resource']
    : ['consumer', 'matter', 'resource']
  return (
    <Page view={view} title={usageText(lang, consumer ? 'consumerTitle' : 'providerTitle')}>
      <p>{usageText(lang, consumer ? 'consumerIntro' : 'providerIntro')}</p>
      <RangeForm lang={lang} action={action} from={answer?.from ?? props.from} to={answer?.to ?? props.to} />
      {failure !== undefined && (
        <div class="summary" role="alert" id="usage-failure">
          <h2>{usageText(lang, 'failedTitle')}</h2>
          <p>{failureText(lang, failure)}</p>
          <p class="muted">
            {[`HTTP ${failure.status}`, failure.title, failure.detail].filter((x) => x !== undefined).join(' · ')}
          </p>
        </div>
      )}
      {answer !== undefined && (
        <>
          <p class="muted">{`${usageText(lang, 'period')}：${answer.from} – ${answer.to}`}</p>
          <CountsList lang={lang} counts={overall(answer.rows)} />
          {answer.rows.length === 0 ? (
            <p>{usageText(lang, 'noCalls')}</p>
          ) : (
            <>
              <UsageCharts lang={lang} catalog={catalog} answer={answer} />
              <TotalsTable lang={lang} catalog={catalog} answer={answer} by={by} />
            </>
          )}
        </>
      )}
    </Page>
  )
}
