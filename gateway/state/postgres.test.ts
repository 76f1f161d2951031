import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { testStateStore } from './conformance/suite.js'
import { STATE_MODULES } from './modules.js'
import { openStateStore } from './open.js'
import { openPostgresState } from './postgres.js'

const PG_URL = process.env.QIAO_TEST_STATE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let schemas = 0
const freshSchema = () => `qiao_state_t_${process.pid}_${++schemas}`
const used: string[] = []

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
  } finally {
    await client.end()
  }
}

afterAll(async () => {
  for (const schema of used) await dropSchema(schema)
})

testStateStore({
  name: 'PostgreSQL',
  async storage() {
    const schema = freshSchema()
    used.push(schema)
    return {
      open: (modules = STATE_MODULES) => openPostgresState({ connectionString: PG_URL, schema, modules }),
      cleanup: () => dropSchema(schema),
    }
  },
})

describe('PostgreSQL state store', () => {
  it('starts while other schemas of the same server are being created and dropped (migrations look only at ours)', async () => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    let churning = true
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const other = client.escapeIdentifier(`qiao_state_churn_${process.pid}_${i % 4}`)
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${other}; CREATE TABLE IF NOT EXISTS ${other}.t (a int)`)
        await client.query(`DROP SCHEMA ${other} CASCADE`)
      }
    })()
    try {
      for (let i = 0; i < 15; i++) {
        const schema = freshSchema()
        used.push(schema)
        const store = await openPostgresState({ connectionString: PG_URL, schema, modules: STATE_MODULES })
        expect(store.applied).toEqual([
          'feeds/0001-cursors',
          'idempotency/0001-keys',
          'sharing/0001-applications-grants',
          'sharing/0002-objections',
          'subscription-registry/0001-registry',
          'subscriptions/0001-outbox',
        ])
        await store.close()
      }
    } finally {
      churning = false
      await churn
      await client.end()
    }
  }, 60_000)

  it('QIAO_STATE_URL ?schema= puts the tables in that schema (the parameter is not passed to pg)', async () => {
    const schema = freshSchema()
    used.push(schema)
    const store = await openStateStore({ url: `${PG_URL}?schema=${schema}`, dataDir: '/nonexistent' })
    try {
      expect(store.dialect).toBe('postgres')
      const client = new pg.Client({ connectionString: PG_URL })
      await client.connect()
      const { rows } = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      )
      await client.end()
      expect(rows.map((r) => r.table_name)).toEqual([
        'feed_cursors',
        'idempotency_keys',
        'qiao_state_migration',
        'qiao_state_migration_lock',
        'sharing_applications',
        'sharing_events',
        'sharing_grant_epoch',
        'sharing_grants',
        'sharing_objection_epoch',
        'sharing_objections',
        'subscription_events',
        'subscription_registry',
        'subscription_sequences',
        'subscriptions',
      ])
    } finally {
      await store.close()
    }
  })

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(
      openPostgresState({ connectionString: PG_URL, schema: 'x; drop table y', modules: STATE_MODULES }),
    ).rejects.toThrow(/schema/)
  })
})
