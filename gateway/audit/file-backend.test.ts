import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { faultyFileSystem } from '../../test/support/fs-faults.js'
import { type AuditLog, type AuditLogOptions, openAuditLog } from './audit-log.js'
import { canonicalJson } from './canonical-json.js'
import { loadOrCreateAuditSigningKey } from './checkpoint.js'
import { exchangeRecord } from './conformance/records.js'
import { type Tampering, testAuditBackend } from './conformance/suite.js'
import type { LogEntry } from './entry.js'
import { createFileAuditBackend, setAsideOpenSegment } from './file-backend.js'
import { type AuditFileSystem, nodeFileSystem } from './file-io.js'
import { AuditUnavailableError } from './store.js'
import { verifyAuditLogs } from './verify.js'

/** File-level tampering of the first segment, as someone with write access to the data directory could. */
async function tamperFile(dir: string, logId: string, kind: Tampering): Promise<void> {
  const path = join(dir, logId, 'segment-000001.jsonl')
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  switch (kind) {
    case 'edit': {
      const entry = JSON.parse(lines[10] as string)
      entry.record.requester.dept = 'housing'
      lines[10] = JSON.stringify(entry)
      break
    }
    case 'delete':
      lines.splice(10, 1)
      break
    case 'insert':
      lines.splice(10, 0, lines[20] as string)
      break
    case 'swap':
      ;[lines[10], lines[11]] = [lines[11] as string, lines[10] as string]
      break
    case 'truncate':
      lines.splice(45)
      break
  }
  await writeFile(path, `${lines.join('\n')}\n`)
}

testAuditBackend({
  name: 'file',
  segmentUnit: 'bytes',
  async storage() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-auditlog-'))
    return {
      backend: () => createFileAuditBackend({ dir, now: () => Date.now() }),
      tamper: (logId, kind) => tamperFile(dir, logId, kind),
      async tear(logId) {
        const files = (await readdir(join(dir, logId))).filter((f) => f.startsWith('segment-')).sort()
        await appendFile(join(dir, logId, files.at(-1) as string), '{"logId":"gw-1","seq":10,"segm')
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})

describe('file audit segments', () => {
  it('store each entry as one line of RFC 8785 canonical JSON, byte for byte, including non-ASCII text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-auditlines-'))
    try {
      const log = await openAuditLog({
        backend: createFileAuditBackend({ dir, now: () => Date.now() }),
        logId: 'gw-lines',
        hashAlgorithm: 'sha256',
        signingKey: await loadOrCreateAuditSigningKey(join(dir, 'key.jwk.json')),
        clock: { now: () => Date.parse('2026-11-26T02:00:00Z') },
        checkpointEvery: 1000,
        checkpointIntervalMs: 60_000,
        segmentMaxSize: 64 * 1024 * 1024,
        segmentMaxAgeMs: 24 * 3_600_000,
      })
      // Concurrent appends: one batch, so the lines are laid out back to back in one buffer.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          log.append(exchangeRecord(i, { approvalRef: `宁住建共享〔2026〕${i}号 𠮷`, case: `办件-${i}` })),
        ),
      )
      await log.close()
      const text = await readFile(join(dir, 'gw-lines', 'segment-000001.jsonl'), 'utf8')
      const lines = text.split('\n')
      expect(lines.pop()).toBe('')
      expect(lines).toHaveLength(20)
      for (const line of lines) expect(line).toBe(canonicalJson(JSON.parse(line)))
      expect(JSON.parse(lines[19] as string).record.approvalRef).toBe('宁住建共享〔2026〕19号 𠮷')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('file audit write path under faults (through the file-system seam)', () => {
  let dir: string
  let log: AuditLog | undefined
  const LOG = 'gw-faults'
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-auditfaults-'))
  })
  afterEach(async () => {
    await log?.close().catch(() => {})
    log = undefined
    await rm(dir, { recursive: true, force: true })
  })

  async function open(fs?: AuditFileSystem, overrides: Partial<AuditLogOptions> = {}): Promise<AuditLog> {
    log = await openAuditLog({
      backend: createFileAuditBackend({ dir, now: () => Date.parse('2026-11-26T02:00:00Z'), ...(fs ? { fs } : {}) }),
      logId: LOG,
      hashAlgorithm: 'sha256',
      signingKey: await loadOrCreateAuditSigningKey(join(dir, 'key.jwk.json')),
      clock: { now: () => Date.parse('2026-11-26T02:00:00Z') },
      checkpointEvery: 1000,
      checkpointIntervalMs: 60_000,
      segmentMaxSize: 64 * 1024 * 1024,
      segmentMaxAgeMs: 24 * 3_600_000,
      ...overrides,
    })
    return log
  }
  /** A log over a file system that fails on request, with exchange records 0 … `records` - 1 appended. */
  async function openFaulty(records = 0, overrides: Partial<AuditLogOptions> = {}) {
    const faults = faultyFileSystem()
    const l = await open(faults.fs, overrides)
    for (let i = 0; i < records; i++) await l.append(exchangeRecord(i))
    return { faults, l }
  }
  const segmentPath = () => join(dir, LOG, 'segment-000001.jsonl')
  async function stored(): Promise<LogEntry[]> {
    const text = await readFile(segmentPath(), 'utf8')
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as LogEntry)
  }
  const verify = async (l: AuditLog) =>
    verifyAuditLogs(createFileAuditBackend({ dir, now: Date.now }), { keys: await l.publicKeys() })
  const until = async (what: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 400 && !(await what()); i++) await new Promise((r) => setTimeout(r, 10))
    expect(await what()).toBe(true)
  }

  it('loops on short writes: every byte of a batch lands, one record per line', async () => {
    const { faults, l } = await openFaulty()
    faults.shortWrites('.jsonl', 7)
    await Promise.all(Array.from({ length: 12 }, (_, i) => l.append(exchangeRecord(i))))
    faults.shortWrites('.jsonl', undefined)
    const entries = await stored()
    expect(entries.map((e) => e.record.id)).toEqual(Array.from({ length: 12 }, (_, i) => exchangeRecord(i).id))
    expect((await verify(l)).problems).toEqual([])
  })

  it('a write that fails part-way (ENOSPC) is cut back: the batch is refused, nothing of it stays, seqs go on', async () => {
    const { faults, l } = await openFaulty(1)
    const sizeBefore = (await stat(segmentPath())).size
    faults.failNextWrite('segment-000001.jsonl', 100)
    const refused = await Promise.allSettled([l.append(exchangeRecord(1)), l.append(exchangeRecord(2))])
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(AuditUnavailableError)
    expect(faults.fired).toEqual([`write ${segmentPath()}`])
    expect((await stat(segmentPath())).size).toBe(sizeBefore)
    // Not broken: the cut-back was synced, so the next batch is written right away.
    expect((await l.health()).broken).toBe(false)
    await l.append(exchangeRecord(3))
    expect((await stored()).map((e) => [e.seq, e.record.id])).toEqual([
      [0, exchangeRecord(0).id],
      [1, exchangeRecord(3).id],
    ])
    expect((await verify(l)).problems).toEqual([])
  })

  it('a failed fsync breaks the log: no acknowledgment, appends refused, then recovered in process; the batch leaves no trace', async () => {
    const { faults, l } = await openFaulty(3)
    faults.failNextDatasync('segment-000001.jsonl')
    const failed = await Promise.allSettled([l.append(exchangeRecord(10)), l.append(exchangeRecord(11))])
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    // The failed batch's bytes did reach the file before the fsync failed.
    expect(faults.unsynced.at(-1)?.toString()).toContain(exchangeRecord(10).id)
    const health = await l.health()
    expect(health.broken).toBe(true)
    expect(health.problems.join(' ')).toMatch(/broken.*fsync failed \(EIO\)/)
    await expect(l.append(exchangeRecord(12))).rejects.toThrow(/broken/)
    await until(async () => !(await l.health()).broken)
    expect(l.stats).toMatchObject({ brokenEvents: 1, recoveries: 1 })
    await l.append(exchangeRecord(13))
    await l.close()
    const entries = await stored()
    expect(entries.map((e) => e.seq)).toEqual([0, 1, 2, 3])
    expect(entries.map((e) => e.record.id)).toEqual([0, 1, 2, 13].map((i) => exchangeRecord(i).id))
    expect((await verify(l)).problems).toEqual([])
  })

  it('recovery refuses to go on when acknowledged records are gone from the store: the log stays broken', async () => {
    const { faults, l } = await openFaulty(3)
    // A disk that keeps failing fsync (so recovery waits), and meanwhile drops acknowledged records.
    faults.failDatasyncs('segment-000001.jsonl')
    await expect(l.append(exchangeRecord(3))).rejects.toThrow(AuditUnavailableError)
    const kept = (await readFile(segmentPath(), 'utf8')).split('\n')[0] as string
    await writeFile(segmentPath(), `${kept}\n`)
    faults.failDatasyncs(undefined)
    await until(async () => (await l.health()).problems.join(' ').includes('does not hold what was acknowledged'))
    expect((await l.health()).broken).toBe(true)
    expect(l.stats.recoveries).toBe(0)
    await expect(l.append(exchangeRecord(4))).rejects.toThrow(/does not hold what was acknowledged/)
  })

  it('a failed checkpoint write is cut back and a failed checkpoint fsync recovers; checkpoints stay well-formed', async () => {
    const { faults, l } = await openFaulty(0, { checkpointEvery: 2 })
    faults.failNextWrite('checkpoints.jsonl', 30)
    await l.append(exchangeRecord(0))
    await l.append(exchangeRecord(1)) // the checkpoint after it fails part-way and is cut back
    // Runs after that failed checkpoint in the serial lane, and signs the one it could not write.
    await l.checkpoint()
    expect((await l.checkpoints({ logId: LOG })).map((c) => c.body.size)).toEqual([2])
    faults.failNextDatasync('checkpoints.jsonl')
    await l.append(exchangeRecord(2))
    await l.append(exchangeRecord(3)) // its checkpoint's fsync fails: broken, then recovered
    await until(async () => l.stats.recoveries === 1)
    await l.append(exchangeRecord(4))
    await l.append(exchangeRecord(5))
    await l.close()
    const text = await readFile(join(dir, LOG, 'checkpoints.jsonl'), 'utf8')
    for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow()
    const result = await verify(l)
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(6)
  })

  it('a segment start that fails after the seal leaves the log consistent and is retried before the next batch', async () => {
    const { faults, l } = await openFaulty(0, { segmentMaxSize: 2 * 1024 })
    faults.failNextWrite('log.json.tmp', 10)
    for (let i = 0; i < 6; i++) await l.append(exchangeRecord(i))
    expect(l.stats.segment).toBeGreaterThan(1)
    expect(faults.fired).toEqual([`write ${join(dir, LOG, 'log.json.tmp')}`])
    for (let i = 6; i < 12; i++) await l.append(exchangeRecord(i))
    await l.close()
    const manifest = JSON.parse(await readFile(join(dir, LOG, 'log.json'), 'utf8')) as { segments: unknown[] }
    expect(manifest.segments.length).toBe(l.stats.segment)
    const result = await verify(l)
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(12)
  })

  it('set-aside: a damaged segment is renamed and kept, its verified records sealed, and the log goes on verifiably', async () => {
    // A crash (no clean close): no checkpoint covers these records yet.
    const crashed = await open()
    for (let i = 0; i < 8; i++) await crashed.append(exchangeRecord(i))
    log = undefined
    const lines = (await readFile(segmentPath(), 'utf8')).trimEnd().split('\n')
    lines[5] = '{"damaged":'
    await writeFile(segmentPath(), `${lines.join('\n')}\n`)
    await expect(open()).rejects.toThrow(
      /segment 1 \(segment-000001\.jsonl\) line 6.*qiao audit set-aside --log gw-faults/,
    )
    log = undefined
    const report = await setAsideOpenSegment({
      dir,
      logId: LOG,
      signingKey: await loadOrCreateAuditSigningKey(join(dir, 'key.jwk.json')),
      now: Date.parse('2026-11-26T03:00:00Z'),
    })
    expect(report).toMatchObject({ segment: 1, records: 5, line: 6, nextSegment: 2, nextSeq: 5 })
    expect((await readdir(join(dir, LOG))).sort()).toContain('segment-000001.set-aside.jsonl')
    const l = await open()
    await l.append(exchangeRecord(100))
    await l.close()
    const result = await verify(l)
    expect(result.problems).toEqual([])
    expect(result.setAside).toMatchObject([{ logId: LOG, segment: 1, records: 5, line: 6, reason: 'not JSON' }])
    expect(result.logs[0]?.records).toBe(6)
    const entries: LogEntry[] = []
    for await (const e of l.query({})) entries.push(e)
    expect(entries.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('set-aside stopped before its rename (a crash) is completed at the next open; nothing is lost from sight', async () => {
    const crashed = await open()
    for (let i = 0; i < 4; i++) await crashed.append(exchangeRecord(i))
    log = undefined
    const lines = (await readFile(segmentPath(), 'utf8')).trimEnd().split('\n')
    lines[2] = 'garbage'
    await writeFile(segmentPath(), `${lines.join('\n')}\n`)
    const failingRename: AuditFileSystem = {
      ...nodeFileSystem,
      async rename(from, to) {
        if (to.endsWith('.set-aside.jsonl')) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' })
        await nodeFileSystem.rename(from, to)
      },
    }
    const signingKey = await loadOrCreateAuditSigningKey(join(dir, 'key.jwk.json'))
    await expect(
      setAsideOpenSegment({ dir, logId: LOG, signingKey, now: Date.now(), fs: failingRename }),
    ).rejects.toThrow(/EIO/)
    const l = await open()
    expect((await readdir(join(dir, LOG))).sort()).toContain('segment-000001.set-aside.jsonl')
    await l.append(exchangeRecord(50))
    await l.close()
    const result = await verify(l)
    expect(result.problems).toEqual([])
    expect(result.setAside).toMatchObject([{ segment: 1, records: 2, line: 3 }])
  })
})
