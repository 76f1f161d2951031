/** @jsxImportSource hono/jsx */
import { actorOf, adminRecord } from '../audit/admin.js'
import type { Principal } from '../auth/principal.js'
import { toGatewayError } from '../errors/gateway-error.js'
import { requestIdOf } from '../routes/sharing-http.js'
import type { ConsoleApp, ConsoleContext, ConsoleKit } from './kit.js'
import { render } from './kit.js'
import { homeOf } from './layout.js'
import {
  CALLBACK_PATH,
  type ConsoleOidcClient,
  PENDING_TTL_MS,
  type PendingSignIn,
  SIGN_IN_PATH,
  SignInError,
  type SignInFailure,
} from './oidc-client.js'
import { OidcSignInPage, ResumingPage, SignInFailedPage } from './oidc-sign-in.js'
import { type ConsoleSession, clearSessionCookie, setSessionCookie } from './session.js'
import { isRole, roleProblem, roleScopes } from './sign-in.js'

/** Marks the callback's second arrival, sent on from this site (see ResumingPage). */
const RESUMED = 'resumed'

const FAILURE_STATUS: Readonly<Record<SignInFailure, number>> = {
  'idp-unreachable': 503,
  'sign-in-expired': 400,
  'state-mismatch': 400,
  'idp-refused': 403,
  'code-rejected': 400,
  'client-refused': 502,
  'response-invalid': 502,
  'token-refused': 403,
  'department-unknown': 403,
  'role-not-granted': 403,
}

/**
 * Sign-in with the gateway's OpenID Connect provider: the form picks one role, the provider authenticates the
 * officer and grants (or not) that role's scopes in an access token for Qiao; the token is verified by
 * `deps.verifier` like any API token and becomes the session's. What a sign-in in progress needs is kept beside
 * the anonymous session (and goes with it), the ID token beside the signed-in one (for sign-out).
 */
export function registerOidcSignIn(app: ConsoleApp, kit: ConsoleKit, client: ConsoleOidcClient): void {
  const { deps, sessions, view } = kit
  const pendingSignIns = new WeakMap<ConsoleSession, PendingSignIn>()
  const idTokens = new WeakMap<ConsoleSession, string>()

  const failed = (c: ConsoleContext, err: unknown): Promise<Response> => {
    if (!(err instanceof SignInError)) throw err
    deps.log.warn(
      { requestId: requestIdOf(c, deps.clock.now()), reason: err.failure, ...err.logDetail },
      'console sign-in refused',
    )
    return render(c, FAILURE_STATUS[err.failure], <SignInFailedPage view={view(c)} failure={err.failure} />)
  }

  /** A `console.access` refusal in the audit log, as kit.actorFor records one (a failed append is logged). */
  const auditRefusal = async (c: ConsoleContext, principal: Principal, role: string, reason: SignInFailure) => {
    const requestId = requestIdOf(c, deps.clock.now())
    const details = { page: CALLBACK_PATH, method: 'GET', role, status: 403, reason }
    const record = adminRecord('console.access', deps.clock.now(), details, {
      actor: actorOf(principal),
      outcome: 'rejected',
      requestId,
    })
    await deps.audit.append(record).catch((err: unknown) => {
      deps.log.error({ requestId, err: (err as Error).message }, 'console refusal not audited')
    })
  }

  app.get('/sign-in', (c) => {
    if (c.get('session') === undefined) {
      // An anonymous session carries the form's CSRF token, the language and, next, the sign-in in progress.
      const session = sessions.create(undefined, c.get('lang'))
      setSessionCookie(c, session)
      c.set('session', session)
    }
    return render(c, 200, <OidcSignInPage view={view(c)} />)
  })

  app.post('/sign-in', async (c) => {
    const role = c.get('form').role
    if (!isRole(role)) return render(c, 422, <OidcSignInPage view={view(c)} chosen="" problem="chooseRole" />)
    // The form guard matched this session's CSRF token, so there is one.
    const session = c.get('session') as ConsoleSession
    try {
      const { url, pending } = await client.begin(role, roleScopes(role), c.get('lang'), deps.clock.now())
      pendingSignIns.set(session, pending)
      // A 303 rather than a form posted to the provider: the console's CSP lets forms post to this origin only.
      return c.redirect(url.href, 303)
    } catch (err) {
      return failed(c, err)
    }
  })

  app.get('/oidc/callback', async (c) => {
    const session = c.get('session')
    const query = new URL(c.req.url).searchParams
    if (session === undefined && !query.has(RESUMED)) {
      query.set(RESUMED, '1')
      const href = `${CALLBACK_PATH}?${query}`
      c.header('refresh', `0;url=${href}`)
      return render(c, 200, <ResumingPage view={view(c)} href={href} />)
    }
    query.delete(RESUMED)
    const pending = session === undefined ? undefined : pendingSignIns.get(session)
    try {
      if (session === undefined || pending === undefined || deps.clock.now() - pending.startedAt > PENDING_TTL_MS)
        throw new SignInError('sign-in-expired')
      const callback = new URL(`${CALLBACK_PATH}?${query}`, client.settings.consoleUrl)
      // A wrong state leaves the sign-in in progress alone: whoever sent it cannot cancel this browser's sign-in.
      if (query.get('state') !== pending.state) throw new SignInError('state-mismatch')
      pendingSignIns.delete(session)
      const tokens = await client.finish(callback, pending)
      const principal = await deps.verifier.verify(tokens.accessToken).catch((err: unknown) => {
        throw new SignInError('token-refused', { code: toGatewayError(err).code })
      })
      const { role } = pending
      const refusal: SignInFailure | undefined = !deps.snapshot().catalog.departments.has(principal.dept)
        ? 'department-unknown'
        : roleScopes(role).some((scope) => !principal.scopes.has(scope)) ||
            roleProblem(role, principal.dept) !== undefined
          ? 'role-not-granted'
          : undefined
      if (refusal !== undefined) {
        await auditRefusal(c, principal, role, refusal)
        throw new SignInError(refusal, { role })
      }
      sessions.delete(session.id)
      const signedIn = sessions.create(
        { role, dept: principal.dept, token: tokens.accessToken },
        session.lang,
        principal.expiresAt,
      )
      if (tokens.idToken !== undefined) idTokens.set(signedIn, tokens.idToken)
      setSessionCookie(c, signedIn)
      c.set('session', signedIn)
      deps.log.info(
        { requestId: requestIdOf(c, deps.clock.now()), dept: principal.dept, role, via: 'oidc' },
        'console sign-in',
      )
      return c.redirect(homeOf(role), 303)
    } catch (err) {
      return failed(c, err)
    }
  })

  app.post('/sign-out', (c) => {
    const session = c.get('session')
    const idToken = session === undefined ? undefined : idTokens.get(session)
    if (session !== undefined) sessions.delete(session.id)
    clearSessionCookie(c)
    // Signed out here first; the provider's end-session endpoint (if any) ends its session and comes back.
    return c.redirect(client.endSessionUrl(idToken)?.href ?? SIGN_IN_PATH, 303)
  })
}
