import { hash } from 'node:crypto'
import { canonicalJson } from './canonical-json.js'
import type { LogEntry } from './entry.js'
import { packTerms, recordTerms } from './file/index/terms.js'
import { type HashAlgorithm, type Hasher, trailingOnes } from './merkle.js'
import type { AuditRecord } from './record.js'

/** Where a batch starts: the log's position, as the log committed it or as the batch before left it. */
export interface BatchStart {
  readonly seq: number
  readonly segment: number
  /** Leaf index in the segment of the batch's first entry (= the segment tree's size before it). */
  readonly index: number
  /** Chain value (hex) after the entry before. */
  readonly chain: string
}

/** A start with the segment tree's right edge (MerkleTree.frontier()): enough to go on hashing from it. */
export interface BatchBase extends BatchStart {
  readonly frontier: ReadonlyArray<Uint8Array | undefined>
}

/** A batch hashed and serialised, ready for the backend; nothing of the log's state changes until it is written. */
export interface HashedBatch {
  /** What it was built on (undefined: on nothing yet); it may be written only where the log stands exactly there. */
  readonly start: BatchStart | undefined
  /** Entries built: the records minus `failed`. */
  readonly count: number
  /** The entries as canonical JSON lines (UTF-8), `{"chain":…,<leaf text after its "{">}\n` each. */
  readonly lines: Buffer
  /** End offset in `lines` of each entry's line. */
  readonly ends: Uint32Array
  /** Leaf hashes, packed (count × hash size). */
  readonly leaves: Buffer
  /** The Merkle node hashes appending the leaves computes, packed, in MerkleTree.appendHashed order. */
  readonly nodes: Buffer
  /** Chain value (hex) after the batch's last entry. */
  readonly chain: string
  /** Records that could not be serialised (by position in the request) and why; they got no seq. */
  readonly failed: ReadonlyArray<{ readonly index: number; readonly reason: string }>
  /** When asked for: each entry's search terms (file/index/terms.ts packTerms), one line each. */
  readonly terms?: string
}

const HASH_SIZE = 32
// A stored line is `{"chain":"<64 hex>",` then the leaf text without its "{". The leaf text is written at LEAF_AT, so
// its "{" lands where the "," goes: the byte before it holds the leaf prefix 0x00 while the leaf is hashed, and
// both are overwritten afterwards. One UTF-8 encoding, no copy.
const LINE_HEAD = Buffer.from('{"chain":"', 'latin1')
const CHAIN_AT = LINE_HEAD.length
const LEAF_AT = CHAIN_AT + 2 * HASH_SIZE + 1
const QUOTE = 0x22
const COMMA = 0x2c
const NEWLINE = 0x0a
const HEX = Buffer.from('0123456789abcdef', 'latin1')
/** Room for a line's numbers and braces besides its record text and the batch's fixed text. */
const LINE_OVERHEAD = 128

/**
 * Builds batches of entries from records: RFC 8785 canonical JSON, leaf hashes, the hash chain and the segment's
 * Merkle node hashes, exactly as entry.ts and merkle.ts define them (`qiao audit verify` recomputes them from the
 * stored lines). It keeps the position the next batch continues from, so batches can be built ahead of the writes
 * (in the hashing thread: batch-hasher.ts); the log writes a batch only where it starts exactly (start), and builds
 * it again from its committed position (rebase) otherwise.
 */
export class BatchBuilder {
  #seq = 0
  #segment = 0
  #index = 0
  /** Undefined until the first base: nothing is built on an unknown position. */
  #chain: Buffer | undefined
  #frontier: Array<Buffer | undefined> = []
  readonly #logIdJson: string
  readonly #link = Buffer.allocUnsafe(2 * HASH_SIZE)
  readonly #node = Buffer.allocUnsafe(1 + 2 * HASH_SIZE)

  constructor(
    readonly logId: string,
    readonly algorithm: HashAlgorithm,
  ) {
    this.#logIdJson = JSON.stringify(logId)
    this.#node[0] = 0x01
  }

  rebase(base: BatchBase): void {
    this.#seq = base.seq
    this.#segment = base.segment
    this.#index = base.index
    this.#chain = Buffer.from(base.chain, 'hex')
    this.#frontier = base.frontier.map((h) => (h ? Buffer.from(h) : undefined))
  }

  /**
   * Builds the next batch from where the last one (or the base) left off; `loggedAt` is the batch's one time.
   * `withTerms`: with the entries' search terms, for the file store's index, which then need not parse the lines.
   */
  build(records: ReadonlyArray<AuditRecord | undefined>, loggedAt: string, withTerms = false): HashedBatch {
    const previous = this.#chain
    if (!previous) return unbuiltBatch()
    const start: BatchStart = {
      seq: this.#seq,
      segment: this.#segment,
      index: this.#index,
      chain: previous.toString('hex'),
    }
    try {
      return this.#build(start, previous, records, loggedAt, withTerms)
    } catch (err) {
      // Whatever was half done, the next batch must not build on it.
      this.#chain = undefined
      throw err
    }
  }

  #build(
    start: BatchStart,
    previous: Buffer,
    records: ReadonlyArray<AuditRecord | undefined>,
    loggedAt: string,
    withTerms: boolean,
  ): HashedBatch {
    const n = records.length
    let out = Buffer.allocUnsafeSlow(Math.max(4096, n * 1536))
    const ends = new Uint32Array(n)
    const leaves = Buffer.allocUnsafeSlow(n * HASH_SIZE)
    // Appending n leaves computes fewer than n + 64 nodes (the trailing ones of n consecutive sizes).
    const nodes = Buffer.allocUnsafeSlow((n + 64) * HASH_SIZE)
    const failed: Array<{ index: number; reason: string }> = []
    const head = `{"index":`
    const middle = `,"logId":${this.#logIdJson},"loggedAt":${JSON.stringify(loggedAt)},"record":`
    const tail = `,"segment":${this.#segment},"seq":`
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const fixed = LEAF_AT + 3 * middle.length + LINE_OVERHEAD
    const terms: string[] = []
    let chain = previous
    let at = 0
    let count = 0
    let nodeCount = 0
    for (let i = 0; i < n; i++) {
      let text: string
      try {
        const record = records[i]
        if (record === undefined) throw new TypeError('the record could not be copied to the hashing thread')
        text = canonicalJson(record)
      } catch (err) {
        failed.push({ index: i, reason: (err as Error).message })
        continue
      }
      const seq = this.#seq + count
      const index = this.#index + count
      const room = fixed + 3 * text.length
      if (out.length - at < room) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, at + room))
        out.copy(bigger, 0, 0, at)
        out = bigger
      }
      const leafStart = at + LEAF_AT
      let end = leafStart + out.write(head, leafStart, 'latin1')
      end += out.write(String(index), end, 'latin1')
      end += out.write(middle, end)
      end += out.write(text, end)
      end += out.write(tail, end, 'latin1')
      end += out.write(String(seq), end, 'latin1')
      out[end++] = 0x7d // }
      out[leafStart - 1] = 0x00
      const leaf = hash(this.algorithm, out.subarray(leafStart - 1, end), 'buffer')
      this.#link.set(chain, 0)
      this.#link.set(leaf, HASH_SIZE)
      chain = hash(this.algorithm, this.#link, 'buffer')
      LINE_HEAD.copy(out, at)
      writeHex(out, at + CHAIN_AT, chain)
      out[leafStart - 1] = QUOTE
      out[leafStart] = COMMA
      out[end++] = NEWLINE
      at = end
      ends[count] = at
      leaf.copy(leaves, count * HASH_SIZE)
      nodeCount = this.#appendLeaf(leaf, index, nodes, nodeCount)
      if (withTerms) terms.push(packTerms(recordTerms(records[i] as AuditRecord)))
      count++
    }
    this.#seq += count
    this.#index += count
    this.#chain = chain
    return {
      start,
      count,
      lines: out.subarray(0, at),
      ends: count === n ? ends : ends.slice(0, count),
      leaves: leaves.subarray(0, count * HASH_SIZE),
      nodes: nodes.subarray(0, nodeCount * HASH_SIZE),
      chain: chain.toString('hex'),
      failed,
      ...(withTerms ? { terms: terms.join('\n') } : {}),
    }
  }

  /** The Merkle nodes appending `leaf` at `index` completes (as MerkleTree.appendLeaf), written to `nodes`. */
  #appendLeaf(leaf: Buffer, index: number, nodes: Buffer, nodeCount: number): number {
    let h = leaf
    let level = 0
    for (let ones = trailingOnes(index); level < ones; level++) {
      const left = this.#frontier[level] as Buffer
      left.copy(this.#node, 1)
      h.copy(this.#node, 1 + HASH_SIZE)
      h = hash(this.algorithm, this.#node, 'buffer')
      h.copy(nodes, nodeCount * HASH_SIZE)
      nodeCount++
    }
    this.#frontier[level] = h
    return nodeCount
  }
}

function writeHex(out: Buffer, at: number, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    out[at + 2 * i] = HEX[b >> 4] as number
    out[at + 2 * i + 1] = HEX[b & 15] as number
  }
}

/** No batch: the builder has no position yet (a new hashing thread); the log builds it again from its own. */
export function unbuiltBatch(): HashedBatch {
  const none = Buffer.alloc(0)
  return {
    start: undefined,
    count: 0,
    lines: none,
    ends: new Uint32Array(0),
    leaves: none,
    nodes: none,
    chain: '',
    failed: [],
  }
}

/** Where the log stands after `batch` (which started at `start`). */
export function batchEnd(start: BatchStart, batch: HashedBatch): BatchStart {
  return { seq: start.seq + batch.count, segment: start.segment, index: start.index + batch.count, chain: batch.chain }
}

export function sameStart(a: BatchStart | undefined, b: BatchStart): boolean {
  return a !== undefined && a.seq === b.seq && a.segment === b.segment && a.index === b.index && a.chain === b.chain
}

/**
 * The LogEntry objects of a written batch, for backends that store entries rather than lines: `records` are the
 * records as requested (the failed ones are skipped), the chain values are read from the lines.
 */
export function batchEntries(
  logId: string,
  loggedAt: string,
  records: readonly AuditRecord[],
  batch: HashedBatch,
  out: LogEntry[] = [],
): LogEntry[] {
  const start = batch.start
  if (!start) return out
  let failedAt = 0
  let k = 0
  for (let i = 0; i < records.length; i++) {
    if (batch.failed[failedAt]?.index === i) {
      failedAt++
      continue
    }
    const lineStart = k === 0 ? 0 : (batch.ends[k - 1] as number)
    out.push({
      logId,
      seq: start.seq + k,
      segment: start.segment,
      index: start.index + k,
      loggedAt,
      record: records[i] as AuditRecord,
      chain: batch.lines.toString('latin1', lineStart + CHAIN_AT, lineStart + CHAIN_AT + 2 * HASH_SIZE),
    })
    k++
  }
  return out
}

/** A batch built in one call on the calling thread, as entries, leaves and lines (for tools that write logs in bulk). */
export interface Batch {
  readonly entries: LogEntry[]
  readonly leaves: Buffer[]
  readonly lines: Buffer
  /** Bytes of `lines` (what file stores rotate by). */
  readonly bytes: number
  /** Chain value (hex) after the batch's last entry. */
  readonly chain: string
}

/**
 * Builds a batch's entries against a committed position (`index`: the segment tree's size, `frontier`: its right
 * edge, needed only for the node hashes, which this leaves out); it changes nothing.
 */
export function buildBatch(
  hasher: Hasher,
  start: { logId: string; nextSeq: number; segment: number; index: number; chain: string; loggedAt: string },
  records: readonly AuditRecord[],
): Batch {
  const builder = new BatchBuilder(start.logId, hasher.algorithm)
  // Node hashes are not returned, so any frontier of the right shape will do: zeros where the size has one bits.
  const frontier = Array.from({ length: 53 }, (_, k) =>
    Math.floor(start.index / 2 ** k) % 2 === 1 ? Buffer.alloc(hasher.size) : undefined,
  )
  builder.rebase({ seq: start.nextSeq, segment: start.segment, index: start.index, chain: start.chain, frontier })
  const batch = builder.build(records, start.loggedAt)
  if (batch.failed.length > 0) throw new TypeError(`record ${batch.failed[0]?.index} ${batch.failed[0]?.reason}`)
  const leaves = Array.from({ length: batch.count }, (_, i) =>
    Buffer.from(batch.leaves.subarray(i * hasher.size, (i + 1) * hasher.size)),
  )
  return {
    entries: batchEntries(start.logId, start.loggedAt, records, batch),
    leaves,
    lines: batch.lines,
    bytes: batch.lines.length,
    chain: batch.count > 0 ? batch.chain : start.chain,
  }
}
