import { type FileHandle, mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import { type AuditStore, AuditUnavailableError } from './store.js'

export interface FileAuditStoreOptions {
  readonly dir: string
  /** File name inside dir. */
  readonly fileName?: string
}

interface Pending {
  readonly line: string
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

/**
 * Append-only JSON-lines audit file, made durable with fdatasync before any append resolves.
 * Group commit: while one batch is being written and synced, new records queue up and go out together in the
 * next batch, so concurrent calls share one fsync instead of paying one each.
 */
export function createFileAuditStore(options: FileAuditStoreOptions): AuditStore {
  const path = join(options.dir, options.fileName ?? 'audit.jsonl')
  let handle: FileHandle | undefined
  let queue: Pending[] = []
  let flushing = false
  let closed = false
  const stats = { appended: 0, syncs: 0 }

  async function ensureOpen(): Promise<FileHandle> {
    if (handle) return handle
    await mkdir(options.dir, { recursive: true, mode: 0o700 })
    handle = await open(path, 'a', 0o600)
    return handle
  }

  async function flush(): Promise<void> {
    flushing = true
    try {
      while (queue.length > 0) {
        const batch = queue
        queue = []
        try {
          const fh = await ensureOpen()
          await fh.write(batch.map((p) => p.line).join(''))
          await fh.datasync()
          stats.syncs++
          stats.appended += batch.length
          for (const p of batch) p.resolve()
        } catch (err) {
          // The file may be half-written; reopen on the next batch. Every caller of this batch fails closed.
          await handle?.close().catch(() => {})
          handle = undefined
          const failure = new AuditUnavailableError(
            `audit write failed: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
            {
              cause: err,
            },
          )
          for (const p of batch) p.reject(failure)
        }
      }
    } finally {
      flushing = false
    }
  }

  return {
    stats,
    append(record) {
      if (closed) return Promise.reject(new AuditUnavailableError('audit store closed'))
      return new Promise<void>((resolve, reject) => {
        queue.push({ line: `${JSON.stringify(record)}\n`, resolve, reject })
        if (!flushing) void flush()
      })
    },
    async close() {
      closed = true
      while (flushing || queue.length > 0) await new Promise((r) => setImmediate(r))
      await handle?.close()
      handle = undefined
    },
  }
}
