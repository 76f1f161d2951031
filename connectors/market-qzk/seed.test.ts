import { readFileSync } from 'node:fs'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exchangeScope } from '../../gateway/auth/principal.js'
import { createAjv } from '../../gateway/validation/ajv.js'
import { type Harness, NOW, startHarness } from '../../test/support/gateway.js'
import { divisionStatus } from '../kit/admin-divisions.js'
import { SHARED_COMPANIES } from '../kit/demo-universe.js'
import { isOrgCodeValid, isResidentIdValid, isUsccChecksumValid } from '../kit/identifiers.js'
import { mapEnterpriseRow } from './mapping.js'
import {
  createTableStatements,
  DEFAULT_SEED,
  generateMarketDataset,
  insertBatches,
  marketDataset,
  marketSimulator,
  type QzkSeedRow,
  SEED_CORRECTION_COUNT,
  SEED_ENTERPRISE_COUNT,
  SEED_REFERENCE_DATE,
  seedMarketDatabase,
  seedSample,
} from './simulator/index.js'
import { q, TEST_DB_URL, table, testSchema } from './test-support.js'

const data = marketDataset()
const sample = seedSample()
const lsh = new Map<QzkSeedRow, number>(data.rows.map((row, i) => [row, i + 1]))
const lshOf = (row: QzkSeedRow) => lsh.get(row) as number

/** The connector's rule, computed independently: newest valid row by SJGXSJ, then LSH. */
function newestValid(rows: readonly QzkSeedRow[]): QzkSeedRow | undefined {
  return rows
    .filter((r) => r.SJYXBS === '1')
    .sort((a, b) => (a.SJGXSJ === b.SJGXSJ ? lshOf(b) - lshOf(a) : a.SJGXSJ < b.SJGXSJ ? 1 : -1))[0]
}

const enterprise = (uscc: string) => data.enterprises.find((e) => e.uscc === uscc)

describe('seed dataset', () => {
  it('is deterministic', () => {
    expect(generateMarketDataset(DEFAULT_SEED)).toStrictEqual(generateMarketDataset(DEFAULT_SEED))
    expect(marketDataset()).toBe(data)
    expect(seedSample(generateMarketDataset())).toStrictEqual(sample)
    expect(generateMarketDataset(7).rows[0]).not.toStrictEqual(data.rows[0])
  })

  it('holds at least 300 南京市 enterprises with unique USCCs and names', () => {
    expect(data.enterprises.length).toBe(SEED_ENTERPRISE_COUNT + SHARED_COMPANIES.length)
    expect(SEED_ENTERPRISE_COUNT).toBeGreaterThanOrEqual(300)
    expect(new Set(data.enterprises.map((e) => e.uscc)).size).toBe(data.enterprises.length)
    expect(new Set(data.enterprises.map((e) => e.current.QYMC)).size).toBe(data.enterprises.length)
    expect(data.rows.length).toBe(data.enterprises.reduce((n, e) => n + e.rows.length, 0))
  })

  it('uses only valid USCCs, org codes and current 3201xx division codes', () => {
    const divisions = new Set<string>()
    for (const row of data.rows) {
      expect(isUsccChecksumValid(row.TYSHXYDM), row.TYSHXYDM).toBe(true)
      expect(row.TYSHXYDM.slice(0, 2)).toBe('91')
      expect(isOrgCodeValid(row.TYSHXYDM.slice(8, 17)), row.TYSHXYDM).toBe(true)
      expect(row.XZQHDM).toMatch(/^3201\d\d$/)
      expect(row.XZQHDM.endsWith('00')).toBe(false)
      expect(divisionStatus(row.XZQHDM)).toBe('current')
      // Registered by the district (same code) or by the city bureau (320100).
      expect([row.XZQHDM, '320100']).toContain(row.TYSHXYDM.slice(2, 8))
      divisions.add(row.XZQHDM)
    }
    expect(divisions.size).toBe(11)
    expect(isUsccChecksumValid(sample.unknownUscc)).toBe(true)
    expect(enterprise(sample.unknownUscc)).toBeUndefined()
  })

  it('writes realistic values in the 前置库 formats', () => {
    for (const row of data.rows) {
      expect(row.ZS).toMatch(/^江苏省南京市\p{Script=Han}+区\p{Script=Han}+(路|大道|大街|街)\d+号(\d+幢\d+室)?$/u)
      expect(row.QYMC).toMatch(/^(南京|江苏)\p{Script=Han}+有限公司$/u)
      expect(row.FDDBR).toMatch(/^\p{Script=Han}{2,4}$/u)
      expect(row.CLRQ).toMatch(/^(199[6-9]|20[0-2]\d)\d{4}$/)
      expect(row.SJGXSJ).toMatch(/^20\d{12}$/)
      expect(row.SJGXSJ.slice(0, 8) >= row.CLRQ).toBe(true)
      expect(row.SJGXSJ < SEED_REFERENCE_DATE.replaceAll('-', '')).toBe(true)
      expect(Number(row.ZCZB)).toBeGreaterThan(0)
      expect(row.DJJG).toMatch(/^南京市(\p{Script=Han}+区)?市场监督管理局$/u)
      expect(['存续', '在业', '迁出', '吊销', '注销']).toContain(row.DJZT)
      expect(row.SJYXBS === '0').toBe(row.SJWXYY !== null)
    }
    // The 2015 USCC era: 主体标识码 starting with MA for later registrations.
    expect(data.rows.some((r) => r.TYSHXYDM.slice(8, 10) === 'MA')).toBe(true)
    expect(data.rows.some((r) => /^\d{8}$/.test(r.TYSHXYDM.slice(8, 16)))).toBe(true)
  })

  it('gives each legal representative a valid resident ID, an adult’s when the enterprise was established', () => {
    const reference = new Date(`${SEED_REFERENCE_DATE}T00:00:00Z`)
    for (const row of data.rows) {
      expect(isResidentIdValid(row.FDDBRZJHM, reference), row.TYSHXYDM).toBe(true)
      expect(divisionStatus(row.FDDBRZJHM.slice(0, 6)), row.TYSHXYDM).toBeDefined()
      const age = Number(row.CLRQ.slice(0, 4)) - Number(row.FDDBRZJHM.slice(6, 10))
      expect(age, row.TYSHXYDM).toBeGreaterThanOrEqual(21)
    }
    // The legacy lower-case x, which the mapping upper-cases.
    expect(data.rows.some((r) => r.FDDBRZJHM.endsWith('x'))).toBe(true)
    // One person per enterprise and representative: the IDs of current rows are all different.
    expect(new Set(data.enterprises.map((e) => e.current.FDDBRZJHM)).size).toBe(data.enterprises.length)
    for (const c of SHARED_COMPANIES) {
      expect(enterprise(c.uscc)?.current).toMatchObject({ FDDBR: c.legalRepresentative, FDDBRZJHM: c.legalRepIdNo })
    }
    // A new 法定代表人 is another person; a misspelt name was the same one; two in the same second are two people.
    const representativeCorrections = data.enterprises.filter((e) => e.corrected === 'legalRepresentative')
    for (const e of representativeCorrections) {
      const [original, invalid, fresh] = e.rows as [QzkSeedRow, QzkSeedRow, QzkSeedRow]
      if (invalid.SJWXYY?.startsWith('法定代表人变更')) expect(fresh.FDDBRZJHM).not.toBe(original.FDDBRZJHM)
      else expect(fresh.FDDBRZJHM).toBe(original.FDDBRZJHM)
    }
    const reasons = new Set(representativeCorrections.map((e) => e.rows[1]?.SJWXYY))
    expect(reasons.size).toBe(2)
    const same = enterprise(sample.sameSecondUscc)
    expect(same?.rows[1]?.FDDBRZJHM).not.toBe(same?.rows[0]?.FDDBRZJHM)
  })

  it('has at least 30 corrections: an invalid copy with a reason, then a newer valid row that changes 住所 or 法定代表人', () => {
    const corrected = data.enterprises.filter((e) => e.history === 'corrected')
    expect(corrected.length).toBe(SEED_CORRECTION_COUNT)
    expect(corrected.length).toBeGreaterThanOrEqual(30)
    for (const e of corrected) {
      const [original, invalid, fresh] = e.rows as [QzkSeedRow, QzkSeedRow, QzkSeedRow]
      expect(e.rows).toHaveLength(3)
      expect(original.SJYXBS).toBe('1')
      expect(invalid.SJYXBS).toBe('0')
      expect(invalid.SJWXYY).toMatch(/作废|更正/)
      expect({ ...invalid, SJYXBS: '1', SJWXYY: null, SJGXSJ: original.SJGXSJ }).toStrictEqual(original)
      expect(fresh.SJYXBS).toBe('1')
      expect(fresh.SJGXSJ >= invalid.SJGXSJ && invalid.SJGXSJ > original.SJGXSJ).toBe(true)
      expect(lshOf(fresh)).toBeGreaterThan(lshOf(invalid))
      if (e.corrected === 'address') expect(fresh.ZS).not.toBe(original.ZS)
      else expect(fresh.FDDBR).not.toBe(original.FDDBR)
      expect(e.current).toBe(fresh)
    }
    expect(corrected.some((e) => e.corrected === 'address')).toBe(true)
    expect(corrected.some((e) => e.corrected === 'legalRepresentative')).toBe(true)
    // Some invalid copies and new rows went up in the same second.
    expect(corrected.some((e) => e.rows[1]?.SJGXSJ === e.rows[2]?.SJGXSJ)).toBe(true)
  })

  it('has enterprises with two valid rows over time, some back-filled out of LSH order, and same-second pairs', () => {
    const backFilled = enterprise(sample.backFilledUscc)
    const [first, second] = backFilled?.rows ?? []
    expect(first && second).toBeTruthy()
    // The newer row went in first; the older one was back-filled later (higher LSH, older SJGXSJ).
    expect((first as QzkSeedRow).SJGXSJ > (second as QzkSeedRow).SJGXSJ).toBe(true)
    expect(backFilled?.current).toBe(first)
    const same = enterprise(sample.sameSecondUscc)
    expect(same?.rows[0]?.SJGXSJ).toBe(same?.rows[1]?.SJGXSJ)
    expect(same?.current).toBe(same?.rows[1])
    expect(data.enterprises.filter((e) => e.history === 'later-change').length).toBeGreaterThan(5)
  })

  it('includes 吊销, 注销 and 迁出 enterprises', () => {
    const current = data.enterprises.map((e) => e.current.DJZT)
    expect(current.filter((s) => s === '吊销').length).toBeGreaterThanOrEqual(3)
    expect(current.filter((s) => s === '注销').length).toBeGreaterThanOrEqual(3)
    expect(current).toContain('迁出')
    expect(enterprise(sample.deregisteredUscc)?.current.DJZT).toBe('注销')
    expect(enterprise(sample.revokedUscc)?.current.DJZT).toBe('吊销')
    expect(enterprise(sample.plainUscc)?.rows).toHaveLength(1)
  })

  it("marks as current exactly the row the connector's rule picks", () => {
    for (const e of data.enterprises) expect(newestValid(e.rows), e.uscc).toBe(e.current)
  })

  it('maps every current row to a record that validates against the record schema', () => {
    const url = new URL('../../schemas/resources/market/enterprise-registration.record.json', import.meta.url)
    const validate = createAjv().compile(JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>)
    for (const e of data.enterprises) {
      const record = mapEnterpriseRow(e.current as unknown as Record<string, string>)
      expect(validate(record), JSON.stringify(validate.errors)).toBe(true)
    }
  })

  it('builds parameterised INSERTs and quoted DDL', () => {
    const batches = insertBatches('s', 'T', data.rows as unknown as Record<string, string | null>[])
    expect(batches).toHaveLength(1)
    const batch = batches[0] as { text: string; values: unknown[] }
    expect(batch.values).toHaveLength(data.rows.length * 15)
    expect(batch.text).toContain(`$${data.rows.length * 15})`)
    expect(batch.text).not.toContain(data.rows[0]?.QYMC)
    expect(createTableStatements('s', 'T')[0]).toBe('DROP SCHEMA IF EXISTS "s" CASCADE')
  })
})

describe('seedMarketDatabase', () => {
  const schema = testSchema('seed')
  let admin: pg.Pool

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: TEST_DB_URL, max: 2 })
  })
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`)
    await admin.end()
  })

  it('creates the table with LSH in dataset order, idempotently', async () => {
    const result = await seedMarketDatabase(TEST_DB_URL, { schema })
    expect(result).toStrictEqual({
      schema,
      table: 'QZK_FRDJXX',
      rowCount: data.rows.length,
      enterpriseCount: data.enterprises.length,
    })
    // Again, through a pool: same rows, LSH restarting at 1.
    await admin.query(`INSERT INTO ${table(schema)} ("TYSHXYDM", "SJGXSJ") VALUES ($1, $2)`, ['x', '20260101000000'])
    await seedMarketDatabase(admin, { schema })
    const { rows } = await admin.query<{ LSH: string; TYSHXYDM: string; SJGXSJ: string; SJYXBS: string }>(
      `SELECT "LSH", "TYSHXYDM", "SJGXSJ", "SJYXBS" FROM ${table(schema)} ORDER BY "LSH"`,
    )
    expect(rows).toHaveLength(data.rows.length)
    rows.forEach((row, i) => {
      const seeded = data.rows[i] as QzkSeedRow
      expect(row).toStrictEqual({
        LSH: String(i + 1),
        TYSHXYDM: seeded.TYSHXYDM,
        SJGXSJ: seeded.SJGXSJ,
        SJYXBS: seeded.SJYXBS,
      })
    })
    const index = await admin.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE $2', [
      schema,
      '%("TYSHXYDM", "SJYXBS")%',
    ])
    expect(index.rowCount).toBe(1)
  })

  it('refuses system schemas and identifiers that are not plain names', async () => {
    await expect(seedMarketDatabase(TEST_DB_URL, { schema: 'public' })).rejects.toThrow(TypeError)
    await expect(seedMarketDatabase(TEST_DB_URL, { schema: 'pg_catalog' })).rejects.toThrow(TypeError)
    await expect(seedMarketDatabase(TEST_DB_URL, { schema: 'a"; DROP SCHEMA public; --' })).rejects.toThrow(TypeError)
    await expect(seedMarketDatabase(TEST_DB_URL, { schema, table: 'T; DROP' })).rejects.toThrow(TypeError)
  })
})

describe('the simulator examples through the gateway', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ market: true })
  })
  afterAll(async () => {
    await h.close()
  })

  it('each finds its enterprise for the department granted market.enterprise-registration in catalog.yaml', async () => {
    const grant = [...h.gateway.deps.snapshot().catalog.grants.values()].find(
      (g) =>
        g.resource === 'market.enterprise-registration' &&
        g.action === 'read' &&
        (g.validFromMs ?? 0) <= NOW &&
        NOW < (g.validUntilMs ?? Number.POSITIVE_INFINITY),
    )
    if (!grant) throw new Error('catalog.yaml grants no department market.enterprise-registration')
    const token = await h.token({ dept: grant.consumer, scope: exchangeScope(grant.matter, grant.resource, 'read') })
    const examples = marketSimulator.examples ?? []
    expect(examples.length).toBeGreaterThanOrEqual(2)
    for (const [i, example] of examples.entries()) {
      const res = await h.query(example.resource, example.params, {
        token,
        matter: grant.matter,
        caseId: `SANDBOX-M-${i + 1}`,
      })
      expect(res.status, res.text).toBe(200)
      expect(res.json.data).toMatchObject([{ uscc: example.params.uscc }])
    }
  })
})
