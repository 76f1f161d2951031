/** Who is calling, from a verified token. Scopes are kept as a set for O(1) checks per request. */
export interface Principal {
  /** The officer (`sub`). */
  readonly sub: string
  /**
   * Consumer department (`dept`): the claim when it has the shape of a department code; otherwise a bounded, escaped
   * label of it that can never equal a code, so the catalog answers 403 department-unknown.
   */
  readonly dept: string
  /** Calling application (`client_id`), if the issuer sets one. */
  readonly clientId: string | undefined
  readonly scopes: ReadonlySet<string>
  /** Token expiry, epoch ms. */
  readonly expiresAt: number
  /** Token id (`jti`), if present; recorded in audit. */
  readonly tokenId: string | undefined
  /** Key id the token was signed with. */
  readonly keyId: string | undefined
}

/** Scope entries: `<matterCode>:<resourceId>:<action>` and `audit:read`. */
export function exchangeScope(matter: string, resource: string, action: 'read' | 'write'): string {
  return `${matter}:${resource}:${action}`
}

export const AUDIT_READ_SCOPE = 'audit:read'
/** Operators' read of the gateway's running state (connectors, breakers, quotas, audit log): GET /v1/admin/status. */
export const OPS_READ_SCOPE = 'ops:read'
