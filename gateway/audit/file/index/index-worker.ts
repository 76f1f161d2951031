import { parentPort } from 'node:worker_threads'
import { nameThisThread, type ThreadAnswer } from '../../thread.js'
import { createLogIndexer, type LogIndexer } from './indexer.js'
import { INDEX_THREAD_NAME, type IndexNotice, type IndexRequest } from './thread.js'
import { type Acknowledged, durableLines } from './writer.js'

/**
 * The index thread (thread.ts): an indexer per log written by this process, each fed with the bytes of every
 * durable batch, which it parses here as the catch-up reads them from the segments: the index follows what the
 * log holds, never the records as the request thread built them.
 */
const port = parentPort
if (!port) throw new Error('index-worker runs as a worker thread')
nameThisThread(INDEX_THREAD_NAME)

interface OpenLog {
  readonly logId: string
  indexer: LogIndexer
  ack: Acknowledged
}
const logs = new Map<string, OpenLog>()

function opened(log: string, logId: string, ack: Acknowledged): OpenLog {
  const known = logs.get(log)
  if (known) {
    known.ack = ack
    return known
  }
  const open = { logId, ack } as OpenLog
  open.indexer = createLogIndexer({
    logDir: log,
    logId,
    acknowledged: () => open.ack,
    onEvent: (event) => port?.postMessage({ type: 'event', log, event } satisfies IndexNotice),
  })
  logs.set(log, open)
  return open
}

async function answer(id: number, work: () => unknown): Promise<void> {
  let reply: ThreadAnswer
  try {
    reply = { id, value: await work() }
  } catch (err) {
    reply = { id, error: (err as Error).message }
  }
  port?.postMessage(reply)
}

port.on('message', (request: IndexRequest & { readonly id?: number }) => {
  const open = logs.get(request.log)
  const id = request.id as number
  switch (request.type) {
    case 'appended': {
      if (!open) return
      open.ack = request.ack
      const lines = durableLines(open.logId, request.data, request.batch)
      open.indexer.appended(request.batch.first, lines, request.data, request.offset)
      return
    }
    case 'ack':
      if (open) open.ack = request.ack
      return
    case 'start':
      return void answer(id, () => opened(request.log, request.logId, request.ack).indexer.start(request.recovered))
    case 'caughtUp':
      // A log this thread does not have (it was started again since the log opened) is indexed up to nothing here.
      return void answer(id, () => open?.indexer.caughtUp() ?? { nextSeq: 0, stopped: 'index thread restarted' })
    case 'purged':
      return void answer(id, () => open?.indexer.purged(request.segments))
    case 'flush':
      return void answer(id, () => open?.indexer.flush())
    case 'close':
      logs.delete(request.log)
      return void answer(id, () => open?.indexer.close())
  }
})
