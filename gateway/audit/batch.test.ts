import { describe, expect, it } from 'vitest'
import { BatchBuilder, batchEntries, buildBatch, type HashedBatch } from './batch.js'
import { canonicalJson } from './canonical-json.js'
import { adminRecord, exchangeRecord } from './conformance/records.js'
import { genesisChain, type LogEntry, leafInput, nextChain } from './entry.js'
import { createHasher, MerkleTree } from './merkle.js'
import type { AuditRecord } from './record.js'

const hasher = createHasher('sha256')

describe('buildBatch', () => {
  const start = {
    logId: 'gw-1',
    nextSeq: 7,
    segment: 2,
    index: 3,
    chain: genesisChain(hasher, 'gw-1'),
    loggedAt: '2026-10-31T08:00:00.000Z',
  }
  const records = [exchangeRecord(0, { matter: '建设工程规划许可' }), adminRecord(1), exchangeRecord(2)]

  it('numbers the entries from the committed state and chains each leaf onto the previous value', () => {
    const batch = buildBatch(hasher, start, records)
    let chain = start.chain
    batch.entries.forEach((entry, i) => {
      expect(entry).toMatchObject({ logId: 'gw-1', seq: 7 + i, segment: 2, index: 3 + i, loggedAt: start.loggedAt })
      expect(entry.record).toBe(records[i])
      const leaf = hasher.leaf(leafInput(entry))
      expect(batch.leaves[i]).toEqual(leaf)
      chain = nextChain(hasher, chain, leaf)
      expect(entry.chain).toBe(chain)
    })
    expect(batch.chain).toBe(chain)
  })

  it('stores the same entries as one canonical JSON line each, `bytes` long in all', () => {
    const batch = buildBatch(hasher, start, records)
    expect(batch.bytes).toBe(batch.lines.length)
    const text = batch.lines.toString('utf8')
    expect(text.endsWith('\n')).toBe(true)
    const parsed = text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as LogEntry)
    expect(parsed).toEqual(batch.entries)
  })

  it('an empty batch changes nothing', () => {
    const batch = buildBatch(hasher, start, [])
    expect(batch).toMatchObject({ entries: [], leaves: [], bytes: 0, chain: start.chain })
    expect(batch.lines.length).toBe(0)
  })
})

/** Records with what serialising must get right: non-ASCII, astral characters, escapes, admin records. */
function variedRecords(from: number, n: number): AuditRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k
    if (i % 9 === 4) return adminRecord(i)
    return exchangeRecord(i, {
      approvalRef: `宁住建共享〔2026〕${i}号 𠮷 "quoted" \\ tab\t`,
      case: `办件-${i}-\u2028`,
    })
  })
}

/** The log one record at a time, as entry.ts and merkle.ts define it (what `qiao audit verify` recomputes). */
function reference(logId: string, batches: Array<{ records: AuditRecord[]; loggedAt: string }>) {
  const tree = new MerkleTree(hasher)
  let chain = genesisChain(hasher, logId)
  const lines: string[] = []
  let seq = 0
  for (const { records, loggedAt } of batches) {
    for (const record of records) {
      const entry = { logId, seq, segment: 1, index: seq, loggedAt, record }
      const leaf = hasher.leaf(leafInput(entry))
      chain = nextChain(hasher, chain, leaf)
      tree.appendLeaf(leaf)
      lines.push(`${canonicalJson({ ...entry, chain })}\n`)
      seq++
    }
  }
  return { tree, chain, text: lines.join('') }
}

describe('BatchBuilder', () => {
  const logId = 'gw-构建'
  const batches = [1, 2, 3, 64, 5, 130, 1, 7].map((n, b) => ({
    records: variedRecords(b * 1000, n),
    loggedAt: new Date(Date.UTC(2026, 10, 26, 2, 0, b)).toISOString(),
  }))

  it('builds batch after batch on the one before: the same lines, chain and Merkle tree as entry by entry', () => {
    const builder = new BatchBuilder(logId, 'sha256')
    builder.rebase({ seq: 0, segment: 1, index: 0, chain: genesisChain(hasher, logId), frontier: [] })
    const tree = new MerkleTree(hasher)
    const built: HashedBatch[] = []
    for (const { records, loggedAt } of batches) {
      const batch = builder.build(records, loggedAt)
      expect(batch.failed).toEqual([])
      expect(batch.count).toBe(records.length)
      tree.appendHashed(batch.leaves, batch.nodes)
      built.push(batch)
    }
    const want = reference(logId, batches)
    expect(Buffer.concat(built.map((b) => b.lines)).toString('utf8')).toBe(want.text)
    expect(built.at(-1)?.chain).toBe(want.chain)
    expect(tree.size).toBe(want.tree.size)
    for (let size = 1; size <= tree.size; size += 17) expect(tree.root(size)).toEqual(want.tree.root(size))
    for (const leaf of [0, 5, 64, 100, tree.size - 1]) {
      expect(tree.inclusionProof(leaf)).toEqual(want.tree.inclusionProof(leaf))
    }
    // Each batch says where it starts, and its line ends and entries line up with its lines.
    let seq = 0
    for (const [b, batch] of built.entries()) {
      expect(batch.start).toMatchObject({ seq, segment: 1, index: seq })
      expect(batch.ends.at(-1)).toBe(batch.lines.length)
      const { records, loggedAt } = batches[b] as (typeof batches)[number]
      const entries = batchEntries(logId, loggedAt, records, batch)
      expect(entries.map((e) => `${canonicalJson(e)}\n`).join('')).toBe(batch.lines.toString('utf8'))
      seq += batch.count
    }
  })

  it('goes on from a tree it did not build, given its size and right edge (frontier)', () => {
    const first = { records: variedRecords(0, 137), loggedAt: '2026-11-26T02:00:00.000Z' }
    const second = { records: variedRecords(5000, 100), loggedAt: '2026-11-26T02:00:01.000Z' }
    const head = reference(logId, [first])
    const whole = reference(logId, [first, second])
    const builder = new BatchBuilder(logId, 'sha256')
    builder.rebase({ seq: 137, segment: 1, index: 137, chain: head.chain, frontier: head.tree.frontier() })
    const batch = builder.build(second.records, second.loggedAt)
    head.tree.appendHashed(batch.leaves, batch.nodes)
    expect(head.tree.root()).toEqual(whole.tree.root())
    expect(head.tree.inclusionProof(150)).toEqual(whole.tree.inclusionProof(150))
    expect(batch.chain).toBe(whole.chain)
  })

  it('a record that cannot be serialised fails alone: it gets no seq, the others are numbered on', () => {
    const builder = new BatchBuilder(logId, 'sha256')
    builder.rebase({ seq: 10, segment: 3, index: 0, chain: genesisChain(hasher, logId), frontier: [] })
    const records = [exchangeRecord(1), exchangeRecord(2, { totalMs: Number.NaN }), undefined, exchangeRecord(4)]
    const batch = builder.build(records, '2026-11-26T02:00:00.000Z')
    expect(batch.failed.map((f) => f.index)).toEqual([1, 2])
    expect(batch.count).toBe(2)
    const entries = batchEntries(logId, '2026-11-26T02:00:00.000Z', records as AuditRecord[], batch)
    expect(entries.map((e) => [e.seq, e.index, e.record.id])).toEqual([
      [10, 0, exchangeRecord(1).id],
      [11, 1, exchangeRecord(4).id],
    ])
    expect(builder.build([exchangeRecord(5)], '2026-11-26T02:00:00.000Z').start).toMatchObject({ seq: 12, index: 2 })
  })

  it('builds nothing before it knows where the log stands', () => {
    const batch = new BatchBuilder(logId, 'sha256').build([exchangeRecord(1)], '2026-11-26T02:00:00.000Z')
    expect(batch.start).toBeUndefined()
    expect(batch.count).toBe(0)
  })

  it('a tree refuses node hashes that do not fit the leaves', () => {
    const builder = new BatchBuilder(logId, 'sha256')
    builder.rebase({ seq: 0, segment: 1, index: 0, chain: genesisChain(hasher, logId), frontier: [] })
    const batch = builder.build(variedRecords(0, 4), '2026-11-26T02:00:00.000Z')
    const tree = new MerkleTree(hasher)
    expect(() => tree.appendHashed(batch.leaves, batch.nodes.subarray(32))).toThrow(RangeError)
    expect(tree.size).toBe(0)
  })
})
