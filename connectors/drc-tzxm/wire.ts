// Over 400 lines: the whole .asmx SOAP wire format, shared by the connector and its simulator
import { XMLParser, XMLValidator } from 'fast-xml-parser'

/**
 * Wire format of the 投资项目在线审批监管平台 data-exchange web service: an ASP.NET-style `.asmx` SOAP 1.1 service
 * (primer §4.4) whose methods take two strings, `ValidateData` (a shared token) and `ParasXml` (business XML declared
 * `gb2312`, carried escaped inside the envelope), and answer a string holding result XML. Element names of the
 * business XML follow the platform, in Chinese.
 *
 * Shared by the connector and its simulator. Everything XML goes through fast-xml-parser (parsing) or the small
 * escaping builder below (writing); nothing here inspects XML with regular expressions.
 */

/** Default path of the service under `baseUrl`. */
export const DEFAULT_PATH = '/TzxmExchange/ExchangeService.asmx'

/** Target namespace of the service (the ASP.NET default). */
export const SERVICE_NAMESPACE = 'http://tempuri.org/'
export const SOAP_ENVELOPE_NAMESPACE = 'http://schemas.xmlsoap.org/soap/envelope/'

/** Declared on requests and answers. The bytes are GB18030, of which GBK is a subset (real platforms do this). */
export const XML_CONTENT_TYPE = 'text/xml; charset=GBK'
/** Encoding of the bytes on the wire, whatever the declaration says (GBK and GB2312 are subsets). */
export const WIRE_ENCODING = 'gb18030'

/** Service methods. */
export const METHODS = {
  /** 项目基本信息 by 项目代码. */
  projectInfo: 'GetProjectInfo',
  /** Projects of one 项目单位 by its 统一社会信用代码. */
  companyProjects: 'GetProjectsByCompany',
  /** 审批/核准/备案 results (and parallel approvals of other departments) of one project. */
  approvalResults: 'GetApprovalResults',
  /** 住建 returns a construction-permit result to the platform (primer §6.3 #5). */
  pushConstructionPermit: 'PushConstructionPermit',
  /** Heartbeat: takes only ValidateData, answers result code 1. */
  ping: 'Ping',
} as const

export type MethodName = (typeof METHODS)[keyof typeof METHODS]

export const METHOD_NAMES: ReadonlySet<string> = new Set(Object.values(METHODS))

/** The SOAPAction header of a method, quoted as ASP.NET clients send it. */
export function soapAction(method: string): string {
  return `"${SERVICE_NAMESPACE}${method}"`
}

/** The two string parameters of every method (Ping takes only the first). */
export const PARAM_VALIDATE_DATA = 'ValidateData'
export const PARAM_PARAS_XML = 'ParasXml'

/** Result codes inside the result XML. */
export const RESULT_CODES = { ok: '1', failure: '0' } as const

/** Error codes carried in `<detail><errorCode>` of a SOAP fault. */
export const FAULT_CODES = {
  /** 项目代码不存在 (soap:Client). */
  projectNotFound: 'E1001',
  /** ValidateData 无效 (soap:Client). */
  invalidToken: 'E1002',
  /** 参数格式错误 (soap:Client). */
  badParameter: 'E1003',
  /** 系统繁忙 (soap:Server). */
  busy: 'E9999',
} as const

/** Standard meanings, used in error messages when the upstream faultstring cannot be shown. */
export const FAULT_MEANINGS: Readonly<Record<string, string>> = {
  E1001: '项目代码不存在',
  E1002: 'ValidateData 无效',
  E1003: '参数格式错误',
  E9999: '系统繁忙',
}

/** Business XML element names (as the platform spells them). */
export const EL = {
  paras: 'paras',
  result: 'result',
  code: 'code',
  message: 'message',
  data: 'data',
  project: '项目',
  projectCode: '项目代码',
  projectName: '项目名称',
  company: '项目单位',
  companyName: '单位名称',
  uscc: '统一社会信用代码',
  location: '建设地点',
  scaleAndContent: '建设规模及内容',
  totalInvestment: '总投资',
  industry: '行业',
  projectType: '项目类型',
  approvingAuthority: '审批部门',
  registeredDate: '登记日期',
  /** Optional: not every platform version sends it; otherwise the division comes from the project code. */
  divisionCode: '行政区划代码',
  approval: '审批记录',
  matterName: '审批事项',
  approvalResult: '审批结果',
  approvalDocNo: '批复文号',
  completedAt: '办结时间',
  permitNo: '施工许可证编号',
  issueDate: '发证日期',
  issuingAuthority: '发证机关',
  contractPrice: '合同价格',
  floorArea: '建筑面积',
  plannedStartDate: '计划开工日期',
  plannedCompletionDate: '计划竣工日期',
  receiptId: '回执编号',
  acceptedAt: '接收时间',
  serverTime: '服务时间',
} as const

/** 项目单位 as served (LEREP_INFO of the platform database). */
export interface CompanyWire {
  单位名称: string
  统一社会信用代码: string
}

/** One `<项目>` of GetProjectInfo / GetProjectsByCompany. Amounts in 万元 and dates (`yyyyMMdd`) are strings. */
export interface ProjectWire {
  项目代码: string
  项目名称: string
  项目单位: CompanyWire[]
  建设地点: string
  建设规模及内容: string
  总投资: string
  行业: string
  /** 审批, 核准 or 备案. */
  项目类型: string
  审批部门: string
  登记日期: string
  行政区划代码?: string
}

/** One `<审批记录>` of GetApprovalResults. */
export interface ApprovalWire {
  项目代码: string
  审批事项: string
  /** 同意, 不同意 or 已备案. */
  审批结果: string
  /** Absent for some 备案 results. */
  批复文号?: string
  /** yyyyMMddHHmmss, Asia/Shanghai. */
  办结时间: string
  审批部门: string
}

/** `<paras>` of PushConstructionPermit, in this order. */
export const PERMIT_PARAS = [
  EL.projectCode,
  EL.permitNo,
  EL.issueDate,
  EL.issuingAuthority,
  EL.contractPrice,
  EL.floorArea,
  EL.plannedStartDate,
  EL.plannedCompletionDate,
] as const

// ---------------------------------------------------------------------------------------------------------------
// Building

/** A node of XML to write: an element name and its text or child elements. */
export type XmlNode = readonly [name: string, content: XmlContent]
export type XmlContent = string | readonly XmlNode[]

/** Characters XML 1.0 can carry (no C0 controls but tab/newline/return, no lone surrogates, no U+FFFE/U+FFFF). */
const XML_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u

/** True when the text can be carried in XML 1.0. */
export function isXmlSafe(text: string): boolean {
  return XML_CHARS.test(text)
}

/**
 * Escapes text content for XML as ASP.NET's XmlWriter does (`&`, `<`, `>`; CR as a reference). Throws a
 * WireFormatError on characters XML cannot carry.
 */
export function escapeXml(text: string): string {
  if (!isXmlSafe(text)) throw new WireFormatError('text holds characters XML 1.0 cannot carry')
  let out = ''
  for (const ch of text) {
    switch (ch) {
      case '&':
        out += '&amp;'
        break
      case '<':
        out += '&lt;'
        break
      case '>':
        out += '&gt;'
        break
      case '\r':
        // A raw CR would be normalised away by the reader.
        out += '&#13;'
        break
      default:
        out += ch
    }
  }
  return out
}

/** Serialises nodes without whitespace between elements. Empty text gives `<name/>`. */
export function writeXml(nodes: readonly XmlNode[]): string {
  let out = ''
  for (const [name, content] of nodes) {
    if (content === '' || (typeof content !== 'string' && content.length === 0)) out += `<${name}/>`
    else out += `<${name}>${typeof content === 'string' ? escapeXml(content) : writeXml(content)}</${name}>`
  }
  return out
}

/** The inner declaration every platform string carries. The string is text, so the declared encoding is moot. */
export const INNER_DECLARATION = '<?xml version="1.0" encoding="gb2312"?>'
const OUTER_DECLARATION = '<?xml version="1.0" encoding="GBK"?>'
const ENVELOPE_OPEN =
  `<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
  `xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="${SOAP_ENVELOPE_NAMESPACE}"><soap:Body>`
const ENVELOPE_CLOSE = '</soap:Body></soap:Envelope>'

/** `<?xml … encoding="gb2312"?><paras>…</paras>` with the given parameters in order. */
export function buildParasXml(paras: readonly (readonly [string, string])[]): string {
  return `${INNER_DECLARATION}${writeXml([[EL.paras, paras.map(([name, value]) => [name, value] as const)]])}`
}

/** A request envelope. `parasXml` is sent as an escaped string; Ping has none. */
export function buildRequestEnvelope(method: string, validateData: string, parasXml?: string): string {
  const params: XmlNode[] = [[PARAM_VALIDATE_DATA, validateData]]
  if (parasXml !== undefined) params.push([PARAM_PARAS_XML, parasXml])
  return `${OUTER_DECLARATION}${ENVELOPE_OPEN}<${method} xmlns="${SERVICE_NAMESPACE}">${writeXml(params)}</${method}>${ENVELOPE_CLOSE}`
}

/** `<?xml … encoding="gb2312"?><result><code/><message/><data>…</data></result>`. */
export function buildResultXml(code: string, message: string, data?: readonly XmlNode[]): string {
  const nodes: XmlNode[] = [
    [EL.code, code],
    [EL.message, message],
  ]
  if (data !== undefined) nodes.push([EL.data, data])
  return `${INNER_DECLARATION}${writeXml([[EL.result, nodes]])}`
}

/** An answer envelope: `<MethodResponse><MethodResult>` holding the result XML as an escaped string. */
export function buildResponseEnvelope(method: string, result: string): string {
  return (
    `${OUTER_DECLARATION}${ENVELOPE_OPEN}<${method}Response xmlns="${SERVICE_NAMESPACE}">` +
    `${writeXml([[`${method}Result`, result]])}</${method}Response>${ENVELOPE_CLOSE}`
  )
}

export interface SoapFault {
  /** `soap:Client`, `soap:Server`, … as sent. */
  readonly faultcode: string
  readonly faultstring: string
  /** `<detail><errorCode>`, when present. */
  readonly errorCode?: string
}

/** A SOAP 1.1 fault envelope (sent with HTTP 500). */
export function buildFaultEnvelope(fault: SoapFault): string {
  const detail: XmlNode[] = fault.errorCode === undefined ? [] : [['errorCode', fault.errorCode]]
  return `${OUTER_DECLARATION}${ENVELOPE_OPEN}${writeXml([
    [
      'soap:Fault',
      [
        ['faultcode', fault.faultcode],
        ['faultstring', fault.faultstring],
        ['detail', detail],
      ],
    ],
  ])}${ENVELOPE_CLOSE}`
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

/** The XML could not be read as the protocol says. Messages name shapes, never values. */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WireFormatError'
  }
}

/** Elements that repeat inside `<data>`: always arrays, even when there is one. */
const REPEATED = new Set([
  `${EL.result}.${EL.data}.${EL.project}`,
  `${EL.result}.${EL.data}.${EL.project}.${EL.company}`,
  `${EL.result}.${EL.data}.${EL.approval}`,
])

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' }
const REFERENCE = /&(?:#(\d{1,7})|#x([0-9A-Fa-f]{1,6})|(amp|apos|gt|lt|quot));/g

/**
 * Decodes the five predefined entities and numeric character references (`&#x20BB7;`, which a GBK-only writer uses
 * for characters outside GBK) in text the parser has already delimited. A reference to a code point XML cannot
 * carry, and any other named entity, stays as written.
 */
export function decodeXmlReferences(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(
    REFERENCE,
    (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
      if (name !== undefined) return PREDEFINED_ENTITIES[name] ?? whole
      const codePoint = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16)
      if (!Number.isInteger(codePoint) || codePoint > 0x10ffff) return whole
      const ch = String.fromCodePoint(codePoint)
      return isXmlSafe(ch) ? ch : whole
    },
  )
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Codes like 00012 and amounts like 12345.60 stay text; mapping.ts converts.
  parseTagValue: false,
  trimValues: true,
  entityDecoder: {
    decode: decodeXmlReferences,
    // Entities declared in a DOCTYPE are never expanded (SOAP forbids DTDs): their references stay as written.
    addInputEntities: () => undefined,
    setExternalEntities: () => undefined,
    reset: () => undefined,
    setXmlVersion: () => undefined,
  },
  isArray: (_name, jPath) => typeof jPath === 'string' && REPEATED.has(jPath),
  maxNestedTags: 32,
})

/** A parsed element: text, or an object of child elements (arrays where repeated). */
export type XmlValue = string | XmlObject | XmlValue[]
export interface XmlObject {
  readonly [name: string]: XmlValue
}

/** Parses a well-formed XML document into plain objects. `what` names the document in error messages. */
export function parseXml(text: string, what: string): XmlObject {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  if (body.trim() === '') throw new WireFormatError(`${what} is empty`)
  if (XMLValidator.validate(body) !== true) throw new WireFormatError(`${what} is not well-formed XML`)
  let parsed: unknown
  try {
    parsed = parser.parse(body)
  } catch {
    throw new WireFormatError(`${what} could not be parsed as XML`)
  }
  if (!isXmlObject(parsed)) throw new WireFormatError(`${what} has no root element`)
  return parsed
}

export function isXmlObject(value: unknown): value is XmlObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Text of an element: its string, or the `#text` of an element that also has (ignored) children. */
export function textOf(value: XmlValue | undefined): string | undefined {
  if (typeof value === 'string') return value
  if (isXmlObject(value) && typeof value['#text'] === 'string') return value['#text']
  return undefined
}

/** The one child element `name` of `node`; a WireFormatError when it is missing or repeated. */
function child(node: XmlObject, name: string, what: string): XmlValue {
  const value = node[name]
  if (value === undefined) throw new WireFormatError(`${what} has no ${name}`)
  if (Array.isArray(value)) throw new WireFormatError(`${what} has more than one ${name}`)
  return value
}

function soapBody(text: string, what: string): XmlObject {
  const doc = parseXml(text, what)
  const envelope = child(doc, 'Envelope', what)
  if (!isXmlObject(envelope)) throw new WireFormatError(`${what} has an empty Envelope`)
  const body = child(envelope, 'Body', `${what} Envelope`)
  if (!isXmlObject(body)) throw new WireFormatError(`${what} has an empty Body`)
  return body
}

export type SoapAnswer =
  | { readonly kind: 'result'; readonly result: string }
  | { readonly kind: 'fault'; readonly fault: SoapFault }

/**
 * Reads an answer envelope: either the `<MethodResult>` string (still to be parsed with `parseResultXml`) or a
 * fault. The result string is already decoded text whatever its own declaration says: it is parsed as it is, never
 * re-encoded or decoded a second time.
 */
export function parseResponseEnvelope(text: string, method: string): SoapAnswer {
  const body = soapBody(text, 'answer')
  const fault = body.Fault
  if (fault !== undefined) return { kind: 'fault', fault: readFault(fault) }
  const response = child(body, `${method}Response`, 'answer Body')
  if (!isXmlObject(response)) throw new WireFormatError(`answer has an empty ${method}Response`)
  const result = textOf(child(response, `${method}Result`, `${method}Response`))
  if (result === undefined) throw new WireFormatError(`${method}Result is not text`)
  if (result === '') throw new WireFormatError(`${method}Result is empty`)
  return { kind: 'result', result }
}

function readFault(fault: XmlValue): SoapFault {
  if (!isXmlObject(fault)) throw new WireFormatError('Fault is empty')
  const faultcode = textOf(child(fault, 'faultcode', 'Fault'))
  if (faultcode === undefined || faultcode === '') throw new WireFormatError('Fault has no faultcode text')
  const faultstring = textOf(fault.faultstring) ?? ''
  const detail = fault.detail
  const errorCode = isXmlObject(detail) ? textOf(detail.errorCode) : undefined
  return errorCode ? { faultcode, faultstring, errorCode } : { faultcode, faultstring }
}

/** `soap:Client` → `Client`. */
export function faultCodeName(faultcode: string): string {
  const colon = faultcode.lastIndexOf(':')
  return colon < 0 ? faultcode : faultcode.slice(colon + 1)
}

export interface ResultXml {
  readonly code: string
  readonly message: string
  /** `<data>`: an object of repeated children, `''` when empty, undefined when absent. */
  readonly data: XmlValue | undefined
}

/** Parses the result XML string of a `<MethodResult>`. */
export function parseResultXml(text: string): ResultXml {
  const doc = parseXml(text, 'result XML')
  const result = child(doc, EL.result, 'result XML')
  if (!isXmlObject(result)) throw new WireFormatError('result XML has an empty result element')
  const code = textOf(child(result, EL.code, 'result'))
  if (code === undefined || code === '') throw new WireFormatError('result has no code text')
  const message = textOf(result[EL.message]) ?? ''
  const data = result[EL.data]
  if (Array.isArray(data)) throw new WireFormatError('result has more than one data')
  return { code, message, data }
}

export interface RequestEnvelope {
  readonly method: string
  readonly validateData: string | undefined
  readonly parasXml: string | undefined
}

/** Reads a request envelope (simulator side). */
export function parseRequestEnvelope(text: string): RequestEnvelope {
  const body = soapBody(text, 'request')
  const names = Object.keys(body)
  if (names.length !== 1) throw new WireFormatError('request Body must hold exactly one method element')
  const method = names[0] as string
  const call = body[method]
  if (Array.isArray(call)) throw new WireFormatError('request Body repeats its method element')
  if (!isXmlObject(call)) return { method, validateData: undefined, parasXml: undefined }
  const param = (name: string) => {
    const value = call[name]
    if (Array.isArray(value)) throw new WireFormatError(`request repeats ${name}`)
    return textOf(value)
  }
  return { method, validateData: param(PARAM_VALIDATE_DATA), parasXml: param(PARAM_PARAS_XML) }
}

/** Reads `<paras>` into element name → text (simulator side). Nested or repeated parameters are refused. */
export function parseParasXml(text: string): Record<string, string> {
  const doc = parseXml(text, 'ParasXml')
  const paras = child(doc, EL.paras, 'ParasXml')
  if (paras === '') return {}
  if (!isXmlObject(paras)) throw new WireFormatError('paras is not an element list')
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(paras)) {
    if (typeof value !== 'string') throw new WireFormatError(`paras ${name} is not text`)
    out[name] = value
  }
  return out
}
