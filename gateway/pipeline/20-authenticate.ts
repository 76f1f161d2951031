import type { Principal } from '../auth/principal.js'
import type { TokenVerifier } from '../auth/verify-token.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Authenticated, Reached, Routed } from './exchange.js'

// RFC 6750 §2.1: `Bearer` then a b64token; the scheme is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** Authorization header → verified principal, or a 401 problem. */
export async function authenticate(authorization: string | undefined, verifier: TokenVerifier): Promise<Principal> {
  if (authorization === undefined || authorization.length === 0) throw new GatewayError('token-missing')
  const m = BEARER.exec(authorization)
  if (!m) throw new GatewayError('token-invalid', { detail: 'Authorization header is not a Bearer token' })
  return verifier.verify(m[1] as string)
}

/** The exchange stage: the call's principal, from its Authorization header. */
export async function authenticateCall(
  call: Routed,
  authorization: string | undefined,
  verifier: TokenVerifier,
): Promise<Authenticated> {
  const reached: Reached = call
  reached.principal = await authenticate(authorization, verifier)
  return call as Authenticated
}
