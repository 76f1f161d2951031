import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import { sharingStoreConformance } from './conformance/store-suite.js'

sharingStoreConformance({
  name: 'embedded SQLite',
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-sharing-'))
    const file = join(dir, 'state.sqlite')
    return {
      state: await openSqliteState({ file, modules: STATE_MODULES }),
      second: () => openSqliteState({ file, modules: STATE_MODULES }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})
