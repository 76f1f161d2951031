import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RecoveredLog } from '../backend.js'
import type { SignedCheckpoint } from '../checkpoint.js'
import { genesisChain, type LogEntry, leafInput, nextChain } from '../entry.js'
import { type AuditFileSystem, syncDirectory } from '../file-io.js'
import type { Hasher } from '../merkle.js'
import { CHECKPOINTS, fileOf, linesOf, type Manifest, readManifest, type SegmentInfo, segmentFile } from './manifest.js'
import { lastEntry, readCheckpoints } from './reader.js'
import { cutFile, type SegmentWriter } from './segment-writer.js'

export function damagedError(logId: string, segment: number, line: number, what: string): Error {
  return new Error(
    `audit log ${logId} damaged: segment ${segment} (${segmentFile(segment)}) line ${line}: ${what}. ` +
      `The gateway does not extend a log it cannot verify. See \`qiao audit verify\`; to go on, move the damaged ` +
      `segment aside (kept, never deleted) with \`qiao audit set-aside --log ${logId}\``,
  )
}

/** The open segment read back: how far its lines verify against the chain, and where they stop verifying. */
interface SegmentScan {
  readonly leaves: Buffer[]
  readonly chain: string
  readonly nextSeq: number
  readonly lastLoggedAt: number
  /** Bytes of the lines that verified. */
  readonly verifiedBytes: number
  /** The first line that does not verify, unless it is a torn last line. */
  readonly damage?: { readonly line: number; readonly reason: string }
  /** Bytes after the last verified line that are a torn last write (no newline, or an unparsable last line). */
  readonly tornBytes: number
}

export async function scanSegment(
  path: string,
  hasher: Hasher,
  start: { chain: string; seq: number; lastLoggedAt: number },
): Promise<SegmentScan> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0)
    throw err
  })
  const leaves: Buffer[] = []
  let chain = start.chain
  let nextSeq = start.seq
  let lastLoggedAt = start.lastLoggedAt
  let at = 0
  let line = 0
  const stop = (end: Pick<SegmentScan, 'damage'> | { tornBytes: number } = {}): SegmentScan => ({
    leaves,
    chain,
    nextSeq,
    lastLoggedAt,
    verifiedBytes: at,
    tornBytes: 0,
    ...end,
  })
  while (at < bytes.length) {
    const nl = bytes.indexOf(0x0a, at)
    line++
    // No newline: a torn last write.
    if (nl < 0) return stop({ tornBytes: bytes.length - at })
    let entry: LogEntry
    try {
      entry = JSON.parse(bytes.subarray(at, nl).toString('utf8')) as LogEntry
    } catch {
      // A complete-looking but unparsable last line is a torn write too (a partial buffer flushed).
      if (nl + 1 === bytes.length) return stop({ tornBytes: bytes.length - at })
      return stop({ damage: { line, reason: 'not JSON' } })
    }
    const leaf = hasher.leaf(leafInput(entry))
    const expected = nextChain(hasher, chain, leaf)
    if (entry.seq !== nextSeq || entry.index !== leaves.length || entry.chain !== expected) {
      const reason =
        entry.seq !== nextSeq ? `seq ${nextSeq} expected, found ${String(entry.seq)}` : 'does not match the hash chain'
      return stop({ damage: { line, reason } })
    }
    chain = expected
    leaves.push(leaf)
    lastLoggedAt = Date.parse(entry.loggedAt)
    nextSeq++
    at = nl + 1
  }
  return stop()
}

/** The chain value and time before a log's open segment: the previous segment's last line, or its seal. */
export async function stateBefore(
  logDir: string,
  logId: string,
  m: Manifest,
  checkpoints: readonly SignedCheckpoint[],
  hasher: Hasher,
): Promise<{ chain: string; lastLoggedAt: number }> {
  const current = m.segments.at(-1) as SegmentInfo
  const previousInfo = m.segments.at(-2)
  if (!previousInfo) return { chain: genesisChain(hasher, logId), lastLoggedAt: 0 }
  const seal = checkpoints.find((c) => c.body.sealed && c.body.segment === current.segment - 1)
  const previous = previousInfo.purged
    ? undefined
    : await lastEntry(join(logDir, fileOf(previousInfo)), linesOf(previousInfo))
  // A set-aside segment continues from its seal: that is what was signed, whatever follows in its file.
  if (previousInfo.setAside && seal) {
    return { chain: seal.body.chainHead, lastLoggedAt: previous ? Date.parse(previous.loggedAt) : 0 }
  }
  if (previous) return { chain: previous.chain, lastLoggedAt: Date.parse(previous.loggedAt) }
  if (seal) return { chain: seal.body.chainHead, lastLoggedAt: 0 }
  return { chain: genesisChain(hasher, logId), lastLoggedAt: 0 }
}

/** Renames a set-aside segment's file if `qiao audit set-aside` stopped after recording it but before renaming. */
export async function finishSetAside(fs: AuditFileSystem, logDir: string, m: Manifest): Promise<void> {
  for (const info of m.segments) {
    if (!info.setAside) continue
    const original = join(logDir, segmentFile(info.segment))
    const aside = join(logDir, info.setAside.file)
    const [from, to] = await Promise.all([
      fs.stat(original).catch(() => undefined),
      fs.stat(aside).catch(() => undefined),
    ])
    if (from && !to) {
      await fs.rename(original, aside)
      await syncDirectory(fs, logDir)
    }
  }
}

/** Bytes of a JSON-lines file up to its last newline (a torn last line is not counted). */
export async function completeLength(path: string): Promise<{ complete: number; total: number }> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0)
    throw err
  })
  return { complete: bytes.lastIndexOf(0x0a) + 1, total: bytes.length }
}

/**
 * Opens a log (creating it if new) and reads its open segment back: a torn last line (a crash mid-write) is cut
 * off and reported, any other damage throws naming the segment, the line and `qiao audit set-aside`. Leaves the
 * writer attached to the open segment.
 */
export async function openFileLog(
  writer: SegmentWriter,
  options: { readonly dir: string; readonly now: () => number; readonly fs: AuditFileSystem },
  logId: string,
  hasher: Hasher,
): Promise<RecoveredLog> {
  const { fs } = options
  const logDir = join(options.dir, logId)
  writer.useLog(logDir, writer.manifest)
  await mkdir(logDir, { recursive: true, mode: 0o700 })
  const repairs: string[] = []
  writer.useLog(logDir, await readManifest(logDir))
  if (!writer.manifest) {
    await writer.writeManifest({
      logId,
      hashAlg: hasher.algorithm,
      segments: [{ segment: 1, firstSeq: 0, openedAt: options.now() }],
    })
  }
  const m = writer.manifest as Manifest
  if (m.hashAlg !== hasher.algorithm) {
    throw new Error(`audit log ${logId} uses ${m.hashAlg}; it cannot continue with ${hasher.algorithm}`)
  }
  await finishSetAside(fs, logDir, m)
  // A torn checkpoint line was never acknowledged; cut it, or the next checkpoint would be glued to it.
  const checkpointsPath = join(logDir, CHECKPOINTS)
  const cps = await completeLength(checkpointsPath)
  if (cps.total > cps.complete) {
    await cutFile(fs, checkpointsPath, cps.complete)
    repairs.push(`audit log ${logId}: torn last checkpoint (${cps.total - cps.complete} bytes) cut back`)
  }
  const checkpoints = await readCheckpoints(logDir)
  let current = m.segments.at(-1) as SegmentInfo
  const lastSeal = checkpoints.filter((c) => c.body.sealed).at(-1)
  const before = await stateBefore(logDir, logId, m, checkpoints, hasher)

  // Read the open segment back, cutting a torn tail, and check every line against the chain.
  const path = join(logDir, segmentFile(current.segment))
  const scan = await scanSegment(path, hasher, {
    chain: before.chain,
    seq: current.firstSeq,
    lastLoggedAt: before.lastLoggedAt,
  })
  if (scan.damage) throw damagedError(logId, current.segment, scan.damage.line, scan.damage.reason)
  if (scan.tornBytes > 0) {
    await cutFile(fs, path, scan.verifiedBytes)
    repairs.push(
      `audit log ${logId}: torn last record after a crash (${scan.tornBytes} bytes after seq ${scan.nextSeq - 1}) cut back to the last complete record`,
    )
  }
  const leaves = scan.leaves
  let lastCheckpoint = checkpoints.filter((c) => c.body.segment === current.segment).at(-1)
  if (lastCheckpoint && lastCheckpoint.body.size > leaves.length) {
    throw damagedError(
      logId,
      current.segment,
      leaves.length + 1,
      `a signed checkpoint covers ${lastCheckpoint.body.size} records, only ${leaves.length} remain`,
    )
  }
  let size = (await writer.attach(current.segment)).segmentSize
  let segmentLeaves = leaves
  let firstSeq = current.firstSeq
  const nextSeq = scan.nextSeq
  // Stopped between sealing a segment and starting the next: start it now.
  if (lastCheckpoint?.body.sealed) {
    await writer.startSegment(current.segment + 1, nextSeq, options.now())
    current = (writer.manifest as Manifest).segments.at(-1) as SegmentInfo
    lastCheckpoint = undefined
    segmentLeaves = []
    firstSeq = nextSeq
    size = 0
  }
  return {
    nextSeq,
    chain: scan.chain,
    lastLoggedAt: scan.lastLoggedAt,
    segment: current.segment,
    segmentFirstSeq: firstSeq,
    segmentLeaves,
    segmentOpenedAt: current.openedAt,
    segmentSize: size,
    lastCheckpoint,
    lastSeal: lastCheckpoint?.body.sealed ? lastCheckpoint : (lastSeal ?? undefined),
    repairs,
  }
}
