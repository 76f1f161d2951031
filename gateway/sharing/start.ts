import { readFile } from 'node:fs/promises'
import type { Clock } from '../../kernel/clock.js'
import { loadWorkingCalendar } from '../../kernel/working-calendar.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { KeyedDigest } from '../audit/digest.js'
import type { SnapshotHolder } from '../catalog/holder.js'
import { buildSnapshot, type CatalogSnapshot, type SnapshotDeps } from '../catalog/snapshot.js'
import type { Config } from '../config/settings.js'
import type { StateStore } from '../state/store.js'
import type { Logger } from '../telemetry/logger.js'
import type { Metrics } from '../telemetry/metrics.js'
import { seedDemoApplications } from './demo-seed.js'
import { watchGrantEpoch } from './grant-feed.js'
import { startGrantSync } from './grant-sync.js'
import { ObjectionBoard } from './objections-board.js'
import { startObjections } from './objections-start.js'
import type { ObjectionDesk } from './objections-workflow.js'
import { warnGrantOverlaps } from './overlaps.js'
import { startSharingScheduler } from './scheduler.js'
import type { SharingWorkflow } from './service.js'
import type { SharingStore } from './store.js'
import { createWebhookSender } from './webhook.js'
import { createSharingWorkflow } from './workflow.js'

export interface StartSharingOptions {
  readonly config: Config
  readonly store: SharingStore
  readonly state: StateStore
  /** Holds the snapshot the live grants are compiled into (its first one already has those approved so far). */
  readonly holder: SnapshotHolder
  readonly snapshotDeps: SnapshotDeps
  readonly audit: AuditLog
  readonly digest: KeyedDigest
  readonly clock: Clock
  readonly log: Logger
  readonly metrics: Metrics['sharing']
  /** Called with every snapshot the grant sync swapped in (subscriptions suspend what it no longer grants). */
  readonly onGrantsSynced?: (snapshot: CatalogSnapshot) => void
}

export interface RunningSharing {
  readonly workflow: SharingWorkflow
  /** Data objections (数据异议) behind /v1/objections and the raise route. */
  readonly objections: ObjectionDesk
  /** Failed recompilations of the live grants so far (the metric to alert on). */
  syncFailures(): number
  /** Stops the scheduler and the grant sync (before the state store and the snapshots are closed). */
  close(): Promise<void>
}

/**
 * The sharing workflow's moving parts, composed once at start: the working calendar (QIAO_WORKING_CALENDAR), the
 * grant sync that recompiles live grants into the snapshot whenever any instance changes one, the workflow behind
 * /v1/applications and /v1/grants, the demo's seeded applications, and the scheduler that escalates overdue
 * applications and gives expiry reminders (with the webhook, if configured).
 */
export async function startSharing(options: StartSharingOptions): Promise<RunningSharing> {
  const { config, store, state, holder, snapshotDeps, audit, digest, clock, log, metrics } = options
  const calendar = await loadWorkingCalendar(config.workingCalendarFile)
  const webhookSecret =
    config.sharingWebhookSecretFile === undefined ? undefined : await readFile(config.sharingWebhookSecretFile)
  warnGrantOverlaps(holder.get(), log)
  // Every snapshot from the first grant sync on carries the open objections' board (catalog reloads keep it).
  const board = new ObjectionBoard()
  const grantSync = await startGrantSync({
    store,
    holder,
    log,
    rebuild: (fileCatalog, live, previous) =>
      buildSnapshot(fileCatalog, { ...snapshotDeps, objections: board }, previous, live),
    feed: (onChange) => watchGrantEpoch(state, onChange, { sharing: store, log }),
    onSynced: (synced) => {
      warnGrantOverlaps(synced, log)
      options.onGrantsSynced?.(synced)
    },
  })
  const workflowAt = (workflowClock: Clock) =>
    createSharingWorkflow({
      store,
      catalog: () => holder.get().fileCatalog,
      calendar,
      clock: workflowClock,
      audit,
      digest,
      days: {
        conformity: config.sharingConformityDays,
        review: config.sharingReviewDays,
        reviewUnpublished: config.sharingReviewDaysUnpublished,
      },
      onGrantsChanged: () => grantSync.refresh(),
    })
  const workflow = workflowAt(clock)
  const objections = await startObjections({
    state,
    board,
    catalog: () => holder.get().catalog,
    calendar,
    clock,
    audit,
    digest,
    days: config.objectionDays,
    log,
    metrics: metrics.objections,
  })
  if (config.demoMode) {
    const seeded = await seedDemoApplications({ store, workflowAt, now: clock.now() })
    if (seeded > 0) log.info({ applications: seeded }, 'demo: sharing applications seeded')
  }
  const webhook =
    config.sharingWebhookUrl === undefined
      ? undefined
      : createWebhookSender({
          url: config.sharingWebhookUrl,
          log,
          onFailure: metrics.webhookFailed,
          ...(webhookSecret === undefined ? {} : { secret: webhookSecret }),
        })
  const scheduler = startSharingScheduler({
    store,
    workflow,
    clock,
    log,
    intervalMs: config.sharingScanIntervalMs,
    audit,
    ...(webhook === undefined ? {} : { webhook }),
    onOverdue: metrics.overdue,
    onEscalated: metrics.escalated,
    onReminded: metrics.reminded,
  })
  return {
    workflow,
    objections: objections.desk,
    syncFailures: () => grantSync.stats.failures,
    async close() {
      await scheduler.stop()
      await objections.close()
      await grantSync.close()
    },
  }
}
