/** @jsxImportSource hono/jsx */
import { addCalendarDays, shanghaiDate } from '../../kernel/working-calendar.js'
import type { AuditStats } from '../audit/usage-stats.js'
import { auditStatsOf, problemText } from './dashboard-charts.js'
import { type DashboardForm, DashboardPage } from './dashboard-page.js'
import type { Lang } from './i18n.js'
import type { ConsoleApp, ConsoleContext, ConsoleKit } from './kit.js'

/** Days shown when the page is opened without a range: the last 30, today included. */
const DEFAULT_DAYS = 30
/** Longer values are no dates: cut before they reach the API (which says what is wrong with them). */
const MAX_PARAM_LENGTH = 32

/**
 * The auditor's dashboards (`/console/audit/dashboard`): a GET form of two days (no subject, so nothing to keep out
 * of the URL), and `GET /v1/audit/stats` through the kit with the session's token — the API checks the scope and
 * records the read, as for any client.
 */
export function registerDashboardPages(app: ConsoleApp, kit: ConsoleKit): void {
  app.get('/audit/dashboard', async (c) => {
    const actor = await kit.actorFor(c, ['auditor'])
    if (actor instanceof Response) return actor
    const today = shanghaiDate(kit.deps.clock.now())
    const from = (c.req.query('from') || addCalendarDays(today, 1 - DEFAULT_DAYS)).slice(0, MAX_PARAM_LENGTH)
    const to = (c.req.query('to') || today).slice(0, MAX_PARAM_LENGTH)
    const read = await readStats(kit, c, new URLSearchParams({ from, to }))
    if (read.status === 401) return c.redirect('/console/sign-in', 303)
    if (read.status === 403) return kit.message(c, 403, 'forbiddenTitle', 'forbidden')
    const form: DashboardForm = { from, to, problems: read.problems ?? new Map() }
    const page = (
      <DashboardPage
        view={kit.view(c)}
        catalog={kit.deps.snapshot().catalog}
        form={form}
        {...(read.stats === undefined ? {} : { stats: read.stats })}
        {...(read.failure === undefined ? {} : { failure: read.failure })}
      />
    )
    return kit.render(c, read.status, page)
  })
}

interface StatsRead {
  /** The page's status: the API's for the user's own mistakes (400) and refusals, 502 when it failed. */
  readonly status: number
  readonly stats?: AuditStats
  readonly problems?: ReadonlyMap<string, readonly string[]>
  readonly failure?: 'unreadable' | 'unavailable'
}

async function readStats(kit: ConsoleKit, c: ConsoleContext, params: URLSearchParams): Promise<StatsRead> {
  const res = await kit.api(c, `/v1/audit/stats?${params}`, { headers: { accept: 'application/json' } })
  const body: unknown = await res.json().catch(() => undefined)
  if (res.status === 401 || res.status === 403) return { status: res.status }
  if (res.status === 400) {
    const errors = (body as { errors?: unknown } | undefined)?.errors
    return { status: 400, problems: byField(c.get('lang'), Array.isArray(errors) ? errors.map(String) : []) }
  }
  if (!res.ok) return { status: 502, failure: 'unavailable' }
  const stats = auditStatsOf(body)
  if (stats === undefined) {
    kit.deps.log.warn({ status: res.status }, 'console: audit stats answer not in the documented shape')
    return { status: 502, failure: 'unreadable' }
  }
  return { status: 200, stats }
}

/** `from: …` and `to: …` go beside their inputs, in the page's language; anything else to the summary only. */
function byField(lang: Lang, errors: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const error of errors.length > 0 ? errors : ['query-invalid']) {
    const field = /^(from|to): /.exec(error)?.[1] ?? ''
    out.set(field, [...(out.get(field) ?? []), problemText(lang, error)])
  }
  return out
}
