import { describe, expect, it } from 'vitest'
import { buildBatch } from './batch.js'
import { adminRecord, exchangeRecord } from './conformance/records.js'
import { genesisChain, type LogEntry, leafInput, nextChain } from './entry.js'
import { createHasher } from './merkle.js'

describe('buildBatch', () => {
  const hasher = createHasher('sha256')
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
    expect(buildBatch(hasher, start, [])).toEqual({
      entries: [],
      leaves: [],
      lines: Buffer.alloc(0),
      bytes: 0,
      chain: start.chain,
    })
  })
})
