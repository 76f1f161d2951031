import type { Clock } from '../../connectors/kit/types.js'
import type { Config } from '../config/settings.js'
import type { Logger } from '../telemetry/logger.js'
import { type AuditLog, openAuditLog } from './audit-log.js'
import type { AuditBackend } from './backend.js'
import { loadOrCreateAuditSigningKey } from './checkpoint.js'
import { createFileAuditBackend } from './file-backend.js'

/** The backend the configuration asks for: PostgreSQL with QIAO_AUDIT_URL, else files in QIAO_AUDIT_DIR. */
export async function configuredAuditBackend(config: Config, clock: Clock): Promise<AuditBackend> {
  if (config.auditUrl !== undefined) {
    throw new Error('QIAO_AUDIT_URL: the PostgreSQL audit store is not part of this build yet')
  }
  return createFileAuditBackend({ dir: config.auditDir, now: clock.now })
}

/** Opens this instance's audit log with the configured policy; repairs and failures go to the operational log. */
export async function openConfiguredAuditLog(config: Config, clock: Clock, log: Logger): Promise<AuditLog> {
  const backend = await configuredAuditBackend(config, clock)
  return openAuditLog({
    backend,
    logId: config.auditLogId,
    hashAlgorithm: config.auditHash,
    signingKey: await loadOrCreateAuditSigningKey(config.auditSigningKeyFile),
    clock,
    checkpointEvery: config.auditCheckpointEvery,
    checkpointIntervalMs: config.auditCheckpointIntervalMs,
    segmentMaxSize: config.auditUrl !== undefined ? config.auditSegmentMaxRecords : config.auditSegmentMaxSize,
    segmentMaxAgeMs: config.auditSegmentMaxAgeMs,
    onEvent: ({ level, msg, detail }) => log[level]({ audit: config.auditLogId, ...detail }, msg),
  })
}
