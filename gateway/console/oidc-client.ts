import { readFile } from 'node:fs/promises'
import * as oidc from 'openid-client'
import type { Config } from '../config/settings.js'
import type { Logger } from '../telemetry/logger.js'
import type { Lang } from './i18n.js'
import type { ConsoleRole } from './session.js'

/**
 * The console as an OpenID Connect relying party (openid-client): authorization code with PKCE (S256), `state` and
 * `nonce`, and a resource indicator (RFC 8707) naming Qiao's audience so that the provider issues an access token
 * for Qiao, which the console then uses like any API client. Discovery starts in the background when the gateway
 * starts and is awaited by the first sign-in; while the provider is unreachable each sign-in tries again and gets
 * a clear page, and the exchange API never waits for it.
 */

export const CALLBACK_PATH = '/console/oidc/callback'
export const SIGN_IN_PATH = '/console/sign-in'
/** How long a sign-in begun on the form may take at the provider. */
export const PENDING_TTL_MS = 10 * 60_000
const HTTP_TIMEOUT_SECONDS = 10

export interface OidcSettings {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecretFile: string | undefined
  /** The console's external base (origin); the redirect URI is `<consoleUrl>/console/oidc/callback`. */
  readonly consoleUrl: string
  /** Qiao's audience: the resource indicator, and the `aud` the access token must carry. */
  readonly audience: string
}

/** The OIDC settings when console sign-in with OIDC is configured (readConfig checked they come together). */
export function oidcSettingsOf(config: Config): OidcSettings | undefined {
  const { consoleOidcIssuer: issuer, consoleOidcClientId: clientId, consoleUrl } = config
  if (issuer === undefined || clientId === undefined || consoleUrl === undefined) return undefined
  return {
    issuer,
    clientId,
    clientSecretFile: config.consoleOidcClientSecretFile,
    consoleUrl,
    audience: config.audience,
  }
}

/** What the anonymous session keeps between the sign-in form and the callback: server side, never in the browser. */
export interface PendingSignIn {
  readonly role: ConsoleRole
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly startedAt: number
}

/** Why a sign-in ended without a session; each has its own page (oidc-sign-in.tsx). */
export type SignInFailure =
  | 'idp-unreachable'
  | 'sign-in-expired'
  | 'state-mismatch'
  | 'idp-refused'
  | 'code-rejected'
  | 'client-refused'
  | 'response-invalid'
  | 'token-refused'
  | 'department-unknown'
  | 'role-not-granted'

export class SignInError extends Error {
  constructor(
    readonly failure: SignInFailure,
    /** What the operational log may say about it: error identifiers, never codes, tokens or user data. */
    readonly logDetail: Readonly<Record<string, string>> = {},
  ) {
    super(`console sign-in failed: ${failure}`)
    this.name = 'SignInError'
  }
}

export interface ConsoleOidcClient {
  readonly settings: OidcSettings
  /** Origins the sign-in and sign-out forms' 303s lead to (the issuer's, its endpoints' once discovered). */
  formTargets(): readonly string[]
  /** The authorization request for this role, and what the session must keep until the callback. */
  begin(role: ConsoleRole, scopes: readonly string[], lang: Lang, now: number): Promise<BeginResult>
  /** The callback against what the session kept: state, the code exchanged with the PKCE verifier, the ID token. */
  finish(callback: URL, pending: PendingSignIn): Promise<SignInTokens>
  /** Where sign-out sends the browser: the provider's end-session endpoint when it has one, else undefined. */
  endSessionUrl(idToken: string | undefined): URL | undefined
}

export interface BeginResult {
  readonly url: URL
  readonly pending: PendingSignIn
}

export interface SignInTokens {
  readonly accessToken: string
  readonly idToken: string | undefined
}

export function createOidcClient(settings: OidcSettings, log: Logger): ConsoleOidcClient {
  const redirectUri = `${settings.consoleUrl}${CALLBACK_PATH}`
  const issuerOrigin = new URL(settings.issuer).origin
  let discovered: oidc.Configuration | undefined
  let attempt: Promise<oidc.Configuration> | undefined

  async function discover(): Promise<oidc.Configuration> {
    const secret =
      settings.clientSecretFile === undefined ? undefined : (await readFile(settings.clientSecretFile, 'utf8')).trim()
    const auth = secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret)
    return oidc.discovery(new URL(settings.issuer), settings.clientId, undefined, auth, {
      timeout: HTTP_TIMEOUT_SECONDS,
    })
  }

  /** The discovered configuration; one attempt at a time, a failed one forgotten so that the next sign-in retries. */
  function configuration(): Promise<oidc.Configuration> {
    if (discovered !== undefined) return Promise.resolve(discovered)
    if (attempt === undefined) {
      const current = discover().then(
        (config) => {
          discovered = config
          log.info({ issuer: settings.issuer }, 'console OIDC provider discovered')
          return config
        },
        (err: unknown) => {
          if (attempt === current) attempt = undefined
          log.warn({ issuer: settings.issuer, err: describe(err) }, 'console OIDC discovery failed')
          throw new SignInError('idp-unreachable')
        },
      )
      attempt = current
    }
    return attempt
  }
  // At start, in the background: a misconfigured or unreachable provider shows in the log at once.
  configuration().catch(() => undefined)

  return {
    settings,
    formTargets() {
      const metadata = discovered?.serverMetadata()
      const endpoints = [metadata?.authorization_endpoint, metadata?.end_session_endpoint]
      const origins = endpoints.filter((e): e is string => e !== undefined).map((e) => new URL(e).origin)
      return [...new Set([issuerOrigin, ...origins])]
    },

    async begin(role, scopes, lang, now) {
      const config = await configuration()
      const codeVerifier = oidc.randomPKCECodeVerifier()
      const pending: PendingSignIn = {
        role,
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier,
        startedAt: now,
      }
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: ['openid', ...scopes].join(' '),
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
        resource: settings.audience,
        ui_locales: lang,
      })
      return { url, pending }
    },

    async finish(callback, pending) {
      const config = await configuration()
      try {
        const tokens = await oidc.authorizationCodeGrant(
          config,
          callback,
          {
            pkceCodeVerifier: pending.codeVerifier,
            expectedState: pending.state,
            expectedNonce: pending.nonce,
            idTokenExpected: true,
          },
          // The token request names the resource too, or the provider may issue a token for its userinfo only.
          { resource: settings.audience },
        )
        return { accessToken: tokens.access_token, idToken: tokens.id_token }
      } catch (err) {
        throw asSignInError(err)
      }
    },

    endSessionUrl(idToken) {
      if (discovered?.serverMetadata().end_session_endpoint === undefined || idToken === undefined) return undefined
      return oidc.buildEndSessionUrl(discovered, {
        id_token_hint: idToken,
        post_logout_redirect_uri: `${settings.consoleUrl}${SIGN_IN_PATH}`,
      })
    },
  }
}

/** An OAuth error identifier (RFC 6749 §5.2 charset) fit for the log; anything else is not repeated. */
function errorIdOf(value: unknown): string {
  return typeof value === 'string' && /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(value) ? value : 'unreadable'
}

/** What went wrong at the provider or with its answers, by what openid-client threw. */
function asSignInError(err: unknown): unknown {
  if (err instanceof SignInError) return err
  if (err instanceof oidc.AuthorizationResponseError)
    return new SignInError('idp-refused', { error: errorIdOf(err.error) })
  if (err instanceof oidc.ResponseBodyError) {
    const error = errorIdOf(err.error)
    return new SignInError(error === 'invalid_grant' ? 'code-rejected' : 'client-refused', { error })
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError)
    return new SignInError('client-refused', { error: 'challenge' })
  if (err instanceof oidc.ClientError) return new SignInError('response-invalid', { error: errorIdOf(err.code) })
  // fetch's TypeError (connection refused, TLS) and the request timeout; other TypeErrors are the code's own.
  const name = (err as Error | undefined)?.name
  if ((err instanceof TypeError && !('code' in err)) || name === 'TimeoutError' || name === 'AbortError')
    return new SignInError('idp-unreachable', { error: describe(err) })
  return err
}

/** An error's message and its cause's code (ECONNREFUSED, a TLS code…): what an operator needs, nothing sent. */
function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : ''
  return `${(err as Error | undefined)?.message ?? String(err)}${code}`.slice(0, 200)
}

/** The console's CSP with these origins added to `form-action`: the sign-in and sign-out 303s lead there. */
export function withFormTargets(csp: string, origins: readonly string[]): string {
  return csp.replace("form-action 'self'", ["form-action 'self'", ...origins].join(' '))
}
