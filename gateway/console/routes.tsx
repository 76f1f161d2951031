/** @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Child } from 'hono/jsx'
import { builtInWorkingCalendar, shanghaiDate } from '../../kernel/working-calendar.js'
import { mintDevToken } from '../auth/dev-keys.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdOf } from '../routes/sharing-http.js'
import type { Actor } from '../sharing/service.js'
import { ApplicationFormPage, applicationBody, emptyForm, type FormProblem, formFrom } from './application-form.js'
import { ApplicationListPage, ApplicationPage, deadlineOf } from './application-pages.js'
import { ASSETS } from './assets.js'
import { CatalogPage, ResourcePage, searchResources } from './catalog-pages.js'
import { CSRF_FIELD, csrfMatches, isCrossSite } from './csrf.js'
import { type Lang, langOf, type TextKey, t } from './i18n.js'
import { MessagePage, type View } from './layout.js'
import {
  type ConsoleRole,
  type ConsoleSession,
  clearSessionCookie,
  SessionStore,
  type SessionStore as Store,
  sessionIdOf,
  setSessionCookie,
} from './session.js'
import { isRole, roleProblem, SignInPage, scopesFor } from './sign-in.js'

/** Every console page: this origin only, no inline script or style, never framed, never cached. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const FORM_LIMIT_BYTES = 64 * 1024
const DEMO_CLIENT = 'qiao-console'

type Env = { Variables: { session: ConsoleSession | undefined; lang: Lang; form: Record<string, unknown> } }

/**
 * /console: server-rendered pages that are a client of Qiao's own workflow with the signed-in user's token —
 * the same `deps.sharing` calls the API routes make, with the principal the verifier gives for that token, so
 * each is checked and audited as the API call would be. Sign-in is built in for demo mode only; without it the
 * console says sign-in is not configured (OIDC comes later).
 */
export function consoleRoutes(deps: GatewayDeps, sessions: Store = new SessionStore(deps.clock)): Hono<Env> {
  const app = new Hono<Env>()
  const calendar = builtInWorkingCalendar()

  app.use('*', async (c, next) => {
    await next()
    const h = c.res.headers
    h.set('content-security-policy', CONSOLE_CSP)
    h.set('x-content-type-options', 'nosniff')
    h.set('referrer-policy', 'no-referrer')
    if (!c.req.path.startsWith('/console/assets/')) h.set('cache-control', 'no-store')
  })

  app.get('/assets/:name', (c) => {
    const found = ASSETS[c.req.param('name')]
    if (found === undefined) throw new GatewayError('route-not-found')
    return c.body(found.body, 200, { 'content-type': found.type, 'cache-control': 'public, max-age=86400, immutable' })
  })

  const devKey = deps.config.demoMode ? deps.devKey : undefined
  if (devKey === undefined) {
    app.all('*', (c) => {
      const view: View = { lang: langOf(c.req.query('lang')) ?? 'zh-CN', session: undefined, here: here(c) }
      return render(
        c,
        503,
        <MessagePage view={view} title={t(view.lang, 'notConfiguredTitle')} message={t(view.lang, 'notConfigured')} />,
      )
    })
    return app
  }

  // The session (if any) and the language: `?lang=` switches it and is kept in the session.
  app.use('*', async (c, next) => {
    const session = sessions.get(sessionIdOf(c))
    const asked = langOf(c.req.query('lang'))
    if (session !== undefined && asked !== undefined) session.lang = asked
    c.set('session', session)
    c.set('lang', asked ?? session?.lang ?? 'zh-CN')
    await next()
  })

  // Every state change: from this site, with this session's CSRF token.
  const formGuard = bodyLimit({ maxSize: FORM_LIMIT_BYTES, onError: (c) => c.text('form too large', 413) })
  app.post('*', formGuard, async (c, next) => {
    const crossSite = isCrossSite(c)
    const form = crossSite ? {} : await c.req.parseBody({ all: true })
    if (crossSite || !csrfMatches(c.get('session'), form[CSRF_FIELD])) {
      deps.log.warn(
        {
          requestId: requestIdOf(c, deps.clock.now()),
          path: c.req.path,
          reason: crossSite ? 'cross-site' : 'csrf-token',
        },
        'console form refused',
      )
      return message(c, 403, 'csrfTitle', 'csrf')
    }
    c.set('form', form as Record<string, unknown>)
    return next()
  })

  const view = (c: Context<Env>): View => {
    const session = c.get('session')
    const dept = session?.user?.dept
    const deptName = dept === undefined ? undefined : deps.snapshot().catalog.departments.get(dept)?.name
    return { lang: c.get('lang'), session, here: here(c), ...(deptName === undefined ? {} : { deptName }) }
  }
  const message = (c: Context<Env>, status: number, title: TextKey, text: TextKey) =>
    render(c, status, <MessagePage view={view(c)} title={t(c.get('lang'), title)} message={t(c.get('lang'), text)} />)

  /** The signed-in user's principal, from their token verified like any API token; undefined ends the session. */
  async function principalOf(c: Context<Env>): Promise<Principal | undefined> {
    const session = c.get('session')
    if (session?.user === undefined) return undefined
    try {
      return await deps.verifier.verify(session.user.token)
    } catch {
      sessions.delete(session.id)
      return undefined
    }
  }

  /** The actor for a workflow call, or the response to give instead (sign-in page, or 403 for another role). */
  async function actorFor(c: Context<Env>, roles: readonly ConsoleRole[]): Promise<Actor | Response> {
    const principal = await principalOf(c)
    if (principal === undefined) return c.redirect('/console/sign-in', 303)
    const role = c.get('session')?.user?.role as ConsoleRole
    if (!roles.includes(role)) return message(c, 403, 'forbiddenTitle', 'forbidden')
    return { principal, requestId: requestIdOf(c, deps.clock.now()) }
  }

  app.get('/', (c) => c.redirect(c.get('session')?.user ? '/console/catalog' : '/console/sign-in', 303))

  app.get('/sign-in', (c) => {
    let session = c.get('session')
    if (session === undefined) {
      // An anonymous session carries the sign-in form's CSRF token and the language.
      session = sessions.create(undefined, c.get('lang'))
      setSessionCookie(c, session)
      c.set('session', session)
    }
    return render(c, 200, <SignInPage view={view(c)} catalog={deps.snapshot().catalog} />)
  })

  app.post('/sign-in', async (c) => {
    const form = c.get('form')
    const catalog = deps.snapshot().catalog
    const dept = typeof form.dept === 'string' ? form.dept : ''
    const role = form.role
    const problem = !catalog.departments.has(dept)
      ? 'chooseDepartment'
      : !isRole(role)
        ? 'chooseRole'
        : roleProblem(role, dept)
    if (problem !== undefined || !isRole(role)) {
      const page = (
        <SignInPage
          view={view(c)}
          catalog={catalog}
          dept={dept}
          role={String(role ?? '')}
          problem={problem ?? 'chooseRole'}
        />
      )
      return render(c, 422, page)
    }
    const now = deps.clock.now()
    const session = c.get('session') as ConsoleSession
    const ttlMs = Math.min(8 * 3_600_000, deps.config.tokenMaxLifetimeMs)
    const token = await mintDevToken(devKey, {
      issuer: deps.config.issuer as string,
      audience: deps.config.audience,
      dept,
      sub: `console-${role}-${dept}`,
      scope: scopesFor(role, dept, catalog).join(' '),
      ttlSeconds: Math.floor(ttlMs / 1000),
      clientId: DEMO_CLIENT,
      now,
    })
    const principal = await deps.verifier.verify(token)
    sessions.delete(session.id)
    const signedIn = sessions.create({ role, dept, token }, session.lang, principal.expiresAt)
    setSessionCookie(c, signedIn)
    deps.log.info({ requestId: requestIdOf(c, now), dept, role }, 'console sign-in')
    return c.redirect(role === 'applicant' ? '/console/applications' : '/console/catalog', 303)
  })

  app.post('/sign-out', (c) => {
    const session = c.get('session')
    if (session !== undefined) sessions.delete(session.id)
    clearSessionCookie(c)
    return c.redirect('/console/sign-in', 303)
  })

  const ALL_ROLES: readonly ConsoleRole[] = ['applicant', 'reviewer', 'authority', 'auditor']

  app.get('/catalog', async (c) => {
    const actor = await actorFor(c, ALL_ROLES)
    if (actor instanceof Response) return actor
    const catalog = deps.snapshot().catalog
    const q = (c.req.query('q') ?? '').slice(0, 200)
    return render(c, 200, <CatalogPage view={view(c)} catalog={catalog} q={q} found={searchResources(catalog, q)} />)
  })

  app.get('/catalog/:id', async (c) => {
    const actor = await actorFor(c, ALL_ROLES)
    if (actor instanceof Response) return actor
    const catalog = deps.snapshot().catalog
    const resource = catalog.resources.get(c.req.param('id'))
    if (resource === undefined) return message(c, 404, 'notFoundTitle', 'noResults')
    const canApply = c.get('session')?.user?.role === 'applicant'
    return render(c, 200, <ResourcePage view={view(c)} catalog={catalog} resource={resource} canApply={canApply} />)
  })

  app.get('/applications/new', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const catalog = deps.snapshot().catalog
    const resource = catalog.resources.get(c.req.query('resource') ?? '')
    if (resource === undefined) return message(c, 404, 'notFoundTitle', 'noResults')
    const page = (
      <ApplicationFormPage
        view={view(c)}
        catalog={catalog}
        resource={resource}
        form={emptyForm(resource)}
        problems={[]}
      />
    )
    return render(c, 200, page)
  })

  app.post('/applications', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const form = formFrom(c.get('form'))
    try {
      const created = await deps.sharing.apply(actor, applicationBody(form))
      return c.redirect(`/console/applications/${created.id}`, 303)
    } catch (err) {
      const error = toGatewayError(err)
      const catalog = deps.snapshot().catalog
      const resource = catalog.resources.get(form.resource)
      if (error.code !== 'application-invalid' || resource === undefined) throw error
      const problems = (error.extensions?.errors ?? []) as readonly FormProblem[]
      const page = (
        <ApplicationFormPage view={view(c)} catalog={catalog} resource={resource} form={form} problems={problems} />
      )
      return render(c, 422, page)
    }
  })

  app.get('/applications', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const list = await deps.sharing.listApplications(actor, { consumer: actor.principal.dept, limit: 100 })
    const today = shanghaiDate(deps.clock.now())
    const page = (
      <ApplicationListPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        items={list.items}
        deadline={(a) => deadlineOf(a, calendar, today)}
      />
    )
    return render(c, 200, page)
  })

  app.get('/applications/:id', async (c) => {
    const actor = await actorFor(c, ['applicant'])
    if (actor instanceof Response) return actor
    const id = c.req.param('id')
    const found = await deps.sharing.getApplication(actor, id)
    const history = await deps.sharing.history(actor, id)
    const deadline = deadlineOf(found, calendar, shanghaiDate(deps.clock.now()))
    const page = (
      <ApplicationPage
        view={view(c)}
        catalog={deps.snapshot().catalog}
        app={found}
        history={history}
        deadline={deadline}
      />
    )
    return render(c, 200, page)
  })

  app.all('*', (c) => message(c, 404, 'notFoundTitle', 'notFoundTitle'))

  app.onError((err, c) => {
    const error = toGatewayError(err)
    if (error.code === 'internal')
      deps.log.error({ requestId: requestIdOf(c, deps.clock.now()), err: error.message }, 'console error')
    if (error.code === 'application-not-found' || error.code === 'route-not-found')
      return message(c, 404, 'notFoundTitle', 'notFoundTitle')
    if (error.status === 403) return message(c, 403, 'forbiddenTitle', 'forbidden')
    const lang = c.get('lang') ?? 'zh-CN'
    const text = error.status >= 500 ? t(lang, 'errorTitle') : (error.detail ?? error.message)
    return render(c, error.status, <MessagePage view={view(c)} title={t(lang, 'errorTitle')} message={text} />)
  })

  return app
}

function here(c: Context): string {
  const url = new URL(c.req.url)
  return `${url.pathname}${url.search}`
}

async function render(c: Context, status: number, page: Child): Promise<Response> {
  return c.html(`<!DOCTYPE html>${await page}`, status as 200)
}
