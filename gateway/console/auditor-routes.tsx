/** @jsxImportSource hono/jsx */
import { shanghaiDate } from '../../kernel/working-calendar.js'
import type { LogEntry } from '../audit/entry.js'
import { ApplicationPage, deadlineOf } from './application-pages.js'
import { emptySearch, fieldProblems, filterParams, recordsQuery, type SearchForm, searchFrom } from './audit-filter.js'
import { lookUpGrant } from './audit-record-grant.js'
import { RecordPage } from './audit-record-page.js'
import { SearchPage, type SearchResults } from './audit-search-page.js'
import { type ConsoleApp, type ConsoleContext, type ConsoleKit, render } from './kit.js'

/**
 * The auditor's pages: the access search, one record with its grant and its receipt checked in the browser, the
 * exports, and the applications behind live grants. Every read of the log goes through the auditors' API with the
 * session's token (`kit.api`), so its scope check and its `audit.read` record apply to the console as to any
 * client; the sharing workflow is read with the auditor's actor, as the API routes do. A subject identifier
 * arrives in a POST body and goes only into the in-process API call: never a URL the browser sees, never a log.
 */
export function registerAuditorPages(app: ConsoleApp, kit: ConsoleKit): void {
  const { deps, view, actorFor, api, message } = kit
  const auditorOnly = ['auditor'] as const

  const searchPage = (c: ConsoleContext, status: number, search: SearchForm, extra: Partial<PageExtras> = {}) =>
    render(
      c,
      status,
      <SearchPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        search={search}
        problems={extra.problems ?? []}
        results={extra.results}
      />,
    )

  /** An API refusal as a page: its `query-invalid` problems at their fields, the rest as the console's pages. */
  async function refused(c: ConsoleContext, search: SearchForm, res: Response): Promise<Response> {
    const problem = (await res.json().catch(() => ({}))) as { code?: string; errors?: unknown }
    if (res.status === 400 && problem.code === 'query-invalid' && Array.isArray(problem.errors)) {
      return searchPage(c, 400, search, { problems: fieldProblems(problem.errors.map(String)) })
    }
    return apiFailure(c, res.status)
  }

  function apiFailure(c: ConsoleContext, status: number): Promise<Response> | Response {
    if (status === 401) return c.redirect('/console/sign-in', 303)
    if (status === 403) return message(c, 403, 'forbiddenTitle', 'forbidden')
    if (status === 404) return message(c, 404, 'notFoundTitle', 'notFoundTitle')
    return message(c, status >= 500 ? status : 502, 'errorTitle', 'errorTitle')
  }

  app.get('/audit', async (c) => {
    const actor = await actorFor(c, auditorOnly)
    if (actor instanceof Response) return actor
    return searchPage(c, 200, emptySearch())
  })

  app.post('/audit', async (c) => {
    const actor = await actorFor(c, auditorOnly)
    if (actor instanceof Response) return actor
    const search = searchFrom(c.get('form'))
    const res = await api(c, recordsQuery(search))
    if (!res.ok) return refused(c, search, res)
    return searchPage(c, 200, search, { results: (await res.json()) as SearchResults })
  })

  // The download is the API's own answer: its body streamed through, its type and file name kept.
  app.post('/audit/export', async (c) => {
    const actor = await actorFor(c, auditorOnly)
    if (actor instanceof Response) return actor
    const form = c.get('form')
    const search = searchFrom(form)
    const params = filterParams(search)
    const format = typeof form.format === 'string' ? form.format : ''
    params.set('format', format)
    // People's formats get the page's language in their header row; JSON lines have none.
    if ((format === 'csv' || format === 'xlsx') && c.get('lang') === 'en') params.set('headers', 'en')
    const res = await api(c, `/v1/audit/records/export?${params}`)
    if (!res.ok) return refused(c, search, res)
    const headers = new Headers()
    for (const name of ['content-type', 'content-disposition', 'x-content-type-options']) {
      const value = res.headers.get(name)
      if (value !== null) headers.set(name, value)
    }
    return new Response(res.body, { status: 200, headers })
  })

  app.get('/audit/records/:id', async (c) => {
    const actor = await actorFor(c, auditorOnly)
    if (actor instanceof Response) return actor
    const res = await api(c, proofPath(c.req.param('id')))
    // A malformed id is as unknown as a missing one.
    if (res.status === 400) return message(c, 404, 'notFoundTitle', 'notFoundTitle')
    if (!res.ok) return apiFailure(c, res.status)
    const { entry } = (await res.json()) as { entry: LogEntry }
    // The keys the script checks the signature with are fetched apart from the proof it checks.
    const keys = await api(c, '/v1/audit/keys')
    if (!keys.ok) return apiFailure(c, keys.status)
    const record = entry.record
    const grant = record.kind === 'exchange' ? await lookUpGrant(deps.sharing, actor, record) : undefined
    const page = (
      <RecordPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        entry={entry}
        grant={grant}
        keys={await keys.text()}
      />
    )
    return render(c, 200, page)
  })

  // What receipt-verify.js checks: the API's proof as it answers it (an auditor's read, audited by the API).
  app.get('/audit/records/:id/proof.json', async (c) => {
    const res = await api(c, proofPath(c.req.param('id')))
    return new Response(res.body, {
      status: res.status,
      headers: { 'content-type': res.headers.get('content-type') ?? 'application/json' },
    })
  })

  app.get('/audit/applications/:id', async (c) => {
    const actor = await actorFor(c, auditorOnly)
    if (actor instanceof Response) return actor
    const id = c.req.param('id')
    const found = await deps.sharing.getApplication(actor, id)
    const history = await deps.sharing.history(actor, id)
    const page = (
      <ApplicationPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        app={found}
        history={history}
        deadline={deadlineOf(found, kit.calendar, shanghaiDate(deps.clock.now()))}
      />
    )
    return render(c, 200, page)
  })
}

interface PageExtras {
  readonly problems: ReturnType<typeof fieldProblems>
  readonly results: SearchResults
}

const proofPath = (id: string): string => `/v1/audit/records/${encodeURIComponent(id)}/proof`
