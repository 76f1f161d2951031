import type { ConnectorDefinition } from '../../connectors/kit/types.js'
import type { Clock } from '../../kernel/clock.js'
import { adminRecord } from '../audit/admin.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { HealthMonitor } from '../health/connector-health.js'
import type { QuotaStore } from '../quota/store.js'
import type { Logger } from '../telemetry/logger.js'
import { instanceChanges } from './connector-instances.js'
import type { SnapshotHolder } from './holder.js'
import { type LoadCatalogResult, loadCatalog } from './load.js'
import { buildSnapshot } from './snapshot.js'
import { type Catalog, type CatalogIssue, formatIssue } from './types.js'

export interface ReloadContext {
  readonly file: string
  readonly definitions: ReadonlyMap<string, ConnectorDefinition<never>>
  readonly vars: Readonly<Record<string, string | undefined>>
  readonly holder: SnapshotHolder
  readonly audit: AuditLog
  readonly health: HealthMonitor
  readonly log: Logger
  readonly clock: Clock
  readonly quotaStore?: QuotaStore
}

export type ReloadResult = { ok: true; catalog: Catalog } | { ok: false; issues: readonly CatalogIssue[] }

const snapshotChanges = new WeakMap<SnapshotHolder, Promise<unknown>>()

/** The last reload attempt that ran (a refusal before it, e.g. without catalog:admin, is not one). */
export interface ReloadAttempt {
  readonly at: number
  readonly outcome: 'accepted' | 'rejected'
  /** The version loaded, or the one kept serving after a rejection. */
  readonly version: string
  /** Every problem of a rejected file as `file:line:col message`. */
  readonly problems: readonly string[]
}

/** What the operators' status says about reloads: the last attempt, and when the running file was loaded by one. */
export interface ReloadHistory {
  readonly last?: ReloadAttempt
  /** Undefined while the catalog loaded at start is still the one serving. */
  readonly acceptedAt?: number
}

const reloadHistories = new WeakMap<SnapshotHolder, ReloadHistory>()

/** The reloads of the catalog behind `holder`, kept beside it like the chain of snapshot changes. */
export function reloadHistoryOf(holder: SnapshotHolder): ReloadHistory {
  return reloadHistories.get(holder) ?? {}
}

/**
 * Runs `work` (which builds a snapshot from the holder's current one and swaps it in) after every change of
 * `holder`'s snapshot already under way: a catalog reload and a grant sync (gateway/sharing/grant-sync.ts) go
 * through this one chain, so neither swaps in a snapshot built from one the other has just replaced (a reload would
 * drop a grant synced meanwhile, a sync would bring back the old file). Keyed by the holder, so whoever changes it
 * shares the chain without being wired to it.
 */
export function changeSnapshot<T>(holder: SnapshotHolder, work: () => Promise<T>): Promise<T> {
  const run = (snapshotChanges.get(holder) ?? Promise.resolve()).then(work)
  snapshotChanges.set(
    holder,
    run.catch(() => {}),
  )
  return run
}

/**
 * Live catalog reload (SIGHUP or POST /v1/admin/catalog/reload): the new file is checked exactly as at start; an
 * invalid one is rejected with every problem and the running catalog keeps serving. A valid one becomes current
 * atomically — calls in flight finish under the catalog they started with — so a revoked grant stops the very
 * next call. Every attempt, accepted or rejected, is audited; a reload whose record cannot be written is refused.
 * Connector instances whose configuration did not change are kept with their breaker and pooled connections; the
 * changed and removed ones are closed once the calls on the snapshots using them have ended. The live grants of the
 * current snapshot are merged into the new catalog, so a reload never drops an application's approval.
 */
export async function reloadCatalog(ctx: ReloadContext, actor: string, requestId?: string): Promise<ReloadResult> {
  const loaded = await loadCatalog(ctx.file, { definitions: ctx.definitions, vars: ctx.vars })
  return changeSnapshot(ctx.holder, () => applyReload(ctx, loaded, actor, requestId))
}

async function applyReload(
  ctx: ReloadContext,
  loaded: LoadCatalogResult,
  actor: string,
  requestId: string | undefined,
): Promise<ReloadResult> {
  const current = ctx.holder.get()
  const previous = current.catalog
  if (!loaded.ok) {
    await ctx.audit.append(
      adminRecord(
        'catalog.reload',
        ctx.clock.now(),
        {
          file: ctx.file,
          problems: loaded.issues.length,
          first: loaded.issues[0] ? formatIssue(loaded.issues[0]) : null,
          keptVersion: previous.version,
        },
        { actor, outcome: 'rejected', requestId },
      ),
    )
    ctx.log.warn({ problems: loaded.issues.length, kept: previous.version }, 'catalog reload rejected')
    const last = {
      at: ctx.clock.now(),
      outcome: 'rejected',
      version: previous.version,
      problems: loaded.issues.map(formatIssue),
    } as const
    reloadHistories.set(ctx.holder, { ...reloadHistoryOf(ctx.holder), last })
    return { ok: false, issues: loaded.issues }
  }
  // The live grants compiled now stay: the new file's catalog is merged with them (grant sync brings changes).
  const deps = { log: ctx.log, clock: ctx.clock, quotaStore: ctx.quotaStore }
  const next = buildSnapshot(loaded.catalog, deps, current, current.liveGrants)
  // Ids only: the options behind them may hold interpolated secrets.
  const changes = instanceChanges(current.instances, next.instances)
  try {
    await ctx.audit.append(
      adminRecord(
        'catalog.reload',
        ctx.clock.now(),
        {
          file: ctx.file,
          version: loaded.catalog.version,
          digest: loaded.catalog.digest,
          previousVersion: previous.version,
          previousDigest: previous.digest,
          resources: loaded.catalog.resources.size,
          grants: loaded.catalog.grants.size,
          connectorsKept: changes.kept.join(','),
          connectorsRebuilt: changes.rebuilt.join(','),
          connectorsAdded: changes.added.join(','),
          connectorsRemoved: changes.removed.join(','),
        },
        { actor, outcome: 'ok', requestId },
      ),
    )
  } catch (err) {
    await next.dispose()
    throw err
  }
  ctx.holder.swap(next)
  const at = ctx.clock.now()
  reloadHistories.set(ctx.holder, {
    last: { at, outcome: 'accepted', version: loaded.catalog.version, problems: [] },
    acceptedAt: at,
  })
  ctx.log.info({ version: loaded.catalog.version, previous: previous.version, connectors: changes }, 'catalog reloaded')
  // Kept instances keep their health status; new ones are probed now.
  void ctx.health.check([...changes.rebuilt, ...changes.added])
  return { ok: true, catalog: loaded.catalog }
}
