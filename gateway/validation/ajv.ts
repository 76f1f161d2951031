import type { ErrorObject } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { addIdentifierFormats, type IdentifierFormatOptions } from './formats.js'
import { recordCompiles } from './hot-path.js'
import { addCodePointLengths } from './string-length.js'

// ajv-formats is CommonJS; under NodeNext its callable export sits on `.default`.
const addFormats = addFormatsModule.default

/**
 * One Ajv instance (JSON Schema draft 2020-12) per catalog: all errors (so a 400 lists every violation), strict schemas, standard and
 * Chinese identifier formats. Validators are compiled once at catalog load; requests only run them — on the
 * exchange path, their allErrors-free twins first (hot-path.ts).
 */
export function createAjv(options: IdentifierFormatOptions = {}): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true })
  addFormats(ajv, ['date', 'date-time', 'time', 'email', 'uri', 'uuid'])
  addCodePointLengths(ajv)
  return recordCompiles(addIdentifierFormats(ajv, options))
}

export interface Violation {
  /** JSON pointer into the validated document ('' for the root). */
  pointer: string
  message: string
}

/** At most this many violations are described in one answer; the rest are only counted. */
export const MAX_VIOLATIONS = 20

export interface BoundedViolations {
  readonly violations: Violation[]
  /** How many violations ajv found in all. */
  readonly total: number
  readonly truncated: boolean
}

/**
 * The first `max` violations and the total. Bodies are untrusted: 1 MiB of unknown keys is ~100 000 ajv errors,
 * and describing every one would make an answer several times the size of the body.
 */
export function boundedViolations(
  errors: readonly ErrorObject[] | null | undefined,
  max: number = MAX_VIOLATIONS,
): BoundedViolations {
  const total = errors?.length ?? 0
  return { violations: toViolations(errors?.slice(0, max)), total, truncated: total > max }
}

/**
 * Ajv errors as pointer + message. Messages name the rule, never the offending value, so they are safe to return
 * and to log.
 */
export function toViolations(errors: readonly ErrorObject[] | null | undefined): Violation[] {
  if (!errors) return []
  return errors.map((e) => {
    let pointer = e.instancePath
    if (e.keyword === 'required') pointer = `${pointer}/${escapePointer(String(e.params.missingProperty))}`
    else if (e.keyword === 'additionalProperties')
      pointer = `${pointer}/${escapePointer(String(e.params.additionalProperty))}`
    return { pointer, message: describe(e) }
  })
}

function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1')
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required'
    case 'additionalProperties':
      return 'is not allowed'
    case 'format':
      return `must be a valid ${String(e.params.format)}`
    case 'enum':
      return 'must be one of the allowed values'
    case 'const':
      return 'must equal the allowed value'
    case 'pattern':
      return 'does not match the required pattern'
    default:
      return e.message ?? `fails ${e.keyword}`
  }
}
