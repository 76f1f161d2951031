import { randomUUID } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import type { Config } from '../config/settings.js'
import type { Logger } from '../telemetry/logger.js'

/**
 * One writer per directory: a lock file naming its holder (pid, host, since, and the gateway's URL once it listens).
 *
 * Hand-written rather than proper-lockfile: the refusal must name the holder and the stale check needs pid + host
 * ("this host, and that pid is gone"); proper-lockfile uses a mkdir lock kept fresh by mtime heartbeats, which tells
 * neither who holds it nor whether that process is dead.
 *
 * - Create: the holder's JSON is written and fsync'ed under a temporary name, then hard-linked to the lock name.
 *   link(2) fails if the name exists, exactly like O_EXCL, and a reader never sees a half-written lock.
 * - Stale (this host, pid not alive): replaced by rename(2). Only the process that holds the takeover guard for that
 *   very lock (`<lock>.takeover-<its id>`, itself a lock of this kind) may replace it, and it checks under the guard
 *   that the lock is still the stale one; two newcomers racing cannot both win.
 * - Another host's lock cannot be checked: refused, with how to remove it.
 */

export interface LockHolder {
  /** This acquisition: tells a process's own lock from an earlier one that had the same pid (containers: pid 1). */
  readonly id: string
  readonly pid: number
  readonly host: string
  /** ISO 8601, when the lock was taken. */
  readonly since: string
  readonly port?: number
  readonly url?: string
}

export type LockVerdict =
  | { readonly state: 'free' }
  | { readonly state: 'held' | 'stale' | 'foreign-host'; readonly holder: LockHolder }
  | { readonly state: 'unreadable'; readonly detail: string }

export type RefusalReason = 'held' | 'foreign-host' | 'unreadable'

/** Another process holds the lock (or may: another host's, or one that cannot be read). */
export class WriterLockHeldError extends Error {
  readonly reason: RefusalReason
  readonly lockFile: string
  readonly holder: LockHolder | undefined
  constructor(message: string, reason: RefusalReason, lockFile: string, holder?: LockHolder) {
    super(message)
    this.name = 'WriterLockHeldError'
    this.reason = reason
    this.lockFile = lockFile
    this.holder = holder
  }
}

export interface WriterLock {
  readonly file: string
  readonly holder: LockHolder
  /** The dead holder this lock was taken over from, if it was. */
  readonly tookOverFrom: LockHolder | undefined
  /** Adds what became known after start (port, URL); still ours, still durable. */
  update(fields: { port?: number; url?: string }): Promise<void>
  /** Removes the lock if it is still ours; idempotent. */
  release(): Promise<void>
}

export interface AcquireOptions {
  /** What the lock protects, for the refusal: e.g. "audit log qiao-gw-1 (/var/lib/qiao/audit/qiao-gw-1)". */
  readonly subject: string
  /** The way out besides stopping the holder, e.g. "give this instance its own QIAO_DATA_DIR". */
  readonly remedy: string
  /** Tests: widen the race windows of a takeover (after reading the stale lock; just before replacing it). */
  readonly hooks?: { onStale?: () => Promise<void>; beforeReplace?: () => Promise<void> }
}

/**
 * Ids of locks this process holds: its own pid is alive, so these are what tell "mine" from "an earlier me". On
 * globalThis, so that every copy of this module in the process (test runners load one per file) sees the same set.
 */
const HELD = Symbol.for('qiao.writer-locks.held')
const registry = globalThis as Record<symbol, Set<string> | undefined>
registry[HELD] ??= new Set<string>()
const heldHere: Set<string> = registry[HELD]

function newHolder(): LockHolder {
  return { id: randomUUID(), pid: process.pid, host: hostname(), since: new Date().toISOString() }
}

function isHolder(v: unknown): v is LockHolder {
  const h = v as LockHolder
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.id === 'string' &&
    /^[A-Za-z0-9._-]{1,64}$/.test(h.id) && // it names the takeover guard file: no path separators
    Number.isSafeInteger(h.pid) &&
    h.pid > 0 && // kill(0 or negative) would address process groups
    typeof h.host === 'string' &&
    typeof h.since === 'string'
  )
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else. Only ESRCH proves it is gone.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** Who holds the lock file and whether that holder is still running. */
export async function inspectWriterLock(file: string): Promise<LockVerdict> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' }
    return { state: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? 'read failed' }
  }
  let holder: unknown
  try {
    holder = JSON.parse(text)
  } catch {
    return { state: 'unreadable', detail: 'not JSON' }
  }
  if (!isHolder(holder)) return { state: 'unreadable', detail: 'not a lock record' }
  if (holder.host !== hostname()) return { state: 'foreign-host', holder }
  if (holder.pid === process.pid) return { state: heldHere.has(holder.id) ? 'held' : 'stale', holder }
  return { state: alive(holder.pid) ? 'held' : 'stale', holder }
}

/** The refusal for a verdict that stops a newcomer, or undefined if it may go on (free or stale). */
export function refusal(file: string, verdict: LockVerdict, options: AcquireOptions): WriterLockHeldError | undefined {
  const { subject, remedy } = options
  switch (verdict.state) {
    case 'free':
    case 'stale':
      return undefined
    case 'held': {
      const { holder } = verdict
      const where = holder.url ? ` (${holder.url})` : ''
      return new WriterLockHeldError(
        `${subject} is in use by another process: pid ${holder.pid} on ${holder.host} since ${holder.since}${where}. ` +
          `Two writers would corrupt it, so this one does not start. Stop that process, or ${remedy}.`,
        'held',
        file,
        holder,
      )
    }
    case 'foreign-host': {
      const { holder } = verdict
      return new WriterLockHeldError(
        `${subject} is locked by a process on another host: pid ${holder.pid} on ${holder.host} since ${holder.since}. ` +
          `This host cannot tell whether it still runs. If it certainly no longer does, remove ${file} and start ` +
          `again; otherwise ${remedy}.`,
        'foreign-host',
        file,
        holder,
      )
    }
    case 'unreadable':
      return new WriterLockHeldError(
        `${subject}: its lock file ${file} cannot be read (${verdict.detail}). If no other process uses it, remove ` +
          `the lock file and start again; otherwise ${remedy}.`,
        'unreadable',
        file,
      )
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** The holder's JSON, fsync'ed, under a name no one else uses. */
async function writeTemp(file: string, holder: LockHolder): Promise<string> {
  const tmp = `${file}.${holder.id}.${randomUUID().slice(0, 8)}.tmp`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.write(`${JSON.stringify(holder)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return tmp
}

/** Creates the lock if there is none; false if there is one. */
async function createExclusive(file: string, holder: LockHolder): Promise<boolean> {
  const tmp = await writeTemp(file, holder)
  try {
    await link(tmp, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await unlink(tmp).catch(() => {})
    await syncDir(dirname(file))
  }
}

async function releaseIfOurs(file: string, id: string): Promise<void> {
  const verdict = await inspectWriterLock(file)
  if (verdict.state !== 'free' && 'holder' in verdict && verdict.holder.id === id) {
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
    await syncDir(dirname(file))
  }
  heldHere.delete(id)
}

type Attempt =
  | { readonly outcome: 'won'; readonly tookOverFrom?: LockHolder }
  | { readonly outcome: 'refused'; readonly verdict: LockVerdict }
  /** Someone else is creating or taking over the lock right now: look again shortly. */
  | { readonly outcome: 'again' }

/** Guards of guards are only needed when a takeover itself crashed; deeper than this, something else is wrong. */
const MAX_GUARD_DEPTH = 4

async function attempt(file: string, holder: LockHolder, options: AcquireOptions, depth: number): Promise<Attempt> {
  // Marked ours before it can be seen, so that a racer of this same process never judges it stale.
  heldHere.add(holder.id)
  let result: Attempt = { outcome: 'again' }
  try {
    result = await contend(file, holder, options, depth)
    return result
  } finally {
    if (result.outcome !== 'won') heldHere.delete(holder.id)
  }
}

async function contend(file: string, holder: LockHolder, options: AcquireOptions, depth: number): Promise<Attempt> {
  if (await createExclusive(file, holder)) return { outcome: 'won' }
  const verdict = await inspectWriterLock(file)
  if (verdict.state === 'free') return { outcome: 'again' }
  if (verdict.state !== 'stale') return { outcome: 'refused', verdict }
  if (depth >= MAX_GUARD_DEPTH) return { outcome: 'refused', verdict: { state: 'unreadable', detail: 'takeover loop' } }
  if (depth === 0) await options.hooks?.onStale?.()

  const guardFile = `${file}.takeover-${verdict.holder.id}`
  const guardHolder = newHolder()
  const guard = await attempt(guardFile, guardHolder, options, depth + 1)
  if (guard.outcome !== 'won') return { outcome: 'again' }
  try {
    // Under the guard: nobody else may replace this stale lock, but it may already have been replaced.
    const now = await inspectWriterLock(file)
    if (now.state === 'free' || !('holder' in now) || now.holder.id !== verdict.holder.id) return { outcome: 'again' }
    const tmp = await writeTemp(file, holder)
    if (depth === 0) await options.hooks?.beforeReplace?.()
    await rename(tmp, file)
    await syncDir(dirname(file))
    const after = await inspectWriterLock(file)
    if ('holder' in after && after.holder.id === holder.id) return { outcome: 'won', tookOverFrom: verdict.holder }
    return { outcome: 'again' }
  } finally {
    await releaseIfOurs(guardFile, guardHolder.id)
  }
}

/**
 * Takes the lock at `file` or throws WriterLockHeldError naming its holder. A stale lock (this host, dead pid) is
 * taken over; `tookOverFrom` says from whom, for the caller to report.
 */
export async function acquireWriterLock(file: string, options: AcquireOptions): Promise<WriterLock> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  let holder = newHolder()
  let result: Attempt = { outcome: 'again' }
  // A racer mid-takeover holds its guard for a few milliseconds; a few short waits let it finish.
  for (let round = 0; round < 50; round++) {
    result = await attempt(file, holder, options, 0)
    if (result.outcome !== 'again') break
    await new Promise((r) => setTimeout(r, 5 + round * 2))
  }
  if (result.outcome === 'refused') {
    throw refusal(file, result.verdict, options) ?? new Error(`${options.subject}: lock in an unexpected state`)
  }
  if (result.outcome !== 'won') throw new Error(`${options.subject}: its lock ${file} kept changing; not started`)
  const tookOverFrom = result.tookOverFrom
  let released = false
  return {
    file,
    get holder() {
      return holder
    },
    tookOverFrom,
    async update(fields) {
      if (released) return
      const next = { ...holder, ...fields }
      const tmp = await writeTemp(file, next)
      await rename(tmp, file)
      await syncDir(dirname(file))
      holder = next
    },
    async release() {
      if (released) return
      released = true
      await releaseIfOurs(file, holder.id)
    },
  }
}

/** `<audit dir>/<log id>/writer.lock`: the file audit log's single writer. */
export function auditWriterLockFile(config: Pick<Config, 'auditDir' | 'auditLogId'>): string {
  return join(config.auditDir, config.auditLogId, 'writer.lock')
}

export const AUDIT_LOCK_REMEDY =
  'give this instance its own data: QIAO_DATA_DIR (or QIAO_AUDIT_DIR), or its own QIAO_AUDIT_LOG_ID'

export function auditLockOptions(config: Pick<Config, 'auditDir' | 'auditLogId'>): AcquireOptions {
  return {
    subject: `audit log ${config.auditLogId} (${join(config.auditDir, config.auditLogId)})`,
    remedy: AUDIT_LOCK_REMEDY,
  }
}

/** The file audit log's writer lock; a takeover from a dead holder is reported in the operational log. */
export async function acquireAuditWriterLock(
  config: Pick<Config, 'auditDir' | 'auditLogId'>,
  log: Logger,
): Promise<WriterLock> {
  const lock = await acquireWriterLock(auditWriterLockFile(config), auditLockOptions(config))
  if (lock.tookOverFrom) {
    const { pid, since } = lock.tookOverFrom
    log.warn(
      { audit: config.auditLogId, previousWriter: { pid, since } },
      'audit log writer lock taken over: the gateway that held it is no longer running (it stopped without closing; the log is checked at open)',
    )
  }
  return lock
}
