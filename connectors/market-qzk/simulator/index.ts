import pg from 'pg'
import { SHARED_COMPANIES, sharedProjectsOf, sharedSummary } from '../../kit/demo-universe.js'
import type { RunningSimulator, SimulatorDefinition, SimulatorExample } from '../../kit/simulator.js'
import { DEFAULT_SCHEMA, DEFAULT_TABLE } from '../options.js'
import { type SeedSample, seedMarketDatabase, seedSample } from './seed.js'

export { appendDeregistration, shanghaiCompactTime } from './changes.js'
export { createTableStatements, insertBatches, SEED_COLUMNS } from './schema.js'
export type {
  MarketDataset,
  QzkSeedRow,
  SeedDatabaseOptions,
  SeedEnterprise,
  SeededDatabase,
  SeedHistory,
  SeedSample,
} from './seed.js'
export {
  DEFAULT_SEED,
  generateMarketDataset,
  marketDataset,
  SEED_CORRECTION_COUNT,
  SEED_ENTERPRISE_COUNT,
  SEED_REFERENCE_DATE,
  seedMarketDatabase,
  seedSample,
} from './seed.js'

/** Environment variable holding the front-end database URL (read by the demo catalog and by `start()`). */
export const MARKET_DB_URL_VARIABLE = 'QIAO_MARKET_DB_URL'
/** Where the simulator seeds when QIAO_MARKET_DB_URL is not set. */
export const DEFAULT_MARKET_DB_URL = 'postgres://postgres@127.0.0.1:5432/test'

export interface MarketDatabaseOptions {
  /** @default process.env.QIAO_MARKET_DB_URL ?? 'postgres://postgres@127.0.0.1:5432/test' */
  readonly url?: string
  /** @default 'qiao_market_qzk' (dropped and recreated) */
  readonly schema?: string
  /** @default 'QZK_FRDJXX' */
  readonly table?: string
  readonly seed?: number
}

/**
 * Seeds the front-end database and returns its connection string as the simulator URL. Nothing keeps running:
 * `close()` has nothing to stop and leaves the seeded schema in place (the next start recreates it).
 * Throws an Error that says so when PostgreSQL cannot be reached; the message names host, port and database,
 * never the user or password.
 */
export async function startMarketDatabase(options: MarketDatabaseOptions = {}): Promise<RunningSimulator> {
  const url = options.url ?? process.env[MARKET_DB_URL_VARIABLE] ?? DEFAULT_MARKET_DB_URL
  try {
    await seedMarketDatabase(url, {
      schema: options.schema ?? DEFAULT_SCHEMA,
      table: options.table ?? DEFAULT_TABLE,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    })
  } catch (err) {
    throw new Error(unreachableMessage(url, err), { cause: err })
  }
  return { url, close: async () => {} }
}

function unreachableMessage(url: string, err: unknown): string {
  if (err instanceof TypeError) return `market simulator: ${err.message}`
  const where = describeDatabase(url)
  if (err instanceof pg.DatabaseError) {
    return `market simulator: PostgreSQL at ${where} refused to seed the 法人库 front-end table (SQLSTATE ${err.code ?? '?'}); check ${MARKET_DB_URL_VARIABLE}`
  }
  const code = (err as { code?: unknown } | null)?.code
  const reason = typeof code === 'string' && /^[0-9A-Z_]{2,40}$/.test(code) ? code : 'connection failed'
  return `market simulator: PostgreSQL is not reachable at ${where} (${reason}); start PostgreSQL or set ${MARKET_DB_URL_VARIABLE} to a reachable postgres:// URL`
}

/** host:port/database of a connection string, without user or password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`
  } catch {
    return '(unparseable connection string)'
  }
}

let examples: SimulatorDefinition['examples']

/**
 * `qiao simulate market`: seeds the 市场监管 法人库 front-end database (PostgreSQL) with 南京市 enterprises.
 * `host` and `port` are ignored (there is no server of our own: the database is PostgreSQL at QIAO_MARKET_DB_URL);
 * `defaultPort` is informational.
 */
export const marketSimulator: SimulatorDefinition = {
  name: 'market',
  description:
    '市场监管 法人库前置库（PostgreSQL）种子数据：南京市法人登记信息 QZK_FRDJXX，含更正（无效副本 + 新有效记录）/ ' +
    'market-regulation enterprise-registry front-end database: seeds 南京市 enterprise registrations into ' +
    `PostgreSQL at ${MARKET_DB_URL_VARIABLE} (default ${describeDatabase(DEFAULT_MARKET_DB_URL)}), schema ${DEFAULT_SCHEMA}`,
  defaultPort: 5432,
  urlVariable: MARKET_DB_URL_VARIABLE,
  /** Computed on first use, so importing the registry does not generate the seed. */
  get examples() {
    examples ??= exampleQueries(seedSample())
    return examples
  },
  start: () => startMarketDatabase(),
}

/** The owners of the shared projects first, then generated front-end history cases. */
function exampleQueries(sample: SeedSample): readonly SimulatorExample[] {
  return Object.freeze([
    ...SHARED_COMPANIES.map((c) => ({
      resource: 'market.enterprise-registration',
      params: { uscc: c.uscc },
      summary: sharedSummary(`${c.name}（${sharedProjectsOf(c.uscc).length}个示例项目的建设单位）的法人登记`),
    })),
    {
      resource: 'market.enterprise-registration',
      params: { uscc: sample.correctedUscc },
      summary: '住所更正过的企业：前置库有作废副本和新记录，返回最新有效登记',
    },
    {
      resource: 'market.enterprise-registration',
      params: { uscc: sample.plainUscc },
      summary: '只有一条有效记录的存续企业',
    },
  ])
}
