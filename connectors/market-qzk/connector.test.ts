import { readFileSync } from 'node:fs'
import type { ValidateFunction } from 'ajv'
import pg from 'pg'
import type { Dispatcher } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAjv } from '../../gateway/validation/ajv.js'
import { closedPort } from '../kit/conformance/ports.js'
import { ConnectorError } from '../kit/connector-error.js'
import { orgCodeCheckChar, usccCheckChar } from '../kit/identifiers.js'
import {
  type CallContext,
  type CanonicalRecord,
  type Change,
  type ChangesOperation,
  type Connector,
  encodeChangeCursor,
  INVALID_CURSOR,
  type ReadOperation,
} from '../kit/types.js'
import { decodeQzkCursor } from './change-cursor.js'
import { APPLICATION_NAME } from './connector.js'
import { type EnterpriseByUsccParams, type MarketQzkOptions, marketQzk, marketQzkOptionsSchema } from './index.js'
import { mapEnterpriseRow, type QzkRow } from './mapping.js'
import { marketDataset, type QzkSeedRow, seedMarketDatabase, seedSample } from './simulator/index.js'
import {
  CapturingLogger,
  callContext,
  createRoleWithoutPrivileges,
  createVariant,
  dropSchemaAndRole,
  q,
  TEST_DB_URL,
  table,
  testRole,
  testSchema,
  urlForUser,
  urlWithApplicationName,
} from './test-support.js'

const schema = testSchema('conn')
const role = testRole('conn')
const limitedRole = testRole('connlim')
const data = marketDataset()
const sample = seedSample()
const enterprise = (uscc: string) => data.enterprises.find((e) => e.uscc === uscc)
/** The dispatcher is part of the contract but unused by a SQL connector. */
const noDispatcher = undefined as unknown as Dispatcher

function compileRecordSchema(): ValidateFunction {
  const url = new URL('../../schemas/resources/market/enterprise-registration.record.json', import.meta.url)
  return createAjv().compile(JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>)
}
const validate = compileRecordSchema()

/** A well-formed USCC built from a body, for rows the tests add. */
function uscc(body8: string): string {
  const first17 = `91320102${body8}${orgCodeCheckChar(body8)}`
  return first17 + usccCheckChar(first17)
}
/** Has only an invalid (SJYXBS = '0') row. */
const onlyInvalidUscc = uscc('MA9YY001')

let admin: pg.Pool
let log: CapturingLogger
const created: Connector[] = []

function connect(options: Partial<MarketQzkOptions> = {}): Connector {
  const connector = marketQzk.create(
    { connectionString: TEST_DB_URL, schema, ...options },
    { dispatcher: noDispatcher, log, clock: { now: Date.now } },
  )
  created.push(connector)
  return connector
}

const read = (connector: Connector, params: { uscc: unknown }, ctx: CallContext = callContext(log)) =>
  (connector.operations.enterpriseByUscc as ReadOperation<EnterpriseByUsccParams>).handle(
    params as EnterpriseByUsccParams,
    ctx,
  )

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError)
    return err as ConnectorError
  }
  throw new Error('expected a ConnectorError')
}

async function activeSessions(applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
    [applicationName],
  )
  return rows[0]?.n ?? -1
}

async function sessions(applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  )
  return rows[0]?.n ?? -1
}

async function eventually(check: () => Promise<boolean>, withinMs = 2_000): Promise<boolean> {
  const until = Date.now() + withinMs
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return check()
}

/** Holds an ACCESS EXCLUSIVE lock on the table in an open transaction of another connection. */
async function lockTable(): Promise<() => Promise<void>> {
  const locker = await admin.connect()
  await locker.query('BEGIN')
  await locker.query(`LOCK TABLE ${table(schema)} IN ACCESS EXCLUSIVE MODE`)
  return async () => {
    await locker.query('ROLLBACK')
    locker.release()
  }
}

async function rowCount(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table(schema)}`)
  return rows[0]?.n ?? -1
}

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: TEST_DB_URL, max: 4 })
  await seedMarketDatabase(admin, { schema })
  await admin.query(
    `INSERT INTO ${table(schema)} ("TYSHXYDM", "QYMC", "DJZT", "SJYXBS", "SJWXYY", "SJGXSJ") VALUES ($1, $2, $3, '0', $4, $5)`,
    [onlyInvalidUscc, '南京重复上报测试有限公司', '存续', '重复上报，作废', '20250102100000'],
  )
  await createVariant(admin, schema, 'QZK_FRDJXX_BAD_DATE', `UPDATE {table} SET "CLRQ" = '2O1913XX'`)
  await createVariant(
    admin,
    schema,
    'QZK_FRDJXX_BAD_CAPITAL',
    `ALTER TABLE {table} ALTER COLUMN "ZCZB" TYPE varchar(40); UPDATE {table} SET "ZCZB" = '五百万元'`,
  )
  await createVariant(admin, schema, 'QZK_FRDJXX_BAD_STATUS', `UPDATE {table} SET "DJZT" = '正常经营'`)
  await createVariant(admin, schema, 'QZK_FRDJXX_NO_SCOPE', `ALTER TABLE {table} DROP COLUMN "JYFW"`)
  await createRoleWithoutPrivileges(admin, role)
  await admin.query(`DROP ROLE IF EXISTS ${q(limitedRole)}`)
  await admin.query(`CREATE ROLE ${q(limitedRole)} LOGIN CONNECTION LIMIT 0`)
})

afterAll(async () => {
  await Promise.allSettled(created.map((c) => c.dispose()))
  await dropSchemaAndRole(admin, schema, role)
  await dropSchemaAndRole(admin, schema, limitedRole)
  await admin.end()
})

beforeEach(() => {
  log = new CapturingLogger()
})

describe('market-qzk connector against the seeded database', () => {
  it('returns the newest valid row of every seeded enterprise, valid against the record schema', async () => {
    const connector = connect()
    const enterprises = [...data.enterprises]
    for (let i = 0; i < enterprises.length; i += 5) {
      await Promise.all(
        enterprises.slice(i, i + 5).map(async (e) => {
          const records = await read(connector, { uscc: e.uscc })
          expect(records).toStrictEqual([mapEnterpriseRow(e.current as unknown as QzkRow)])
          expect(validate(records[0]), JSON.stringify(validate.errors)).toBe(true)
        }),
      )
    }
  })

  it('prefers the corrected row over the invalid copy and the original', async () => {
    const [original, invalid, fresh] = (enterprise(sample.correctedUscc)?.rows ?? []) as [
      QzkSeedRow,
      QzkSeedRow,
      QzkSeedRow,
    ]
    expect(invalid.SJYXBS).toBe('0')
    const [record] = await read(connect(), { uscc: sample.correctedUscc })
    expect(record?.address).toBe(fresh.ZS)
    expect(record?.address).not.toBe(original.ZS)
    expect(record?.address).not.toBe(invalid.ZS)
    expect(record).toMatchObject({ uscc: sample.correctedUscc, divisionCode: fresh.XZQHDM })
  })

  it('takes the newest SJGXSJ over a higher LSH, and the higher LSH within the same second', async () => {
    const connector = connect()
    const backFilled = enterprise(sample.backFilledUscc)
    const newest = backFilled?.rows[0] as QzkSeedRow
    const older = backFilled?.rows[1] as QzkSeedRow
    expect(newest.SJGXSJ > older.SJGXSJ).toBe(true)
    expect(await read(connector, { uscc: sample.backFilledUscc })).toStrictEqual([
      mapEnterpriseRow(newest as unknown as QzkRow),
    ])
    const same = enterprise(sample.sameSecondUscc)
    const [record] = await read(connector, { uscc: sample.sameSecondUscc })
    expect(record?.legalRepresentative).toBe(same?.rows[1]?.FDDBR)
    expect(record?.legalRepresentative).not.toBe(same?.rows[0]?.FDDBR)
  })

  it('maps 登记状态 注销 and 吊销', async () => {
    const connector = connect()
    expect((await read(connector, { uscc: sample.deregisteredUscc }))[0]?.status).toBe('deregistered')
    expect((await read(connector, { uscc: sample.revokedUscc }))[0]?.status).toBe('revoked')
  })

  it('throws not-found for an unknown USCC and for one that has only an invalid row', async () => {
    const connector = connect()
    for (const value of [sample.unknownUscc, onlyInvalidUscc]) {
      const err = await failure(read(connector, { uscc: value }))
      expect(err.kind).toBe('not-found')
      expect(err.upstreamCode).toBeUndefined()
      expect(err.message).not.toContain(value)
    }
  })

  it('throws not-found, without querying, for a parameter that cannot match', async () => {
    const spy = vi.spyOn(pg.Client.prototype, 'query')
    const connector = connect()
    for (const value of [undefined, 91320102, 'A\u0000B']) {
      expect((await failure(read(connector, { uscc: value }))).kind).toBe('not-found')
    }
    expect(spy).not.toHaveBeenCalled()
  })
})

describe('SQL injection', () => {
  const payloads = [
    "' OR 1=1 --",
    `'; DROP TABLE ${table(schema)}; --`,
    '"; DROP TABLE "QZK_FRDJXX"; --',
    `${sample.plainUscc}' OR '1'='1`,
    `${sample.plainUscc}'--`,
    '$1',
  ]

  it('sends the USCC only as a $1 parameter: injection attempts find nothing and the table stays intact', async () => {
    const before = await rowCount()
    const spy = vi.spyOn(pg.Client.prototype, 'query')
    const connector = connect()
    for (const payload of payloads) {
      spy.mockClear()
      const err = await failure(read(connector, { uscc: payload }))
      expect(err.kind, payload).toBe('not-found')
      const calls = spy.mock.calls as unknown as Array<[unknown, unknown?]>
      const select = calls.find(([text]) => typeof text === 'string' && text.startsWith('SELECT "TYSHXYDM"'))
      expect(select, 'the SELECT was sent').toBeDefined()
      const [text, values] = select as [string, unknown[]]
      expect(text).toContain('WHERE "TYSHXYDM" = $1 AND "SJYXBS" = \'1\'')
      expect(values).toStrictEqual([payload])
      for (const [sent] of calls) {
        expect(typeof sent, 'every statement is plain text').toBe('string')
        if (payload !== '$1') expect(sent as string).not.toContain(payload)
      }
    }
    expect(await rowCount()).toBe(before)
    const exists = await admin.query('SELECT to_regclass($1) AS t', [table(schema)])
    expect(exists.rows[0]?.t).not.toBeNull()
    // And the connector still works.
    expect(await read(connector, { uscc: sample.plainUscc })).toHaveLength(1)
  })

  it('runs in a read-only transaction with a parameterised statement timeout', async () => {
    const spy = vi.spyOn(pg.Client.prototype, 'query')
    await read(connect(), { uscc: sample.plainUscc })
    const calls = (spy.mock.calls as unknown as Array<[string, unknown[]?]>).map(([text, values]) => [text, values])
    expect(calls[0]).toStrictEqual(['BEGIN TRANSACTION READ ONLY', undefined])
    expect(calls[1]?.[0]).toBe("SELECT set_config('statement_timeout', $1, true)")
    expect(Number((calls[1]?.[1] as string[] | undefined)?.[0])).toBeGreaterThan(4_000)
    expect(calls[3]).toStrictEqual(['COMMIT', undefined])
  })
})

describe('deadlines and timeouts', () => {
  // A held lock never lets a statement finish: only the deadline or an abort can end these calls, so no test here
  // bounds the elapsed wall time (a shared machine may be slow).
  it('ends in timeout at the deadline when the table is locked, and recovers', async () => {
    const connector = connect()
    await read(connector, { uscc: sample.plainUscc })
    const unlock = await lockTable()
    try {
      const started = performance.now()
      const err = await failure(read(connector, { uscc: sample.plainUscc }, callContext(log, 300)))
      const elapsed = performance.now() - started
      expect(err.kind).toBe('timeout')
      expect(elapsed).toBeGreaterThanOrEqual(250)
    } finally {
      await unlock()
    }
    expect(await read(connector, { uscc: sample.plainUscc })).toHaveLength(1)
  })

  it('cancels the running statement on the server when the caller goes away', async () => {
    const name = `qiao_mq_cancel_${process.pid}`
    // Statement timeout and deadline both beyond the test's own timeout: only the abort can end this call in time.
    const connector = connect({ connectionString: urlWithApplicationName(name), statementTimeoutMs: 60_000 })
    const unlock = await lockTable()
    try {
      const controller = new AbortController()
      const ctx: CallContext = { signal: controller.signal, deadline: Date.now() + 60_000, requestId: 'r', log }
      const call = failure(read(connector, { uscc: sample.plainUscc }, ctx))
      expect(await eventually(async () => (await activeSessions(name)) === 1)).toBe(true)
      controller.abort()
      const err = await call
      expect(err.kind).toBe('timeout')
      // Long before its 60 s statement timeout, and while the lock is still held: the backend was cancelled.
      expect(await eventually(async () => (await activeSessions(name)) === 0, 1_000)).toBe(true)
    } finally {
      await unlock()
    }
  })

  it('enforces statementTimeoutMs on the server (SQLSTATE 57014) even with a distant deadline', async () => {
    const connector = connect({ statementTimeoutMs: 150 })
    const unlock = await lockTable()
    try {
      // A deadline beyond the test's own timeout: only the 150 ms statement timeout can end the call in time.
      const err = await failure(read(connector, { uscc: sample.plainUscc }, callContext(log, 60_000)))
      expect(err).toMatchObject({ kind: 'timeout', upstreamCode: '57014' })
    } finally {
      await unlock()
    }
  })

  it('gives up at once when the deadline has already passed', async () => {
    const spy = vi.spyOn(pg.Pool.prototype, 'connect')
    const ctx: CallContext = { signal: new AbortController().signal, deadline: Date.now() - 1, requestId: 'r', log }
    expect((await failure(read(connect(), { uscc: sample.plainUscc }, ctx))).kind).toBe('timeout')
    expect(spy).not.toHaveBeenCalled()
  })
})

describe('failures', () => {
  it('maps a closed port to unavailable, without the password in messages', async () => {
    const url = `postgres://postgres:s3cret-pw@127.0.0.1:${await closedPort()}/test`
    const err = await failure(read(connect({ connectionString: url }), { uscc: sample.plainUscc }))
    expect(err.kind).toBe('unavailable')
    expect(err.message).toBe('upstream unreachable (ECONNREFUSED)')
    expect(log.text()).not.toContain('s3cret-pw')
  })

  it('maps a missing table, schema or column to bad-response (the front-end DB is not as configured)', async () => {
    const cases: Array<[Partial<MarketQzkOptions>, string]> = [
      [{ table: 'QZK_FRDJXX_MISSING' }, '42P01'],
      [{ table: 'qzk_frdjxx' }, '42P01'],
      [{ schema: `${schema}_missing` }, '42P01'],
      [{ table: 'QZK_FRDJXX_NO_SCOPE' }, '42703'],
    ]
    for (const [options, sqlState] of cases) {
      const err = await failure(read(connect(options), { uscc: sample.plainUscc }))
      expect(err, JSON.stringify(options)).toMatchObject({ kind: 'bad-response', upstreamCode: sqlState })
      expect(err.message).not.toContain(schema)
    }
  })

  it('maps rows whose values do not map to bad-response naming the column, never the value', async () => {
    const cases: Array<[string, string, string]> = [
      ['QZK_FRDJXX_BAD_DATE', 'front-end row: column CLRQ is not a yyyyMMdd date', '2O1913XX'],
      ['QZK_FRDJXX_BAD_CAPITAL', 'front-end row: column ZCZB is not a decimal number', '五百万元'],
      ['QZK_FRDJXX_BAD_STATUS', 'front-end row: column DJZT is not a known 登记状态', '正常经营'],
    ]
    for (const [variant, message, value] of cases) {
      const err = await failure(read(connect({ table: variant }), { uscc: sample.plainUscc }))
      expect(err).toMatchObject({ kind: 'bad-response', message })
      expect(log.text()).not.toContain(value)
    }
  })

  it('maps missing privileges (42501) and refused credentials (28000) to rejected', async () => {
    const denied = await failure(read(connect({ connectionString: urlForUser(role) }), { uscc: sample.plainUscc }))
    expect(denied).toMatchObject({ kind: 'rejected', upstreamCode: '42501' })
    const unknown = await failure(
      read(connect({ connectionString: urlForUser(`${role}_nobody`) }), { uscc: sample.plainUscc }),
    )
    expect(unknown).toMatchObject({ kind: 'rejected', upstreamCode: '28000' })
  })

  it('maps too many connections (53300) and a missing database (3D000) to unavailable', async () => {
    const limited = await failure(
      read(connect({ connectionString: urlForUser(limitedRole) }), { uscc: sample.plainUscc }),
    )
    expect(limited).toMatchObject({ kind: 'unavailable', upstreamCode: '53300' })
    const url = new URL(TEST_DB_URL)
    url.pathname = `/qiao_no_such_db_${process.pid}`
    const missing = await failure(read(connect({ connectionString: url.toString() }), { uscc: sample.plainUscc }))
    expect(missing).toMatchObject({ kind: 'unavailable', upstreamCode: '3D000' })
  })
})

describe('logging', () => {
  it('logs operation, duration, row count and SQLSTATE only: no parameters, row values or credentials', async () => {
    const records: CanonicalRecord[] = []
    records.push(...(await read(connect(), { uscc: sample.correctedUscc })))
    records.push(...(await read(connect(), { uscc: sample.plainUscc })))
    await read(connect(), { uscc: sample.unknownUscc }).catch(() => undefined)
    await read(connect(), { uscc: "' OR 1=1 --" }).catch(() => undefined)
    await read(connect({ table: 'QZK_FRDJXX_BAD_DATE' }), { uscc: sample.plainUscc }).catch(() => undefined)
    await read(connect({ connectionString: urlForUser(role) }), { uscc: sample.plainUscc }).catch(() => undefined)
    await read(connect({ table: 'QZK_FRDJXX_MISSING' }), { uscc: sample.plainUscc }).catch(() => undefined)
    await read(connect(), { uscc: sample.plainUscc }, callContext(log, 1)).catch(() => undefined)

    expect(log.entries.length).toBeGreaterThanOrEqual(8)
    const allowed = new Set(['operation', 'durationMs', 'rowCount', 'sqlState', 'errorKind'])
    for (const entry of log.entries) {
      for (const key of Object.keys(entry.obj)) expect(allowed.has(key), key).toBe(true)
    }
    const logged = log.text()
    expect(logged).toContain('"sqlState":"42501"')
    expect(logged).toContain('"sqlState":"42P01"')
    const secrets = [sample.correctedUscc, sample.plainUscc, sample.unknownUscc, "' OR 1=1 --", '2O1913XX', schema]
    for (const record of records) {
      for (const key of ['name', 'legalRepresentative', 'address', 'businessScope', 'establishedDate']) {
        secrets.push(String(record[key]))
      }
    }
    for (const secret of secrets) expect(logged).not.toContain(secret)
  })
})

describe('health', () => {
  it('reports up against the seeded table', async () => {
    expect(await connect().health({ signal: AbortSignal.timeout(2_000) })).toStrictEqual({ status: 'up' })
  })

  it('reports down, without throwing, when the database is unreachable, the table is missing or access is denied', async () => {
    const closed = await connect({
      connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
    }).health({ signal: AbortSignal.timeout(2_000) })
    expect(closed).toStrictEqual({ status: 'down', detail: 'probe failed: upstream unreachable (ECONNREFUSED)' })
    const missing = await connect({ table: 'QZK_FRDJXX_MISSING' }).health({ signal: AbortSignal.timeout(2_000) })
    expect(missing.status).toBe('down')
    expect(missing.detail).toContain('SQLSTATE 42P01')
    const denied = await connect({ connectionString: urlForUser(role) }).health({ signal: AbortSignal.timeout(2_000) })
    expect(denied.status).toBe('down')
    expect(denied.detail).toContain('SQLSTATE 42501')
  })

  it('reports down promptly when the probe blocks, or when the signal is already aborted', async () => {
    const connector = connect()
    const unlock = await lockTable()
    try {
      const report = await connector.health({ signal: AbortSignal.timeout(200) })
      expect(report).toStrictEqual({
        status: 'down',
        detail: 'probe failed: deadline reached before the database answered',
      })
    } finally {
      await unlock()
    }
    expect((await connector.health({ signal: AbortSignal.abort() })).status).toBe('down')
    expect((await connector.health({ signal: AbortSignal.timeout(2_000) })).status).toBe('up')
  })
})

describe('dispose', () => {
  it('ends the pool, is idempotent, and makes later calls fail with unavailable', async () => {
    const name = `qiao_mq_dispose_${process.pid}`
    const connector = connect({ connectionString: urlWithApplicationName(name) })
    await read(connector, { uscc: sample.plainUscc })
    expect(await sessions(name)).toBe(1)
    await Promise.all([connector.dispose(), connector.dispose()])
    await connector.dispose()
    expect(await eventually(async () => (await sessions(name)) === 0)).toBe(true)
    const err = await failure(read(connector, { uscc: sample.plainUscc }))
    expect(err).toMatchObject({ kind: 'unavailable', message: 'connector disposed' })
    expect(await connector.health({ signal: AbortSignal.timeout(1_000) })).toStrictEqual({
      status: 'down',
      detail: 'connector disposed',
    })
  })

  it('uses its own application_name by default', async () => {
    const connector = connect()
    await read(connector, { uscc: sample.plainUscc })
    expect(await sessions(APPLICATION_NAME)).toBeGreaterThanOrEqual(1)
  })
})

describe('options', () => {
  const validateOptions = createAjv().compile(marketQzkOptionsSchema)

  it('accepts the documented options', () => {
    expect(validateOptions({ connectionString: TEST_DB_URL })).toBe(true)
    expect(
      validateOptions({
        connectionString: 'postgresql://u:p@db.example:5432/qzk?sslmode=require',
        schema: 'qzk_market',
        table: 'QZK_FRDJXX',
        poolMax: 50,
        statementTimeoutMs: 100,
      }),
    ).toBe(true)
  })

  it('refuses identifiers that are not plain names, in the schema and at create', () => {
    const bad: Array<Partial<MarketQzkOptions>> = [
      { schema: 'Qzk' },
      { schema: 'a"; DROP SCHEMA public; --' },
      { schema: 'a.b' },
      { schema: 'x'.repeat(64) },
      { table: 'QZK"FRDJXX' },
      { table: '1QZK' },
      { table: 'QZK FRDJXX' },
      { poolMax: 0 },
      { poolMax: 51 },
      { statementTimeoutMs: 99 },
      { statementTimeoutMs: 60_001 },
      { connectionString: 'mysql://u@h/db' },
    ]
    for (const options of bad) {
      const full = { connectionString: TEST_DB_URL, ...options }
      expect(validateOptions(full), JSON.stringify(options)).toBe(false)
      expect(() => marketQzk.create(full, { dispatcher: noDispatcher, log, clock: { now: Date.now } })).toThrow(
        TypeError,
      )
    }
    expect(validateOptions({ connectionString: TEST_DB_URL, extra: 1 })).toBe(false)
  })

  it('never repeats the connection string in option errors', () => {
    try {
      marketQzk.create(
        { connectionString: 'postgres://u:s3cret@h:5432/db', schema: 'Bad' },
        { dispatcher: noDispatcher, log, clock: { now: Date.now } },
      )
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cret')
    }
  })
})

describe('market-qzk registrationChanges (前置库 change feed)', () => {
  const changeSchema = testSchema('chg')
  let now = Date.parse('2026-11-30T02:00:00Z')
  const frozen = { now: () => now }
  const feedLog = new CapturingLogger()
  let feedAdmin: pg.Pool
  let connector: Connector

  beforeAll(async () => {
    feedAdmin = new pg.Pool({ connectionString: TEST_DB_URL, max: 3 })
    await seedMarketDatabase(feedAdmin, { schema: changeSchema })
    connector = marketQzk.create(
      { connectionString: TEST_DB_URL, schema: changeSchema, changeLookBackSeconds: 60 },
      { dispatcher: noDispatcher, log: feedLog, clock: frozen },
    )
  }, 60_000)
  afterAll(async () => {
    await connector?.dispose()
    await dropSchemaAndRole(feedAdmin, changeSchema)
    await feedAdmin.end()
  })

  const changes = (after: string | undefined, limit = 1_000) =>
    (connector.operations.registrationChanges as ChangesOperation).handle({ after, limit }, callContext(feedLog))
  async function drainFrom(after: string | undefined) {
    const all: Change[] = []
    let cursor = after
    for (;;) {
      const page = await changes(cursor)
      all.push(...page.changes)
      cursor = page.next
      if (!page.more) return { all, cursor }
    }
  }
  /** Inserts a copy of the USCC's newest valid row with other columns changed; answers its LSH. */
  async function insertRow(db: pg.Pool | pg.PoolClient, usccValue: string, set: Record<string, string>) {
    const columns = ['TYSHXYDM', 'QYMC', 'FDDBR', 'FDDBRZJHM', 'QYLX', 'DJZT', 'ZS', 'XZQHDM', 'ZCZB', 'CLRQ', 'DJJG']
    const chosen = columns.map((c) => (c in set ? `$${Object.keys(set).indexOf(c) + 2}` : q(c)))
    const extra = Object.keys(set).filter((c) => !columns.includes(c))
    const result = await db.query<{ LSH: string }>(
      `INSERT INTO ${table(changeSchema)} (${[...columns, ...extra].map(q).join(', ')})` +
        ` SELECT ${[...chosen, ...extra.map((c) => `$${Object.keys(set).indexOf(c) + 2}`)].join(', ')}` +
        ` FROM ${table(changeSchema)} WHERE "TYSHXYDM" = $1 AND "SJYXBS" = '1'` +
        ` ORDER BY "SJGXSJ" DESC, "LSH" DESC LIMIT 1 RETURNING "LSH"::text AS "LSH"`,
      [usccValue, ...Object.values(set)],
    )
    return result.rows[0]?.LSH as string
  }

  it('hands out every valid row once from the beginning, none of the invalid copies, each with the newest record', async () => {
    const { all } = await drainFrom(undefined)
    const valid = await feedAdmin.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${table(changeSchema)} WHERE "SJYXBS" = '1'`,
    )
    expect(all).toHaveLength(Number(valid.rows[0]?.n))
    // The corrected enterprise: its invalid copy is no change; its rows all carry the corrected, newest record.
    const corrected = all.filter((c) => c.key === sample.correctedUscc)
    expect(corrected.length).toBeGreaterThan(0)
    const current = await read(connector, { uscc: sample.correctedUscc })
    for (const change of corrected) expect(change.record).toEqual(current[0])
    for (const change of all) {
      expect(change.op).toBe('upsert')
      expect(change.changedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/)
    }
  })

  it('a 注销 is an upsert with that status; an invalid row on its own is no change', async () => {
    const { cursor } = await drainFrom(undefined)
    await insertRow(feedAdmin, sample.plainUscc, { SJYXBS: '0', SJWXYY: '录入错误', SJGXSJ: '20261130100000' })
    const lsh = await insertRow(feedAdmin, sample.plainUscc, { DJZT: '注销', SJGXSJ: '20261130100001' })
    const next = await drainFrom(cursor)
    expect(next.all.map((c) => [c.key, c.version, c.op, c.record?.status])).toEqual([
      [sample.plainUscc, lsh, 'upsert', 'deregistered'],
    ])
    expect(next.all[0]?.changedAt).toBe('2026-11-30T10:00:01+08:00')
  })

  it('never loses a row whose transaction commits after a later row was read (LSH out of commit order)', async () => {
    const { cursor } = await drainFrom(undefined)
    const slow = await feedAdmin.connect()
    try {
      await slow.query('BEGIN')
      const early = await insertRow(slow, sample.plainUscc, { ZS: '南京市玄武区慢事务路1号', SJGXSJ: '20261130110000' })
      const late = await insertRow(feedAdmin, sample.correctedUscc, { SJGXSJ: '20261130110001' })
      expect(BigInt(early)).toBeLessThan(BigInt(late))
      const first = await drainFrom(cursor)
      expect(first.all.map((c) => c.version)).toEqual([late])
      // Within the look-back window, the skipped serial is asked for again on every poll.
      now += 30_000
      await slow.query('COMMIT')
      const second = await drainFrom(first.cursor)
      expect(second.all.map((c) => [c.key, c.version])).toEqual([[sample.plainUscc, early]])
      expect(second.all[0]?.record?.address).toBe('南京市玄武区慢事务路1号')
      expect((await drainFrom(second.cursor)).all).toEqual([])
      // The old cursor still answers both: a superset, never fewer.
      expect((await drainFrom(cursor)).all.map((c) => c.version)).toEqual([early, late])
    } finally {
      slow.release()
    }
  })

  it('gives a skipped serial up after the look-back window (a rolled-back insert never fills)', async () => {
    const { cursor } = await drainFrom(undefined)
    const aborted = await feedAdmin.connect()
    try {
      await aborted.query('BEGIN')
      await insertRow(aborted, sample.plainUscc, { SJGXSJ: '20261130120000' })
      const after = await insertRow(feedAdmin, sample.plainUscc, { SJGXSJ: '20261130120001' })
      await aborted.query('ROLLBACK')
      const first = await drainFrom(cursor)
      expect(first.all.map((c) => c.version)).toEqual([after])
      expect(decodeQzkCursor(first.cursor).gaps).toHaveLength(1)
      now += 61_000
      const second = await changes(first.cursor)
      expect(second.changes).toEqual([])
      expect(decodeQzkCursor(second.next).gaps).toEqual([])
    } finally {
      aborted.release()
    }
  })

  it('refuses a cursor it did not issue, naming no value', async () => {
    for (const after of ['garbage', encodeChangeCursor('market-qzk/changes/1', [5, '9:3:1'])]) {
      const err = await changes(after).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ConnectorError)
      expect((err as ConnectorError).upstreamCode).toBe(INVALID_CURSOR)
    }
    expect(feedLog.text()).not.toContain(sample.plainUscc)
  })
})
