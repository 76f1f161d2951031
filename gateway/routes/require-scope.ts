import type { Context, Env, MiddlewareHandler } from 'hono'
import type { Principal } from '../auth/principal.js'
import type { TokenVerifier } from '../auth/verify-token.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import { authenticate } from '../pipeline/20-authenticate.js'

/** What `requireScope` puts on the context: the verified caller, read with `c.get('principal')`. */
export type PrincipalVariables = { principal: Principal }

/** The environment of a route behind `requireScope`. */
export type AuthenticatedEnv = { Variables: PrincipalVariables }

export interface RequireScopeOptions<E extends Env = Env> {
  readonly verifier: TokenVerifier
  /** The `detail` of the 403 when the token lacks the scope: says what the route is, never what the token holds. */
  readonly insufficientScopeDetail?: string
  /**
   * Called with every refusal before it is thrown, so that a route can record refused attempts. `principal` is
   * set when the token verified but lacked the scope. Whatever it throws replaces the refusal (e.g. a record that
   * cannot be written makes the answer `audit-unavailable`).
   */
  readonly onRefused?: (
    c: Context<E & AuthenticatedEnv>,
    error: GatewayError,
    principal: Principal | undefined,
  ) => void | Promise<void>
}

/**
 * The one way a route authenticates its caller, in the style of hono's `jwt` middleware: verifies the bearer
 * token with the gateway's verifier, checks `scope` (undefined: any valid token will do), and sets the principal
 * on the context. A refusal is thrown as the GatewayError the problem renderer (app.onError) turns into RFC 9457
 * problem+json with its WWW-Authenticate challenge.
 */
export function requireScope<E extends Env = Env>(
  scope: string | undefined,
  options: RequireScopeOptions<E>,
): MiddlewareHandler<E & AuthenticatedEnv> {
  const { verifier, onRefused } = options
  const detail = options.insufficientScopeDetail ?? `this call needs a token with scope ${scope}`
  return async function requireScope(c, next) {
    let principal: Principal | undefined
    try {
      principal = await authenticate(c.req.header('authorization'), verifier)
      if (scope !== undefined && !principal.scopes.has(scope)) {
        throw new GatewayError('insufficient-scope', { detail, extensions: { requiredScope: scope } })
      }
    } catch (err) {
      const refusal = toGatewayError(err)
      await onRefused?.(c, refusal, principal)
      throw refusal
    }
    c.set('principal', principal)
    await next()
  }
}
