import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { faultyFileSystem } from '../../test/support/fs-faults.js'
import { type AuditLog, type AuditLogOptions, openAuditLog } from './audit-log.js'
import { hashThreadState, stopHashThread } from './batch-hasher.js'
import { type AuditSigningKey, loadOrCreateAuditSigningKey } from './checkpoint.js'
import { exchangeRecord } from './conformance/records.js'
import type { LogEntry } from './entry.js'
import { createFileAuditBackend } from './file-backend.js'
import type { AuditFileSystem } from './file-io.js'
import type { AuditRecord } from './record.js'
import { AuditUnavailableError } from './store.js'
import { verifyAuditLogs } from './verify.js'

/**
 * The group commit with its batches built in the hashing thread, ahead of the writes: whatever happens to a batch
 * built ahead (its thread fails, a write before it fails, a record in it cannot be serialised), what is written
 * numbers on from what was acknowledged, and the log verifies.
 */
describe('group commit with the hashing thread', () => {
  let dir: string
  let key: AuditSigningKey
  const logs: AuditLog[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-groups-'))
    key = await loadOrCreateAuditSigningKey(join(dir, 'key.jwk.json'))
  })
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  async function open(at: string, overrides: Partial<AuditLogOptions> & { fs?: AuditFileSystem } = {}) {
    const { fs, ...rest } = overrides
    const log = await openAuditLog({
      backend: createFileAuditBackend({ dir: join(dir, at), now: () => Date.now(), ...(fs ? { fs } : {}) }),
      logId: 'gw-1',
      hashAlgorithm: 'sha256',
      signingKey: key,
      clock: { now: () => Date.parse('2026-11-26T02:00:00Z') },
      checkpointEvery: 100,
      checkpointIntervalMs: 60_000,
      segmentMaxSize: 64 * 1024 * 1024,
      segmentMaxAgeMs: 24 * 3_600_000,
      ...rest,
    })
    logs.push(log)
    return log
  }

  async function stored(at: string): Promise<LogEntry[]> {
    const logDir = join(dir, at, 'gw-1')
    const files = (await readdir(logDir)).filter((f) => f.startsWith('segment-')).sort()
    const text = (await Promise.all(files.map((f) => readFile(join(logDir, f), 'utf8')))).join('')
    return text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as LogEntry)
  }

  async function verified(at: string, log: AuditLog) {
    return verifyAuditLogs(createFileAuditBackend({ dir: join(dir, at), now: () => Date.now() }), {
      keys: await log.publicKeys(),
    })
  }

  /** Appends all at once; the ids that were acknowledged and the errors of those that were not. */
  async function appendAll(log: AuditLog, records: readonly AuditRecord[]) {
    const settled = await Promise.allSettled(records.map((r) => log.append(r)))
    const acknowledged = records.filter((_, i) => settled[i]?.status === 'fulfilled').map((r) => r.id)
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []))
    return { acknowledged, errors }
  }

  const many = (from: number, n: number) => Array.from({ length: n }, (_, i) => exchangeRecord(from + i))

  it('stores the same bytes as hashing on the calling thread, in batch after batch', async () => {
    const threaded = await open('thread')
    const inline = await open('inline', { hashing: 'inline' })
    for (const log of [threaded, inline]) {
      for (let round = 0; round < 5; round++) await appendAll(log, many(round * 500, 300))
      await log.close()
    }
    const [a, b] = await Promise.all(
      ['thread', 'inline'].map((at) => readFile(join(dir, at, 'gw-1', 'segment-000001.jsonl'))),
    )
    expect(a?.length).toBeGreaterThan(0)
    expect(a?.equals(b as Buffer)).toBe(true)
    expect(threaded.stats.syncs).toBeLessThan(threaded.stats.appended)
    expect((await verified('thread', threaded)).problems).toEqual([])
  })

  it('a hashing thread that fails: what it had is built again by the next one, on what was acknowledged', async () => {
    const log = await open('lost')
    await appendAll(log, many(0, 50))
    const during = appendAll(log, many(1000, 600))
    await stopHashThread()
    const first = await during
    const after = await appendAll(log, many(5000, 200))
    expect(after.errors).toEqual([])
    for (const err of first.errors) expect(err).toBeInstanceOf(AuditUnavailableError)
    await log.close()
    const entries = await stored('lost')
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i))
    expect(entries.map((e) => e.record.id)).toEqual([
      ...many(0, 50).map((r) => r.id),
      ...first.acknowledged,
      ...after.acknowledged,
    ])
    expect((await verified('lost', log)).problems).toEqual([])
  })

  it('a write that fails while later batches are built ahead: those are built again on what was acknowledged', async () => {
    const faults = faultyFileSystem()
    const log = await open('full', { fs: faults.fs })
    await appendAll(log, many(0, 10))
    faults.failNextWrite('segment-000001.jsonl', 1000)
    const first = await appendAll(log, many(100, 400))
    const second = await appendAll(log, many(1000, 400))
    expect(faults.fired).toHaveLength(1)
    expect(first.errors.length).toBeGreaterThan(0)
    expect(second.errors).toEqual([])
    await log.close()
    const entries = await stored('full')
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i))
    expect(entries.map((e) => e.record.id)).toEqual([
      ...many(0, 10).map((r) => r.id),
      ...first.acknowledged,
      ...second.acknowledged,
    ])
    expect((await verified('full', log)).problems).toEqual([])
  })

  it('a record that cannot be copied to the thread or serialised fails alone; the rest of its batch is kept', async () => {
    const log = await open('odd')
    const withFunction = { ...exchangeRecord(3), requester: { dept: 'drc', sub: (() => 'x') as unknown as string } }
    const records = [
      ...many(0, 3),
      withFunction,
      exchangeRecord(4, { totalMs: Number.NaN }),
      exchangeRecord(5, { upstreamMs: 10n as unknown as number }),
      ...many(6, 3),
    ]
    const result = await appendAll(log, records)
    expect(result.errors).toHaveLength(3)
    for (const err of result.errors) expect(err).toBeInstanceOf(AuditUnavailableError)
    expect(result.acknowledged).toEqual([0, 1, 2, 6, 7, 8].map((i) => exchangeRecord(i).id))
    await log.close()
    expect((await stored('odd')).map((e) => [e.seq, e.record.id])).toEqual(
      result.acknowledged.map((id, seq) => [seq, id]),
    )
    expect((await verified('odd', log)).problems).toEqual([])
  })

  // Last: the thread stays paused for the rest of this file.
  it('a hashing thread that keeps failing is not restarted for a while: the log builds its batches itself', async () => {
    const log = await open('paused')
    const acknowledged: string[] = []
    for (let round = 0; round < 3; round++) {
      // Each round starts the thread (a batch) and ends it as a crash would; the third time, it is paused.
      const r = await appendAll(log, many(round * 100, 20))
      acknowledged.push(...r.acknowledged)
      await stopHashThread()
    }
    expect(hashThreadState()).toBe('paused')
    const meanwhile = await appendAll(log, many(1000, 300))
    expect(meanwhile.errors).toEqual([])
    await log.close()
    const entries = await stored('paused')
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i))
    expect(entries.map((e) => e.record.id)).toEqual([...acknowledged, ...meanwhile.acknowledged])
    expect((await verified('paused', log)).problems).toEqual([])
  })
})
