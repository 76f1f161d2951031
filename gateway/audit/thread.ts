import { writeFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'

/**
 * A worker thread shared by everything of one kind in the process (the logs' hashing, the file store's indexing):
 * started on first use, started again on the next use after it failed, and unref'd while nobody waits for it, so
 * it never keeps the process alive on its own. Requests carry an id and are answered in order; a failed thread
 * fails what was waiting. A thread that failed LOSSES_BEFORE_PAUSE times within LOSS_WINDOW_MS is not started
 * again for PAUSE_MS (requests fail at once meanwhile: the callers do the work themselves or fail closed).
 */
export interface SharedThread {
  /** Sends a request and resolves with the thread's answer (rejects with its error, or when the thread fails). */
  call<T>(message: object, transfer?: readonly ArrayBuffer[]): Promise<T>
  /** Sends a message that has no answer (dropped when the thread is not running: nothing there to tell). */
  tell(message: object, transfer?: readonly ArrayBuffer[]): void
  /** Starts the thread if it is not running, so that the next request need not wait for it to load. */
  warm(): void
  /** Ends the thread as a crash would (what waits fails; the next use starts another): for tests. */
  stop(): Promise<void>
  /** `running`; `idle`: not started (or failed, to be started again); `paused`: failed repeatedly, not started now. */
  readonly state: 'running' | 'idle' | 'paused'
}

/** What a thread answers a request with. */
export interface ThreadAnswer {
  readonly id: number
  readonly value?: unknown
  readonly error?: string
}

export interface SharedThreadOptions {
  /** import.meta.url of the module the thread's module sits next to, and its name (no extension). */
  readonly importMetaUrl: string
  readonly module: string
  /** Messages from the thread that answer no request (its events). */
  readonly onNotice?: (message: unknown) => void
  /** The thread failed or exited on its own; what was waiting has been failed. */
  readonly onLost?: (reason: string) => void
}

const LOSSES_BEFORE_PAUSE = 3
const LOSS_WINDOW_MS = 10_000
const PAUSE_MS = 30_000

export function sharedThread(options: SharedThreadOptions): SharedThread {
  let worker: Worker | undefined
  let losses: number[] = []
  let pausedUntil = 0
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>()
  let nextId = 0

  function lose(w: Worker, reason: string): void {
    if (worker !== w) return
    worker = undefined
    const now = Date.now()
    losses = [...losses.filter((t) => now - t < LOSS_WINDOW_MS), now]
    if (losses.length >= LOSSES_BEFORE_PAUSE) {
      pausedUntil = now + PAUSE_MS
      losses = []
    }
    const failure = new Error(`${options.module} thread ${reason}`)
    for (const waiter of waiting.values()) waiter.reject(failure)
    waiting.clear()
    options.onLost?.(reason)
  }

  function started(): Worker {
    if (worker) return worker
    if (Date.now() < pausedUntil) throw new Error(`${options.module} thread paused after failing repeatedly`)
    const w = startModuleThread(options.importMetaUrl, options.module)
    w.on('message', (message: ThreadAnswer) => {
      const waiter = typeof message?.id === 'number' ? waiting.get(message.id) : undefined
      if (!waiter) return options.onNotice?.(message)
      waiting.delete(message.id)
      if (waiting.size === 0) w.unref()
      if (message.error !== undefined) waiter.reject(new Error(message.error))
      else waiter.resolve(message.value)
    })
    w.on('error', (err) => lose(w, `failed (${err.message})`))
    w.on('exit', (code) => lose(w, `exited (${code})`))
    worker = w
    return w
  }

  return {
    call<T>(message: object, transfer?: readonly ArrayBuffer[]): Promise<T> {
      let w: Worker
      try {
        w = started()
      } catch (err) {
        return Promise.reject(err)
      }
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        try {
          w.postMessage({ ...message, id }, transfer)
        } catch (err) {
          reject(err as Error)
          return
        }
        waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
        if (waiting.size === 1) w.ref()
      })
    },
    tell(message, transfer) {
      worker?.postMessage(message, transfer)
    },
    warm() {
      try {
        started()
      } catch {
        // Paused: the next request says so.
      }
    },
    get state() {
      if (worker) return 'running'
      return Date.now() < pausedUntil ? 'paused' : 'idle'
    },
    async stop() {
      const w = worker
      if (!w) return
      lose(w, 'stopped')
      await w.terminate()
    },
  }
}

/**
 * Starts the module `name` (no extension) next to `importMetaUrl` as a worker thread, unref'd: the compiled .js in
 * a build, or the .ts source through tsx when running from the sources (tests, `tsx gateway/cli.ts`), where a
 * worker does not inherit the parent's loader.
 */
function startModuleThread(importMetaUrl: string, name: string): Worker {
  let worker: Worker
  if (importMetaUrl.endsWith('.ts')) {
    const entry = JSON.stringify(new URL(`./${name}.ts`, importMetaUrl).href)
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
    worker = new Worker(`import(${tsx}).then((api) => { api.register(); return import(${entry}) })`, { eval: true })
  } else {
    worker = new Worker(new URL(`./${name}.js`, importMetaUrl))
  }
  worker.unref()
  return worker
}

/** Names the calling thread for `top -H` and /proc/<pid>/task/<tid>/comm (at most 15 characters); Linux only. */
export function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15))
  } catch {
    // Not Linux, or /proc not mounted: only the name is missing.
  }
}
