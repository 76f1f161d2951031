import pg from 'pg'
import { closedPort } from '../kit/conformance/ports.js'
import { testConnectorConformance } from '../kit/conformance/suite.js'
import { marketQzk } from './index.js'
import type { MarketQzkOptions } from './options.js'
import { DEFAULT_TABLE } from './options.js'
import { appendDeregistration, seedMarketDatabase, seedSample } from './simulator/index.js'
import {
  createRoleWithoutPrivileges,
  createVariant,
  dropSchemaAndRole,
  TEST_DB_URL,
  table,
  testRole,
  testSchema,
  urlForUser,
} from './test-support.js'

const sample = seedSample()
const schema = testSchema('conf')
const role = testRole('conf')
const noop = async () => {}

testConnectorConformance<MarketQzkOptions>({
  definition: marketQzk,
  catalogFile: 'connectors/market-qzk/conformance.catalog.yaml',
  instance: 'market-qzk',
  cases: {
    enterpriseByUscc: { ok: { uscc: sample.correctedUscc }, missing: { uscc: sample.unknownUscc } },
    registrationChanges: { ok: {} },
  },
  async fixture() {
    const admin = new pg.Pool({ connectionString: TEST_DB_URL, max: 2 })
    await seedMarketDatabase(admin, { schema })
    // A table variant whose 成立日期 holds garbage, and a role that may log in but not read the schema.
    await createVariant(admin, schema, 'QZK_FRDJXX_MALFORMED', `UPDATE {table} SET "CLRQ" = '2O1913XX'`)
    await createRoleWithoutPrivileges(admin, role)
    const options: MarketQzkOptions = { connectionString: TEST_DB_URL, schema }
    return {
      options,
      // An enterprise is 注销: a new valid row for its USCC.
      async makeChange() {
        await appendDeregistration(admin, { schema, table: DEFAULT_TABLE }, sample.plainUscc, Date.now())
        return sample.plainUscc
      },
      async inject(fault) {
        switch (fault) {
          case 'stall': {
            // Another session holds ACCESS EXCLUSIVE in an open transaction: every SELECT on the table blocks.
            const locker = await admin.connect()
            await locker.query('BEGIN')
            await locker.query(`LOCK TABLE ${table(schema)} IN ACCESS EXCLUSIVE MODE`)
            return {
              undo: async () => {
                await locker.query('ROLLBACK')
                locker.release()
              },
            }
          }
          case 'down':
            return {
              options: { ...options, connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test` },
              undo: noop,
            }
          case 'malformed':
            return { options: { ...options, table: 'QZK_FRDJXX_MALFORMED' }, undo: noop }
          case 'refuse':
            return { options: { ...options, connectionString: urlForUser(role) }, undo: noop }
        }
      },
      async close() {
        await dropSchemaAndRole(admin, schema, role)
        await admin.end()
      },
    }
  },
})
