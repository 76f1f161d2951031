import pg from 'pg'

/**
 * Every SQL statement the connector sends. Identifiers (schema, table) are validated by options.ts and quoted with
 * pg's escapeIdentifier when the connector is created; values only ever travel as `$n` parameters, never in the text.
 */

/** Columns of the 法人登记信息 table (前置库 style: upper-case pinyin initials, primer §4.2). */
export const COLUMNS = {
  /** 流水号, bigserial primary key. */
  serial: 'LSH',
  /** 统一社会信用代码, char(18). */
  uscc: 'TYSHXYDM',
  /** 企业名称. */
  name: 'QYMC',
  /** 法定代表人. */
  legalRepresentative: 'FDDBR',
  /** 法定代表人证件号码 (公民身份号码), varchar(18). */
  legalRepIdNo: 'FDDBRZJHM',
  /** 企业类型 (e.g. 有限责任公司（自然人投资或控股）). */
  enterpriseType: 'QYLX',
  /** 登记状态: 存续/在业/迁出/吊销/注销. */
  status: 'DJZT',
  /** 住所. */
  address: 'ZS',
  /** 行政区划代码, char(6). */
  divisionCode: 'XZQHDM',
  /** 注册资本 (万元), numeric. */
  registeredCapital: 'ZCZB',
  /** 成立日期, yyyyMMdd. */
  establishedDate: 'CLRQ',
  /** 登记机关. */
  registrationAuthority: 'DJJG',
  /** 经营范围. */
  businessScope: 'JYFW',
  /** 数据有效标识: '1' valid, '0' invalid (superseded by a correction). */
  validity: 'SJYXBS',
  /** 数据无效原因. */
  invalidReason: 'SJWXYY',
  /** 数据更新时间, yyyyMMddHHmmss. */
  updatedAt: 'SJGXSJ',
} as const

/** Columns read for a canonical record (sent back as text: the mapping parses them). */
export const MAPPED_COLUMNS: readonly string[] = Object.freeze([
  COLUMNS.uscc,
  COLUMNS.name,
  COLUMNS.legalRepresentative,
  COLUMNS.legalRepIdNo,
  COLUMNS.enterpriseType,
  COLUMNS.status,
  COLUMNS.address,
  COLUMNS.divisionCode,
  COLUMNS.registeredCapital,
  COLUMNS.establishedDate,
  COLUMNS.registrationAuthority,
  COLUMNS.businessScope,
])

/** `SJYXBS` values. */
export const ROW_VALID = '1'
export const ROW_INVALID = '0'

/** Opens the read-only transaction each call runs in. */
export const BEGIN_READ_ONLY = 'BEGIN TRANSACTION READ ONLY'
/** Sets the server-side statement timeout for the rest of the transaction; `$1` is milliseconds as text. */
export const SET_LOCAL_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)"
export const COMMIT = 'COMMIT'

export interface QzkStatements {
  /** `$1` = USCC. The newest valid row: `SJYXBS = '1'`, latest `SJGXSJ`, then highest `LSH`. */
  readonly enterpriseByUscc: string
  /**
   * The change feed's page (change-cursor.ts): `$1` = highest LSH handed out, `$2`/`$3` = the gaps' first and last
   * LSH (bigint arrays as text), `$4` = rows to read. Every row above `$1` or in a gap, in LSH order, valid or not
   * (an invalid row fills its gap but is no change); for a valid row, the USCC's newest valid row beside it, so
   * a back-filled older row never hands out a stale record.
   */
  readonly changes: string
  /** Health probe: the table is there and readable. */
  readonly probe: string
}

/** Column aliases of the changed row in `changes` (the record's own columns keep their names). */
export const CHANGE_COLUMNS = {
  serial: 'CHANGE_LSH',
  uscc: 'CHANGE_TYSHXYDM',
  validity: 'CHANGE_SJYXBS',
  updatedAt: 'CHANGE_SJGXSJ',
} as const

/** `"schema"."table"`, quoted. The caller has validated both names. */
export function qualifiedTable(schema: string, table: string): string {
  return `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`
}

/** The statements for one configured table, built once per connector instance. */
export function buildStatements(schema: string, table: string): QzkStatements {
  const from = qualifiedTable(schema, table)
  const q = pg.escapeIdentifier
  const select = MAPPED_COLUMNS.map((c) => `${q(c)}::text AS ${q(c)}`).join(', ')
  return Object.freeze({
    enterpriseByUscc:
      `SELECT ${select} FROM ${from}` +
      ` WHERE ${q(COLUMNS.uscc)} = $1 AND ${q(COLUMNS.validity)} = '${ROW_VALID}'` +
      ` ORDER BY ${q(COLUMNS.updatedAt)} DESC NULLS LAST, ${q(COLUMNS.serial)} DESC LIMIT 1`,
    changes:
      `SELECT t.${q(COLUMNS.serial)}::text AS ${q(CHANGE_COLUMNS.serial)},` +
      ` t.${q(COLUMNS.uscc)}::text AS ${q(CHANGE_COLUMNS.uscc)},` +
      ` t.${q(COLUMNS.validity)}::text AS ${q(CHANGE_COLUMNS.validity)},` +
      ` t.${q(COLUMNS.updatedAt)}::text AS ${q(CHANGE_COLUMNS.updatedAt)}, cur.*` +
      ` FROM ((SELECT g.* FROM ${from} g JOIN unnest($2::bigint[], $3::bigint[]) AS gap(lo, hi)` +
      ` ON g.${q(COLUMNS.serial)} BETWEEN gap.lo AND gap.hi)` +
      ` UNION ALL (SELECT n.* FROM ${from} n WHERE n.${q(COLUMNS.serial)} > $1::bigint` +
      ` ORDER BY n.${q(COLUMNS.serial)} LIMIT $4::int)) t` +
      ` LEFT JOIN LATERAL (SELECT ${select} FROM ${from} c` +
      ` WHERE c.${q(COLUMNS.uscc)} = t.${q(COLUMNS.uscc)} AND c.${q(COLUMNS.validity)} = '${ROW_VALID}'` +
      ` ORDER BY c.${q(COLUMNS.updatedAt)} DESC NULLS LAST, c.${q(COLUMNS.serial)} DESC LIMIT 1) cur` +
      ` ON t.${q(COLUMNS.validity)} = '${ROW_VALID}'` +
      ` ORDER BY t.${q(COLUMNS.serial)} LIMIT $4::int`,
    probe: `SELECT 1 FROM ${from} LIMIT 1`,
  })
}
