import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openPostgresState } from '../state/postgres.js'
import { testSubscriptionEngine } from './conformance/suite.js'
import type { EngineOptions, SubscriptionEngine } from './engine.js'
import { openOutboxEngine } from './outbox/engine.js'

const PG_URL = process.env.QIAO_TEST_STATE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let schemas = 0
const freshSchema = () => `qiao_subs_t_${process.pid}_${++schemas}`
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

/** Every engine its own pool: another gateway instance on the same database. */
async function engineIn(schema: string, options: EngineOptions): Promise<SubscriptionEngine> {
  const state = await openPostgresState({ connectionString: PG_URL, schema, modules: STATE_MODULES, poolMax: 4 })
  const engine = await openOutboxEngine({ ...options, state, purgeIntervalMs: 0, pollIntervalMs: 20 })
  return {
    ...engine,
    async close() {
      await engine.close()
      await state.close()
    },
  }
}

testSubscriptionEngine({
  name: 'outbox on PostgreSQL',
  async storage() {
    const schema = freshSchema()
    used.push(schema)
    return { time: 'injected', open: (options) => engineIn(schema, options), cleanup: () => dropSchema(schema) }
  },
})

describe('outbox on PostgreSQL', () => {
  it('a claim skips a subscription another instance is claiming (SKIP LOCKED) instead of waiting; publishes go on', async () => {
    const schema = freshSchema()
    used.push(schema)
    const engine = await engineIn(schema, { clock: { now: () => Date.parse('2026-12-01T02:00:00Z') } })
    const other = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` })
    await other.connect()
    try {
      await engine.create('s1')
      await engine.publish('s1', { id: 'e1', payload: 1 })
      // Another instance's claim transaction, holding the subscription's row.
      await other.query('BEGIN')
      await other.query(`SELECT id FROM subscriptions WHERE id = 's1' FOR UPDATE`)
      expect(await engine.fetch('s1')).toEqual([])
      expect((await engine.publish('s1', { id: 'e2', payload: 2 })).outcome).toBe('stored')
      await other.query('COMMIT')
      expect((await engine.fetch('s1')).map((d) => d.eventId)).toEqual(['e1'])
    } finally {
      await other.query('ROLLBACK').catch(() => {})
      await other.end()
      await engine.close()
    }
  })

  it('a suspension waits for a publish in progress and drops what it stored; a later publish is refused', async () => {
    const schema = freshSchema()
    used.push(schema)
    const engine = await engineIn(schema, { clock: { now: () => Date.parse('2026-12-01T02:00:00Z') } })
    const publisher = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` })
    await publisher.connect()
    try {
      await engine.create('s1')
      // A publish holding the sequence row, as openOutboxEngine's publish does, with its event stored.
      await publisher.query('BEGIN')
      await publisher.query(`SELECT next_seq FROM subscription_sequences WHERE subscription_id = 's1' FOR UPDATE`)
      await publisher.query(
        `INSERT INTO subscription_events (subscription_id, seq, event_id, payload, published_at, state, attempts)
         VALUES ('s1', 1, 'e1', '1', 0, 'pending', 0)`,
      )
      await publisher.query(`UPDATE subscription_sequences SET next_seq = 2 WHERE subscription_id = 's1'`)
      let suspended = false
      const suspension = engine.suspend('s1', 'grant-revoked').then(() => {
        suspended = true
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(suspended).toBe(false)
      await publisher.query('COMMIT')
      await suspension
      expect(await engine.fetch('s1')).toEqual([])
      await engine.resume('s1')
      expect(await engine.fetch('s1')).toEqual([])
      const { rows } = await publisher.query(`SELECT state, payload FROM subscription_events`)
      expect(rows).toEqual([{ state: 'dropped', payload: null }])
    } finally {
      await publisher.query('ROLLBACK').catch(() => {})
      await publisher.end()
      await engine.close()
    }
  })
})
