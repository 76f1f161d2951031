import type { Context } from 'hono'
import { actorOf, adminRecord, outcomeOf } from '../audit/admin.js'
import type { AdminAction, AdminAuditRecord } from '../audit/record.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { GatewayDeps } from '../gateway-deps.js'

/**
 * What the read routes over the audit log (usage views, subject accesses) share: their own admin record, appended
 * fail closed — a read that cannot be audited is not answered —, and a query string taken strictly.
 */
export async function recordAdminRead(
  deps: Pick<GatewayDeps, 'audit' | 'clock'>,
  action: AdminAction,
  requestId: string,
  principal: Principal | undefined,
  details: AdminAuditRecord['details'],
): Promise<void> {
  const record = adminRecord(action, deps.clock.now(), details, {
    actor: actorOf(principal),
    outcome: outcomeOf(Number(details.status)),
    requestId,
  })
  try {
    await deps.audit.append(record)
  } catch (err) {
    throw new GatewayError('audit-unavailable', {
      detail: 'the read could not be audited, so nothing was served',
      internal: err instanceof Error ? err.message : 'audit append failed',
      cause: err,
    })
  }
}

export function queryInvalid(errors: readonly string[]): GatewayError {
  return new GatewayError('query-invalid', { detail: errors.join('; '), extensions: { errors } })
}

/** The query string: each parameter at most once, and only the ones the route knows (never ignored). */
export function strictQuery(c: Context, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  const errors: string[] = []
  for (const [name, value] of new URL(c.req.url).searchParams) {
    const shown = JSON.stringify(name.slice(0, 32))
    if (!known.includes(name)) errors.push(`${shown}: unknown parameter (allowed: ${known.join(', ')})`)
    else if (Object.hasOwn(out, name)) errors.push(`${shown}: given more than once`)
    else out[name] = value
  }
  if (errors.length > 0) throw queryInvalid(errors)
  return out
}
