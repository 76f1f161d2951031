import { type ColumnRule as KitColumnRule, MappingError, mapColumns } from '../kit/column-mapping.js'
import { isRealDate, isRealTimeOfDay } from '../kit/legacy-values.js'
import type { CanonicalRecord } from '../kit/types.js'
import { STATUS_CODES, type WireRow } from './wire.js'

/**
 * Pure legacy row → canonical record function for `template.envelope-record`.
 *
 * - Present columns are converted: strings trimmed (CHAR columns come space-padded), USCCs upper-cased, the status
 *   code to `active`/`inactive`, `yyyyMMddHHmmss` (Asia/Shanghai) to ISO 8601 with the `+08:00` offset.
 * - Unknown columns are dropped.
 * - A missing, `null` or empty column leaves the canonical field out; the gateway's response-schema validation
 *   decides whether that is acceptable.
 * - A value that is present but does not parse throws a `MappingError` naming the column, never the value.
 *
 * TODO(integrator): replace RECORD_COLUMNS and the conversions with the real columns of the legacy system.
 */

/** A value that does not parse, named by its column (kit/column-mapping.ts). */
export { MappingError }

type ColumnKind = 'text' | 'uscc' | 'status' | 'date-time'

type ColumnRule = KitColumnRule<ColumnKind>

const rule = (column: string, field: string, kind: ColumnKind = 'text'): ColumnRule => ({ column, field, kind })

/** `records.query` row → canonical record, in the record schema's property order. */
export const RECORD_COLUMNS: readonly ColumnRule[] = Object.freeze([
  rule('JLBH', 'recordNo'),
  rule('MC', 'name'),
  rule('TYSHXYDM', 'uscc', 'uscc'),
  rule('ZT', 'status', 'status'),
  rule('GXSJ', 'updatedAt', 'date-time'),
])

export function mapRecordRow(row: unknown): CanonicalRecord {
  if (!isWireRow(row)) throw new MappingError('(row)', 'is not a JSON object')
  return mapColumns(row, RECORD_COLUMNS, convert)
}

/** True for a JSON object that can be a row (not null, not an array). */
export function isWireRow(value: unknown): value is WireRow {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function convert(raw: unknown, column: string, kind: ColumnKind): string | undefined {
  if (raw === null || raw === undefined) return undefined
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
    case 'status': {
      const status = parseStatus(text)
      if (status === undefined) throw new MappingError(column, 'is not a known status code')
      return status
    }
    case 'date-time': {
      const at = parseLegacyDateTime(text)
      if (at === undefined) throw new MappingError(column, 'is not a yyyyMMddHHmmss time')
      return at
    }
  }
}

/** The status code to the canonical enum. */
export function parseStatus(value: string): 'active' | 'inactive' | undefined {
  switch (value) {
    case STATUS_CODES.active:
      return 'active'
    case STATUS_CODES.inactive:
      return 'inactive'
    default:
      return undefined
  }
}

const COMPACT_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/
const DASHED_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/

/**
 * A legacy time to ISO 8601 with the Asia/Shanghai offset (`2026-01-15T09:30:00+08:00`). Accepts `yyyyMMddHHmmss` and
 * `yyyy-MM-dd HH:mm:ss`; the legacy system writes Shanghai wall-clock time without an offset. Undefined unless it is
 * a real time in 1900–2199.
 */
export function parseLegacyDateTime(value: string): string | undefined {
  const m = COMPACT_TIME.exec(value) ?? DASHED_TIME.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h, mi, sec] = m as unknown as [string, string, string, string, string, string, string]
  if (!isRealDate(y, mo, d) || !isRealTimeOfDay(h, mi, sec)) return undefined
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}+08:00`
}
