import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bothWays,
  indexState,
  mixedRecord,
  POOLS,
  START_MS,
  seeded,
  signingKey,
} from '../../../../test/support/audit-index.js'
import { openAuditLog } from '../../audit-log.js'
import type { AuditFilter } from '../../backend.js'
import { BatchBuilder, batchEntries } from '../../batch.js'
import { genesisChain } from '../../entry.js'
import { createFileAuditBackend } from '../../file-backend.js'
import { createHasher } from '../../merkle.js'
import { durableLines } from './writer.js'

/**
 * A process with one CPU hashes and indexes on its writing thread (no thread to hand the records or lines to): the
 * index it writes there covers every record and answers as the scan does, as the index thread's does (the rest of
 * the index tests, on this machine's several CPUs).
 */
describe('audit index written on the writing thread', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-audit-index-local-'))
    const backend = createFileAuditBackend({ dir, now: Date.now, indexThread: false })
    const log = await openAuditLog({
      backend,
      logId: 'gw-local',
      hashAlgorithm: 'sha256',
      signingKey: await signingKey(dir),
      clock: { now: () => START_MS },
      checkpointEvery: 500,
      checkpointIntervalMs: 60_000,
      segmentMaxSize: 200_000,
      segmentMaxAgeMs: 24 * 3_600_000,
      hashing: 'inline',
    })
    const rand = seeded(7)
    for (let i = 0; i < 900; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, (_, k) => log.append(mixedRecord(rand, 'gw-local', i + k, START_MS))),
      )
    }
    expect(await backend.indexCaughtUp()).toEqual({ nextSeq: 900 })
    await log.close()
  }, 60_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('covers every record, across segments, and answers as the scan does', async () => {
    expect(indexState(join(dir, 'gw-local'))).toEqual({ nextSeq: 900, rows: 900 })
    const filters: AuditFilter[] = [
      {},
      { dept: POOLS.dept[0] as string },
      { subject: POOLS.subject[1] as string },
      { kind: 'admin' },
      { outcome: 'refused', resource: POOLS.resource[0] as string },
    ]
    for (const filter of filters) {
      const { scanned, found } = await bothWays(dir, filter)
      expect(found, JSON.stringify(filter)).toEqual(scanned)
      if (Object.keys(filter).length > 0) expect(found.length).toBeLessThan(900)
    }
  })

  it("takes the same lines from the hashing thread's terms, from the entries, and from the bytes parsed", () => {
    const rand = seeded(11)
    const records = Array.from({ length: 200 }, (_, i) => mixedRecord(rand, 'gw-t', i, START_MS + i))
    const builder = new BatchBuilder('gw-t', 'sha256')
    const chain = genesisChain(createHasher('sha256'), 'gw-t')
    builder.rebase({ seq: 40, segment: 2, index: 0, chain, frontier: [] })
    const loggedAt = '2026-11-26T02:00:00.123Z'
    const batch = builder.build(records, loggedAt, true)
    const entries = batchEntries('gw-t', loggedAt, records, batch)
    const terms = [{ loggedAt, count: batch.count, packed: batch.terms as string }]
    const first = { seq: 40, segment: 2 }
    const fromTerms = durableLines('gw-t', batch.lines, { first, count: 200, terms })
    const fromEntries = durableLines('gw-t', batch.lines, { first, count: 200, entries })
    const parsed = durableLines('gw-t', batch.lines, { first, count: 200 })
    expect(fromTerms).toHaveLength(200)
    expect(fromTerms).toEqual(fromEntries)
    expect(parsed).toEqual(fromEntries)
    // Terms that do not fit the batch are not taken: the lines are parsed instead.
    const miscounted = [{ loggedAt, count: 199, packed: batch.terms as string }]
    expect(durableLines('gw-t', batch.lines, { first, count: 200, terms: miscounted })).toEqual(fromEntries)
  })
})
