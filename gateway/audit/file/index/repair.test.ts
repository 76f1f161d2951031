import { copyFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  bothWays,
  collect,
  indexState,
  POOLS,
  signingKey,
  writeMixedLog,
} from '../../../../test/support/audit-index.js'
import type { AuditFilter } from '../../backend.js'
import type { AuditSigningKey } from '../../checkpoint.js'
import { createFileAuditBackend, setAsideOpenSegment } from '../../file-backend.js'
import { segmentFile } from '../manifest.js'
import { INDEX_FILE, type IndexEvent } from './index.js'

/**
 * The log is the truth and the index follows it: whatever happened to the index (taken away, behind, damaged, from
 * another log) or to the log under it (a torn tail cut, a segment set aside, segments purged), the writer's open
 * puts it right, and until then queries answer as the full scan does.
 */

const LOG = 'gw-r'
const FILTERS: AuditFilter[] = [
  {},
  { dept: 'drc' },
  { subject: POOLS.subject[2] as string },
  { case: POOLS.case[4] as string, kind: 'exchange' },
  { outcome: 'refused', sub: 'officer-3' },
]

describe('audit index repairs', () => {
  let dir: string
  let key: AuditSigningKey
  let events: string[]
  const onIndexEvent = (e: IndexEvent) => events.push(`${e.level} ${e.msg}`)
  const logDir = () => join(dir, LOG)

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-audit-index-repair-'))
    key = await signingKey(dir)
    events = []
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  async function expectScanAnswers(): Promise<void> {
    for (const filter of FILTERS) {
      const { scanned, found } = await bothWays(dir, filter)
      expect(found, JSON.stringify(filter)).toEqual(scanned)
    }
  }

  /** Opens the log again (recovery, then the index's check) and appends `count` more records. */
  async function reopen(firstIndex: number, count: number, segmentMaxSize?: number) {
    const { log, backend } = await writeMixedLog(dir, LOG, count, {
      seed: firstIndex,
      key,
      firstIndex,
      onIndexEvent,
      ...(segmentMaxSize ? { segmentMaxSize } : {}),
    })
    const status = await backend.indexCaughtUp()
    return { log, backend, status }
  }

  it('a torn tail cut at open leaves no row past the log’s end', async () => {
    const { log } = await writeMixedLog(dir, LOG, 40, { seed: 1, key, segmentMaxSize: 1 << 20 })
    await log.close()
    expect(indexState(logDir())).toEqual({ nextSeq: 40, rows: 40 })
    // A crash that lost the last records and tore the one before them (as a disk without the fsync's promise would),
    // and with them the checkpoint the close signed.
    const path = join(logDir(), segmentFile(1))
    const lines = (await readFile(path, 'utf8')).split('\n')
    const keep = Buffer.byteLength(lines.slice(0, 30).join('\n')) + 1
    await writeFile(path, (await readFile(path)).subarray(0, keep + 25))
    await rm(join(logDir(), 'checkpoints.jsonl'))
    const { log: again, status } = await reopen(40, 5, 1 << 20)
    expect(again.repairs.join(' ')).toMatch(/torn last record/)
    expect(status).toEqual({ nextSeq: 35 })
    expect(indexState(logDir())).toEqual({ nextSeq: 35, rows: 35 })
    const db = new Database(join(logDir(), INDEX_FILE), { readonly: true })
    // Terms are kept per block of records, found by its first seq: none starts past the log's end.
    expect(db.prepare('SELECT max(rowid) FROM terms').pluck().get()).toBeLessThan(35)
    expect(db.prepare('SELECT max(first) FROM runs').pluck().get()).toBeLessThan(35)
    db.close()
    await again.close()
    await expectScanAnswers()
  })

  it('a corrupt index file: queries scan meanwhile, the writer rebuilds it, and each says so once', async () => {
    const { log } = await writeMixedLog(dir, LOG, 200, { seed: 2, key, onIndexEvent })
    await log.close()
    const path = join(logDir(), INDEX_FILE)
    const size = (await stat(path)).size
    const fh = await open(path, 'r+')
    await fh.write(Buffer.alloc(size, 0x5a), 0, size, 0)
    await fh.close()
    const reader = createFileAuditBackend({ dir, now: Date.now, onIndexEvent })
    for (let i = 0; i < 3; i++) expect((await collect(reader.query({ dept: 'drc' }))).length).toBeGreaterThan(0)
    expect(events).toEqual(['warn audit index unreadable; queries scan the log'])
    await expectScanAnswers()
    events = []
    const { log: again, status } = await reopen(200, 5)
    expect(status).toEqual({ nextSeq: 205 })
    expect(events).toEqual([
      'warn audit index unusable; rebuilding it from the segments',
      'info audit index being built from the segments',
    ])
    await again.close()
    await expectScanAnswers()
  })

  it('another log’s index is not used: refused by its log id, or by its last record', async () => {
    const { log } = await writeMixedLog(dir, LOG, 120, { seed: 3, key })
    await log.close()
    const other = await mkdtemp(join(tmpdir(), 'qiao-audit-index-other-'))
    try {
      // The same log id in another directory, with other records: its index file brought over here.
      const { log: foreign } = await writeMixedLog(other, LOG, 150, { seed: 4, key })
      await foreign.close()
      await copyFile(join(other, LOG, INDEX_FILE), join(logDir(), INDEX_FILE))
      await rm(join(logDir(), `${INDEX_FILE}-wal`), { force: true })
      await expectScanAnswers()
      const { log: again, status } = await reopen(120, 3)
      expect(status).toEqual({ nextSeq: 123 })
      expect(events).toContain('warn audit index does not match the log; rebuilding it from the segments')
      await again.close()
      await expectScanAnswers()
      // Another log's file under this log's name.
      const { log: b } = await writeMixedLog(dir, 'gw-other', 10, { seed: 5, key })
      await b.close()
      await copyFile(join(dir, 'gw-other', INDEX_FILE), join(logDir(), INDEX_FILE))
      events = []
      const { log: third, status: s3 } = await reopen(123, 2)
      expect(s3).toEqual({ nextSeq: 125 })
      expect(events[0]).toBe('warn audit index unusable; rebuilding it from the segments')
      await third.close()
      await expectScanAnswers()
    } finally {
      await rm(other, { recursive: true, force: true })
    }
  })

  it('set-aside: the rows of the lines set aside go, the log goes on indexed', async () => {
    const { log } = await writeMixedLog(dir, LOG, 60, { seed: 6, key, segmentMaxSize: 1 << 20 })
    await log.close()
    // Damage at line 41 (seq 40): the gateway refuses the log until the damaged segment is set aside.
    const path = join(logDir(), segmentFile(1))
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
    const entry = JSON.parse(lines[40] as string)
    entry.record.id = 'edited'
    lines[40] = JSON.stringify(entry)
    await writeFile(path, `${lines.join('\n')}\n`)
    const report = await setAsideOpenSegment({ dir, logId: LOG, signingKey: key, now: Date.now() })
    expect(report).toMatchObject({ records: 40, nextSeq: 40 })
    // Before the writer opens it again, readers already leave the lines set aside out.
    await expectScanAnswers()
    const { log: again, status } = await reopen(60, 30, 1 << 20)
    expect(status).toEqual({ nextSeq: 70 })
    expect(indexState(logDir())).toEqual({ nextSeq: 70, rows: 70 })
    await again.close()
    await expectScanAnswers()
    const ids = (await collect(createFileAuditBackend({ dir, now: Date.now }).query({}))).map((e) => e.record.id)
    expect(ids).not.toContain(`${LOG}-000045`)
    expect(ids).toContain(`${LOG}-000065`)
  })

  it('retention: a purged segment’s rows go, at once in the writing process and at open otherwise', async () => {
    const { log, backend } = await writeMixedLog(dir, LOG, 400, { seed: 7, key, segmentMaxSize: 16 * 1024 })
    await log.checkpoint()
    const segments = await backend.segments(LOG)
    expect(segments.length).toBeGreaterThan(4)
    const every = await collect(createFileAuditBackend({ dir, now: Date.now }).query({}))
    // Just after the newest record of the segment before: every segment before `segment` is old enough.
    const cutoff = (segment: number) =>
      Date.parse(every.filter((e) => e.segment === segment - 1).at(-1)?.loggedAt as string) + 1
    // Retention runs on a backend of its own in the gateway's process: the writer's index hears of it.
    expect(await createFileAuditBackend({ dir, now: Date.now }).purge(LOG, cutoff(3))).toEqual([1, 2])
    const kept = every.filter((e) => e.segment >= 3).length
    expect(indexState(logDir()).rows).toBe(kept)
    await expectScanAnswers()
    await log.close()
    // With no writer running, the rows stay until the next open; queries skip them.
    expect(await createFileAuditBackend({ dir, now: Date.now }).purge(LOG, cutoff(4))).toEqual([3])
    await expectScanAnswers()
    const { log: again } = await reopen(400, 1, 16 * 1024)
    expect(indexState(logDir()).rows).toBe(every.filter((e) => e.segment >= 4).length + 1)
    await again.close()
    await expectScanAnswers()
  })
})
