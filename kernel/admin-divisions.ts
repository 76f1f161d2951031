import table from './data/admin-divisions.generated.json' with { type: 'json' }

/**
 * GB/T 2260 行政区划代码 lookup (primer §3.5): no check digit, so a code is valid when the table knows it.
 * Retired codes stay valid, because historic projects and records keep the code they were issued under.
 */
const current: Readonly<Record<string, string>> = table.current
const retired: Readonly<Record<string, string>> = table.retired

export type DivisionStatus = 'current' | 'retired'

export function divisionStatus(code: string): DivisionStatus | undefined {
  if (Object.hasOwn(current, code)) return 'current'
  if (Object.hasOwn(retired, code)) return 'retired'
  return undefined
}

export function isAdminDivisionCode(code: string): boolean {
  return /^\d{6}$/.test(code) && divisionStatus(code) !== undefined
}

/** The division's own name (e.g. 玄武区), current or retired. */
export function divisionName(code: string): string | undefined {
  return current[code] ?? retired[code]
}

/** Province, city and county names joined (e.g. 江苏省南京市玄武区); 市辖区 and 县 placeholders are skipped. */
export function divisionFullName(code: string): string | undefined {
  const own = divisionName(code)
  if (own === undefined) return undefined
  const province = divisionName(`${code.slice(0, 2)}0000`)
  const city = divisionName(`${code.slice(0, 4)}00`)
  const parts = [province]
  if (code.slice(2, 4) !== '00' && city !== undefined && city !== '市辖区' && city !== '县') parts.push(city)
  if (code.slice(4, 6) !== '00') parts.push(own)
  return parts.filter((p): p is string => p !== undefined).join('')
}

/** Current county-level codes, for generating seed data. */
export function currentCountyCodes(): string[] {
  return Object.keys(current).filter((code) => !code.endsWith('00'))
}

export const divisionTableSource: string = table.source
