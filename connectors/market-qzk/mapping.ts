import { type ColumnRule as KitColumnRule, MappingError, mapColumns } from '../kit/column-mapping.js'
import { normaliseResidentId } from '../kit/identifiers.js'
import { isRealDate, parseDecimalText } from '../kit/legacy-values.js'
import type { CanonicalRecord } from '../kit/types.js'
import { COLUMNS } from './sql.js'

/**
 * Pure front-end row → canonical record functions for 法人登记信息 (QZK_FRDJXX).
 *
 * - The connector selects every mapped column as text, so a row is a map of column name to string or null.
 * - Strings are trimmed (CHAR columns come space-padded); the USCC is upper-cased, a resident ID's check `x` becomes
 *   `X`; 登记状态 becomes an enum;
 *   注册资本 a JSON number (万元, not converted); 成立日期 an ISO date.
 * - A null or empty column leaves the canonical field out; the gateway's response-schema validation decides whether
 *   that is acceptable.
 * - A value that is present but does not parse throws a `MappingError` naming the column, never the value.
 */

/** A value that does not parse, named by its column (kit/column-mapping.ts). */
export { MappingError }

/** A row as the connector reads it: column name → text value or null. */
export type QzkRow = Readonly<Record<string, string | null | undefined>>

/** Canonical 登记状态. */
export type EnterpriseStatus = 'active' | 'moved-out' | 'revoked' | 'deregistered'

type ColumnKind = 'text' | 'uscc' | 'resident-id' | 'status' | 'number' | 'date'

type ColumnRule = KitColumnRule<ColumnKind>

const rule = (column: string, field: string, kind: ColumnKind = 'text'): ColumnRule => ({ column, field, kind })

/** QZK_FRDJXX → market.enterprise-registration, in the record schema's property order. */
export const ENTERPRISE_COLUMNS: readonly ColumnRule[] = Object.freeze([
  rule(COLUMNS.uscc, 'uscc', 'uscc'),
  rule(COLUMNS.name, 'name'),
  rule(COLUMNS.legalRepresentative, 'legalRepresentative'),
  rule(COLUMNS.legalRepIdNo, 'legalRepIdNo', 'resident-id'),
  rule(COLUMNS.enterpriseType, 'enterpriseType'),
  rule(COLUMNS.status, 'status', 'status'),
  rule(COLUMNS.address, 'address'),
  rule(COLUMNS.divisionCode, 'divisionCode'),
  rule(COLUMNS.registeredCapital, 'registeredCapitalWanYuan', 'number'),
  rule(COLUMNS.establishedDate, 'establishedDate', 'date'),
  rule(COLUMNS.registrationAuthority, 'registrationAuthority'),
  rule(COLUMNS.businessScope, 'businessScope'),
])

export function mapEnterpriseRow(row: QzkRow): CanonicalRecord {
  if (typeof row !== 'object' || row === null) throw new MappingError('(row)', 'is not an object')
  return mapColumns(row, ENTERPRISE_COLUMNS, convert)
}

function convert(raw: unknown, column: string, kind: ColumnKind): string | number | undefined {
  if (raw === null || raw === undefined) return undefined
  if (typeof raw !== 'string') throw new MappingError(column, `has a ${typeof raw} where text was expected`)
  const text = raw.trim()
  if (text === '') return undefined
  switch (kind) {
    case 'text':
      return text
    case 'uscc':
      return text.toUpperCase()
    case 'resident-id':
      return normaliseResidentId(text)
    case 'status': {
      const status = parseRegistrationStatus(text)
      if (status === undefined) throw new MappingError(column, 'is not a known 登记状态')
      return status
    }
    case 'number': {
      const n = parseDecimal(text)
      if (n === undefined) throw new MappingError(column, 'is not a decimal number')
      return n
    }
    case 'date': {
      const d = parseLegacyDate(text)
      if (d === undefined) throw new MappingError(column, 'is not a yyyyMMdd date')
      return d
    }
  }
}

/**
 * 登记状态 (DJZT) to the canonical enum: 存续/在业 → `active`, 迁出 → `moved-out`, 吊销 → `revoked`,
 * 注销 → `deregistered`. The long forms of the national enterprise credit publicity system are accepted too
 * (`存续（在营、开业、在册）`, `吊销，未注销`, `吊销，已注销`). Anything else is undefined.
 */
export function parseRegistrationStatus(value: string): EnterpriseStatus | undefined {
  return REGISTRATION_STATUS.get(value.trim())
}

const REGISTRATION_STATUS: ReadonlyMap<string, EnterpriseStatus> = new Map<string, EnterpriseStatus>([
  ['存续', 'active'],
  ['在业', 'active'],
  ['存续（在营、开业、在册）', 'active'],
  ['迁出', 'moved-out'],
  ['吊销', 'revoked'],
  ['吊销，未注销', 'revoked'],
  ['注销', 'deregistered'],
  ['吊销，已注销', 'deregistered'],
])

const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/
const DASHED_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/**
 * 成立日期 to ISO `YYYY-MM-DD`. Accepts `yyyyMMdd` (the 前置库 form) and `yyyy-MM-dd` (a DATE column read as text).
 * Undefined unless it is a real calendar date in 1900–2199.
 */
export function parseLegacyDate(value: string): string | undefined {
  const m = COMPACT_DATE.exec(value) ?? DASHED_DATE.exec(value)
  if (!m || !isRealDate(m[1] as string, m[2] as string, m[3] as string)) return undefined
  return `${m[1]}-${m[2]}-${m[3]}`
}

/**
 * 注册资本 as text (`"500"`, `"1200.5000"` from a numeric column) to a JSON number. Units are not converted: the
 * column holds 万元. Undefined for anything else (units, words, exponents, NaN, empty).
 */
export function parseDecimal(value: string): number | undefined {
  return parseDecimalText(value)
}
