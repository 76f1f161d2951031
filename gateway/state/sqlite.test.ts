import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { testStateStore } from './conformance/suite.js'
import { STATE_MODULES } from './modules.js'
import { openSqliteState } from './sqlite.js'

const execFileAsync = promisify(execFile)

testStateStore({
  name: 'SQLite (embedded)',
  async storage() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-state-'))
    const file = join(dir, 'state.sqlite')
    return {
      open: (modules = STATE_MODULES) => openSqliteState({ file, modules }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})

describe('SQLite state store settings', () => {
  it('runs in WAL mode with synchronous=FULL and a busy timeout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-state-'))
    try {
      const store = await openSqliteState({ file: join(dir, 'data', 'state.sqlite'), modules: STATE_MODULES })
      const { sql } = await import('kysely')
      const pragma = async (name: string) =>
        Object.values((await sql.raw(`pragma ${name}`).execute(store.db)).rows[0] as object)[0]
      expect(await pragma('journal_mode')).toBe('wal')
      expect(await pragma('synchronous')).toBe(2) // FULL
      expect(await pragma('busy_timeout')).toBe(5000)
      await store.close()
      // Another connection sees the WAL mode persisted in the file.
      const other = new Database(join(dir, 'data', 'state.sqlite'), { readonly: true })
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal')
      other.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('SQLite state store, several processes', () => {
  it('processes starting together on a new file migrate it once (none fails on tables another just created)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-sqlite-procs-'))
    const opener = join(dir, 'open.mts')
    await writeFile(
      opener,
      [
        `import { openSqliteState } from ${JSON.stringify(join(import.meta.dirname, 'sqlite.ts'))}`,
        `import { STATE_MODULES } from ${JSON.stringify(join(import.meta.dirname, 'modules.ts'))}`,
        'const store = await openSqliteState({ file: process.argv[2], modules: STATE_MODULES })',
        'console.log(JSON.stringify(store.applied))',
        'await store.close()',
      ].join('\n'),
    )
    try {
      for (let round = 0; round < 4; round++) {
        const file = join(dir, `state-${round}.sqlite`)
        const runs = await Promise.all(
          Array.from({ length: 4 }, () =>
            execFileAsync(process.execPath, ['--import', 'tsx', opener, file]).then(
              ({ stdout }) => ({ ok: true, applied: JSON.parse(stdout) as string[] }),
              (err: Error & { stderr?: string }) => ({ ok: false, applied: [], error: err.stderr ?? err.message }),
            ),
          ),
        )
        expect(runs.filter((r) => !r.ok)).toEqual([])
        // Exactly one of them applied the migration; the others found it applied.
        expect(runs.flatMap((r) => r.applied).sort()).toEqual([
          'feeds/0001-cursors',
          'idempotency/0001-keys',
          'sharing/0001-applications-grants',
          'sharing/0002-objections',
          'subscription-registry/0001-registry',
          'subscriptions/0001-outbox',
        ])
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
