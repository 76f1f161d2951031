import pg from 'pg'
import { STATE_MODULES } from '../state/modules.js'
import { openPostgresState } from '../state/postgres.js'
import { sharingStoreConformance } from './conformance/store-suite.js'

const URL = process.env.QIAO_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test'
let n = 0

sharingStoreConformance({
  name: 'PostgreSQL',
  async open() {
    const schema = `qiao_sharing_t${process.pid}_${++n}`
    const open = () => openPostgresState({ connectionString: URL, schema, modules: STATE_MODULES })
    return {
      state: await open(),
      second: open,
      async cleanup() {
        const client = new pg.Client({ connectionString: URL })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await client.end()
      },
    }
  },
})
