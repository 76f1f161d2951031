import { type ColumnRule as KitColumnRule, MappingError, mapColumns } from '../kit/column-mapping.js'
import { normaliseResidentId } from '../kit/identifiers.js'
import { isRealDate, parseDecimalText } from '../kit/legacy-values.js'
import type { CanonicalRecord } from '../kit/types.js'
import { ROW_INVALID, type WireRow } from './wire.js'

/**
 * Pure legacy row → canonical record functions for the three 工改 V3 tables.
 *
 * - Present columns are converted: strings trimmed (CHAR columns come space-padded), `yyyyMMdd` dates to ISO
 *   `YYYY-MM-DD`, numbers-as-strings to JSON numbers, 审查结论 to `passed`/`failed`, a lower-case `x` in a resident id
 *   to `X`, USCCs to upper case.
 * - Unknown columns (LSH, SJYXBS, SJGXSJ, DFSJZJ, …) are dropped.
 * - A missing, `null` or empty column leaves the canonical field out; the gateway's response-schema validation
 *   decides whether that is acceptable.
 * - A value that is present but does not parse throws a `MappingError` naming the column, never the value.
 */

/** A value that does not parse, named by its column (kit/column-mapping.ts). */
export { MappingError }

type ColumnKind = 'text' | 'uscc' | 'resident-id' | 'number' | 'date' | 'review-result'

type ColumnRule = KitColumnRule<ColumnKind>

const rule = (column: string, field: string, kind: ColumnKind = 'text'): ColumnRule => ({ column, field, kind })

/** SPGL_JZGCSGXKXXB_V3 → housing.construction-permit, in the record schema's property order. */
export const PERMIT_COLUMNS: readonly ColumnRule[] = Object.freeze([
  rule('SGXKZBH', 'permitNo'),
  rule('XMDM', 'projectCode'),
  rule('GCDM', 'subProjectCode'),
  rule('GCMC', 'projectName'),
  rule('XZQHDM', 'divisionCode'),
  rule('JSDZ', 'constructionSite'),
  rule('JSGM', 'constructionScale'),
  rule('JSDW', 'ownerName'),
  rule('JSDWDM', 'ownerUscc', 'uscc'),
  rule('JSDWXMFZR', 'ownerLeadName'),
  rule('JSFZRZJHM', 'ownerLeadIdNo', 'resident-id'),
  rule('JSFZRLXDH', 'ownerLeadPhone'),
  rule('SGDWMC', 'contractorName'),
  rule('SGDWDM', 'contractorUscc', 'uscc'),
  rule('HTJG', 'contractPriceWanYuan', 'number'),
  rule('ZJZMJ', 'totalFloorAreaM2', 'number'),
  rule('JHKGRQ', 'plannedStartDate', 'date'),
  rule('JHJGRQ', 'plannedCompletionDate', 'date'),
  rule('FZRQ', 'issueDate', 'date'),
  rule('FZJG', 'issuingAuthority'),
  rule('GCGHXKZBH', 'planningPermitNo'),
  rule('SCHGSBH', 'drawingReviewCertNo'),
])

/** SPGL_SGTSJWJSCXXB_V3 → housing.drawing-review. */
export const DRAWING_REVIEW_COLUMNS: readonly ColumnRule[] = Object.freeze([
  rule('SCHGSBH', 'certNo'),
  rule('XMDM', 'projectCode'),
  rule('GCDM', 'subProjectCode'),
  rule('GCMC', 'projectName'),
  rule('SCJGMC', 'reviewAgency'),
  rule('SCJGDM', 'reviewAgencyUscc', 'uscc'),
  rule('SJDWMC', 'designUnit'),
  rule('SCJL', 'result', 'review-result'),
  rule('SCWCRQ', 'completedDate', 'date'),
])

/** SPGL_JSGCJGYSBAXXB_V3 → housing.completion-filing. */
export const COMPLETION_FILING_COLUMNS: readonly ColumnRule[] = Object.freeze([
  rule('JGYSBABH', 'filingNo'),
  rule('XMDM', 'projectCode'),
  rule('GCDM', 'subProjectCode'),
  rule('GCMC', 'projectName'),
  rule('JSDW', 'ownerName'),
  rule('JSDWDM', 'ownerUscc', 'uscc'),
  rule('JGYSRQ', 'acceptanceDate', 'date'),
  rule('BARQ', 'filingDate', 'date'),
  rule('ZJZMJ', 'totalFloorAreaM2', 'number'),
  rule('GCJS', 'finalCostWanYuan', 'number'),
])

export function mapPermitRow(row: unknown): CanonicalRecord {
  return mapRow(row, PERMIT_COLUMNS)
}

export function mapDrawingReviewRow(row: unknown): CanonicalRecord {
  return mapRow(row, DRAWING_REVIEW_COLUMNS)
}

export function mapCompletionFilingRow(row: unknown): CanonicalRecord {
  return mapRow(row, COMPLETION_FILING_COLUMNS)
}

/**
 * True for a row superseded by a correction (`SJYXBS = "0"`): 工改 systems never update in place, they insert an
 * invalid copy and a new valid row (primer §4.2). Rows without SJYXBS count as valid.
 */
export function isSupersededRow(row: { readonly SJYXBS?: unknown }): boolean {
  const flag = row.SJYXBS
  return (typeof flag === 'string' ? flag.trim() : typeof flag === 'number' ? String(flag) : undefined) === ROW_INVALID
}

/** True for a JSON object that can be a row (not null, not an array). */
export function isWireRow(value: unknown): value is WireRow {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function mapRow(row: unknown, rules: readonly ColumnRule[]): CanonicalRecord {
  if (!isWireRow(row)) throw new MappingError('(row)', 'is not a JSON object')
  return mapColumns(row, rules, convert)
}

function convert(raw: unknown, column: string, kind: ColumnKind): string | number | undefined {
  if (raw === null || raw === undefined) return undefined
  if (kind === 'number' && typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new MappingError(column, 'is not a finite number')
    return raw
  }
  let text: string
  if (typeof raw === 'string') text = raw.trim()
  else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw)
  else throw new MappingError(column, `has a JSON ${Array.isArray(raw) ? 'array' : typeof raw} where text was expected`)
  if (text === '') return undefined
  switch (kind) {
    case 'text':
      return text
    case 'uscc':
      return text.toUpperCase()
    case 'resident-id':
      return normaliseResidentId(text)
    case 'number': {
      const n = parseLegacyNumber(text)
      if (n === undefined) throw new MappingError(column, 'is not a decimal number')
      return n
    }
    case 'date': {
      const d = parseLegacyDate(text)
      if (d === undefined) throw new MappingError(column, 'is not a yyyyMMdd date')
      return d
    }
    case 'review-result': {
      const r = parseReviewResult(text)
      if (r === undefined) throw new MappingError(column, 'is not 合格 or 不合格')
      return r
    }
  }
}

const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})(?:\d{6})?$/
const DASHED_DATE = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$/

/**
 * A legacy date to ISO `YYYY-MM-DD`. Accepts `yyyyMMdd` (the 工改 form), `yyyyMMddHHmmss`, `yyyy-MM-dd`,
 * `yyyy/MM/dd` and those with a time part (the time is dropped: all times are Asia/Shanghai wall-clock).
 * Undefined unless it is a real calendar date in 1900–2199.
 */
export function parseLegacyDate(value: string): string | undefined {
  const m = COMPACT_DATE.exec(value) ?? DASHED_DATE.exec(value)
  if (!m || !isRealDate(m[1] as string, m[2] as string, m[3] as string)) return undefined
  return `${m[1]}-${m[2]}-${m[3]}`
}

/**
 * A number sent as a string (`"12345.67"`, `"-1"`, `"1,234.5"`) to a JSON number. Units are not converted: the
 * interface already uses 万元 and m². Undefined for anything else (units, words, exponents, empty).
 */
export function parseLegacyNumber(value: string): number | undefined {
  return parseDecimalText(value, { grouped: true })
}

/** 审查结论 to the canonical enum. */
export function parseReviewResult(value: string): 'passed' | 'failed' | undefined {
  switch (value) {
    case '合格':
    case '通过':
      return 'passed'
    case '不合格':
    case '不通过':
      return 'failed'
    default:
      return undefined
  }
}
