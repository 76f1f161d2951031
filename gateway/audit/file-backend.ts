import { constants, createReadStream } from 'node:fs'
import { access, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { JSONWebKeySet } from 'jose'
import {
  type AuditBackend,
  AuditBackendBrokenError,
  type AuditCursor,
  type AuditFilter,
  type RecoveredLog,
  type SetAsideInfo,
} from './backend.js'
import { type AuditSigningKey, type CheckpointBody, type SignedCheckpoint, signCheckpoint } from './checkpoint.js'
import { genesisChain, type LogEntry, leafInput, nextChain } from './entry.js'
import {
  type AuditFile,
  type AuditFileSystem,
  nodeFileSystem,
  replaceFile,
  syncDirectory,
  writeFully,
} from './file-io.js'
import { compareEntries, isAfter, matchesFilter } from './filter.js'
import { createHasher, type HashAlgorithm, type Hasher, MerkleTree } from './merkle.js'

/**
 * The default audit store: per log, JSON-lines segment files `segment-000001.jsonl` … and a `checkpoints.jsonl`,
 * in `<audit dir>/<log id>/`, with a small manifest (`log.json`) of segment starts. A write counts only once every
 * byte is written and fdatasync'ed; a failed write is cut back to where it began. A failed fsync (or a cut-back
 * that fails) breaks the store until `recover()` reopens it: after a failed fsync Linux may have dropped the dirty
 * pages, and a later fsync on the same descriptor can succeed without them (PostgreSQL's "fsyncgate").
 * A torn last line (a crash mid-write) is cut off at open and reported; any other damage makes open fail, naming
 * the segment, the line and `qiao audit set-aside`, so the gateway refuses to run on a log it cannot extend honestly.
 */

interface SegmentInfo {
  readonly segment: number
  readonly firstSeq: number
  readonly openedAt: number
  /** Set once retention removed the segment's file (its checkpoints stay). */
  readonly purged?: boolean
  readonly setAside?: SetAsideInfo
}

interface Manifest {
  readonly logId: string
  readonly hashAlg: string
  readonly segments: SegmentInfo[]
}

const segmentFile = (segment: number) => `segment-${String(segment).padStart(6, '0')}.jsonl`
const setAsideFile = (segment: number) => `segment-${String(segment).padStart(6, '0')}.set-aside.jsonl`
/** The file holding a segment's lines, and how many of them belong to the log (a set-aside file: its prefix). */
const fileOf = (info: SegmentInfo) => (info.setAside ? info.setAside.file : segmentFile(info.segment))
const linesOf = (info: SegmentInfo) => info.setAside?.records
const CHECKPOINTS = 'checkpoints.jsonl'
const MANIFEST = 'log.json'
/** Public audit keys, every one ever used here: what `qiao audit verify` checks signatures with. */
export const KEYS = 'audit-keys.jwks.json'

export interface FileAuditBackendOptions {
  readonly dir: string
  readonly now: () => number
  /** The file-system calls writes go through (tests inject faults); default node:fs/promises. */
  readonly fs?: AuditFileSystem
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error'

function damagedError(logId: string, segment: number, line: number, what: string): Error {
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

async function scanSegment(
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
async function stateBefore(
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
async function finishSetAside(fs: AuditFileSystem, logDir: string, m: Manifest): Promise<void> {
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

/** Cuts a file back to `length` bytes (if longer) and syncs it; a missing file counts as empty. */
async function cutFile(fs: AuditFileSystem, path: string, length: number): Promise<void> {
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

/** Bytes of a JSON-lines file up to its last newline (a torn last line is not counted). */
async function completeLength(path: string): Promise<{ complete: number; total: number }> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0)
    throw err
  })
  return { complete: bytes.lastIndexOf(0x0a) + 1, total: bytes.length }
}

export function createFileAuditBackend(options: FileAuditBackendOptions): AuditBackend {
  const fs = options.fs ?? nodeFileSystem
  let logDir = ''
  let openLogId = ''
  let openHasher: Hasher | undefined
  let manifest: Manifest | undefined
  let segmentHandle: AuditFile | undefined
  let checkpointHandle: AuditFile | undefined
  let openSegment = 0
  /** Bytes of the open segment and of checkpoints.jsonl that were written and synced: all that was promised. */
  let segmentAcked = 0
  let checkpointsAcked = 0
  let broken: string | undefined

  async function writeManifest(next: Manifest): Promise<void> {
    await replaceFile(fs, logDir, join(logDir, MANIFEST), `${JSON.stringify(next)}\n`, 0o600)
    manifest = next
  }

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

  async function openLog(logId: string, hasher: Hasher): Promise<RecoveredLog> {
    logDir = join(options.dir, logId)
    openLogId = logId
    openHasher = hasher
    await mkdir(logDir, { recursive: true, mode: 0o700 })
    const repairs: string[] = []
    manifest = await readManifest(logDir)
    if (!manifest) {
      await writeManifest({
        logId,
        hashAlg: hasher.algorithm,
        segments: [{ segment: 1, firstSeq: 0, openedAt: options.now() }],
      })
    }
    const m = manifest as Manifest
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
    segmentHandle = await fs.open(path, 'a', 0o600)
    checkpointHandle = await fs.open(checkpointsPath, 'a', 0o600)
    openSegment = current.segment
    segmentAcked = (await segmentHandle.stat()).size
    checkpointsAcked = (await checkpointHandle.stat()).size
    let size = segmentAcked
    let segmentLeaves = leaves
    let firstSeq = current.firstSeq
    const nextSeq = scan.nextSeq
    // Stopped between sealing a segment and starting the next: start it now.
    if (lastCheckpoint?.body.sealed) {
      await startSegment(current.segment + 1, nextSeq, options.now())
      current = (manifest as Manifest).segments.at(-1) as SegmentInfo
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

  /** Starts the next segment; safe to retry after a failure (the open segment stays usable until it succeeds). */
  async function startSegment(segment: number, firstSeq: number, now: number): Promise<void> {
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
  }

  return {
    open: (logId, hasher) => openLog(logId, hasher),

    async recover() {
      if (!openHasher) throw new Error('audit log not open')
      await closeHandles()
      // Bytes written before a failed fsync may still be readable, but they were never acknowledged: cut them.
      await cutFile(fs, join(logDir, segmentFile(openSegment)), segmentAcked)
      await cutFile(fs, join(logDir, CHECKPOINTS), checkpointsAcked)
      broken = undefined
      return openLog(openLogId, openHasher)
    },

    async append(entries, lines) {
      if (!segmentHandle) throw new Error('audit log not open')
      const data = lines ?? Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(''), 'utf8')
      await appendDurably(segmentHandle, segmentAcked, data, 'segment')
      segmentAcked += data.length
    },

    async appendCheckpoint(checkpoint) {
      if (!checkpointHandle) throw new Error('audit log not open')
      const data = Buffer.from(`${JSON.stringify({ jws: checkpoint.jws })}\n`, 'utf8')
      await appendDurably(checkpointHandle, checkpointsAcked, data, 'checkpoint')
      checkpointsAcked += data.length
    },

    async startSegment(segment, firstSeq, now) {
      if (broken) throw new AuditBackendBrokenError(`audit store broken: ${broken}`)
      await startSegment(segment, firstSeq, now)
    },

    async findRecord(id) {
      for (const logId of await listLogs(options.dir)) {
        const m = await readManifest(join(options.dir, logId))
        if (!m) continue
        for (const info of [...m.segments].reverse()) {
          if (info.purged) continue
          for await (const entry of readEntries(join(options.dir, logId, fileOf(info)), id, linesOf(info))) {
            if (entry.record.id === id) return entry
          }
        }
      }
      return undefined
    },

    async *segmentEntries(logId, segment) {
      const m = await readManifest(join(options.dir, logId))
      const info = m?.segments.find((s) => s.segment === segment)
      yield* readEntries(
        join(options.dir, logId, info ? fileOf(info) : segmentFile(segment)),
        undefined,
        info && linesOf(info),
      )
    },

    async checkpoints(filter = {}) {
      const logs = filter.logId ? [filter.logId] : await listLogs(options.dir)
      const all: SignedCheckpoint[] = []
      for (const logId of logs) all.push(...(await readCheckpoints(join(options.dir, logId))))
      return all.filter((c) => filter.segment === undefined || c.body.segment === filter.segment)
    },

    query(filter, after) {
      return queryLogs(options.dir, filter, after)
    },

    logIds: () => listLogs(options.dir),

    async segments(logId) {
      const m = await readManifest(join(options.dir, logId))
      return (m?.segments ?? []).map((s) => ({
        segment: s.segment,
        firstSeq: s.firstSeq,
        purged: s.purged === true,
        ...(s.setAside ? { setAside: s.setAside } : {}),
      }))
    },

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

    freeBytes: () => fs.freeBytes(logDir || options.dir),

    async publishKey(jwk) {
      const current = await readKeys(options.dir)
      if (current.keys.some((k) => k.kid === jwk.kid)) return
      await mkdir(options.dir, { recursive: true, mode: 0o700 })
      const body = `${JSON.stringify({ keys: [...current.keys, jwk] }, null, 2)}\n`
      await replaceFile(fs, options.dir, join(options.dir, KEYS), body, 0o644)
    },

    keys: () => readKeys(options.dir),

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
        if (dir === logDir) await writeManifest({ ...m, segments })
        else await replaceFile(fs, dir, join(dir, MANIFEST), `${JSON.stringify({ ...m, segments })}\n`, 0o600)
      }
      return removed
    },

    async close() {
      await closeHandles()
      if (broken && openHasher) {
        // Stopping while broken: still leave nothing unacknowledged behind for the next start to take as records.
        await cutFile(fs, join(logDir, segmentFile(openSegment)), segmentAcked).catch(() => {})
        await cutFile(fs, join(logDir, CHECKPOINTS), checkpointsAcked).catch(() => {})
      }
    },
  }
}

export interface SetAsideOptions {
  readonly dir: string
  readonly logId: string
  readonly signingKey: AuditSigningKey
  readonly now: number
  readonly fs?: AuditFileSystem
}

export interface SetAsideReport {
  readonly logId: string
  readonly segment: number
  readonly file: string
  /** Lines that verified, sealed under a signed checkpoint. */
  readonly records: number
  readonly line: number
  readonly reason: string
  /** The segment the log goes on in, and its first seq. */
  readonly nextSegment: number
  readonly nextSeq: number
}

/**
 * `qiao audit set-aside`: for a log whose open segment is damaged (the gateway refuses to start on it). Run with
 * the gateway stopped. The lines of the open segment that verify against the chain are sealed with a signed
 * checkpoint (size = those lines, their Merkle root and chain head, `prevSeal` = the previous segment's seal); the
 * file is renamed `segment-NNNNNN.set-aside.jsonl` (kept, never deleted, never purged) and recorded in the
 * manifest; a new segment starts at the next seq, chained from that seal's chain head and linked to it by its
 * checkpoints' `prevSeal`. Nothing signed is dropped: a damaged record that a checkpoint had covered stays a
 * problem for `qiao audit verify`.
 */
export async function setAsideOpenSegment(options: SetAsideOptions): Promise<SetAsideReport> {
  const fs = options.fs ?? nodeFileSystem
  const logDir = join(options.dir, options.logId)
  const m = await readManifest(logDir)
  if (!m) throw new Error(`${logDir}: no audit log ${options.logId} here`)
  await finishSetAside(fs, logDir, m)
  const hasher = createHasher(m.hashAlg as HashAlgorithm)
  const checkpointsPath = join(logDir, CHECKPOINTS)
  const cps = await completeLength(checkpointsPath)
  if (cps.total > cps.complete) await cutFile(fs, checkpointsPath, cps.complete)
  const checkpoints = await readCheckpoints(logDir)
  const current = m.segments.at(-1) as SegmentInfo
  const before = await stateBefore(logDir, options.logId, m, checkpoints, hasher)
  const path = join(logDir, segmentFile(current.segment))
  const scan = await scanSegment(path, hasher, { chain: before.chain, seq: current.firstSeq, lastLoggedAt: 0 })
  const signed = checkpoints.filter((c) => c.body.segment === current.segment).at(-1)
  const overclaimed = signed !== undefined && signed.body.size > scan.leaves.length
  if (!scan.damage && !overclaimed) {
    throw new Error(
      `audit log ${options.logId}: segment ${current.segment} verifies${scan.tornBytes > 0 ? ' (its torn last line is repaired at start)' : ''}; nothing to set aside`,
    )
  }
  const damage = scan.damage ?? {
    line: scan.leaves.length + 1,
    reason: `a signed checkpoint covers ${signed?.body.size} records, only ${scan.leaves.length} verify`,
  }
  const tree = new MerkleTree(hasher)
  for (const leaf of scan.leaves) tree.appendLeaf(leaf)
  const previousSeal = checkpoints.filter((c) => c.body.sealed && c.body.segment < current.segment).at(-1)
  const body: CheckpointBody = {
    logId: options.logId,
    segment: current.segment,
    size: tree.size,
    firstSeq: current.firstSeq,
    rootHash: tree.root(tree.size).toString('hex'),
    chainHead: scan.chain,
    hashAlg: hasher.algorithm,
    time: new Date(options.now).toISOString(),
    sealed: true,
    ...(previousSeal ? { prevSeal: hasher.digest(Buffer.from(previousSeal.jws)).toString('hex') } : {}),
  }
  const seal = await signCheckpoint(options.signingKey, body)
  const file = setAsideFile(current.segment)
  // Seal, then manifest, then rename: a crash between two steps leaves a state that the next open (or a second
  // run) completes, never one where the kept records are mistaken for the open segment or lost from sight.
  const fh = await fs.open(checkpointsPath, 'a', 0o600)
  try {
    await writeFully(fh, Buffer.from(`${JSON.stringify({ jws: seal.jws })}\n`, 'utf8'))
    await fh.datasync()
  } finally {
    await fh.close()
  }
  const info: SetAsideInfo = { file, at: body.time, records: tree.size, line: damage.line, reason: damage.reason }
  const nextSeq = current.firstSeq + tree.size
  const segments = [
    ...m.segments.slice(0, -1),
    { ...current, setAside: info },
    { segment: current.segment + 1, firstSeq: nextSeq, openedAt: options.now },
  ]
  await replaceFile(fs, logDir, join(logDir, MANIFEST), `${JSON.stringify({ ...m, segments })}\n`, 0o600)
  await finishSetAside(fs, logDir, { ...m, segments })
  return {
    logId: options.logId,
    segment: current.segment,
    file,
    records: tree.size,
    line: damage.line,
    reason: damage.reason,
    nextSegment: current.segment + 1,
    nextSeq,
  }
}

async function readKeys(dir: string): Promise<JSONWebKeySet> {
  try {
    return JSON.parse(await readFile(join(dir, KEYS), 'utf8')) as JSONWebKeySet
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [] }
    throw err
  }
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function listLogs(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir, { withFileTypes: true })
    const logs: string[] = []
    for (const d of names) {
      if (d.isDirectory() && (await readManifest(join(dir, d.name)))) logs.push(d.name)
    }
    return logs.sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Checkpoints of one log (the body is the JWS payload; verifiers check the signature). */
export async function readCheckpoints(dir: string): Promise<SignedCheckpoint[]> {
  let text = ''
  try {
    text = await readFile(join(dir, CHECKPOINTS), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const out: SignedCheckpoint[] = []
  for (const line of text.split('\n')) {
    if (line.length === 0) continue
    try {
      const { jws } = JSON.parse(line) as { jws: string }
      const payload = jws.split('.')[1] as string
      out.push({ jws, body: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) })
    } catch {
      // A torn checkpoint line: that checkpoint was never acknowledged.
    }
  }
  return out
}

/**
 * Streams a segment's entries; with `needle`, lines not containing it are skipped before parsing; with `limit`,
 * only the first `limit` lines are read (the verified prefix of a set-aside file).
 */
async function* readEntries(path: string, needle?: string, limit?: number): AsyncIterable<LogEntry> {
  let stream: ReturnType<typeof createReadStream>
  try {
    await stat(path)
    stream = createReadStream(path, { encoding: 'utf8' })
  } catch {
    return
  }
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  let read = 0
  try {
    for await (const line of lines) {
      if (limit !== undefined && read++ >= limit) return
      if (line.length === 0 || (needle !== undefined && !line.includes(needle))) continue
      try {
        yield JSON.parse(line) as LogEntry
      } catch {
        // torn tail: not an entry
      }
    }
  } finally {
    lines.close()
    stream.destroy()
  }
}

async function lastEntry(path: string, limit?: number): Promise<LogEntry | undefined> {
  let last: LogEntry | undefined
  for await (const e of readEntries(path, undefined, limit)) last = e
  return last
}

/** Entries of every log, merged in (loggedAt, logId, seq) order, filtered, after the cursor. */
async function* queryLogs(dir: string, filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry> {
  const logs = filter.logId ? [filter.logId] : await listLogs(dir)
  const streams: AsyncIterator<LogEntry>[] = []
  for (const logId of logs) {
    const m = await readManifest(join(dir, logId))
    if (!m) continue
    const segments = m.segments.filter((s) => !s.purged)
    streams.push(
      (async function* () {
        for (const s of segments) yield* readEntries(join(dir, logId, fileOf(s)), undefined, linesOf(s))
      })()[Symbol.asyncIterator](),
    )
  }
  // k-way merge: each log is already in loggedAt order.
  try {
    yield* merge(streams, filter, after)
  } finally {
    // A consumer that stops early (one page) must not leave segment files open.
    await Promise.all(streams.map((s) => s.return?.()))
  }
}

async function* merge(
  streams: AsyncIterator<LogEntry>[],
  filter: AuditFilter,
  after?: AuditCursor,
): AsyncIterable<LogEntry> {
  const heads = await Promise.all(streams.map((s) => s.next()))
  for (;;) {
    let best = -1
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i] as IteratorResult<LogEntry>
      if (h.done) continue
      const bestHead = best < 0 ? undefined : (heads[best] as IteratorResult<LogEntry>)
      if (!bestHead || compareEntries(h.value, bestHead.value as LogEntry) < 0) best = i
    }
    if (best < 0) return
    const entry = (heads[best] as IteratorYieldResult<LogEntry>).value
    heads[best] = await (streams[best] as AsyncIterator<LogEntry>).next()
    if (isAfter(entry, after) && matchesFilter(entry, filter)) yield entry
  }
}
