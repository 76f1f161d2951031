import type { AuditStats } from '../audit/usage-stats.js'
import type { Catalog } from '../catalog/types.js'
import type { ChartSpec } from './chart.js'
import { type Lang, textsFor } from './i18n.js'

/**
 * The auditor's dashboards as data: what `GET /v1/audit/stats` answers, turned into the charts' specs (days on the
 * x axis, names beside the codes from the catalog) and read defensively — an answer not in the documented shape is
 * said to be so instead of drawn.
 */

export const dashboardText = textsFor({
  title: ['审计统计图表', 'Audit dashboards'],
  intro: [
    '按北京时间逐日统计所选期间的全部交换调用（每次查看都记入审计日志）。工作时间为工作日 08:30–17:30，节假日和调休按国务院公布的工作日历。',
    'Every exchange call of the period, per day in Beijing time (each view is itself recorded in the audit log). Office hours are 08:30–17:30 on working days of the official calendar, holidays and 调休 included.',
  ],
  from: ['起始日期', 'From'],
  to: ['截止日期', 'To'],
  rangeHint: ['北京时间，起止日期均含，最长 92 天。', 'Beijing time, both days included, at most 92 days.'],
  show: ['查询', 'Show'],
  problems: ['查询条件有误：', 'The period is not valid:'],
  badDate: ['请填写有效日期（YYYY-MM-DD）。', 'Give a real date (YYYY-MM-DD).'],
  tooLong: ['统计期间最长 92 天（起止日期均含）。', 'The period is at most 92 days, both days included.'],
  badOrder: ['起始日期不能晚于截止日期。', 'The first day may not be after the last.'],
  unreadable: ['统计接口返回了无法识别的内容。', 'The statistics API answered something the console cannot read.'],
  unavailable: ['统计接口暂不可用，请稍后再试。', 'The statistics API is not available; try again later.'],
  records: ['统计的调用记录', 'Calls counted'],
  period: ['统计期间', 'Period'],
  byDepartment: ['每日调用量（按请求部门）', 'Calls per day, by requesting department'],
  byResource: ['各资源的调用量', 'Calls by resource'],
  denialRate: ['每日拒绝率', 'Refusal rate per day'],
  afterHours: ['每日工作时间外调用', 'Calls after office hours, per day'],
  calls: ['调用次数', 'Calls'],
  allowed: ['允许', 'Allowed'],
  refused: ['拒绝', 'Refused'],
  failed: ['失败', 'Failed'],
  deniedRate: ['访问被拒（授权判定）%', 'Access denied (decision) %'],
  refusedRate: ['全部拒绝（含超限额等）%', 'All refusals (quota and others too) %'],
  afterHoursCalls: ['工作时间外调用', 'Calls after hours'],
  percent: ['%', '%'],
  day: ['日期', 'Day'],
  resource: ['资源', 'Resource'],
  others: ['其他', 'Others'],
  unnamed: ['（未声明）', '(none given)'],
  overflow: ['（其余组合合计）', '(all other combinations)'],
  officersTitle: ['数据主体查询较多的人员', 'Officers who looked up many data subjects'],
  officersRule: [
    '数据主体：调用参数和返回记录中的企业或个人（只计其密钥摘要）。同一部门内，不同数据主体数不少于 {min} 个且超过该部门其他人员中位数 {factor} 倍的，标为“异常偏多”；部门内只有一人时不作比较。',
    'Data subjects: the companies and people named in a call’s parameters and in what it released (counted by their keyed digests). An officer with at least {min} distinct subjects and more than {factor} times the median of the other officers of the department is marked “unusually many”; an officer alone in the department is not compared.',
  ],
  officer: ['人员', 'Officer'],
  department: ['部门', 'Department'],
  subjects: ['不同数据主体', 'Distinct subjects'],
  peerMedian: ['同部门其他人员中位数', 'Median of the department’s others'],
  assessment: ['评估', 'Assessment'],
  flagged: ['异常偏多', 'Unusually many'],
  usual: ['正常', 'Usual'],
  notCompared: ['无可比较人员', 'Nobody to compare with'],
  atLeast: ['至少', 'at least'],
  noOfficers: ['所选期间没有人员调用记录。', 'No officer made a call in this period.'],
  officersShown: ['共 {count} 名人员，列出前 {shown} 名。', '{count} officers; the first {shown} are listed.'],
})

export type DashboardText = Parameters<typeof dashboardText>[1]

/** Series beyond this many are summed into one "others", so a chart stays readable. */
const MAX_SERIES = 8

/** `名称（code）`, or the code alone when the catalog does not know it; '' and `*` in words. */
export function nameOf(lang: Lang, known: Catalog['departments'] | Catalog['resources'], code: string): string {
  if (code === '') return dashboardText(lang, 'unnamed')
  if (code === '*') return dashboardText(lang, 'overflow')
  const name = known.get(code)?.name
  return name === undefined ? code : `${name}（${code}）`
}

/** Calls per day, one stacked series per requesting department, the busiest first. */
export function callsByDepartment(lang: Lang, catalog: Catalog, stats: AuditStats): ChartSpec {
  const days = stats.days.map((d) => d.day)
  const index = new Map(days.map((d, i) => [d, i]))
  const byDept = new Map<string, number[]>()
  for (const row of stats.rows) {
    const i = index.get(row.day)
    if (i === undefined) continue
    const data = byDept.get(row.consumer) ?? days.map(() => 0)
    data[i] = (data[i] ?? 0) + row.calls
    byDept.set(row.consumer, data)
  }
  const total = (data: readonly number[]) => data.reduce((a, b) => a + b, 0)
  const ranked = [...byDept].sort(([a, x], [b, y]) => total(y) - total(x) || a.localeCompare(b))
  const shown = ranked.length > MAX_SERIES ? ranked.slice(0, MAX_SERIES - 1) : ranked
  const series = shown.map(([code, data]) => ({ name: nameOf(lang, catalog.departments, code), data }))
  const rest = ranked.slice(shown.length)
  if (rest.length > 0) {
    const data = days.map((_, i) => rest.reduce((sum, [, d]) => sum + (d[i] ?? 0), 0))
    series.push({ name: dashboardText(lang, 'others'), data })
  }
  return { kind: 'stacked-bar', categories: days, series, yName: dashboardText(lang, 'calls') }
}

/** Calls per resource, stacked by how they ended, the busiest resource first. */
export function callsByResource(lang: Lang, catalog: Catalog, stats: AuditStats): ChartSpec {
  const totals = new Map<string, { allowed: number; refused: number; failed: number }>()
  for (const row of stats.rows) {
    const t = totals.get(row.resource) ?? { allowed: 0, refused: 0, failed: 0 }
    totals.set(row.resource, {
      allowed: t.allowed + row.allowed,
      refused: t.refused + row.refused,
      failed: t.failed + row.failed,
    })
  }
  const sum = (t: { allowed: number; refused: number; failed: number }) => t.allowed + t.refused + t.failed
  const ranked = [...totals].sort(([a, x], [b, y]) => sum(y) - sum(x) || a.localeCompare(b))
  const outcomes = ['allowed', 'refused', 'failed'] as const
  return {
    kind: 'stacked-bar',
    categories: ranked.map(([code]) => nameOf(lang, catalog.resources, code)),
    series: outcomes.map((o) => ({ name: dashboardText(lang, o), data: ranked.map(([, t]) => t[o]) })),
    yName: dashboardText(lang, 'calls'),
  }
}

const percentOf = (part: number, whole: number): number => (whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10)

/** Per day: the share of calls denied by the access decision, and of all refusals (quota, parameters … too). */
export function refusalRate(lang: Lang, stats: AuditStats): ChartSpec {
  return {
    kind: 'line',
    categories: stats.days.map((d) => d.day),
    series: [
      { name: dashboardText(lang, 'deniedRate'), data: stats.days.map((d) => percentOf(d.denied, d.calls)) },
      { name: dashboardText(lang, 'refusedRate'), data: stats.days.map((d) => percentOf(d.refused, d.calls)) },
    ],
    yName: dashboardText(lang, 'percent'),
    percent: true,
  }
}

export function afterHoursCalls(lang: Lang, stats: AuditStats): ChartSpec {
  return {
    kind: 'bar',
    categories: stats.days.map((d) => d.day),
    series: [{ name: dashboardText(lang, 'afterHoursCalls'), data: stats.days.map((d) => d.afterHours) }],
    yName: dashboardText(lang, 'calls'),
  }
}

/** An API problem line (`from: expected a date …`) in the page's language; one it does not know as it is. */
export function problemText(lang: Lang, error: string): string {
  if (/expected a date/.test(error)) return dashboardText(lang, 'badDate')
  if (/at most \d+ days/.test(error)) return dashboardText(lang, 'tooLong')
  if (/must not be after/.test(error)) return dashboardText(lang, 'badOrder')
  return error
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The answer, or undefined when it is not the documented shape (each day, row and officer checked). */
export function auditStatsOf(body: unknown): AuditStats | undefined {
  if (!isObject(body) || typeof body.from !== 'string' || typeof body.to !== 'string') return undefined
  const { rows, days, officers } = body
  if (!Array.isArray(rows) || !Array.isArray(days) || !Array.isArray(officers) || !isCount(body.officerCount)) {
    return undefined
  }
  const dayOk = (d: unknown) => isObject(d) && typeof d.day === 'string' && isCount(d.calls) && isCount(d.afterHours)
  const rowOk = (r: unknown) =>
    isObject(r) && typeof r.day === 'string' && typeof r.consumer === 'string' && typeof r.resource === 'string'
  const officerOk = (o: unknown) => isObject(o) && typeof o.officer === 'string' && isCount(o.subjects)
  if (!days.every(dayOk) || !rows.every(rowOk) || !officers.every(officerOk)) return undefined
  return body as unknown as AuditStats
}
