import { constants, createReadStream } from 'node:fs'
import { access, type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { JSONWebKeySet } from 'jose'
import type { AuditBackend, AuditCursor, AuditFilter, RecoveredLog } from './backend.js'
import type { SignedCheckpoint } from './checkpoint.js'
import { genesisChain, type LogEntry, leafInput, nextChain } from './entry.js'
import { compareEntries, isAfter, matchesFilter } from './filter.js'

/**
 * The default audit store: per log, JSON-lines segment files `segment-000001.jsonl` … and a `checkpoints.jsonl`,
 * in `<audit dir>/<log id>/`, with a small manifest (`log.json`) of segment starts. Appends are fdatasync'ed
 * before they count. A torn last line (a crash mid-write) is cut off at open and reported; any other damage makes
 * open fail, so the gateway refuses to run on a log it cannot extend honestly.
 */

interface SegmentInfo {
  readonly segment: number
  readonly firstSeq: number
  readonly openedAt: number
  /** Set once retention removed the segment's file (its checkpoints stay). */
  readonly purged?: boolean
}

interface Manifest {
  readonly logId: string
  readonly hashAlg: string
  readonly segments: SegmentInfo[]
}

const segmentFile = (segment: number) => `segment-${String(segment).padStart(6, '0')}.jsonl`
const CHECKPOINTS = 'checkpoints.jsonl'
const MANIFEST = 'log.json'
/** Public audit keys, every one ever used here: what `qiao audit verify` checks signatures with. */
export const KEYS = 'audit-keys.jwks.json'

export interface FileAuditBackendOptions {
  readonly dir: string
  readonly now: () => number
}

export function createFileAuditBackend(options: FileAuditBackendOptions): AuditBackend {
  let logDir = ''
  let manifest: Manifest | undefined
  let segmentHandle: FileHandle | undefined
  let checkpointHandle: FileHandle | undefined
  let openSegment = 0

  async function writeManifest(next: Manifest): Promise<void> {
    const tmp = join(logDir, `${MANIFEST}.tmp`)
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.write(`${JSON.stringify(next)}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(logDir, MANIFEST))
    await syncDir(logDir)
    manifest = next
  }

  return {
    async open(logId, hasher) {
      logDir = join(options.dir, logId)
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
      const checkpoints = await readCheckpoints(logDir)
      let current = m.segments.at(-1) as SegmentInfo
      const lastSeal = checkpoints.filter((c) => c.body.sealed).at(-1)

      // The chain value before the open segment: the previous segment's last line, or its seal.
      let chain = genesisChain(hasher, logId)
      let lastLoggedAt = 0
      if (current.segment > 1) {
        const previous = await lastEntry(join(logDir, segmentFile(current.segment - 1)))
        const seal = checkpoints.find((c) => c.body.sealed && c.body.segment === current.segment - 1)
        if (previous) {
          chain = previous.chain
          lastLoggedAt = Date.parse(previous.loggedAt)
        } else if (seal) chain = seal.body.chainHead
      }

      // Read the open segment back, cutting a torn tail, and check every line against the chain.
      const path = join(logDir, segmentFile(current.segment))
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return ''
        throw err
      })
      let complete = text.lastIndexOf('\n') + 1
      const lines = text
        .slice(0, complete)
        .split('\n')
        .filter((l) => l.length > 0)
      const leaves: Buffer[] = []
      let nextSeq = current.firstSeq
      for (let i = 0; i < lines.length; i++) {
        let entry: LogEntry
        try {
          entry = JSON.parse(lines[i] as string) as LogEntry
        } catch {
          if (i === lines.length - 1) {
            // A complete-looking but unparsable last line is a torn write too (partial buffer flushed).
            complete -= (lines[i] as string).length + 1
            break
          }
          throw new Error(
            `audit log ${logId} damaged: segment ${current.segment} line ${i + 1} is not JSON; run \`qiao audit verify\``,
          )
        }
        const leaf = hasher.leaf(leafInput(entry))
        const expected = nextChain(hasher, chain, leaf)
        if (entry.seq !== nextSeq || entry.index !== leaves.length || entry.chain !== expected) {
          throw new Error(
            `audit log ${logId} damaged at seq ${nextSeq} (segment ${current.segment} line ${i + 1}); run \`qiao audit verify\``,
          )
        }
        chain = expected
        leaves.push(leaf)
        lastLoggedAt = Date.parse(entry.loggedAt)
        nextSeq++
      }
      const tornBytes = Buffer.byteLength(text) - Buffer.byteLength(text.slice(0, complete))
      if (tornBytes > 0) {
        await truncate(path, Buffer.byteLength(text.slice(0, complete)))
        repairs.push(
          `audit log ${logId}: torn last record after a crash (${tornBytes} bytes after seq ${nextSeq - 1}) cut back to the last complete record`,
        )
      }
      let lastCheckpoint = checkpoints.filter((c) => c.body.segment === current.segment).at(-1)
      if (lastCheckpoint && lastCheckpoint.body.size > leaves.length) {
        throw new Error(
          `audit log ${logId} damaged: checkpoint covers ${lastCheckpoint.body.size} records of segment ${current.segment}, only ${leaves.length} remain; run \`qiao audit verify\``,
        )
      }
      segmentHandle = await open(path, 'a', 0o600)
      checkpointHandle = await open(join(logDir, CHECKPOINTS), 'a', 0o600)
      openSegment = current.segment
      let size = (await stat(path)).size
      let segmentLeaves = leaves
      let firstSeq = current.firstSeq
      // Stopped between sealing a segment and starting the next: start it now.
      if (lastCheckpoint?.body.sealed) {
        await this.startSegment(current.segment + 1, nextSeq, options.now())
        current = (manifest as Manifest).segments.at(-1) as SegmentInfo
        lastCheckpoint = undefined
        segmentLeaves = []
        firstSeq = nextSeq
        size = 0
      }
      const recovered: RecoveredLog = {
        nextSeq,
        chain,
        lastLoggedAt,
        segment: current.segment,
        segmentFirstSeq: firstSeq,
        segmentLeaves,
        segmentOpenedAt: current.openedAt,
        segmentSize: size,
        lastCheckpoint,
        lastSeal: lastCheckpoint?.body.sealed ? lastCheckpoint : (lastSeal ?? undefined),
        repairs,
      }
      return recovered
    },

    async append(entries, lines) {
      if (!segmentHandle) throw new Error('audit log not open')
      await segmentHandle.write(lines ?? Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(''), 'utf8'))
      await segmentHandle.datasync()
    },

    async appendCheckpoint(checkpoint) {
      if (!checkpointHandle) throw new Error('audit log not open')
      await checkpointHandle.write(`${JSON.stringify({ jws: checkpoint.jws })}\n`)
      await checkpointHandle.datasync()
    },

    async startSegment(segment, firstSeq, now) {
      await segmentHandle?.close()
      const m = manifest as Manifest
      await writeManifest({ ...m, segments: [...m.segments, { segment, firstSeq, openedAt: now }] })
      segmentHandle = await open(join(logDir, segmentFile(segment)), 'a', 0o600)
      await syncDir(logDir)
      openSegment = segment
    },

    async findRecord(id) {
      for (const logId of await listLogs(options.dir)) {
        const m = await readManifest(join(options.dir, logId))
        if (!m) continue
        for (const info of [...m.segments].reverse()) {
          if (info.purged) continue
          for await (const entry of readEntries(join(options.dir, logId, segmentFile(info.segment)), id)) {
            if (entry.record.id === id) return entry
          }
        }
      }
      return undefined
    },

    segmentEntries(logId, segment) {
      return readEntries(join(options.dir, logId, segmentFile(segment)))
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
      return (m?.segments ?? []).map((s) => ({ segment: s.segment, firstSeq: s.firstSeq, purged: s.purged === true }))
    },

    async probe() {
      // access(W_OK) also fails for an immutable file or a read-only mount, even for root.
      try {
        await access(logDir, constants.W_OK)
        await access(join(logDir, segmentFile(openSegment)), constants.W_OK)
        return undefined
      } catch (err) {
        return `audit log not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`
      }
    },

    async publishKey(jwk) {
      const current = await readKeys(options.dir)
      if (current.keys.some((k) => k.kid === jwk.kid)) return
      await mkdir(options.dir, { recursive: true, mode: 0o700 })
      const tmp = join(options.dir, `${KEYS}.tmp`)
      const fh = await open(tmp, 'w', 0o644)
      try {
        await fh.write(`${JSON.stringify({ keys: [...current.keys, jwk] }, null, 2)}\n`)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, join(options.dir, KEYS))
      await syncDir(options.dir)
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
        if (info.purged || !seals.has(info.segment)) continue
        // Only a sealed, checkpointed segment whose newest record is older than the cut-off goes.
        const last = await lastEntry(join(dir, segmentFile(info.segment)))
        if (!last || Date.parse(last.loggedAt) >= before) break
        await rm(join(dir, segmentFile(info.segment)))
        segments[i] = { ...info, purged: true }
        removed.push(info.segment)
      }
      if (removed.length > 0) {
        if (dir === logDir) await writeManifest({ ...m, segments })
        else await writeManifestAt(dir, { ...m, segments })
      }
      return removed
    },

    async close() {
      await segmentHandle?.close()
      await checkpointHandle?.close()
      segmentHandle = undefined
      checkpointHandle = undefined
    },
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

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

async function writeManifestAt(dir: string, m: Manifest): Promise<void> {
  const tmp = join(dir, `${MANIFEST}.tmp`)
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.write(`${JSON.stringify(m)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, join(dir, MANIFEST))
  await syncDir(dir)
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

/** Streams a segment's entries; with `needle`, lines not containing it are skipped before parsing. */
async function* readEntries(path: string, needle?: string): AsyncIterable<LogEntry> {
  let stream: ReturnType<typeof createReadStream>
  try {
    await stat(path)
    stream = createReadStream(path, { encoding: 'utf8' })
  } catch {
    return
  }
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  try {
    for await (const line of lines) {
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

async function lastEntry(path: string): Promise<LogEntry | undefined> {
  let last: LogEntry | undefined
  for await (const e of readEntries(path)) last = e
  return last
}

/** Entries of every log, merged in (loggedAt, logId, seq) order, filtered, after the cursor. */
async function* queryLogs(dir: string, filter: AuditFilter, after?: AuditCursor): AsyncIterable<LogEntry> {
  const logs = filter.logId ? [filter.logId] : await listLogs(dir)
  const streams: AsyncIterator<LogEntry>[] = []
  for (const logId of logs) {
    const m = await readManifest(join(dir, logId))
    if (!m) continue
    const segments = m.segments.filter((s) => !s.purged).map((s) => join(dir, logId, segmentFile(s.segment)))
    streams.push(
      (async function* () {
        for (const path of segments) yield* readEntries(path)
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
