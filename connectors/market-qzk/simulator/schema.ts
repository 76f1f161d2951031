import pg from 'pg'
import { COLUMNS, MAPPED_COLUMNS, qualifiedTable, ROW_INVALID, ROW_VALID } from '../sql.js'

/**
 * DDL of the seeded front-end database: one schema holding the 法人登记信息 table in 前置库 style (upper-case
 * pinyin-initial columns, `LSH` serial, `SJYXBS` validity flag, `SJGXSJ` update time; primer §4.2). Identifiers are
 * validated by the caller and quoted here.
 */

/** The columns the seed writes, in INSERT order (everything but the `LSH` serial). */
export const SEED_COLUMNS: readonly string[] = Object.freeze([
  ...MAPPED_COLUMNS,
  COLUMNS.validity,
  COLUMNS.invalidReason,
  COLUMNS.updatedAt,
])

/** Column comments (信息项名称), as a 前置库 DBA would document them. */
const COLUMN_COMMENTS: Readonly<Record<string, string>> = {
  [COLUMNS.serial]: '流水号',
  [COLUMNS.uscc]: '统一社会信用代码',
  [COLUMNS.name]: '企业名称',
  [COLUMNS.legalRepresentative]: '法定代表人',
  [COLUMNS.legalRepIdNo]: '法定代表人证件号码',
  [COLUMNS.enterpriseType]: '企业类型',
  [COLUMNS.status]: '登记状态（存续/在业/迁出/吊销/注销）',
  [COLUMNS.address]: '住所',
  [COLUMNS.divisionCode]: '行政区划代码',
  [COLUMNS.registeredCapital]: '注册资本（万元）',
  [COLUMNS.establishedDate]: '成立日期（yyyyMMdd）',
  [COLUMNS.registrationAuthority]: '登记机关',
  [COLUMNS.businessScope]: '经营范围',
  [COLUMNS.validity]: '数据有效标识（1有效/0无效）',
  [COLUMNS.invalidReason]: '数据无效原因',
  [COLUMNS.updatedAt]: '数据更新时间（yyyyMMddHHmmss）',
}

/** Drops and recreates `schema` with an empty table and its index. */
export function createTableStatements(schema: string, table: string): string[] {
  const q = pg.escapeIdentifier
  const from = qualifiedTable(schema, table)
  const c = COLUMNS
  return [
    `DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`,
    `CREATE SCHEMA ${q(schema)}`,
    `CREATE TABLE ${from} (
  ${q(c.serial)} bigserial PRIMARY KEY,
  ${q(c.uscc)} char(18) NOT NULL,
  ${q(c.name)} varchar(200),
  ${q(c.legalRepresentative)} varchar(50),
  ${q(c.legalRepIdNo)} varchar(18),
  ${q(c.enterpriseType)} varchar(100),
  ${q(c.status)} varchar(20),
  ${q(c.address)} varchar(300),
  ${q(c.divisionCode)} char(6),
  ${q(c.registeredCapital)} numeric(18, 4),
  ${q(c.establishedDate)} varchar(8),
  ${q(c.registrationAuthority)} varchar(200),
  ${q(c.businessScope)} text,
  ${q(c.validity)} char(1) NOT NULL DEFAULT '${ROW_VALID}' CHECK (${q(c.validity)} IN ('${ROW_VALID}', '${ROW_INVALID}')),
  ${q(c.invalidReason)} varchar(500),
  ${q(c.updatedAt)} varchar(14) NOT NULL
)`,
    `CREATE INDEX ${q(`IDX_${table}_TYSHXYDM`.slice(0, 63))} ON ${from} (${q(c.uscc)}, ${q(c.validity)})`,
    `COMMENT ON TABLE ${from} IS '法人登记信息（市场监管 法人库前置库）'`,
    ...Object.entries(COLUMN_COMMENTS).map(
      ([column, comment]) => `COMMENT ON COLUMN ${from}.${q(column)} IS '${comment}'`,
    ),
  ]
}

export interface InsertBatch {
  readonly text: string
  readonly values: (string | null)[]
}

/** Rows per INSERT: 15 parameters a row stays well under PostgreSQL's 65535-parameter limit. */
const BATCH_ROWS = 1_000

/** Multi-row parameterised INSERTs, in row order (so `LSH` follows the order of `rows`). */
export function insertBatches(
  schema: string,
  table: string,
  rows: readonly Readonly<Record<string, string | null>>[],
): InsertBatch[] {
  const q = pg.escapeIdentifier
  const head = `INSERT INTO ${qualifiedTable(schema, table)} (${SEED_COLUMNS.map(q).join(', ')}) VALUES `
  const batches: InsertBatch[] = []
  for (let start = 0; start < rows.length; start += BATCH_ROWS) {
    const slice = rows.slice(start, start + BATCH_ROWS)
    const values: (string | null)[] = []
    const tuples = slice.map((row) => {
      const params = SEED_COLUMNS.map((column) => {
        values.push(row[column] ?? null)
        return `$${values.length}`
      })
      return `(${params.join(', ')})`
    })
    batches.push({ text: head + tuples.join(', '), values })
  }
  return batches
}
