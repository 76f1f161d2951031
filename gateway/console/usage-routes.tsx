/** @jsxImportSource hono/jsx */
import { addCalendarDays, shanghaiDate } from '../../kernel/working-calendar.js'
import type { ConsoleApp, ConsoleContext, ConsoleKit } from './kit.js'
import type { ConsoleRole } from './session.js'
import { type UsageFailure, UsagePage } from './usage-pages.js'
import { type UsageAnswer, usageAnswerOf } from './usage-summary.js'

/** Days shown when the page is opened without a range: the last 30, today included. */
const DEFAULT_DAYS = 30
/** Longer query values are not dates: cut before they reach the API (which says what is wrong with them). */
const MAX_PARAM_LENGTH = 32

/**
 * The usage pages call `GET /v1/usage` through the kit with the session's token, so the API decides what this
 * department may see, exactly as for any client of it.
 */
export function registerUsagePages(app: ConsoleApp, kit: ConsoleKit): void {
  app.get('/usage', (c) => usagePage(kit, c, 'consumer', ['applicant']))
  app.get('/provider/usage', (c) => usagePage(kit, c, 'provider', ['reviewer']))
}

async function usagePage(
  kit: ConsoleKit,
  c: ConsoleContext,
  usageView: UsageAnswer['view'],
  roles: readonly ConsoleRole[],
): Promise<Response> {
  const actor = await kit.actorFor(c, roles)
  if (actor instanceof Response) return actor
  const today = shanghaiDate(kit.deps.clock.now())
  const from = (c.req.query('from') || addCalendarDays(today, 1 - DEFAULT_DAYS)).slice(0, MAX_PARAM_LENGTH)
  const to = (c.req.query('to') || today).slice(0, MAX_PARAM_LENGTH)
  const outcome = await readUsage(kit, c, new URLSearchParams({ view: usageView, from, to }))
  const page = (
    <UsagePage
      view={kit.view(c)}
      catalog={kit.deps.snapshot().catalog}
      usageView={usageView}
      from={from}
      to={to}
      {...outcome}
    />
  )
  return kit.render(c, 'failure' in outcome ? failureStatus(outcome.failure) : 200, page)
}

async function readUsage(
  kit: ConsoleKit,
  c: ConsoleContext,
  params: URLSearchParams,
): Promise<{ answer: UsageAnswer } | { failure: UsageFailure }> {
  const res = await kit.api(c, `/v1/usage?${params}`, { headers: { accept: 'application/json' } })
  const body: unknown = await res.json().catch(() => undefined)
  if (!res.ok) return { failure: { status: res.status, ...problemText(body) } }
  const answer = usageAnswerOf(body)
  if (answer === undefined) {
    kit.deps.log.warn({ status: res.status }, 'console: usage answer not in the documented shape')
    return { failure: { status: res.status } }
  }
  return { answer }
}

/** The user's own mistake (a bad range) or a refusal keeps the API's status; anything else is the API failing. */
function failureStatus(failure: UsageFailure): number {
  return failure.status === 400 || failure.status === 403 ? failure.status : 502
}

/** The title and detail of an RFC 9457 problem document, when the answer is one. */
function problemText(body: unknown): { title?: string; detail?: string } {
  if (typeof body !== 'object' || body === null) return {}
  const { title, detail } = body as { title?: unknown; detail?: unknown }
  return {
    ...(typeof title === 'string' ? { title } : {}),
    ...(typeof detail === 'string' ? { detail } : {}),
  }
}
