/**
 * Chinese identifier check algorithms (domain primer §3, Appendix A). Pure functions shared by the gateway's
 * schema formats, connectors that normalise legacy data, and simulators that generate valid seed data.
 */

// GB 32100-2015 统一社会信用代码: 31-character set without I O Z S V; weights 3^(i-1) mod 31.
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
const USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/

/**
 * Real pilot-era codes that fail the GB 32100 checksum (primer §3.1). They are accepted as valid; deployments add
 * their own through the catalog's `identifiers.usccExceptions`.
 */
export const USCC_KNOWN_EXCEPTIONS: readonly string[] = Object.freeze([
  '91350100M0001TGQXM',
  '91350211M0000XUF46',
  '91350203M0001FUE2P',
  '91350203M0001QAY9B',
])

/** The check character for the first 17 characters of a USCC, or undefined if they use illegal characters. */
export function usccCheckChar(first17: string): string | undefined {
  if (first17.length !== 17) return undefined
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const value = USCC_CHARS.indexOf(first17.charAt(i))
    if (value < 0) return undefined
    sum += value * (USCC_WEIGHTS[i] as number)
  }
  return USCC_CHARS.charAt((31 - (sum % 31)) % 31)
}

/** True when the code has the GB 32100 shape and its check character matches. Exceptions are not consulted. */
export function isUsccChecksumValid(code: string): boolean {
  return USCC_SHAPE.test(code) && usccCheckChar(code.slice(0, 17)) === code.charAt(17)
}

export type UsccVerdict = 'valid' | 'exception' | 'invalid'

/** Classifies a USCC: checksum-valid, a known real exception, or invalid. */
export function checkUscc(code: string, exceptions: ReadonlySet<string> = DEFAULT_EXCEPTIONS): UsccVerdict {
  if (isUsccChecksumValid(code)) return 'valid'
  return USCC_SHAPE.test(code) && exceptions.has(code) ? 'exception' : 'invalid'
}
const DEFAULT_EXCEPTIONS: ReadonlySet<string> = new Set(USCC_KNOWN_EXCEPTIONS)

// GB 11714-1997 组织机构代码: 8 body characters (0-9, A=10..Z=35), weights 3,7,9,10,5,8,4,2, mod 11.
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

export function orgCodeCheckChar(body8: string): string | undefined {
  if (body8.length !== 8) return undefined
  let sum = 0
  for (let i = 0; i < 8; i++) {
    const value = Number.parseInt(body8.charAt(i), 36)
    if (Number.isNaN(value)) return undefined
    sum += value * (ORG_WEIGHTS[i] as number)
  }
  const r = 11 - (sum % 11)
  return r === 10 ? 'X' : r === 11 ? '0' : String(r)
}

/** Accepts `XXXXXXXX-X` or `XXXXXXXXX`. */
export function isOrgCodeValid(code: string): boolean {
  const compact = code.length === 10 && code.charAt(8) === '-' ? code.slice(0, 8) + code.charAt(9) : code
  return /^[0-9A-Z]{8}[0-9X]$/.test(compact) && orgCodeCheckChar(compact.slice(0, 8)) === compact.charAt(8)
}

// GB 11643-1999 公民身份号码: ISO 7064 MOD 11-2.
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'
/** GB/T 2260 province-level prefixes (first two digits of any division code). */
export const PROVINCE_PREFIXES: ReadonlySet<string> = new Set([
  '11',
  '12',
  '13',
  '14',
  '15',
  '21',
  '22',
  '23',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '37',
  '41',
  '42',
  '43',
  '44',
  '45',
  '46',
  '50',
  '51',
  '52',
  '53',
  '54',
  '61',
  '62',
  '63',
  '64',
  '65',
  '71',
  '81',
  '82',
])

export function residentIdCheckChar(first17: string): string | undefined {
  if (!/^\d{17}$/.test(first17)) return undefined
  let sum = 0
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * (ID_WEIGHTS[i] as number)
  return ID_CHECK.charAt(sum % 11)
}

export type ResidentIdProblem = 'shape' | 'region' | 'birth-date' | 'check-digit'

/**
 * Checks an 18-digit 公民身份号码: shape, province-level region, a real birth date not after `today`, and the check
 * digit. Lower-case `x` is accepted (normalise with `normaliseResidentId`). The county part of the region is not
 * checked: numbers keep the county code of issuance, which may have been retired decades ago.
 */
export function residentIdProblem(id: string, today: Date = new Date()): ResidentIdProblem | undefined {
  if (!/^\d{17}[\dXx]$/.test(id)) return 'shape'
  if (!PROVINCE_PREFIXES.has(id.slice(0, 2))) return 'region'
  const year = Number(id.slice(6, 10))
  const month = Number(id.slice(10, 12))
  const day = Number(id.slice(12, 14))
  const birth = new Date(Date.UTC(year, month - 1, day))
  if (
    year < 1800 ||
    birth.getUTCFullYear() !== year ||
    birth.getUTCMonth() !== month - 1 ||
    birth.getUTCDate() !== day ||
    birth.getTime() > today.getTime()
  ) {
    return 'birth-date'
  }
  if (residentIdCheckChar(id.slice(0, 17)) !== id.charAt(17).toUpperCase()) return 'check-digit'
  return undefined
}

export function isResidentIdValid(id: string, today?: Date): boolean {
  return residentIdProblem(id, today) === undefined
}

export function normaliseResidentId(id: string): string {
  return id.length === 18 && id.charAt(17) === 'x' ? `${id.slice(0, 17)}X` : id
}

/**
 * 投资项目代码 (GB/T 40058-2021 and the 2016–2020 legacy layout): 24 characters, `dddd-dddddd-dd-dd-dddddd`.
 * The check-digit algorithm of the new format is not public (primer §3.4), so only the shape and the region
 * segment's province prefix are checked; existence is the provider's business.
 */
const PROJECT_CODE_SHAPE = /^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$/

export type ProjectCodeFormat = 'current' | 'legacy'

export function isInvestmentProjectCode(code: string): boolean {
  return PROJECT_CODE_SHAPE.test(code) && PROVINCE_PREFIXES.has(code.slice(5, 7))
}

/**
 * Heuristic from primer §3.4: the current format starts with YYMM (month 01–12), the legacy one with a year
 * 2015–2020 whose last two digits are not a month. Prefer a format flag from the source system when it has one.
 */
export function projectCodeFormat(code: string): ProjectCodeFormat | undefined {
  if (!isInvestmentProjectCode(code)) return undefined
  const lastTwo = Number(code.slice(2, 4))
  return lastTwo >= 1 && lastTwo <= 12 ? 'current' : 'legacy'
}
