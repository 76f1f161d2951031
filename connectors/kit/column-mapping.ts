import type { CanonicalRecord } from './types.js'

/**
 * Mapping a legacy row to a canonical record by column rules: each rule names a legacy column, the canonical field
 * it becomes and the kind of conversion, in the record schema's property order. The connector's `convert` does the
 * conversions (they are its own: date formats, code tables …); missing, null or empty values leave the field out,
 * and a value that does not parse throws a MappingError naming the column, never the value.
 */

/** A legacy value that cannot be mapped; the message names the column and the problem, never the value. */
export class MappingError extends Error {
  readonly column: string
  constructor(column: string, problem: string) {
    super(`column ${column} ${problem}`)
    this.name = 'MappingError'
    this.column = column
  }
}

export interface ColumnRule<K extends string> {
  readonly column: string
  readonly field: string
  readonly kind: K
}

/** A column's value converted for its field; undefined leaves the field out. */
export type ConvertColumn<K extends string> = (raw: unknown, column: string, kind: K) => string | number | undefined

/** The row's columns that have a rule, converted, in rule order; a column the row lacks leaves its field out. */
export function mapColumns<K extends string>(
  row: Readonly<Record<string, unknown>>,
  rules: readonly ColumnRule<K>[],
  convert: ConvertColumn<K>,
): CanonicalRecord {
  const record: CanonicalRecord = {}
  for (const { column, field, kind } of rules) {
    if (!Object.hasOwn(row, column)) continue
    const value = convert(row[column], column, kind)
    if (value !== undefined) record[field] = value
  }
  return record
}
