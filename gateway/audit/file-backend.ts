import { rm } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { type AuditBackend, AuditBackendBrokenError } from './backend.js'
import { createAuditIndex, type IndexEvent, type IndexStatus } from './file/index/index.js'
import { publishKeyFile, readManifest, type SegmentInfo, segmentFile, writeManifestFile } from './file/manifest.js'
import { createFileReader, lastEntry, readCheckpoints } from './file/reader.js'
import { openFileLog } from './file/recovery.js'
import { createSegmentWriter } from './file/segment-writer.js'
import { type AuditFileSystem, nodeFileSystem } from './file-io.js'
import type { Hasher } from './merkle.js'
import { fileTimestampStore } from './tsa/file-store.js'

export { KEYS } from './file/manifest.js'
export { readCheckpoints } from './file/reader.js'
export { type SetAsideOptions, type SetAsideReport, setAsideOpenSegment } from './file/set-aside.js'

/**
 * The default audit store: per log, JSON-lines segment files `segment-000001.jsonl` … and a `checkpoints.jsonl`,
 * in `<audit dir>/<log id>/`, with a small manifest (`log.json`) of segment starts. A write counts only once every
 * byte is written and fdatasync'ed; a failed write is cut back to where it began. A failed fsync (or a cut-back
 * that fails) breaks the store until `recover()` reopens it: after a failed fsync Linux may have dropped the dirty
 * pages, and a later fsync on the same descriptor can succeed without them (PostgreSQL's "fsyncgate").
 * A torn last line (a crash mid-write) is cut off at open and reported; any other damage makes open fail, naming
 * the segment, the line and `qiao audit set-aside`, so the gateway refuses to run on a log it cannot extend honestly.
 *
 * In parts: file/manifest.ts (layout, manifest, keys), file/segment-writer.ts (acknowledged sizes, cut-back, broken),
 * file/recovery.ts (open: torn tail vs damage), file/reader.ts (reads, queries), file/set-aside.ts; file-io.ts is the
 * file-system seam tests inject faults through. Queries go through the search index beside each log's segments
 * (file/index/: `index.sqlite`, derived from the segments, caught up and checked at open, written in a thread of its
 * own from each batch's durable bytes), scanning what it lacks.
 */

export interface FileAuditBackendOptions {
  readonly dir: string
  readonly now: () => number
  /** The file-system calls writes go through (tests inject faults); default node:fs/promises. */
  readonly fs?: AuditFileSystem
  /** The search index (file/index/): false leaves every query a scan. Default on. */
  readonly index?: boolean
  /**
   * The index written in the process's index thread (true) or on the writing thread (false). Default: the thread
   * when the process may use more than one CPU (os.availableParallelism(), which follows its CPU affinity).
   */
  readonly indexThread?: boolean
  /** The index's rebuilds and failures, for the operational log; default: process warnings. */
  readonly onIndexEvent?: (event: IndexEvent) => void
}

export interface FileAuditBackend extends AuditBackend {
  /** Resolves once the open log's index covers every acknowledged record (undefined when no log is open). */
  indexCaughtUp(): Promise<IndexStatus | undefined>
}

export function createFileAuditBackend(options: FileAuditBackendOptions): FileAuditBackend {
  const fs = options.fs ?? nodeFileSystem
  const indexThread = options.indexThread ?? availableParallelism() > 1
  const index = createAuditIndex(options.dir, {
    ...(options.index === false ? { enabled: false } : {}),
    thread: indexThread,
    ...(options.onIndexEvent ? { onEvent: options.onIndexEvent } : {}),
  })
  const writer = createSegmentWriter(fs, index.appended)
  /** The log opened last (recover() opens it again). */
  let opened: { readonly logId: string; readonly hasher: Hasher } | undefined
  const openLog = async (logId: string, hasher: Hasher) => {
    opened = { logId, hasher }
    const recovered = await openFileLog(writer, { dir: options.dir, now: options.now, fs }, logId, hasher)
    // The log is checked and repaired first: the index follows it, never the other way round.
    await index.openLog(logId, recovered, () => writer.acknowledged)
    return recovered
  }

  return {
    ...createFileReader(options.dir),
    query: (filter, after) => index.query(filter, after),
    indexCaughtUp: () => index.caughtUp(),

    open: openLog,

    async recover() {
      if (!opened) throw new Error('audit log not open')
      await writer.cutToAcknowledged()
      return openLog(opened.logId, opened.hasher)
    },

    append: (entries, lines, terms) => writer.append(entries, lines, terms),
    // The index thread builds its rows from the terms the hashing thread computed, not by parsing the lines again.
    indexTerms: options.index !== false && indexThread,
    appendCheckpoint: (checkpoint) => writer.appendCheckpoint(checkpoint),
    ...fileTimestampStore(options.dir, fs),

    async startSegment(segment, firstSeq, now) {
      if (writer.broken) throw new AuditBackendBrokenError(`audit store broken: ${writer.broken}`)
      await writer.startSegment(segment, firstSeq, now)
      index.acknowledgedMoved()
    },

    probe: () => writer.probe(),

    freeBytes: () => fs.freeBytes(writer.logDir || options.dir),

    publishKey: (jwk) => publishKeyFile(fs, options.dir, jwk),

    async purge(logId, before) {
      const dir = join(options.dir, logId)
      const m = await readManifest(dir)
      if (!m) return []
      const seals = new Map((await readCheckpoints(dir)).filter((c) => c.body.sealed).map((c) => [c.body.segment, c]))
      const removed: number[] = []
      const segments = [...m.segments]
      for (let i = 0; i < segments.length - 1; i++) {
        const info = segments[i] as SegmentInfo
        // A set-aside file is evidence of damage: retention never removes it.
        if (info.purged || info.setAside || !seals.has(info.segment)) continue
        // Only a sealed, checkpointed segment whose newest record is older than the cut-off goes.
        const last = await lastEntry(join(dir, segmentFile(info.segment)))
        if (!last || Date.parse(last.loggedAt) >= before) break
        await rm(join(dir, segmentFile(info.segment)))
        segments[i] = { ...info, purged: true }
        removed.push(info.segment)
      }
      if (removed.length > 0) {
        if (dir === writer.logDir) await writer.writeManifest({ ...m, segments })
        else await writeManifestFile(fs, dir, { ...m, segments })
        await index.purged(logId, removed)
      }
      return removed
    },

    async close() {
      // Stopping while broken: still leave nothing unacknowledged behind for the next start to take as records.
      if (writer.broken && opened) await writer.cutToAcknowledged(true)
      else await writer.closeHandles()
      await index.close()
    },
  }
}
