import type { JSONWebKeySet } from 'jose'
import type { AuditBackend, SetAsideInfo } from './backend.js'
import { type CheckpointBody, type SignedCheckpoint, verifyCheckpoint } from './checkpoint.js'
import { genesisChain, leafInput, nextChain } from './entry.js'
import { createHasher, type HashAlgorithm, MerkleTree } from './merkle.js'
import { checkCheckpointTimestamps, type TimestampCheckOptions } from './tsa/verify-log.js'

/**
 * Offline verification of audit logs (`qiao audit verify`): recomputes every leaf and the hash chain, the Merkle
 * root at every checkpoint, checks every checkpoint signature and the links between sealed segments. It needs no
 * running gateway and trusts nothing stored except the public keys it is given.
 */
export interface VerifyProblem {
  readonly logId: string
  readonly segment?: number
  /** 1-based line in the segment, when the problem is one line. */
  readonly line?: number
  readonly seq?: number
  readonly recordId?: string
  readonly message: string
}

export interface LogSummary {
  readonly logId: string
  readonly records: number
  readonly segments: number
  readonly checkpoints: number
  /** Records after the last signed checkpoint (not yet covered by a signature). */
  readonly uncovered: number
}

/** A segment moved aside by `qiao audit set-aside`: verified up to its seal; the rest of its file is not the log. */
export interface SetAsideSegment extends SetAsideInfo {
  readonly logId: string
  readonly segment: number
}

export interface VerifyResult {
  readonly ok: boolean
  readonly logs: LogSummary[]
  /** Damaged segments set aside: the log verifies around them, and this says where and why. */
  readonly setAside: SetAsideSegment[]
  /** In log order; the first one is the first broken record. */
  readonly problems: VerifyProblem[]
  readonly warnings: string[]
}

export interface VerifyOptions {
  readonly keys: JSONWebKeySet
  readonly hashAlgorithm?: HashAlgorithm
  /** Called every `progressEvery` records with the running count. */
  readonly onProgress?: (records: number) => void
  readonly progressEvery?: number
  /** Also check each checkpoint's RFC 3161 timestamp token (tsa/verify-log.ts). */
  readonly timestamps?: TimestampCheckOptions
}

export async function verifyAuditLogs(backend: AuditBackend, options: VerifyOptions): Promise<VerifyResult> {
  const problems: VerifyProblem[] = []
  const warnings: string[] = []
  const logs: LogSummary[] = []
  const setAside: SetAsideSegment[] = []
  let total = 0
  const every = options.progressEvery ?? 10_000

  for (const logId of await backend.logIds()) {
    const checkpoints = await backend.checkpoints({ logId })
    // Signatures first: a checkpoint that does not verify is itself the problem.
    const trusted: SignedCheckpoint[] = []
    for (const cp of checkpoints) {
      try {
        const body = await verifyCheckpoint(cp.jws, options.keys)
        trusted.push({ jws: cp.jws, body })
      } catch (err) {
        problems.push({
          logId,
          segment: cp.body.segment,
          message: `checkpoint of segment ${cp.body.segment} at size ${cp.body.size} has no valid signature (${(err as Error).message})`,
        })
      }
    }
    if (options.timestamps) {
      const found = await checkCheckpointTimestamps(backend, logId, trusted, options.timestamps)
      for (const p of found.problems) problems.push({ logId, ...p })
      warnings.push(...found.warnings)
    }
    const algorithm = trusted[0]?.body.hashAlg ?? options.hashAlgorithm ?? 'sha256'
    const hasher = createHasher(algorithm)
    const problem = (p: Omit<VerifyProblem, 'logId'>) => problems.push({ logId, ...p })

    let expectedSeq = 0
    let chain = genesisChain(hasher, logId)
    let previousSeal: SignedCheckpoint | undefined
    let records = 0
    const segments = await backend.segments(logId)
    for (let s = 0; s < segments.length; s++) {
      const info = segments[s] as (typeof segments)[number]
      const ofSegment = trusted.filter((c) => c.body.segment === info.segment)
      const seal = ofSegment.find((c) => c.body.sealed)
      if (info.purged) {
        if (!seal) {
          problem({
            segment: info.segment,
            message: `segment ${info.segment} was removed without a sealing checkpoint`,
          })
          break
        }
        chain = seal.body.chainHead
        expectedSeq = seal.body.firstSeq + seal.body.size
        previousSeal = seal
        warnings.push(`${logId}: segment ${info.segment} removed by retention; verified from its signed seal onwards`)
        continue
      }
      const tree = new MerkleTree(hasher)
      /** Recomputed chain value after each leaf index, kept only where a checkpoint needs it. */
      const wanted = new Set(ofSegment.map((c) => c.body.size - 1))
      const chainAt = new Map<number, string>()
      let line = 0
      for await (const entry of backend.segmentEntries(logId, info.segment)) {
        line++
        const at = { segment: info.segment, line, seq: entry.seq, recordId: entry.record?.id }
        if (entry.seq !== expectedSeq) {
          problem({
            ...at,
            message:
              entry.seq > expectedSeq
                ? `seq ${expectedSeq} expected here, found seq ${entry.seq}: records deleted here, or this record inserted or moved here`
                : `record seq ${entry.seq} appears again or out of order after seq ${expectedSeq - 1}: inserted, duplicated or moved`,
          })
        } else if (entry.logId !== logId || entry.segment !== info.segment || entry.index !== tree.size) {
          problem({
            ...at,
            message: 'record does not belong at this place of the log (log id, segment or index differ)',
          })
        }
        const leaf = hasher.leaf(leafInput(entry))
        const recomputed = nextChain(hasher, chain, leaf)
        if (recomputed !== entry.chain) {
          problem({
            ...at,
            message: 'record content does not match its chain hash (edited, or a neighbour was removed or moved)',
          })
        }
        if (wanted.has(tree.size)) chainAt.set(tree.size, recomputed)
        // Continue from the stored value, so that one edit is reported once, not at every later record.
        chain = entry.chain
        tree.appendLeaf(leaf)
        expectedSeq = entry.seq + 1
        records++
        total++
        if (options.onProgress && total % every === 0) options.onProgress(total)
      }
      for (const cp of ofSegment) checkCheckpoint(cp.body, tree, chainAt, problem)
      if (info.setAside) {
        if (!seal) problem({ segment: info.segment, message: `segment ${info.segment} was set aside without a seal` })
        setAside.push({ logId, segment: info.segment, ...info.setAside })
        warnings.push(
          `${logId}: segment ${info.segment} was set aside (${info.setAside.file}, ${info.setAside.at}): its first ${info.setAside.records} record(s) verify and are sealed; from line ${info.setAside.line} (${info.setAside.reason}) the file is not part of the verified log`,
        )
      }
      if (seal && seal.body.size !== tree.size) {
        problem({
          segment: info.segment,
          message: `segment ${info.segment} was sealed at ${seal.body.size} records but holds ${tree.size}`,
        })
      }
      if (s < segments.length - 1 && !seal) {
        problem({ segment: info.segment, message: `segment ${info.segment} was closed without a sealing checkpoint` })
      }
      const first = ofSegment[0]
      if (first && previousSeal) {
        const link = hasher.digest(Buffer.from(previousSeal.jws)).toString('hex')
        for (const cp of ofSegment) {
          if (cp.body.prevSeal !== link) {
            problem({
              segment: info.segment,
              message: `checkpoint of segment ${info.segment} does not link to the seal of segment ${previousSeal.body.segment}`,
            })
            break
          }
        }
      }
      if (seal) previousSeal = seal
      const last = ofSegment.at(-1)
      if (s === segments.length - 1) {
        const uncovered = tree.size - (last?.body.size ?? 0)
        if (uncovered > 0)
          warnings.push(`${logId}: ${uncovered} record(s) after the last checkpoint are not yet covered by a signature`)
        logs.push({ logId, records, segments: segments.length, checkpoints: trusted.length, uncovered })
      }
    }
    if (segments.length === 0) logs.push({ logId, records: 0, segments: 0, checkpoints: trusted.length, uncovered: 0 })
  }
  return { ok: problems.length === 0, logs, setAside, problems, warnings }
}

function checkCheckpoint(
  body: CheckpointBody,
  tree: MerkleTree,
  chainAt: Map<number, string>,
  problem: (p: Omit<VerifyProblem, 'logId'>) => void,
): void {
  const where = `checkpoint of segment ${body.segment} at size ${body.size} (${body.time})`
  if (body.size > tree.size) {
    problem({
      segment: body.segment,
      seq: body.firstSeq + tree.size,
      message: `${where} covers ${body.size} records but only ${tree.size} remain: records seq ${body.firstSeq + tree.size}…${body.firstSeq + body.size - 1} are missing (truncated)`,
    })
    return
  }
  if (body.size > 0 && tree.root(body.size).toString('hex') !== body.rootHash) {
    problem({
      segment: body.segment,
      message: `${where}: Merkle root differs — records among seq ${body.firstSeq}…${body.firstSeq + body.size - 1} were altered`,
    })
  }
  const head = chainAt.get(body.size - 1)
  if (body.size > 0 && head !== undefined && head !== body.chainHead) {
    problem({ segment: body.segment, message: `${where}: chain head differs from the records` })
  }
}
