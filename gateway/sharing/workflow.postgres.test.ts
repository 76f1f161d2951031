import pg from 'pg'
import { afterAll } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openPostgresState } from '../state/postgres.js'
import { workflowConformance } from './conformance/workflow-suite.js'

const PG_URL = process.env.QIAO_TEST_STATE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let schemas = 0
const used: string[] = []

/** Every test gets its own schema on the local server; all are dropped at the end. */
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    for (const schema of used) await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
  } finally {
    await client.end()
  }
})

workflowConformance({
  name: 'PostgreSQL',
  open() {
    const schema = `qiao_t_${process.pid}_${++schemas}`
    used.push(schema)
    return openPostgresState({ connectionString: PG_URL, schema, modules: STATE_MODULES })
  },
})
