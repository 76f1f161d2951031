import type { Clock } from '../../kernel/clock.js'
import type { Config } from '../config/settings.js'
import type { Logger } from '../telemetry/logger.js'
import { adminRecord } from './admin.js'
import type { AuditLog } from './audit-log.js'
import { configuredAuditBackend } from './open.js'

const DAY_MS = 86_400_000

/**
 * Removes sealed, checkpointed segments older than QIAO_AUDIT_RETENTION (default 180 days, 网络安全法 §21 asks
 * for at least six months), at start and then daily. Each removal is itself audited.
 */
export function startRetention(audit: AuditLog, config: Config, clock: Clock, log: Logger): NodeJS.Timeout {
  const run = async () => {
    const backend = await configuredAuditBackend(config, clock)
    try {
      const removed = await backend.purge(audit.logId, clock.now() - config.auditRetentionMs)
      if (removed.length > 0) {
        await audit.append(
          adminRecord('audit.retention', clock.now(), {
            logId: audit.logId,
            segments: removed.join(','),
            retentionDays: Math.round(config.auditRetentionMs / DAY_MS),
          }),
        )
        log.info({ segments: removed }, 'audit retention removed sealed segments')
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, 'audit retention failed')
    } finally {
      await backend.close()
    }
  }
  void run()
  const timer = setInterval(() => void run(), DAY_MS)
  timer.unref()
  return timer
}
