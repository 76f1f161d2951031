/** @jsxImportSource hono/jsx */
import { mintDevToken } from '../auth/dev-keys.js'
import { requestIdOf } from '../routes/sharing-http.js'
import type { ConsoleApp, ConsoleKit } from './kit.js'
import { render } from './kit.js'
import { homeOf } from './layout.js'
import { type ConsoleSession, clearSessionCookie, setSessionCookie } from './session.js'
import { isRole, roleProblem, SignInPage, scopesFor } from './sign-in.js'

const DEMO_CLIENT = 'qiao-console'

/**
 * Demo mode's built-in sign-in: a department and one role picked on a form, a token minted with the dev key for
 * exactly that role's scopes; sign-out forgets the session.
 */
export function registerDemoSignIn(app: ConsoleApp, kit: ConsoleKit): void {
  const { deps, sessions, view } = kit
  const devKey = deps.devKey
  if (devKey === undefined) throw new Error('demo sign-in needs the dev key')
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
    return c.redirect(homeOf(role), 303)
  })

  app.post('/sign-out', (c) => {
    const session = c.get('session')
    if (session !== undefined) sessions.delete(session.id)
    clearSessionCookie(c)
    return c.redirect('/console/sign-in', 303)
  })
}
