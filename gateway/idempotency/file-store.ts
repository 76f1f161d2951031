import { type FileHandle, mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { BeginOutcome, IdempotencyStore, StoredAnswer } from './store.js'

type State = 'in-flight' | 'done' | 'unknown'

interface Entry {
  fingerprint: string
  expiresAt: number
  state: State
  answer?: StoredAnswer
}

type LogLine =
  | { op: 'begin'; key: string; fp: string; exp: number }
  | { op: 'done'; key: string; answer: StoredAnswer }
  | { op: 'unknown'; key: string }
  | { op: 'release'; key: string }

export interface FileIdempotencyStoreOptions {
  readonly dir: string
  /** How long a key is remembered, ms. */
  readonly ttlMs: number
  readonly now: () => number
}

/**
 * Keys in an append-only JSON-lines journal in the data directory, fsynced on every change, replayed at start
 * (so keys survive a restart) and compacted then: expired keys are dropped. A key still in flight when the
 * process stopped has an unknown outcome and is never delivered again.
 */
export async function openFileIdempotencyStore(options: FileIdempotencyStoreOptions): Promise<IdempotencyStore> {
  const path = join(options.dir, 'idempotency.jsonl')
  await mkdir(options.dir, { recursive: true, mode: 0o700 })
  const entries = await replay(path, options.now())
  await compact(path, entries)
  let handle: FileHandle | undefined = await open(path, 'a', 0o600)
  let chain: Promise<void> = Promise.resolve()

  /** Appends and syncs one line; lines are written in call order. */
  function append(line: LogLine): Promise<void> {
    const write = chain.then(async () => {
      if (!handle) throw new Error('idempotency store closed')
      await handle.write(`${JSON.stringify(line)}\n`)
      await handle.datasync()
    })
    chain = write.catch(() => {})
    return write
  }

  return {
    async begin(key, fingerprint, now): Promise<BeginOutcome> {
      const existing = entries.get(key)
      if (existing && existing.expiresAt > now) {
        if (existing.fingerprint !== fingerprint) return { kind: 'conflict' }
        if (existing.state === 'done' && existing.answer) return { kind: 'replay', answer: existing.answer }
        return { kind: existing.state === 'unknown' ? 'unknown' : 'in-flight' }
      }
      const exp = now + options.ttlMs
      // Claimed in memory first (synchronously), so a concurrent duplicate sees it while the line is synced.
      entries.set(key, { fingerprint, expiresAt: exp, state: 'in-flight' })
      try {
        await append({ op: 'begin', key, fp: fingerprint, exp })
      } catch (err) {
        entries.delete(key)
        throw err
      }
      return { kind: 'new' }
    },
    async complete(key, answer) {
      const entry = entries.get(key)
      if (!entry) return
      await append({ op: 'done', key, answer })
      entry.state = 'done'
      entry.answer = answer
    },
    async release(key) {
      entries.delete(key)
      await append({ op: 'release', key })
    },
    async markUnknown(key) {
      const entry = entries.get(key)
      if (entry) entry.state = 'unknown'
      await append({ op: 'unknown', key })
    },
    async close() {
      await chain
      await handle?.close()
      handle = undefined
    },
  }
}

async function replay(path: string, now: number): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>()
  let text = ''
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  for (const raw of text.split('\n')) {
    if (raw.length === 0) continue
    let line: LogLine
    try {
      line = JSON.parse(raw) as LogLine
    } catch {
      continue // a torn last line after a crash: that change never completed
    }
    if (line.op === 'begin') entries.set(line.key, { fingerprint: line.fp, expiresAt: line.exp, state: 'in-flight' })
    else if (line.op === 'release') entries.delete(line.key)
    else {
      const entry = entries.get(line.key)
      if (!entry) continue
      if (line.op === 'done') Object.assign(entry, { state: 'done', answer: line.answer })
      else entry.state = 'unknown'
    }
  }
  for (const [key, entry] of entries) {
    if (entry.expiresAt <= now) entries.delete(key)
    // Still in flight when the process stopped: whether the provider got it is unknown.
    else if (entry.state === 'in-flight') entry.state = 'unknown'
  }
  return entries
}

/** Rewrites the journal with the live keys only (write a new file, sync, rename over the old one). */
async function compact(path: string, entries: Map<string, Entry>): Promise<void> {
  const lines: string[] = []
  for (const [key, e] of entries) {
    lines.push(JSON.stringify({ op: 'begin', key, fp: e.fingerprint, exp: e.expiresAt } satisfies LogLine))
    if (e.state === 'done' && e.answer)
      lines.push(JSON.stringify({ op: 'done', key, answer: e.answer } satisfies LogLine))
    if (e.state === 'unknown') lines.push(JSON.stringify({ op: 'unknown', key } satisfies LogLine))
  }
  const tmp = `${path}.compact`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.write(lines.length > 0 ? `${lines.join('\n')}\n` : '')
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
