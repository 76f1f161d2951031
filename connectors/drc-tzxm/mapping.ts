import { isAdminDivisionCode } from '../kit/admin-divisions.js'
import { isRealDate, isRealTimeOfDay, parseDecimalText } from '../kit/legacy-values.js'
import type { CanonicalRecord, WriteReceipt } from '../kit/types.js'
import { EL, isXmlObject, PERMIT_PARAS, textOf, type XmlObject, type XmlValue } from './wire.js'

/**
 * Pure functions between the platform's business XML (already parsed by wire.ts into plain objects with Chinese
 * element names) and canonical records, plus the write body → `<paras>` conversion.
 *
 * - Present elements are converted: text trimmed, `yyyyMMdd` dates to ISO `YYYY-MM-DD`, `yyyyMMddHHmmss` times to
 *   ISO 8601 with `+08:00`, amounts-as-text to JSON numbers (万元, not converted), 项目类型 and 审批结果 to enums,
 *   USCCs to upper case.
 * - Unknown elements are dropped.
 * - A missing or empty element leaves the canonical field out; the gateway's response-schema validation decides
 *   whether that is acceptable.
 * - A value that is present but does not parse throws a `MappingError` naming the element, never the value.
 */

export class MappingError extends Error {
  readonly element: string
  constructor(element: string, problem: string) {
    super(`${element} ${problem}`)
    this.name = 'MappingError'
    this.element = element
  }
}

/** Parameters of `projectInfo` and `approvalResults` (by-project-code.request.json). */
export interface ByProjectCodeParams {
  readonly projectCode: string
}

/** Parameters of `companyProjects` (by-company.request.json). */
export interface ByCompanyParams {
  readonly companyUscc: string
}

/** Body of `pushConstructionPermit` (permit-feedback.write.json). */
export interface PermitFeedbackBody {
  readonly projectCode: string
  /** 施工许可证编号, 18 digits. */
  readonly permitNo: string
  /** YYYY-MM-DD. */
  readonly issueDate: string
  readonly issuingAuthority: string
  readonly contractPriceWanYuan: number
  readonly totalFloorAreaM2: number
  readonly plannedStartDate: string
  readonly plannedCompletionDate: string
}

export type ProjectType = 'approval' | 'ratification' | 'filing'
export type ApprovalOutcome = 'approved' | 'rejected' | 'filed'

/** `<项目>` → drc.investment-project (also drc.company-projects), in the record schema's property order. */
export function mapProject(node: unknown): CanonicalRecord {
  const p = asNode(node, EL.project)
  const record: CanonicalRecord = {}
  const projectCode = text(p, EL.projectCode)
  put(record, 'projectCode', projectCode)
  put(record, 'projectName', text(p, EL.projectName))
  const company = companiesOf(p)[0]
  if (company) {
    put(record, 'companyName', text(company, EL.companyName))
    put(record, 'companyUscc', text(company, EL.uscc)?.toUpperCase())
  }
  put(record, 'location', text(p, EL.location))
  put(record, 'divisionCode', text(p, EL.divisionCode) ?? divisionFromProjectCode(projectCode))
  put(record, 'scaleAndContent', text(p, EL.scaleAndContent))
  put(record, 'totalInvestmentWanYuan', convert(p, EL.totalInvestment, parseLegacyNumber, 'is not a decimal number'))
  put(record, 'industry', text(p, EL.industry))
  put(record, 'projectType', convert(p, EL.projectType, parseProjectType, 'is not 审批, 核准 or 备案'))
  put(record, 'approvingAuthority', text(p, EL.approvingAuthority))
  put(record, 'registeredDate', convert(p, EL.registeredDate, parseLegacyDate, 'is not a yyyyMMdd date'))
  return record
}

/** `<审批记录>` → drc.approval-result. */
export function mapApprovalResult(node: unknown): CanonicalRecord {
  const a = asNode(node, EL.approval)
  const record: CanonicalRecord = {}
  put(record, 'projectCode', text(a, EL.projectCode))
  put(record, 'matterName', text(a, EL.matterName))
  put(record, 'result', convert(a, EL.approvalResult, parseApprovalOutcome, 'is not 同意, 不同意 or 已备案'))
  put(record, 'approvalDocNo', text(a, EL.approvalDocNo))
  put(record, 'completedAt', convert(a, EL.completedAt, parseLegacyDateTime, 'is not a yyyyMMddHHmmss time'))
  put(record, 'authority', text(a, EL.approvingAuthority))
  return record
}

/** The `<项目单位>` elements of a project (LEREP_INFO may list co-applicants; the first is the lead company). */
export function companiesOf(project: XmlObject): XmlObject[] {
  const value = project[EL.company]
  if (value === undefined || value === '') return []
  const list = Array.isArray(value) ? value : [value]
  return list.map((c, i) => asNode(c, `${EL.company}[${i}]`))
}

/** Upper-cased USCCs of every 项目单位 of a project. */
export function companyUsccsOf(project: XmlObject): string[] {
  return companiesOf(project)
    .map((c) => text(c, EL.uscc)?.toUpperCase())
    .filter((u): u is string => u !== undefined)
}

/** `<data>` received for a write → the receipt. */
export function mapReceipt(data: unknown): WriteReceipt {
  const d = asNode(data, EL.data)
  const receiptId = text(d, EL.receiptId)
  if (receiptId === undefined) throw new MappingError(EL.receiptId, 'is missing')
  const acceptedAt = convert(d, EL.acceptedAt, parseLegacyDateTime, 'is not a yyyyMMddHHmmss time')
  if (acceptedAt === undefined) throw new MappingError(EL.acceptedAt, 'is missing')
  return { receiptId, acceptedAt }
}

/** The write body as `<paras>` entries, in PERMIT_PARAS order: dates `yyyyMMdd`, amounts plain decimals. */
export function toPermitParas(body: PermitFeedbackBody): Array<[string, string]> {
  const values: Record<(typeof PERMIT_PARAS)[number], string> = {
    [EL.projectCode]: bodyText(body.projectCode, 'projectCode'),
    [EL.permitNo]: bodyText(body.permitNo, 'permitNo'),
    [EL.issueDate]: compactDate(body.issueDate, 'issueDate'),
    [EL.issuingAuthority]: bodyText(body.issuingAuthority, 'issuingAuthority'),
    [EL.contractPrice]: formatDecimal(body.contractPriceWanYuan, 'contractPriceWanYuan'),
    [EL.floorArea]: formatDecimal(body.totalFloorAreaM2, 'totalFloorAreaM2'),
    [EL.plannedStartDate]: compactDate(body.plannedStartDate, 'plannedStartDate'),
    [EL.plannedCompletionDate]: compactDate(body.plannedCompletionDate, 'plannedCompletionDate'),
  }
  return PERMIT_PARAS.map((name) => [name, values[name]])
}

/**
 * The GB/T 2260 division in a project code's region segment (characters 6–11 of both layouts, primer §3.4), when
 * the division table knows it. Special codes (e.g. 310052 for the 长三角示范区) and department codes of legacy
 * codes give undefined.
 */
export function divisionFromProjectCode(code: string | undefined): string | undefined {
  if (code === undefined || code.length !== 24) return undefined
  const region = code.slice(5, 11)
  return isAdminDivisionCode(region) ? region : undefined
}

const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/
const DASHED_DATE = /^(\d{4})[-/](\d{2})[-/](\d{2})$/
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/
const COMPACT_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/
const DASHED_TIME = /^(\d{4})[-/](\d{2})[-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/

/** `yyyyMMdd` (also `yyyy-MM-dd`, `yyyy/MM/dd`) → `YYYY-MM-DD`; undefined unless a real date in 1900–2199. */
export function parseLegacyDate(value: string): string | undefined {
  const m = COMPACT_DATE.exec(value) ?? DASHED_DATE.exec(value)
  if (!m) return undefined
  const [, y, mo, d] = m as unknown as [string, string, string, string]
  return isRealDate(y, mo, d) ? `${y}-${mo}-${d}` : undefined
}

/**
 * `yyyyMMddHHmmss` (also `yyyy-MM-dd HH:mm:ss`) Asia/Shanghai wall-clock → ISO 8601 with `+08:00`
 * (`2024-03-15T10:20:30+08:00`); undefined unless a real date and time.
 */
export function parseLegacyDateTime(value: string): string | undefined {
  const m = COMPACT_TIME.exec(value) ?? DASHED_TIME.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s] = m as unknown as [string, string, string, string, string, string, string]
  if (!isRealDate(y, mo, d) || !isRealTimeOfDay(h, mi, s)) return undefined
  return `${y}-${mo}-${d}T${h}:${mi}:${s}+08:00`
}

/** `"12345.67"`, `"1,234.5"` → number. Units are not converted (the platform uses 万元). Undefined otherwise. */
export function parseLegacyNumber(value: string): number | undefined {
  return parseDecimalText(value, { grouped: true })
}

/** 项目类型 → enum. The 2-digit type codes of the project code (01/02/03) are accepted too. */
export function parseProjectType(value: string): ProjectType | undefined {
  switch (value) {
    case '审批':
    case '审批类':
    case '01':
      return 'approval'
    case '核准':
    case '核准类':
    case '02':
      return 'ratification'
    case '备案':
    case '备案类':
    case '03':
      return 'filing'
    default:
      return undefined
  }
}

/** 审批结果 → enum. */
export function parseApprovalOutcome(value: string): ApprovalOutcome | undefined {
  switch (value) {
    case '同意':
    case '通过':
    case '准予':
    case '批准':
      return 'approved'
    case '不同意':
    case '不通过':
    case '不予':
    case '不予批准':
      return 'rejected'
    case '已备案':
    case '备案':
      return 'filed'
    default:
      return undefined
  }
}

/** A write amount as a plain decimal (no exponent, at most 6 decimals, no trailing zeros). */
export function formatDecimal(n: number, field: string): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n >= 1e15) {
    throw new MappingError(field, 'is not a non-negative amount below 1e15')
  }
  if (Number.isInteger(n)) return String(n + 0)
  const fixed = n.toFixed(6)
  let end = fixed.length
  while (fixed.charAt(end - 1) === '0') end--
  if (fixed.charAt(end - 1) === '.') end--
  return fixed.slice(0, end)
}

function compactDate(value: string, field: string): string {
  if (typeof value !== 'string' || !ISO_DATE.test(value) || parseLegacyDate(value) === undefined) {
    throw new MappingError(field, 'is not a YYYY-MM-DD date')
  }
  return value.slice(0, 4) + value.slice(5, 7) + value.slice(8, 10)
}

function bodyText(value: string, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new MappingError(field, 'is not a non-empty string')
  return value.trim()
}

function asNode(value: unknown, element: string): XmlObject {
  if (!isXmlObject(value)) throw new MappingError(element, 'is not an element with children')
  return value
}

function text(node: XmlObject, element: string): string | undefined {
  const value = node[element]
  if (value === undefined) return undefined
  if (Array.isArray(value)) throw new MappingError(element, 'is repeated')
  const t = textOf(value as XmlValue)
  if (t === undefined) throw new MappingError(element, 'has child elements where text was expected')
  const trimmed = t.trim()
  return trimmed === '' ? undefined : trimmed
}

function convert<T>(
  node: XmlObject,
  element: string,
  parse: (value: string) => T | undefined,
  problem: string,
): T | undefined {
  const t = text(node, element)
  if (t === undefined) return undefined
  const value = parse(t)
  if (value === undefined) throw new MappingError(element, problem)
  return value
}

function put(record: CanonicalRecord, field: string, value: unknown): void {
  if (value !== undefined) record[field] = value
}
