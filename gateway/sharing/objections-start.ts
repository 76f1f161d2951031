import type { Clock } from '../../kernel/clock.js'
import type { WorkingCalendar } from '../../kernel/working-calendar.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { KeyedDigest } from '../audit/digest.js'
import type { Catalog } from '../catalog/types.js'
import type { StateStore } from '../state/store.js'
import type { Logger } from '../telemetry/logger.js'
import type { ObjectionMetrics } from '../telemetry/objection-metrics.js'
import { watchGrantEpoch } from './grant-feed.js'
import type { ObjectionBoard } from './objections-board.js'
import { openObjectionStore } from './objections-store.js'
import { createObjectionDesk, type ObjectionDesk } from './objections-workflow.js'

export interface StartObjectionsOptions {
  readonly state: StateStore
  /** The board the snapshots carry (buildSnapshot's `deps.objections`): what the sync keeps current. */
  readonly board: ObjectionBoard
  readonly catalog: () => Catalog
  readonly calendar: WorkingCalendar
  readonly clock: Clock
  readonly audit: AuditLog
  readonly digest: KeyedDigest
  readonly days: number
  readonly log: Logger
  readonly metrics: ObjectionMetrics
  /** After a failed sync, the next attempt comes this much later unless a change comes first. Default 5 s. */
  readonly retryMs?: number
}

export interface RunningObjections {
  readonly desk: ObjectionDesk
  /** Recompiles the open objections now (resolves once a sync begun after the call has ended; never rejects). */
  refresh(): Promise<void>
  close(): Promise<void>
}

/**
 * Data objections, composed once at start: the desk behind the routes, and the sync that keeps the board — the
 * open objections the exchange path marks answers with — in step with the store on every instance. It rides the
 * grant feed's mechanism (grant-feed.ts) with the objection epoch: PostgreSQL LISTEN on the same channel (each
 * store bump notifies; each listener reads its own epoch) with a safety poll, SQLite a 200 ms look at one row.
 * Fail static: when the store cannot be read the board keeps what it had, the failure is logged, and a retry
 * follows; calls never wait for it.
 */
export async function startObjections(options: StartObjectionsOptions): Promise<RunningObjections> {
  const { state, board, log, metrics } = options
  const store = openObjectionStore(state)
  const retryMs = options.retryMs ?? 5_000
  let closed = false
  let chain: Promise<void> = Promise.resolve()
  let queued: Promise<void> | undefined
  let retry: NodeJS.Timeout | undefined
  let failing = false

  const syncOnce = async (): Promise<void> => {
    if (closed) return
    if (retry !== undefined) clearTimeout(retry)
    retry = undefined
    try {
      board.replace(await store.open())
      metrics.open(board.openByProvider())
      if (failing) log.info({ open: board.size }, 'open objections compiled again')
      failing = false
    } catch (err) {
      if (!failing) {
        log.error({ err: (err as Error).message }, 'open objections not synced; answers keep the marks compiled before')
      }
      failing = true
      if (!closed) {
        retry = setTimeout(() => void refresh(), retryMs)
        retry.unref()
      }
    }
  }

  // Bursts coalesce: a sync asked for while one waits to start is that one.
  const refresh = (): Promise<void> => {
    if (queued !== undefined) return queued
    const next = chain.then(() => {
      queued = undefined
      return syncOnce()
    })
    queued = next
    chain = next
    return next
  }

  const tagged = {
    warn: (obj: object, msg?: string) => log.warn({ ...obj, feed: 'objections' }, msg),
    info: (obj: object, msg?: string) => log.info({ ...obj, feed: 'objections' }, msg),
  }
  const feed = await watchGrantEpoch(state, () => void refresh(), {
    sharing: { grantEpoch: () => store.epoch() },
    log: tagged,
  })
  await refresh()

  const desk = createObjectionDesk({
    store,
    catalog: options.catalog,
    calendar: options.calendar,
    clock: options.clock,
    audit: options.audit,
    digest: options.digest,
    days: options.days,
    onResolved: (o) => {
      if (o.resolution !== undefined) metrics.resolved(o.provider, o.resolution.outcome, o.resolution.workingDays)
    },
    onChanged: refresh,
  })
  return {
    desk,
    refresh,
    async close() {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      await feed.close()
      await chain
    },
  }
}
