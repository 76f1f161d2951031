import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bothWays,
  collect,
  indexState,
  POOLS,
  positions,
  START_MS,
  signingKey,
  truncateIndex,
  writeMixedLog,
} from '../../../../test/support/audit-index.js'
import type { AuditCursor, AuditFilter } from '../../backend.js'
import type { AuditSigningKey } from '../../checkpoint.js'
import { createFileAuditBackend } from '../../file-backend.js'
import { INDEX_FILE } from './index.js'

/**
 * The index answers exactly as the full scan does: the same entries, in the same order, for every filter and
 * cursor — over two logs whose loggedAt interleave, several segments, refusals, admin records and record times on
 * either side of loggedAt; with the index complete, behind the log, or partly taken away.
 */

const FILTER_VALUES = {
  kind: ['exchange', 'admin'] as const,
  dept: POOLS.dept,
  sub: POOLS.sub,
  matter: POOLS.matter,
  case: POOLS.case,
  resource: POOLS.resource,
  subject: POOLS.subject,
  decision: ['allow', 'deny'] as const,
  outcome: ['ok', 'refused', 'failed'] as const,
  reason: ['ok', 'quota-exceeded', 'insufficient-scope', 'upstream-timeout'] as const,
  status: [200, 403, 429, 503],
  logId: ['gw-a', 'gw-b', 'gw-none'],
}

const iso = (ms: number) => new Date(ms).toISOString()

const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  ...Object.fromEntries(Object.entries(FILTER_VALUES).map(([k, values]) => [k, fc.constantFrom(...values)])),
  from: fc.integer({ min: -100, max: 900 }).map((d) => iso(START_MS + d)),
  to: fc.integer({ min: -100, max: 1200 }).map((d) => iso(START_MS + d)),
}

/** Filters of up to three fields (none: everything), times within and around the logs' span. */
const filters: fc.Arbitrary<AuditFilter> = fc
  .subarray(Object.keys(FIELD_VALUES), { maxLength: 3 })
  .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, FIELD_VALUES[k] as fc.Arbitrary<unknown>]))))
  .map((f) => f as AuditFilter)

describe('audit search index', () => {
  let dir: string
  let key: AuditSigningKey
  let cursors: AuditCursor[]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-audit-index-'))
    key = await signingKey(dir)
    // Two logs written one after the other on clocks that start together: their loggedAt interleave.
    for (const [logId, seed] of [
      ['gw-a', 1],
      ['gw-b', 2],
    ] as const) {
      const { log } = await writeMixedLog(dir, logId, 1500, { seed, key })
      await log.close()
    }
    const every = await collect(createFileAuditBackend({ dir, now: Date.now, index: false }).query({}))
    expect(every.length).toBe(3000)
    cursors = every.filter((_, i) => i % 97 === 0).map((e) => ({ loggedAt: e.loggedAt, logId: e.logId, seq: e.seq }))
  }, 120_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('answers every filter and cursor as the full scan does', async () => {
    const cursor = fc.option(
      fc.oneof(
        fc.constantFrom(...cursors),
        // Cursors no page returned: a time of one log with a seq of the other, or between records.
        fc.record({
          loggedAt: fc.integer({ min: -10, max: 700 }).map((d) => iso(START_MS + d)),
          logId: fc.constantFrom('gw-a', 'gw-b', 'gw-0', 'gw-z'),
          seq: fc.nat({ max: 1600 }),
        }),
      ),
      { nil: undefined },
    )
    let nonEmpty = 0
    await fc.assert(
      fc.asyncProperty(filters, cursor, async (filter, after) => {
        const { scanned, found } = await bothWays(dir, filter, after)
        if (scanned.length > 0) nonEmpty++
        expect(found).toEqual(scanned)
      }),
      { numRuns: 150, seed: 15 },
    )
    // The filters found something most of the time: the comparison is not between empty answers.
    expect(nonEmpty).toBeGreaterThan(75)
  }, 120_000)

  it('pages through a filter with cursors as the scan does', async () => {
    for (const filter of [
      { dept: 'drc' },
      { subject: POOLS.subject[3] as string },
      {},
      { outcome: 'refused' as const },
    ]) {
      const pages: string[] = []
      let after: AuditCursor | undefined
      for (;;) {
        const page = await collect(createFileAuditBackend({ dir, now: Date.now }).query(filter, after), 50)
        if (page.length === 0) break
        pages.push(...positions(page))
        const last = page.at(-1) as (typeof page)[number]
        after = { loggedAt: last.loggedAt, logId: last.logId, seq: last.seq }
      }
      const { scanned } = await bothWays(dir, filter)
      expect(pages, JSON.stringify(filter)).toEqual(scanned)
    }
  }, 60_000)

  it('answers from the index: rows taken out of it are not found, though the log has them', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'qiao-audit-index-copy-'))
    try {
      await cp(dir, copy, { recursive: true })
      const subject = POOLS.subject[5] as string
      const before = await bothWays(copy, { subject })
      expect(before.found.length).toBeGreaterThan(0)
      const db = new Database(join(copy, 'gw-a', INDEX_FILE))
      // The same seq in both logs' indexes matters not: only gw-a's rows go.
      const seqs = before.found.filter((p) => p.endsWith('@gw-a')).map((p) => Number(p.split('@')[0]))
      // Terms are kept per block of 8 records of a run: take out the blocks holding them.
      const runOf = db.prepare('SELECT first FROM runs WHERE first <= ? ORDER BY first DESC LIMIT 1').pluck()
      const remove = db.prepare('DELETE FROM terms WHERE rowid = ?')
      for (const seq of seqs) {
        const first = runOf.get(seq) as number
        remove.run(first + Math.floor((seq - first) / 8) * 8)
      }
      db.close()
      const after = await bothWays(copy, { subject })
      expect(after.scanned).toEqual(before.scanned)
      expect(after.found).toEqual(before.found.filter((p) => p.endsWith('@gw-b')))
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  })

  it('answers as the scan does with the index behind the log (the rest is scanned)', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'qiao-audit-index-behind-'))
    try {
      await cp(dir, copy, { recursive: true })
      // As after a crash between the fsync and the index write: gw-b's index stops at seq 700.
      truncateIndex(join(copy, 'gw-b'), 700)
      await fc.assert(
        fc.asyncProperty(filters, async (filter) => {
          const { scanned, found } = await bothWays(copy, filter)
          expect(found).toEqual(scanned)
        }),
        { numRuns: 40, seed: 7 },
      )
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  }, 60_000)

  it('is caught up by the writer at open when it is behind, and rebuilt when it is gone', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'qiao-audit-index-reopen-'))
    try {
      await cp(dir, copy, { recursive: true })
      truncateIndex(join(copy, 'gw-b'), 300)
      await rm(join(copy, 'gw-a', INDEX_FILE))
      const events: string[] = []
      for (const logId of ['gw-a', 'gw-b']) {
        const { log, backend } = await writeMixedLog(copy, logId, 10, {
          seed: 9,
          key,
          firstIndex: 1500,
          onIndexEvent: (e) => events.push(`${e.level} ${e.msg}`),
        })
        expect(await backend.indexCaughtUp()).toEqual({ nextSeq: 1510 })
        expect(indexState(join(copy, logId))).toEqual({ nextSeq: 1510, rows: 1510 })
        await log.close()
      }
      // Building from nothing is said (info); catching up a stretch is not news.
      expect(events).toEqual(['info audit index being built from the segments'])
      for (const filter of [
        {},
        { dept: 'urban' },
        { subject: POOLS.subject[1] as string, kind: 'exchange' as const },
      ]) {
        const { scanned, found } = await bothWays(copy, filter)
        expect(found).toEqual(scanned)
      }
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  }, 60_000)
})
