import { optionChecks } from '../kit/options-checks.js'
import type { JsonSchema } from '../kit/types.js'

/** Default schema holding the front-end (前置库) tables. */
export const DEFAULT_SCHEMA = 'qiao_market_qzk'
/** Default table: 法人登记信息. */
export const DEFAULT_TABLE = 'QZK_FRDJXX'
export const DEFAULT_POOL_MAX = 5
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000
/** How long the change feed waits for a serial value that was skipped to show up (change-cursor.ts). */
export const DEFAULT_CHANGE_LOOK_BACK_SECONDS = 600

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
  /**
   * How long the change feed keeps looking for a skipped `LSH` (a row whose transaction commits after a later
   * row's, 1..86400 s): longer than the longest transaction that fills the table. See change-cursor.ts.
   * @default 600
   */
  readonly changeLookBackSeconds?: number
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
    changeLookBackSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 86_400,
      default: DEFAULT_CHANGE_LOOK_BACK_SECONDS,
      description: 'Change feed: how long a skipped LSH is waited for (longer than the longest filling transaction), s',
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
  readonly changeLookBackSeconds: number
}

const check = optionChecks('market-qzk')

/**
 * Checks the options once, when the connector is created (they were schema-validated at catalog load; this guards
 * direct use, and the identifiers end up in SQL text). Messages name the option and what was expected, never the
 * connection string.
 */
export function resolveOptions(options: MarketQzkOptions): ResolvedOptions {
  check.object(options)
  const { connectionString } = options
  if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString)) {
    throw check.fail('options.connectionString must be a postgres:// or postgresql:// URL')
  }
  try {
    new URL(connectionString)
  } catch {
    throw check.fail('options.connectionString is not a valid URL')
  }
  return {
    connectionString,
    schema: check.matching('schema', options.schema ?? DEFAULT_SCHEMA, SCHEMA_NAME_PATTERN),
    table: check.matching('table', options.table ?? DEFAULT_TABLE, TABLE_NAME_PATTERN),
    poolMax: check.integerInRange('poolMax', options.poolMax ?? DEFAULT_POOL_MAX, 1, 50),
    statementTimeoutMs: check.integerInRange(
      'statementTimeoutMs',
      options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      100,
      60_000,
    ),
    changeLookBackSeconds: check.integerInRange(
      'changeLookBackSeconds',
      options.changeLookBackSeconds ?? DEFAULT_CHANGE_LOOK_BACK_SECONDS,
      1,
      86_400,
    ),
  }
}
