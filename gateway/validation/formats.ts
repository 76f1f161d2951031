import type { Ajv2020 } from 'ajv/dist/2020.js'
import { isAdminDivisionCode } from '../../kernel/admin-divisions.js'
import {
  checkUscc,
  isInvestmentProjectCode,
  isOrgCodeValid,
  isResidentIdValid,
  USCC_KNOWN_EXCEPTIONS,
} from '../../kernel/identifiers.js'

export interface IdentifierFormatOptions {
  /** Extra real USCCs that fail the checksum (catalog `identifiers.usccExceptions`). */
  usccExceptions?: Iterable<string>
  /** Today's date for the birth-date check of resident ids; defaults to the wall clock at validation time. */
  today?: () => Date
}

/** Names usable as `format` in every request, response and write schema. */
export const IDENTIFIER_FORMATS = [
  'uscc',
  'org-code',
  'cn-resident-id',
  'investment-project-code',
  'admin-division-code',
] as const

/** Registers the Chinese identifier formats (primer §3) on an Ajv instance. */
export function addIdentifierFormats(ajv: Ajv2020, options: IdentifierFormatOptions = {}): Ajv2020 {
  const exceptions = new Set([...USCC_KNOWN_EXCEPTIONS, ...(options.usccExceptions ?? [])])
  const today = options.today ?? (() => new Date())
  ajv.addFormat('uscc', { type: 'string', validate: (s: string) => checkUscc(s, exceptions) !== 'invalid' })
  ajv.addFormat('org-code', { type: 'string', validate: isOrgCodeValid })
  ajv.addFormat('cn-resident-id', { type: 'string', validate: (s: string) => isResidentIdValid(s, today()) })
  ajv.addFormat('investment-project-code', { type: 'string', validate: isInvestmentProjectCode })
  ajv.addFormat('admin-division-code', { type: 'string', validate: isAdminDivisionCode })
  return ajv
}
