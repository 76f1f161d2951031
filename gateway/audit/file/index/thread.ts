import { resolve } from 'node:path'
import { type SharedThread, sharedThread } from '../../thread.js'
import type { IndexEvent, IndexStatus } from './indexer.js'
import type { Acknowledged, DurableBatch, IndexWriter, IndexWriterOptions } from './writer.js'

/**
 * The logs' index writers (indexer.ts) in one thread of the process (index-worker.ts), so that indexing — parsing
 * the durable lines, building runs and terms, the SQLite transactions, catching up after a restart — never runs on
 * the request thread. The writer hands over each batch's bytes once they are durable; queries read the index file
 * through their own read-only connection (index.ts), as another process would. If the thread fails, the index
 * stops following (queries scan past it) until the log is opened again.
 */

/** Requests to the index thread; `log` is the log's directory (absolute), which keys its indexer there. */
export type IndexRequest =
  | {
      readonly type: 'start'
      readonly log: string
      readonly logId: string
      readonly recovered: { nextSeq: number; chain: string }
      readonly ack: Acknowledged
    }
  | { readonly type: 'caughtUp' | 'flush' | 'close'; readonly log: string }
  | { readonly type: 'purged'; readonly log: string; readonly segments: readonly number[] }
  | { readonly type: 'ack'; readonly log: string; readonly ack: Acknowledged }
  | {
      readonly type: 'appended'
      readonly log: string
      readonly ack: Acknowledged
      readonly data: Uint8Array
      readonly offset: number
      /** The batch without its entries (objects are not handed over: the thread parses the lines instead). */
      readonly batch: Omit<DurableBatch, 'entries'>
    }

/** An event of a log's indexer, from the thread. */
export interface IndexNotice {
  readonly type: 'event'
  readonly log: string
  readonly event: IndexEvent
}

/** The OS name of the index thread (`top -H`). */
export const INDEX_THREAD_NAME = 'qiao-audit-idx'

/** The logs indexed in the thread, by directory: each hears its indexer's events. */
const indexedLogs = new Map<string, { readonly logId: string; readonly onEvent: (event: IndexEvent) => void }>()
let thread: SharedThread | undefined

function indexThread(): SharedThread {
  thread ??= sharedThread({
    importMetaUrl: import.meta.url,
    module: 'index-worker',
    onNotice: (message) => {
      const notice = message as IndexNotice
      if (notice.type === 'event') indexedLogs.get(notice.log)?.onEvent(notice.event)
    },
    onLost: (reason) => {
      for (const { logId, onEvent } of indexedLogs.values()) {
        onEvent({
          level: 'error',
          msg: 'audit index stopped; queries scan the log beyond it until the next start',
          detail: { log: logId, reason: `index thread ${reason}` },
        })
      }
    },
  })
  return thread
}

export function threadIndexWriter(options: IndexWriterOptions): IndexWriter {
  const log = resolve(options.logDir)
  const shared = indexThread()
  indexedLogs.set(log, { logId: options.logId, onEvent: options.onEvent })
  const call = <T>(request: IndexRequest) => shared.call<T>(request)

  return {
    start: (recovered) => call({ type: 'start', log, logId: options.logId, recovered, ack: options.acknowledged() }),
    appended(bytes, offset, { first, count, terms }) {
      // A copy of exactly these bytes, handed over without another copy (the caller's buffer may be pooled).
      const data = Uint8Array.prototype.slice.call(bytes) as Uint8Array<ArrayBuffer>
      const batch = { first, count, ...(terms ? { terms } : {}) }
      const request: IndexRequest = { type: 'appended', log, ack: options.acknowledged(), data, offset, batch }
      shared.tell(request, [data.buffer])
    },
    acknowledgedMoved: () => shared.tell({ type: 'ack', log, ack: options.acknowledged() } satisfies IndexRequest),
    caughtUp: () =>
      call<IndexStatus>({ type: 'caughtUp', log }).catch((err: Error) => ({ nextSeq: 0, stopped: err.message })),
    purged: (segments) => call<void>({ type: 'purged', log, segments }).catch(() => {}),
    flush: () => call<void>({ type: 'flush', log }).catch(() => {}),
    async close() {
      await call({ type: 'close', log }).catch(() => {})
      indexedLogs.delete(log)
    },
  }
}
