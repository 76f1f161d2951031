import type { Config } from '../config/settings.js'

/**
 * A worker slot: the place of one worker in `qiao serve --workers N`, numbered 1…N. What makes a worker itself is
 * its slot, not its process: a worker restarted after a crash gets the same slot, so the same audit log id, and it
 * continues its own log (taking over the writer lock its dead predecessor left, repairing a torn tail) and marks its
 * own idempotency claims left in flight as unknown, as a restarted single gateway does.
 */

/**
 * Set by the primary in each worker's environment: the worker's slot. Not a setting (nobody sets it by hand): it is
 * what tells a worker of Qiao's own primary from a process some other supervisor runs in cluster mode, which
 * starts as a single gateway.
 */
export const SLOT_VARIABLE = 'QIAO_CLUSTER_SLOT'

/** This process's slot, when Qiao's primary forked it. */
export function slotOfThisWorker(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const slot = Number(env[SLOT_VARIABLE])
  return Number.isInteger(slot) && slot >= 1 ? slot : undefined
}

/** The longest audit log id (parseAuditLogId). */
export const MAX_LOG_ID_LENGTH = 64

/** Slot `slot`'s audit log id: `<QIAO_AUDIT_LOG_ID>-w<slot>` (the id also names the instance in /v1/admin/status). */
export function workerLogId(baseLogId: string, slot: number): string {
  return `${baseLogId}-w${slot}`
}

/** The slots of `workers` workers: 1…N. */
export function slotNumbers(workers: number): number[] {
  return Array.from({ length: workers }, (_, i) => i + 1)
}

/**
 * What a worker's environment changes from the primary's (the worker reads its configuration from the environment
 * as any `qiao serve` does): its own log id, and no metrics listener of its own, since one port cannot be opened
 * by every worker; the primary serves QIAO_METRICS_PORT with every worker's metrics (cluster-metrics.ts). An empty
 * variable counts as unset.
 */
export function workerEnv(config: Pick<Config, 'auditLogId'>, slot: number): Record<string, string> {
  return {
    QIAO_AUDIT_LOG_ID: workerLogId(config.auditLogId, slot),
    QIAO_METRICS_PORT: '',
    [SLOT_VARIABLE]: String(slot),
  }
}
