import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuditFilter } from '../gateway/audit/backend.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { bothWays, collect, indexState, positions, signingKey, writeMixedLog } from './support/audit-index.js'
import { REPO } from './support/gateway.js'
import { exited, runQiao } from './support/gateway-process.js'

/**
 * The audit index across processes: a writer killed between a batch's fsync and its index write leaves the index
 * behind, and the next open catches it up; `qiao audit export` beside a writer that keeps writing reads the
 * index through WAL (with no warning) and answers as the scan does for everything logged before it started.
 */

const LOG = 'gw-x'

/** A writer process: `count` records through the audit log, then `then`: crash right after the last batch, or go on. */
function writer(dir: string, count: number, then: 'crash' | 'keep-writing') {
  const script = `
    import { writeMixedLog, signingKey, mixedRecord, seeded } from './test/support/audit-index.ts'
    const { DIR, LOG, COUNT, THEN } = process.env
    const key = await signingKey(DIR)
    const { log } = await writeMixedLog(DIR, LOG, Number(COUNT), { seed: 11, key })
    const rand = seeded(12)
    let i = Number(COUNT)
    if (THEN === 'crash') {
      // One group commit of 200 records; killed as soon as they are durable, before the index hears of them.
      await Promise.all(Array.from({ length: 200 }, () => log.append(mixedRecord(rand, LOG, i++, Date.now()))))
      process.kill(process.pid, 'SIGKILL')
    }
    console.log('READY')
    for (;;) {
      await Promise.all(Array.from({ length: 5 }, () => log.append(mixedRecord(rand, LOG, i++, Date.now()))))
      await new Promise((r) => setTimeout(r, 2))
    }
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    env: { PATH: process.env.PATH, DIR: dir, LOG, COUNT: String(count), THEN: then },
  })
  let out = ''
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString()
  })
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString()
  })
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (out.includes('READY')) resolve()
    })
    void exited(child).then((code) => reject(new Error(`writer exited (${code}):\n${out}`)))
  })
  // Awaited by the test that waits for it; a crashing writer never gets there.
  ready.catch(() => {})
  return { child, ready, exit: exited(child), output: () => out }
}

describe('audit index across processes', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-audit-index-e2e-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('a writer killed between the fsync and the index write: the index is behind, and the next open catches up', async () => {
    const w = writer(dir, 300, 'crash')
    expect(await w.exit).toBeNull()
    expect(w.child.signalCode).toBe('SIGKILL')
    const logged = await collect(createFileAuditBackend({ dir, now: Date.now, index: false }).query({}))
    expect(logged.length).toBe(500)
    const behind = indexState(join(dir, LOG))
    expect(behind.nextSeq).toBeLessThan(500)
    expect(behind.rows).toBe(behind.nextSeq)
    // Meanwhile, queries take the index as far as it goes and scan the rest.
    for (const filter of [{ dept: 'drc' }, { outcome: 'failed' as const }, {}]) {
      const { scanned, found } = await bothWays(dir, filter)
      expect(found).toEqual(scanned)
    }
    const { log, backend } = await writeMixedLog(dir, LOG, 3, { seed: 13, key: await signingKey(dir), firstIndex: 500 })
    expect(await backend.indexCaughtUp()).toEqual({ nextSeq: 503 })
    expect(indexState(join(dir, LOG))).toEqual({ nextSeq: 503, rows: 503 })
    await log.close()
    for (const filter of [{ dept: 'natres' }, { sub: 'officer-2', kind: 'exchange' as const }]) {
      const { scanned, found } = await bothWays(dir, filter)
      expect(found).toEqual(scanned)
    }
  }, 60_000)

  it('qiao audit export beside a running writer reads the index and answers as the scan does', async () => {
    const w = writer(dir, 600, 'keep-writing')
    try {
      await w.ready
      for (const [filter, args] of [
        [{ dept: 'drc' }, ['--dept', 'drc']],
        [{ outcome: 'refused', matter: 'QT00301001' }, ['--outcome', 'refused', '--matter', 'QT00301001']],
        [{}, []],
      ] as const) {
        // What was logged before the export started cannot change: the export must give exactly that, and may add
        // what was logged while it ran.
        const before = await collect(
          createFileAuditBackend({ dir, now: Date.now, index: false }).query(filter as AuditFilter),
        )
        const upTo = Math.max(...before.map((e) => e.seq), 0)
        const run = await runQiao(['audit', 'export', '--dir', dir, '--format', 'jsonl', ...args])
        expect(run.code, run.stderr).toBe(0)
        expect(run.stderr).not.toMatch(/QIAO_AUDIT_INDEX|audit index/)
        const exported = run.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as LogEntry)
        expect(positions(exported.filter((e) => e.seq <= upTo))).toEqual(positions(before))
        expect(exported.length).toBeGreaterThanOrEqual(before.length)
      }
      // The writer indexes as it goes: the export had an index to read.
      expect(indexState(join(dir, LOG)).nextSeq).toBeGreaterThan(600)
    } finally {
      w.child.kill('SIGKILL')
      await w.exit
    }
  }, 90_000)
})
