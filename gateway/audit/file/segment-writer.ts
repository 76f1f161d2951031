import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { AuditBackendBrokenError, type BatchTerms } from '../backend.js'
import type { SignedCheckpoint } from '../checkpoint.js'
import type { LogEntry } from '../entry.js'
import { type AuditFile, type AuditFileSystem, syncDirectory, writeFully } from '../file-io.js'
import type { DurableBatch } from './index/writer.js'
import { CHECKPOINTS, codeOf, type Manifest, segmentFile, writeManifestFile } from './manifest.js'

/** Cuts a file back to `length` bytes (if longer) and syncs it; a missing file counts as empty. */
export async function cutFile(fs: AuditFileSystem, path: string, length: number): Promise<void> {
  let fh: AuditFile
  try {
    fh = await fs.open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && length === 0) return
    throw err
  }
  try {
    if ((await fh.stat()).size > length) await fh.truncate(length)
    await fh.datasync()
  } finally {
    await fh.close()
  }
}

/**
 * The writing side of the file store for the open log: the open segment's and checkpoints.jsonl's descriptors, the
 * bytes of each that were written and synced (all that was promised), cutting a failed write back to them, and the
 * broken state after a failed fsync or a failed cut-back.
 */
export interface SegmentWriter {
  /** The open log's directory ('' before the first open). */
  readonly logDir: string
  readonly manifest: Manifest | undefined
  /** Why the store is broken, if it is. */
  readonly broken: string | undefined
  /** The open segment and its bytes that were written and synced (what was promised). */
  readonly acknowledged: { readonly segment: number; readonly bytes: number }
  /** Points the writer at a log directory and its manifest (as read at open; undefined for a new log). */
  useLog(logDir: string, manifest: Manifest | undefined): void
  writeManifest(next: Manifest): Promise<void>
  /** Opens the open segment's file and checkpoints.jsonl for appending; what they hold now counts as acknowledged. */
  attach(segment: number): Promise<{ segmentSize: number }>
  /** Starts the next segment; safe to retry after a failure (the open segment stays usable until it succeeds). */
  startSegment(segment: number, firstSeq: number, now: number): Promise<void>
  append(entries: readonly LogEntry[], lines?: Uint8Array, terms?: readonly BatchTerms[]): Promise<void>
  appendCheckpoint(checkpoint: SignedCheckpoint): Promise<void>
  /**
   * Closes both descriptors and cuts both files back to what was acknowledged, then clears the broken state; with
   * `bestEffort` (stopping while broken) a failed cut is ignored and the state stays broken.
   */
  cutToAcknowledged(bestEffort?: boolean): Promise<void>
  closeHandles(): Promise<void>
  probe(): Promise<string | undefined>
}

/**
 * `onAppended` hears of every append once it is durable: its bytes, where in the open segment they start, and the
 * batch — its first seq, how many, the entries and their terms (the search index follows the log by it).
 */
export function createSegmentWriter(
  fs: AuditFileSystem,
  onAppended?: (data: Uint8Array, offset: number, batch: DurableBatch) => void,
): SegmentWriter {
  let logDir = ''
  let manifest: Manifest | undefined
  let segmentHandle: AuditFile | undefined
  let checkpointHandle: AuditFile | undefined
  let openSegment = 0
  /** Bytes of the open segment and of checkpoints.jsonl that were written and synced: all that was promised. */
  let segmentAcked = 0
  let checkpointsAcked = 0
  let broken: string | undefined

  function breakStore(reason: string, cause: unknown): AuditBackendBrokenError {
    broken = reason
    return new AuditBackendBrokenError(`audit store broken: ${reason}`, { cause })
  }

  /** Appends all of `data` and syncs it; on failure cuts the file back to `acked`, or breaks the store. */
  async function appendDurably(file: AuditFile, acked: number, data: Uint8Array, what: string): Promise<void> {
    if (broken) throw new AuditBackendBrokenError(`audit store broken: ${broken}`)
    try {
      await writeFully(file, data)
    } catch (err) {
      try {
        // Only ever shorter: truncating a file shorter than `acked` would pad it with zeros.
        if ((await file.stat()).size > acked) await file.truncate(acked)
        await file.datasync()
      } catch (cutErr) {
        throw breakStore(`${what} write failed (${codeOf(err)}) and could not be cut back (${codeOf(cutErr)})`, err)
      }
      throw err
    }
    try {
      await file.datasync()
    } catch (err) {
      // Never write on this descriptor again: recover() reopens the file and cuts what was not acknowledged.
      throw breakStore(`${what} fsync failed (${codeOf(err)})`, err)
    }
  }

  async function closeHandles(): Promise<void> {
    const handles = [segmentHandle, checkpointHandle]
    segmentHandle = undefined
    checkpointHandle = undefined
    for (const h of handles) await h?.close().catch(() => {})
  }

  async function writeManifest(next: Manifest): Promise<void> {
    await writeManifestFile(fs, logDir, next)
    manifest = next
  }

  return {
    get logDir() {
      return logDir
    },
    get manifest() {
      return manifest
    },
    get broken() {
      return broken
    },
    get acknowledged() {
      return { segment: openSegment, bytes: segmentAcked }
    },

    useLog(dir, current) {
      logDir = dir
      manifest = current
    },

    writeManifest,

    async attach(segment) {
      segmentHandle = await fs.open(join(logDir, segmentFile(segment)), 'a', 0o600)
      checkpointHandle = await fs.open(join(logDir, CHECKPOINTS), 'a', 0o600)
      openSegment = segment
      segmentAcked = (await segmentHandle.stat()).size
      checkpointsAcked = (await checkpointHandle.stat()).size
      return { segmentSize: segmentAcked }
    },

    async startSegment(segment, firstSeq, now) {
      const m = manifest as Manifest
      if (!m.segments.some((s) => s.segment === segment)) {
        await writeManifest({ ...m, segments: [...m.segments, { segment, firstSeq, openedAt: now }] })
      }
      const next = await fs.open(join(logDir, segmentFile(segment)), 'a', 0o600)
      try {
        await syncDirectory(fs, logDir)
        const size = (await next.stat()).size
        await segmentHandle?.close().catch(() => {})
        segmentHandle = next
        segmentAcked = size
        openSegment = segment
      } catch (err) {
        await next.close().catch(() => {})
        throw err
      }
    },

    async append(entries, lines, terms) {
      if (!segmentHandle) throw new Error('audit log not open')
      const first = entries[0]
      if (!first) return
      const data = lines ?? Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(''), 'utf8')
      const offset = segmentAcked
      await appendDurably(segmentHandle, segmentAcked, data, 'segment')
      segmentAcked += data.length
      const batch = { first, count: entries.length, entries, ...(terms ? { terms } : {}) }
      onAppended?.(data, offset, batch)
    },

    async appendCheckpoint(checkpoint) {
      if (!checkpointHandle) throw new Error('audit log not open')
      const data = Buffer.from(`${JSON.stringify({ jws: checkpoint.jws })}\n`, 'utf8')
      await appendDurably(checkpointHandle, checkpointsAcked, data, 'checkpoint')
      checkpointsAcked += data.length
    },

    async cutToAcknowledged(bestEffort = false) {
      await closeHandles()
      // Bytes written before a failed fsync may still be readable, but they were never acknowledged: cut them.
      const cuts = [
        () => cutFile(fs, join(logDir, segmentFile(openSegment)), segmentAcked),
        () => cutFile(fs, join(logDir, CHECKPOINTS), checkpointsAcked),
      ]
      for (const cut of cuts) await (bestEffort ? cut().catch(() => {}) : cut())
      if (!bestEffort) broken = undefined
    },

    closeHandles,

    async probe() {
      if (broken) return `audit store broken: ${broken}`
      // access(W_OK) also fails for an immutable file or a read-only mount, even for root.
      try {
        await access(logDir, constants.W_OK)
        await access(join(logDir, segmentFile(openSegment)), constants.W_OK)
        return undefined
      } catch (err) {
        return `audit log not writable (${codeOf(err)})`
      }
    },
  }
}
