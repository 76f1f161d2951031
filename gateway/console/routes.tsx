/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdOf } from '../routes/sharing-http.js'
import { registerApplicantPages } from './applicant-routes.js'
import { ASSETS } from './assets.js'
import { registerAuditorPages } from './auditor-routes.js'
import { registerConsumerPages } from './consumer-routes.js'
import { CSRF_FIELD, csrfMatches, isCrossSite } from './csrf.js'
import { registerDashboardPages } from './dashboard-routes.js'
import { langOf, t } from './i18n.js'
import { type ApiFetch, type ConsoleApp, type ConsoleEnv, type ConsoleKit, createKit, hereOf, render } from './kit.js'
import { MessagePage, type View } from './layout.js'
import { createOidcClient, oidcSettingsOf, withFormTargets } from './oidc-client.js'
import { registerOidcSignIn } from './oidc-routes.js'
import { registerOperatorPages } from './operator-routes.js'
import { registerReviewerPages } from './reviewer-routes.js'
import { SessionStore, type SessionStore as Store, sessionIdOf } from './session.js'
import { registerDemoSignIn } from './sign-in-routes.js'

/** Every console page: this origin only, no inline script or style, never framed, never cached. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const FORM_LIMIT_BYTES = 64 * 1024

type Env = ConsoleEnv

/**
 * /console: server-rendered pages that are a client of Qiao's own workflow with the signed-in user's token —
 * the same `deps.sharing` calls the API routes make, with the principal the verifier gives for that token, so
 * each is checked and audited as the API call would be. Sign-in is demo mode's built-in one, or the OIDC provider's
 * (QIAO_CONSOLE_OIDC_ISSUER); without either the console says sign-in is not configured.
 */
export function consoleRoutes(
  deps: GatewayDeps,
  apiFetch: ApiFetch,
  sessions: Store = new SessionStore(deps.clock),
): Hono<Env> {
  const app = new Hono<Env>()
  // Sign-in: demo mode's built-in one; else the OIDC provider's when configured; else none (503 below).
  const devKey = deps.config.demoMode ? deps.devKey : undefined
  const oidcSettings = devKey === undefined ? oidcSettingsOf(deps.config) : undefined
  const oidc = oidcSettings === undefined ? undefined : createOidcClient(oidcSettings, deps.log)
  const csp = () => (oidc === undefined ? CONSOLE_CSP : withFormTargets(CONSOLE_CSP, oidc.formTargets()))

  app.use('*', async (c, next) => {
    await next()
    const h = c.res.headers
    h.set('content-security-policy', csp())
    h.set('x-content-type-options', 'nosniff')
    h.set('referrer-policy', 'no-referrer')
    if (!c.req.path.startsWith('/console/assets/')) h.set('cache-control', 'no-store')
  })

  app.get('/assets/:name', (c) => {
    const found = ASSETS[c.req.param('name')]
    if (found === undefined) throw new GatewayError('route-not-found')
    return c.body(found.body, 200, { 'content-type': found.type, 'cache-control': 'public, max-age=86400, immutable' })
  })

  if (devKey === undefined && oidc === undefined) {
    app.all('*', (c) => {
      const view: View = { lang: langOf(c.req.query('lang')) ?? 'zh-CN', session: undefined, here: hereOf(c) }
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

  const kit = createKit(deps, sessions, apiFetch)
  const { view, message } = kit

  app.get('/', (c) => c.redirect(c.get('session')?.user ? '/console/catalog' : '/console/sign-in', 303))

  if (oidc === undefined) registerDemoSignIn(app, kit)
  else registerOidcSignIn(app, kit, oidc)
  registerApplicantPages(app, kit)

  // Each role's pages, one module per area.
  for (const register of PAGE_MODULES) register(app, kit)

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

/** The page modules of each area, registered after the applicant's pages and before the 404. */
const PAGE_MODULES: readonly ((app: ConsoleApp, kit: ConsoleKit) => void)[] = [
  registerConsumerPages,
  registerReviewerPages,
  registerAuditorPages,
  registerDashboardPages,
  registerOperatorPages,
]
