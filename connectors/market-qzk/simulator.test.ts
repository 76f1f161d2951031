import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { closedPort } from '../kit/conformance/ports.js'
import type { ReadOperation } from '../kit/types.js'
import { type EnterpriseByUsccParams, marketQzk } from './index.js'
import {
  DEFAULT_MARKET_DB_URL,
  describeDatabase,
  MARKET_DB_URL_VARIABLE,
  marketDataset,
  marketSimulator,
  seedSample,
  startMarketDatabase,
} from './simulator/index.js'
import { CapturingLogger, callContext, q, TEST_DB_URL, table, testSchema } from './test-support.js'

const schema = testSchema('sim')
let admin: pg.Pool

beforeAll(() => {
  admin = new pg.Pool({ connectionString: TEST_DB_URL, max: 1 })
})

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`)
  await admin.end()
})

describe('market simulator (the seeded front-end database)', () => {
  it('is declared for the CLI and the demo', () => {
    expect(marketSimulator.name).toBe('market')
    expect(marketSimulator.defaultPort).toBe(5432)
    expect(marketSimulator.urlVariable).toBe('QIAO_MARKET_DB_URL')
    expect(MARKET_DB_URL_VARIABLE).toBe('QIAO_MARKET_DB_URL')
    expect(DEFAULT_MARKET_DB_URL).toBe('postgres://postgres@127.0.0.1:5432/test')
    expect(marketSimulator.description).toContain('QZK_FRDJXX')
    const sample = seedSample()
    expect(marketSimulator.examples?.map((e) => e.params)).toEqual(
      expect.arrayContaining([{ uscc: sample.correctedUscc }, { uscc: sample.plainUscc }]),
    )
    expect(new Set(marketSimulator.examples?.map((e) => e.resource))).toStrictEqual(
      new Set(['market.enterprise-registration']),
    )
  })

  it('seeds the database and hands out the connection string the connector reads', async () => {
    const running = await startMarketDatabase({ url: TEST_DB_URL, schema })
    expect(running.url).toBe(TEST_DB_URL)
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table(schema)}`)
    expect(rows[0]?.n).toBe(marketDataset().rows.length)
    const log = new CapturingLogger()
    const connector = marketQzk.create(
      { connectionString: running.url, schema },
      { dispatcher: undefined as never, log, clock: { now: Date.now } },
    )
    try {
      for (const example of marketSimulator.examples ?? []) {
        const op = connector.operations.enterpriseByUscc as ReadOperation<EnterpriseByUsccParams>
        const records = await op.handle(example.params as unknown as EnterpriseByUsccParams, callContext(log))
        expect(records).toHaveLength(1)
      }
    } finally {
      await connector.dispose()
    }
    await running.close()
    await running.close()
  })

  it('says clearly that PostgreSQL is unreachable, without the credentials', async () => {
    const port = await closedPort()
    const url = `postgres://qiao:s3cret-pw@127.0.0.1:${port}/qzk`
    const failure = startMarketDatabase({ url, schema })
    await expect(failure).rejects.toThrow(
      `market simulator: PostgreSQL is not reachable at 127.0.0.1:${port}/qzk (ECONNREFUSED); start PostgreSQL or set QIAO_MARKET_DB_URL to a reachable postgres:// URL`,
    )
    await expect(failure).rejects.not.toThrow(/s3cret|qiao:/)
  })

  it('start() seeds at QIAO_MARKET_DB_URL', async () => {
    const port = await closedPort()
    vi.stubEnv('QIAO_MARKET_DB_URL', `postgres://postgres@127.0.0.1:${port}/test`)
    try {
      await expect(marketSimulator.start({ host: '127.0.0.1', port: 0 })).rejects.toThrow(
        `PostgreSQL is not reachable at 127.0.0.1:${port}/test`,
      )
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('reports a database that refuses with its SQLSTATE', async () => {
    const url = new URL(TEST_DB_URL)
    url.pathname = `/qiao_no_such_db_${process.pid}`
    await expect(startMarketDatabase({ url: url.toString(), schema })).rejects.toThrow(/SQLSTATE 3D000/)
  })

  it('describes a database without user or password', () => {
    expect(describeDatabase('postgres://u:p@db.example:6543/qzk?sslmode=require')).toBe('db.example:6543/qzk')
    expect(describeDatabase('postgres://db.example/qzk')).toBe('db.example:5432/qzk')
    expect(describeDatabase('not a url')).toBe('(unparseable connection string)')
  })
})
