import type { StateStore } from '../state/store.js'
import { GRANT_CHANGES_CHANNEL, type SharingStore } from './store.js'

/**
 * How an instance learns that live grants changed (an approval, a revocation, a renewal on any instance), so that
 * it recompiles its snapshot within a second. Only the grant epoch travels: a single number the sharing store bumps
 * in every transaction that changes a grant; the grants themselves are read once per change (grant-sync.ts).
 *
 * - PostgreSQL (several instances, several hosts): a dedicated connection LISTENs on GRANT_CHANGES_CHANNEL; the
 *   store's `pg_notify` inside the transaction is delivered at commit, to every instance at once, and costs nothing
 *   while nothing changes. Polling instead would have every instance query the shared server every 200 ms, forever.
 *   NOTIFY is not durable: a notification sent while the connection is down is lost, so after every reconnect the
 *   epoch is read again, and a safety poll every 10 s covers a connection that died without anyone noticing. A
 *   notification is only a hint: the epoch is read from this store's own schema (another store sharing the
 *   database notifies on the same channel).
 * - SQLite (one host; several processes may share the file): there is no notification between processes, so the
 *   epoch is read every 200 ms. That is one single-row primary-key read of a local file (WAL mode: it never waits
 *   for a writer), microseconds each, and it keeps the one-second promise with room to spare.
 */

export interface GrantFeed {
  close(): Promise<void>
}

export interface GrantFeedOptions {
  /** The sharing store on `state`: where the epoch is read. */
  readonly sharing: Pick<SharingStore, 'grantEpoch'>
  /** Operational log: lost connections and failed reads (never more than one line per outage and recovery). */
  readonly log?: {
    warn(obj: object, msg?: string): void
    info(obj: object, msg?: string): void
  }
  /** SQLite: how often the epoch is read. Default 200 ms. */
  readonly pollMs?: number
  /** PostgreSQL: the safety poll beside LISTEN. Default 10 s. */
  readonly safetyPollMs?: number
  /** PostgreSQL: first and longest wait before reconnecting the listener. Defaults 250 ms and 10 s. */
  readonly minRetryMs?: number
  readonly maxRetryMs?: number
}

export const SQLITE_GRANT_POLL_MS = 200
export const POSTGRES_GRANT_SAFETY_POLL_MS = 10_000

/**
 * Calls `onChange` with the new epoch whenever the grant epoch of `state` changes, and after every reconnection of
 * the PostgreSQL listener (with the epoch read then, changed or not: a notification may have been missed). Reads
 * never overlap; one asked for while another runs is made right after it, so a change is never lost to a read that
 * started just before its commit. The first epoch read is the baseline, so the caller loads the grants once after
 * this resolves (as grant sync does): a change committed before then is in what it loads.
 */
export async function watchGrantEpoch(
  state: StateStore,
  onChange: (epoch: number) => void,
  options: GrantFeedOptions,
): Promise<GrantFeed> {
  const log = options.log
  let closed = false
  let seen: number | undefined
  let failing = false
  let reading: Promise<void> | undefined
  let again: { force: boolean } | undefined

  const readOnce = async (force: boolean): Promise<void> => {
    let epoch: number
    try {
      epoch = await options.sharing.grantEpoch()
    } catch (err) {
      if (!failing) log?.warn({ err: (err as Error).message }, 'grant epoch unreadable; live grants may be stale')
      failing = true
      return
    }
    if (failing) log?.info({ epoch }, 'grant epoch readable again')
    failing = false
    const changed = seen === undefined || epoch !== seen
    seen = epoch
    if (closed || (!changed && !force)) return
    try {
      onChange(epoch)
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'grant change handler failed')
    }
  }

  const check = (force: boolean): void => {
    if (closed) return
    if (reading !== undefined) {
      again = { force: force || (again?.force ?? false) }
      return
    }
    reading = readOnce(force).finally(() => {
      reading = undefined
      const next = again
      again = undefined
      if (next !== undefined) check(next.force)
    })
  }

  // The baseline: no call for it.
  try {
    seen = await options.sharing.grantEpoch()
  } catch (err) {
    failing = true
    log?.warn({ err: (err as Error).message }, 'grant epoch unreadable; live grants may be stale')
  }

  let listener: { close(): Promise<void> } | undefined
  if (state.listen !== undefined) {
    let listenerDown = false
    listener = await state.listen(
      GRANT_CHANGES_CHANNEL,
      () => check(false),
      () => {
        log?.info({ channel: GRANT_CHANGES_CHANNEL }, 'grant change listener reconnected')
        listenerDown = false
        check(true)
      },
      {
        minRetryMs: options.minRetryMs,
        maxRetryMs: options.maxRetryMs,
        onError: (err) => {
          if (!listenerDown) log?.warn({ err: err.message }, 'grant change listener lost its connection; reconnecting')
          listenerDown = true
        },
      },
    )
  }
  const everyMs =
    state.listen === undefined
      ? (options.pollMs ?? SQLITE_GRANT_POLL_MS)
      : (options.safetyPollMs ?? POSTGRES_GRANT_SAFETY_POLL_MS)
  const poll = setInterval(() => check(false), everyMs)
  poll.unref()

  return {
    async close() {
      closed = true
      clearInterval(poll)
      await listener?.close()
      await reading
    },
  }
}
