import { hash } from 'node:crypto'

/**
 * RFC 9162 (Certificate Transparency 2.0) §2.1 Merkle tree over audit records:
 *   leaf hash  = H(0x00 || entry),  node hash = H(0x01 || left || right),
 * the Merkle Tree Hash (MTH) of any prefix, inclusion proofs (§2.1.3) and consistency proofs (§2.1.4).
 * H is SHA-256 by default or SM3 (GM/T 0004, from Node's OpenSSL) per deployment.
 */
export type HashAlgorithm = 'sha256' | 'sm3'

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sm3']

const LEAF_PREFIX = Buffer.from([0x00])
const NODE_PREFIX = Buffer.from([0x01])

export interface Hasher {
  readonly algorithm: HashAlgorithm
  readonly size: number
  leaf(entry: Uint8Array): Buffer
  node(left: Uint8Array, right: Uint8Array): Buffer
  /** Plain digest (chain links, segment links). */
  digest(...parts: Uint8Array[]): Buffer
}

export function createHasher(algorithm: HashAlgorithm): Hasher {
  // One-shot crypto.hash over the joined parts: about 40% less CPU than a Hash object per digest, which matters
  // with two digests (leaf, chain) per audit record. Joining costs one copy of a ~1 KB record.
  const digest = (...parts: Uint8Array[]): Buffer =>
    hash(algorithm, parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts), 'buffer')
  return {
    algorithm,
    size: 32,
    leaf: (entry) => digest(LEAF_PREFIX, entry),
    node: (left, right) => digest(NODE_PREFIX, left, right),
    digest,
  }
}

/** Hashes of equal size packed in one growable buffer: no object per hash, so millions stay cheap. */
class HashArray {
  private buf: Buffer
  length = 0
  constructor(private readonly width: number) {
    this.buf = Buffer.allocUnsafe(width * 1024)
  }
  push(hash: Uint8Array): void {
    if ((this.length + 1) * this.width > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2)
      this.buf.copy(bigger, 0, 0, this.length * this.width)
      this.buf = bigger
    }
    this.buf.set(hash, this.length * this.width)
    this.length++
  }
  /** Pushes the hash at `offset` of `from` (a packed run of hashes), without a view per hash. */
  pushFrom(from: Buffer, offset: number): void {
    if ((this.length + 1) * this.width > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2)
      this.buf.copy(bigger, 0, 0, this.length * this.width)
      this.buf = bigger
    }
    from.copy(this.buf, this.length * this.width, offset, offset + this.width)
    this.length++
  }
  at(i: number): Buffer {
    return this.buf.subarray(i * this.width, (i + 1) * this.width)
  }
  /** Gives back the spare capacity (up to half the buffer, since it grows by doubling). */
  compact(): void {
    const used = this.length * this.width
    if (used === this.buf.length) return
    const exact = Buffer.allocUnsafe(used)
    this.buf.copy(exact, 0, 0, used)
    this.buf = exact
  }
}

/** How many node hashes appending `count` leaves to a tree of `size` leaves computes. */
export function nodeHashesFor(size: number, count: number): number {
  let nodes = 0
  for (let i = 0; i < count; i++) nodes += trailingOnes(size + i)
  return nodes
}

/** How many node hashes appending a leaf to a tree of `n` leaves computes: the trailing one bits of n. */
export function trailingOnes(n: number): number {
  let ones = 0
  while (n % 2 === 1) {
    ones++
    n = (n - 1) / 2
  }
  return ones
}

/** Largest power of two strictly smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/**
 * An append-only Merkle tree that keeps every complete subtree hash (level k holds the hashes of aligned runs of
 * 2^k leaves), so the root of any prefix and any proof come from lookups, O(log n) hashes each.
 */
export class MerkleTree {
  private readonly levels: HashArray[] = []
  constructor(readonly hasher: Hasher) {}

  get size(): number {
    return this.levels[0]?.length ?? 0
  }

  /** For a tree that will not grow again (a sealed segment's): frees the buffers' spare capacity. */
  compact(): void {
    for (const row of this.levels) row.compact()
  }

  /** Appends an entry's leaf hash (already computed with hasher.leaf). */
  appendLeaf(leaf: Uint8Array): void {
    let level = 0
    let hash: Buffer = Buffer.from(leaf)
    for (;;) {
      if (!this.levels[level]) this.levels[level] = new HashArray(this.hasher.size)
      const row = this.levels[level] as HashArray
      row.push(hash)
      if (row.length % 2 === 1) return
      hash = this.hasher.node(row.at(row.length - 2), row.at(row.length - 1))
      level++
    }
  }

  /**
   * Appends leaves whose node hashes were computed elsewhere (batch.ts, in the hashing thread): `leaves` and `nodes`
   * are packed hashes, the nodes in the order appendLeaf would compute them. Nothing is hashed here; a node count
   * that does not fit the leaves throws before the tree changes.
   */
  appendHashed(leaves: Buffer, nodes: Buffer): void {
    const width = this.hasher.size
    const count = leaves.length / width
    if (!Number.isInteger(count) || nodes.length !== nodeHashesFor(this.size, count) * width) {
      throw new RangeError(`${nodes.length / width} node hashes do not fit ${count} leaves at size ${this.size}`)
    }
    let node = 0
    for (let i = 0; i < count; i++) {
      let level = 0
      let from = leaves
      let at = i * width
      for (;;) {
        if (!this.levels[level]) this.levels[level] = new HashArray(width)
        const row = this.levels[level] as HashArray
        row.pushFrom(from, at)
        if (row.length % 2 === 1) break
        from = nodes
        at = node * width
        node++
        level++
      }
    }
  }

  /**
   * The right edge of the tree: per level, the last hash that has no sibling yet (undefined where the level's count
   * is even). It and the size are all that appending needs (batch.ts builds on it in another thread).
   */
  frontier(): Array<Buffer | undefined> {
    return this.levels.map((row) => (row.length % 2 === 1 ? Buffer.from(row.at(row.length - 1)) : undefined))
  }

  leaf(index: number): Buffer {
    if (index < 0 || index >= this.size) throw new RangeError(`no leaf ${index}`)
    return (this.levels[0] as HashArray).at(index)
  }

  /** MTH of leaves [lo, hi). */
  private mth(lo: number, hi: number): Buffer {
    const n = hi - lo
    if (n === 1) return this.leaf(lo)
    // An aligned run of 2^k leaves is a stored node.
    if ((n & (n - 1)) === 0 && lo % n === 0) {
      const level = Math.log2(n)
      const row = this.levels[level]
      if (row && lo / n < row.length) return row.at(lo / n)
    }
    const k = splitPoint(n)
    return this.hasher.node(this.mth(lo, lo + k), this.mth(lo + k, hi))
  }

  /** Root hash of the first `size` leaves (the empty tree hashes to H()). */
  root(size = this.size): Buffer {
    if (size < 0 || size > this.size) throw new RangeError(`tree has ${this.size} leaves, not ${size}`)
    return size === 0 ? this.hasher.digest() : this.mth(0, size)
  }

  /** RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of leaf m in the tree of the first n leaves. */
  inclusionProof(m: number, n = this.size): Buffer[] {
    if (m < 0 || m >= n || n > this.size) throw new RangeError(`no leaf ${m} in a tree of ${n}`)
    const path = (index: number, lo: number, hi: number): Buffer[] => {
      if (hi - lo === 1) return []
      const k = splitPoint(hi - lo)
      return index < k
        ? [...path(index, lo, lo + k), this.mth(lo + k, hi)]
        : [...path(index - k, lo + k, hi), this.mth(lo, lo + k)]
    }
    return path(m, 0, n)
  }

  /** RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof between the trees of m and n leaves. */
  consistencyProof(m: number, n = this.size): Buffer[] {
    if (m < 1 || m > n || n > this.size) throw new RangeError(`no consistency proof from ${m} to ${n}`)
    const subproof = (mm: number, lo: number, hi: number, b: boolean): Buffer[] => {
      const size = hi - lo
      if (mm === size) return b ? [] : [this.mth(lo, hi)]
      const k = splitPoint(size)
      return mm <= k
        ? [...subproof(mm, lo, lo + k, b), this.mth(lo + k, hi)]
        : [...subproof(mm - k, lo + k, hi, false), this.mth(lo, lo + k)]
    }
    return subproof(m, 0, n, true)
  }
}

/** RFC 9162 §2.1.3.2: verifies an inclusion proof. */
export function verifyInclusion(
  hasher: Hasher,
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (leafIndex >= treeSize) return false
  let fn = leafIndex
  let sn = treeSize - 1
  let r: Buffer = Buffer.from(leafHash)
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = hasher.node(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1
          sn >>= 1
        }
      }
    } else {
      r = hasher.node(r, p)
    }
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 && r.equals(root)
}

/** RFC 9162 §2.1.4.2: verifies a consistency proof between two roots. */
export function verifyConsistency(
  hasher: Hasher,
  firstSize: number,
  secondSize: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (firstSize === secondSize) return proof.length === 0 && Buffer.from(firstRoot).equals(secondRoot)
  if (firstSize < 1 || firstSize > secondSize) return false
  const path = [...proof]
  // Step 2: if first_size is an exact power of 2, prepend first_hash to the proof.
  if ((firstSize & (firstSize - 1)) === 0) path.unshift(firstRoot)
  let fn = firstSize - 1
  let sn = secondSize - 1
  while (fn % 2 === 1) {
    fn >>= 1
    sn >>= 1
  }
  const [head, ...rest] = path
  if (!head) return false
  let fr: Buffer = Buffer.from(head)
  let sr: Buffer = Buffer.from(head)
  for (const c of rest) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = hasher.node(c, fr)
      sr = hasher.node(c, sr)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1
          sn >>= 1
        }
      }
    } else {
      sr = hasher.node(sr, c)
    }
    fn >>= 1
    sn >>= 1
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0
}
