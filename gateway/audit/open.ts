import type { Clock } from '../../kernel/clock.js'
import type { Config } from '../config/settings.js'
import type { Logger } from '../telemetry/logger.js'
import { type AuditLog, openAuditLog } from './audit-log.js'
import type { AuditBackend } from './backend.js'
import { loadOrCreateAuditSigningKey } from './checkpoint.js'
import { createFileAuditBackend } from './file-backend.js'
import { attachTimestamper, configuredTimestamping } from './tsa/configured.js'

/** The backend the configuration asks for: PostgreSQL with QIAO_AUDIT_URL, else files in QIAO_AUDIT_DIR. */
export async function configuredAuditBackend(config: Config, clock: Clock): Promise<AuditBackend> {
  if (config.auditUrl !== undefined) {
    // QIAO_AUDIT_URL=postgres://…/db?schema=name puts the tables in that schema (default qiao_audit); the `schema`
    // parameter is ours, so it is taken out before the URL goes to pg. Loaded only when configured.
    const url = new URL(config.auditUrl)
    const schema = url.searchParams.get('schema') ?? undefined
    url.searchParams.delete('schema')
    const connectionString = schema === undefined ? config.auditUrl : url.toString()
    const { createPgAuditBackend } = await import('./pg-backend.js')
    return createPgAuditBackend({ connectionString, now: clock.now, ...(schema ? { schema } : {}) })
  }
  return createFileAuditBackend({ dir: config.auditDir, now: clock.now })
}

/** Opens this instance's audit log with the configured policy; repairs and failures go to the operational log. */
export async function openConfiguredAuditLog(
  config: Config,
  clock: Clock,
  log: Logger,
  backendOverride?: AuditBackend,
): Promise<AuditLog> {
  const onEvent = ({ level, msg, detail }: { level: 'info' | 'warn' | 'error'; msg: string; detail?: object }) =>
    log[level]({ audit: config.auditLogId, ...detail }, msg)
  const stored = backendOverride ?? (await configuredAuditBackend(config, clock))
  const timestamping = await configuredTimestamping(config, stored, clock, onEvent)
  const audit = await openAuditLog({
    backend: timestamping?.backend ?? stored,
    logId: config.auditLogId,
    hashAlgorithm: config.auditHash,
    signingKey: await loadOrCreateAuditSigningKey(config.auditSigningKeyFile, config.auditSignatureAlg),
    clock,
    checkpointEvery: config.auditCheckpointEvery,
    checkpointIntervalMs: config.auditCheckpointIntervalMs,
    segmentMaxSize: config.auditUrl !== undefined ? config.auditSegmentMaxRecords : config.auditSegmentMaxSize,
    segmentMaxAgeMs: config.auditSegmentMaxAgeMs,
    minFreeBytes: config.auditMinFreeBytes,
    onEvent,
    ...(timestamping ? { onCheckpoint: timestamping.timestamper.enqueue } : {}),
  })
  if (timestamping) {
    attachTimestamper(audit, timestamping.timestamper)
    await timestamping.timestamper.start()
  }
  return audit
}
