import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { testStateStore } from './conformance/suite.js'
import { STATE_MODULES } from './modules.js'
import { openSqliteState } from './sqlite.js'

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
