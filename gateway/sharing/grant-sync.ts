import type { SnapshotHolder } from '../catalog/holder.js'
import { changeSnapshot } from '../catalog/reload.js'
import type { CatalogSnapshot } from '../catalog/snapshot.js'
import type { Catalog } from '../catalog/types.js'
import type { GrantFeed } from './grant-feed.js'
import type { LiveGrant } from './model.js'
import type { SharingStore } from './store.js'

export interface GrantSyncOptions {
  readonly store: Pick<SharingStore, 'liveGrants'>
  readonly holder: SnapshotHolder
  /**
   * The snapshot for the file's catalog with these live grants, taking over from `previous`: buildSnapshot with the
   * gateway's deps (`(catalog, live, previous) => buildSnapshot(catalog, deps, previous, live)`).
   */
  readonly rebuild: (fileCatalog: Catalog, live: readonly LiveGrant[], previous: CatalogSnapshot) => CatalogSnapshot
  readonly log: {
    info(obj: object, msg?: string): void
    error(obj: object, msg?: string): void
  }
  /** Starts the change feed with the sync's handler, e.g. `(onChange) => watchGrantEpoch(state, onChange, opts)`. */
  readonly feed: (onChange: (epoch: number) => void) => Promise<GrantFeed>
  /** Called with every snapshot the sync swapped in (the gateway logs overlap warnings there). */
  readonly onSynced?: (snapshot: CatalogSnapshot) => void
  /** After a failed sync, the next attempt comes this much later unless a change comes first. Default 5 s. */
  readonly retryMs?: number
}

export interface GrantSync {
  /**
   * Recompiles the live grants now: resolves once a sync that began after the call has ended (the workflow calls
   * it after each grant change it commits, so this instance does not wait for its own notification). Never
   * rejects: a failed sync is logged and counted.
   */
  refresh(): Promise<void>
  readonly stats: {
    /** Snapshots swapped in. */
    readonly syncs: number
    /** Syncs that failed (reading the grants or building the snapshot): the metric to alert on. */
    readonly failures: number
  }
  /** Stops the feed and waits for a sync under way; call before the holder's snapshots are disposed. */
  close(): Promise<void>
}

/**
 * Keeps the holder's snapshot in step with the live grants: on start and on every epoch change, the grants are
 * read from the sharing store and a snapshot built from the current snapshot's file catalog plus those grants is
 * swapped in. Bursts coalesce (one sync runs, at most one more waits, and every request made meanwhile is served
 * by that one); a sync goes through the holder's change chain shared with catalog reloads (changeSnapshot), so
 * neither overwrites the other.
 *
 * Fail static: when the grants cannot be read (the state store down) the current snapshot stays, with every grant
 * compiled into it — approvals keep working and revocations already seen keep refusing, but a change made meanwhile
 * is not seen until a sync succeeds. That is logged as an error and counted; the next change, or a retry after
 * `retryMs`, tries again. Calls never wait for the database.
 */
export async function startGrantSync(options: GrantSyncOptions): Promise<GrantSync> {
  const { store, holder, rebuild, log } = options
  const retryMs = options.retryMs ?? 5_000
  const stats = { syncs: 0, failures: 0 }
  let closed = false
  let running: Promise<void> | undefined
  let queued: Promise<void> | undefined
  let retry: NodeJS.Timeout | undefined

  const syncOnce = async (): Promise<void> => {
    if (closed) return
    if (retry !== undefined) clearTimeout(retry)
    retry = undefined
    try {
      const live = await store.liveGrants()
      const swapped = await changeSnapshot(holder, async () => {
        if (closed) return undefined
        const current = holder.get()
        const next = rebuild(current.fileCatalog, live, current)
        holder.swap(next)
        return next
      })
      if (swapped === undefined) return
      stats.syncs++
      log.info({ liveGrants: live.length, skipped: swapped.skippedGrants.length }, 'live grants compiled')
      options.onSynced?.(swapped)
    } catch (err) {
      stats.failures++
      log.error(
        { err: (err as Error).message, failures: stats.failures },
        'live grants not synced; the snapshot keeps the grants compiled before',
      )
      if (!closed) {
        retry = setTimeout(() => void refresh(), retryMs)
        retry.unref()
      }
    }
  }

  const begin = (): Promise<void> => {
    const run = syncOnce().finally(() => {
      if (running === run) running = undefined
    })
    running = run
    return run
  }

  const refresh = (): Promise<void> => {
    if (closed) return Promise.resolve()
    if (queued !== undefined) return queued
    if (running === undefined) return begin()
    const next = running.then(() => {
      queued = undefined
      return begin()
    })
    queued = next
    return next
  }

  const feed = await options.feed(() => void refresh())
  await refresh()

  return {
    refresh,
    stats,
    async close() {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      await feed.close()
      await queued
      await running
    },
  }
}
