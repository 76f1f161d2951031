import { configDefaults, defineConfig } from 'vitest/config'
import base from './vitest.config.js'

/**
 * `npm run test:unit`: the tests that need no PostgreSQL, no Redis and no other service — for a laptop. `npm test`
 * still runs everything. CI runs this in a network namespace where nothing listens, so a test that starts needing
 * a service fails there until it is listed below.
 */
const NEEDS_SERVICES = [
  // End-to-end: real gateways and simulators, several against PostgreSQL (audit, state, 前置库) or Redis (quotas).
  'test/**/*.e2e.test.ts',
  // PostgreSQL.
  'gateway/audit/pg-backend.test.ts',
  'gateway/state/postgres.test.ts',
  'gateway/sharing/*.postgres.test.ts',
  'gateway/subscriptions/**/*.postgres.test.ts',
  'connectors/market-qzk/conformance.test.ts',
  'connectors/market-qzk/connector.test.ts',
  'connectors/market-qzk/seed.test.ts',
  'connectors/market-qzk/simulator.test.ts',
  // Redis.
  'gateway/quota/quotas.test.ts',
  // NATS JetStream.
  'gateway/subscriptions/*.nats.test.ts',
]

// biome-ignore lint/style/noDefaultExport: vitest reads a config file's default export
export default defineConfig({
  test: {
    ...base.test,
    exclude: [...configDefaults.exclude, ...NEEDS_SERVICES],
  },
})
