import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import { workflowConformance } from './conformance/workflow-suite.js'

const dirs: string[] = []

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

workflowConformance({
  name: 'SQLite (embedded)',
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-sharing-'))
    dirs.push(dir)
    return openSqliteState({ file: join(dir, 'state.sqlite'), modules: STATE_MODULES })
  },
})
