import { uuidv7 } from './ids.js'
import type { AdminAction, AdminAuditRecord } from './record.js'

/** An administrative action for the audit log (same log as the exchanges). */
export function adminRecord(
  action: AdminAction,
  now: number,
  details: AdminAuditRecord['details'],
  options: { actor?: string; outcome?: AdminAuditRecord['outcome']; requestId?: string; id?: string } = {},
): AdminAuditRecord {
  return {
    id: options.id ?? uuidv7(now),
    time: new Date(now).toISOString(),
    kind: 'admin',
    action,
    actor: options.actor ?? 'system',
    outcome: options.outcome ?? 'ok',
    ...(options.requestId ? { requestId: options.requestId } : {}),
    details,
  }
}

/** How an HTTP status reads as the outcome of an administrative or auditor act. */
export function outcomeOf(status: number): AdminAuditRecord['outcome'] {
  return status < 400 ? 'ok' : status < 500 ? 'rejected' : 'failed'
}

/** Who acted, as admin records name them: `dept/sub`, or `anonymous` when no token was verified. */
export function actorOf(principal: { readonly dept: string; readonly sub: string } | undefined): string {
  return principal === undefined ? 'anonymous' : `${principal.dept}/${principal.sub}`
}
