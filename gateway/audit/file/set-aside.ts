import { join } from 'node:path'
import type { SetAsideInfo } from '../backend.js'
import { type AuditSigningKey, type CheckpointBody, signCheckpoint } from '../checkpoint.js'
import { type AuditFileSystem, nodeFileSystem, replaceFile, writeFully } from '../file-io.js'
import { createHasher, type HashAlgorithm, MerkleTree } from '../merkle.js'
import { CHECKPOINTS, MANIFEST, readManifest, type SegmentInfo, segmentFile, setAsideFile } from './manifest.js'
import { readCheckpoints } from './reader.js'
import { completeLength, finishSetAside, scanSegment, stateBefore } from './recovery.js'
import { cutFile } from './segment-writer.js'

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
