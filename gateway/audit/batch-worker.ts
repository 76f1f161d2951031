import { parentPort } from 'node:worker_threads'
import { BatchBuilder, unbuiltBatch } from './batch.js'
import { type BatchRequest, HASH_THREAD_NAME } from './batch-hasher.js'
import { nameThisThread, type ThreadAnswer } from './thread.js'

/**
 * The process's audit hashing thread (batch-hasher.ts): builds each log's batches, each on the one before, and
 * hands the lines and hashes back without copying them (their memory is transferred).
 */
const port = parentPort
if (!port) throw new Error('batch-worker runs as a worker thread')
// Named for `top -H` and for the benchmark, which reads this thread's CPU apart from the request thread's.
nameThisThread(HASH_THREAD_NAME)

const builders = new Map<number, BatchBuilder>()

port.on('message', (request: BatchRequest & { readonly id?: number }) => {
  if (request.type === 'forget') {
    builders.delete(request.log)
    return
  }
  const id = request.id as number
  let answer: ThreadAnswer
  let transfer: ArrayBuffer[] = []
  try {
    let builder = builders.get(request.log)
    if (request.base) {
      if (!builder) {
        builder = new BatchBuilder(request.base.logId, request.base.algorithm)
        builders.set(request.log, builder)
      }
      builder.rebase(request.base)
    }
    const batch = builder ? builder.build(request.records, request.loggedAt, request.terms) : unbuiltBatch()
    answer = { id, value: batch }
    const buffers = new Set([batch.lines.buffer, batch.ends.buffer, batch.leaves.buffer, batch.nodes.buffer])
    transfer = [...buffers].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0)
  } catch (err) {
    answer = { id, error: (err as Error).message }
  }
  port.postMessage(answer, transfer)
})
