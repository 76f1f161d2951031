import { uuidv7 } from './ids.js'
import type { AdminAction, AdminAuditRecord } from './record.js'

/** An administrative action for the audit log (same log as the exchanges). */
export function adminRecord(
  action: AdminAction,
  now: number,
  details: AdminAuditRecord['details'],
  options: { actor?: string; outcome?: AdminAuditRecord['outcome']; requestId?: string } = {},
): AdminAuditRecord {
  return {
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    kind: 'admin',
    action,
    actor: options.actor ?? 'system',
    outcome: options.outcome ?? 'ok',
    ...(options.requestId ? { requestId: options.requestId } : {}),
    details,
  }
}
