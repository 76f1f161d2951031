import type { JsonSchema } from '../kit/types.js'

/** Default schema holding the front-end (前置库) tables. */
export const DEFAULT_SCHEMA = 'qiao_market_qzk'
/** Default table: 法人登记信息. */
export const DEFAULT_TABLE = 'QZK_FRDJXX'
export const DEFAULT_POOL_MAX = 5
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000

/** Schema names: lower-case, as PostgreSQL folds unquoted names (at most 63 bytes, the identifier limit). */
export const SCHEMA_NAME_PATTERN = '^[a-z_][a-z0-9_]{0,62}$'
/** Table names: the same, upper case allowed (前置库 tables are usually upper-case pinyin, e.g. QZK_FRDJXX). */
export const TABLE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,62}$'

/** `options:` of a `type: market-qzk` connector in catalog.yaml. */
export interface MarketQzkOptions {
  /**
   * libpq-style URL of the front-end database. It may carry the password; it is never logged nor put in messages.
   * @example 'postgres://qiao_reader@10.32.5.11:5432/qzk'
   */
  readonly connectionString: string
  /**
   * Schema of the front-end tables.
   * @default 'qiao_market_qzk'
   */
  readonly schema?: string
  /**
   * The 法人登记信息 table.
   * @default 'QZK_FRDJXX'
   */
  readonly table?: string
  /**
   * Most connections the connector opens to the database (1..50).
   * @default 5
   */
  readonly poolMax?: number
  /**
   * Longest a statement may run on the server, ms (100..60000). Each call uses the smaller of this and the time
   * left to its deadline.
   * @default 5000
   */
  readonly statementTimeoutMs?: number
}

export const marketQzkOptionsSchema: JsonSchema = {
  title: 'market-qzk connector options',
  type: 'object',
  properties: {
    connectionString: {
      type: 'string',
      pattern: '^postgres(ql)?://',
      description: 'postgres:// URL of the front-end database (may carry the password; never logged)',
    },
    schema: {
      type: 'string',
      pattern: SCHEMA_NAME_PATTERN,
      default: DEFAULT_SCHEMA,
      description: 'Schema of the front-end tables',
    },
    table: {
      type: 'string',
      pattern: TABLE_NAME_PATTERN,
      default: DEFAULT_TABLE,
      description: 'The 法人登记信息 table (quoted: case-sensitive)',
    },
    poolMax: {
      type: 'integer',
      minimum: 1,
      maximum: 50,
      default: DEFAULT_POOL_MAX,
      description: 'Most database connections',
    },
    statementTimeoutMs: {
      type: 'integer',
      minimum: 100,
      maximum: 60_000,
      default: DEFAULT_STATEMENT_TIMEOUT_MS,
      description: 'Server-side statement timeout, ms (capped per call by the time left to the deadline)',
    },
  },
  required: ['connectionString'],
  additionalProperties: false,
}

export interface ResolvedOptions {
  readonly connectionString: string
  readonly schema: string
  readonly table: string
  readonly poolMax: number
  readonly statementTimeoutMs: number
}

const SCHEMA_NAME = new RegExp(SCHEMA_NAME_PATTERN)
const TABLE_NAME = new RegExp(TABLE_NAME_PATTERN)

/**
 * Checks the options once, when the connector is created (they were schema-validated at catalog load; this guards
 * direct use, and the identifiers end up in SQL text). Messages name the option and what was expected, never the
 * connection string.
 */
export function resolveOptions(options: MarketQzkOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('market-qzk: options must be an object')
  const { connectionString } = options
  const schema = options.schema ?? DEFAULT_SCHEMA
  const table = options.table ?? DEFAULT_TABLE
  const poolMax = options.poolMax ?? DEFAULT_POOL_MAX
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS
  if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new TypeError('market-qzk: options.connectionString must be a postgres:// or postgresql:// URL')
  }
  try {
    new URL(connectionString)
  } catch {
    throw new TypeError('market-qzk: options.connectionString is not a valid URL')
  }
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new TypeError(`market-qzk: options.schema must match ${SCHEMA_NAME_PATTERN}`)
  }
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw new TypeError(`market-qzk: options.table must match ${TABLE_NAME_PATTERN}`)
  }
  if (!Number.isInteger(poolMax) || poolMax < 1 || poolMax > 50) {
    throw new TypeError('market-qzk: options.poolMax must be an integer from 1 to 50')
  }
  if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 100 || statementTimeoutMs > 60_000) {
    throw new TypeError('market-qzk: options.statementTimeoutMs must be an integer from 100 to 60000')
  }
  return { connectionString, schema, table, poolMax, statementTimeoutMs }
}
