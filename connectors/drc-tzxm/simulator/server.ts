// Over 400 lines: one simulated SOAP service: routing, fault knobs, answers over one index
import type { IncomingMessage, ServerResponse } from 'node:http'
import iconv from 'iconv-lite'
import {
  flattenHeaders,
  type HttpSimulatorOptions,
  readRequestBody,
  sendBody,
  sendHtmlPage,
} from '../../kit/simulator-http.js'
import {
  checkSimulatorKnobs,
  type RunningHttpSimulator,
  type SimulatorKnobs,
  startKnobbedServer,
} from '../../kit/simulator-knobs.js'
import {
  type ApprovalWire,
  buildFaultEnvelope,
  buildResponseEnvelope,
  buildResultXml,
  DEFAULT_PATH,
  EL,
  FAULT_CODES,
  FAULT_MEANINGS,
  METHOD_NAMES,
  METHODS,
  PERMIT_PARAS,
  type ProjectWire,
  parseParasXml,
  parseRequestEnvelope,
  RESULT_CODES,
  SERVICE_NAMESPACE,
  type SoapFault,
  WIRE_ENCODING,
  WireFormatError,
  XML_CONTENT_TYPE,
  type XmlNode,
} from '../wire.js'
import { DEFAULT_SEED, type DrcDataset, drcDataset } from './seed.js'

/**
 * A stand-in for the 投资在线平台 data-exchange web service: a real node:http server speaking SOAP 1.1 like an ASP.NET
 * `.asmx` service (ValidateData + ParasXml string parameters, result XML returned as a string, SOAP faults with
 * HTTP 500), answering in GB18030 bytes while declaring GBK, serving deterministic seed data, storing pushed
 * construction permits in memory, with knobs for latency and faults.
 */

export const DRC_FAULTS = [
  'none',
  'http-500',
  'http-503',
  'reset',
  'malformed',
  'soap-fault',
  'schema-violation',
  'hang',
] as const

export type DrcFault = (typeof DRC_FAULTS)[number]

/**
 * Knobs (connectors/kit/simulator-knobs.ts). `faultRate` is the share of service requests (Ping and writes
 * included) that get the fault. The faults:
 * - `http-500` / `http-503`: an IIS-style HTML error page with that status (no SOAP fault);
 * - `reset`: the socket is reset without an answer;
 * - `malformed`: HTTP 200 with a truncated (not well-formed) envelope;
 * - `soap-fault`: HTTP 500 with a soap:Server fault, error code E9999 (系统繁忙);
 * - `schema-violation`: valid answers whose records map cleanly but break the canonical schema (a USCC with a
 *   wrong check character, a negative 总投资, a 同意 result without 批复文号); writes are not affected;
 * - `hang`: the request is never answered (until the client gives up or the simulator closes).
 */
export type DrcKnobs = SimulatorKnobs<DrcFault>

/**
 * HttpSimulatorOptions (`path` default '/TzxmExchange/ExchangeService.asmx', `now` for 接收时间, 服务时间 and 回执编号),
 * and the token.
 */
export interface DrcSimulatorOptions extends HttpSimulatorOptions {
  /** The token accepted as ValidateData. @default DEFAULT_VALIDATE_DATA */
  readonly validateData?: string
}

/** One service request as received. Kept for tests: the last 100. */
export interface RecordedRequest {
  /** Method element of the Body ('' when the envelope could not be read). */
  readonly method: string
  /** The SOAPAction header as sent. */
  readonly soapAction: string | undefined
  /** Lower-case header names; includes `traceparent` when the caller propagates it. */
  readonly headers: Readonly<Record<string, string>>
  /** The `<paras>` elements (ValidateData is not kept). */
  readonly paras: Readonly<Record<string, string>>
}

/** A pushed construction permit, by 施工许可证编号. */
export interface ReceivedPermit {
  /** How many times it was received (each delivery gets its own receipt). */
  readonly count: number
  /** The `<paras>` of the last delivery, element name → text. */
  readonly body: Readonly<Record<string, string>>
  readonly receiptIds: readonly string[]
}

export interface RunningDrcSimulator extends RunningHttpSimulator<DrcFault, RecordedRequest> {
  readonly data: DrcDataset
  /** Pushed construction permits (PushConstructionPermit), by 施工许可证编号. */
  readonly received: ReadonlyMap<string, ReceivedPermit>
}

export const DEFAULT_VALIDATE_DATA = 'qiao-tzxm-demo-token'
const PROJECT_CODE_SHAPE = /^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$/
const USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXY]{18}$/
const PERMIT_NO_SHAPE = /^\d{18}$/
const DECIMAL = /^\d{1,12}(?:\.\d{1,6})?$/
const SHANGHAI_OFFSET_MS = 8 * 3_600_000

type Outcome = { readonly result: string } | { readonly fault: SoapFault }

/**
 * Starts the simulator.
 *
 * @example
 * const sim = await startDrcSimulator({ port: 0 })
 * sim.setKnobs({ fault: 'soap-fault', faultRate: 0.5 })
 * // … point the connector at sim.url …
 * await sim.close()
 */
export async function startDrcSimulator(options: DrcSimulatorOptions = {}): Promise<RunningDrcSimulator> {
  const token = options.validateData ?? DEFAULT_VALIDATE_DATA
  const path = (options.path ?? DEFAULT_PATH).replace(/\/+$/, '')
  const now = options.now ?? Date.now
  const data = drcDataset(options.seed ?? DEFAULT_SEED)
  const index = buildIndex(data)

  let receiptSerial = 0
  const received = new Map<string, ReceivedPermit>()

  /** Stores a pushed permit and returns its receipt. */
  const receive = (paras: Readonly<Record<string, string>>): XmlNode[] => {
    const at = shanghaiStamp(now())
    receiptSerial += 1
    const receiptId = `HZ${at}${String(receiptSerial).padStart(6, '0')}`
    const permitNo = paras[EL.permitNo] as string
    const previous = received.get(permitNo)
    received.set(permitNo, {
      count: (previous?.count ?? 0) + 1,
      body: { ...paras },
      receiptIds: [...(previous?.receiptIds ?? []), receiptId],
    })
    return [
      [EL.receiptId, receiptId],
      [EL.acceptedAt, at],
    ]
  }

  async function handleService(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') return sendHtml(res, 200, 'ExchangeService Web 服务', helpPage())
    if (req.method !== 'POST') return sendHtml(res, 405, 'Method Not Allowed')
    const bytes = await readRequestBody(req)
    if (bytes === undefined) return sendHtml(res, 413, 'Request Entity Too Large')
    const type = (req.headers['content-type'] ?? '').toLowerCase()
    const soapActionHeader = req.headers.soapaction as string | undefined
    if (!type.startsWith('text/xml')) {
      sim.record({ method: '', soapAction: soapActionHeader, headers: flattenHeaders(req), paras: {} })
      return sendHtml(res, 415, 'Unsupported Media Type')
    }
    // Requests are read as GB18030 (GBK and GB2312 are subsets) unless they say UTF-8.
    const text = iconv.decode(bytes, /charset\s*=\s*"?utf-?8/.test(type) ? 'utf8' : WIRE_ENCODING)
    let envelope: ReturnType<typeof parseRequestEnvelope> | undefined
    let paras: Record<string, string> = {}
    let parasProblem = false
    try {
      envelope = parseRequestEnvelope(text)
      if (envelope.parasXml !== undefined) paras = parseParasXml(envelope.parasXml)
    } catch (err) {
      if (!(err instanceof WireFormatError)) throw err
      if (envelope) parasProblem = true
    }
    sim.record({ method: envelope?.method ?? '', soapAction: soapActionHeader, headers: flattenHeaders(req), paras })

    const turn = await sim.applyKnobs(req)
    if (!turn) return
    const { fault } = turn
    switch (fault) {
      case 'http-500':
        return sendHtml(res, 500, 'Internal Server Error', '<h2>“/TzxmExchange”应用程序中的服务器错误。</h2>')
      case 'http-503':
        res.setHeader('retry-after', '30')
        return sendHtml(res, 503, 'Service Unavailable')
      case 'reset':
        req.socket.resetAndDestroy()
        return
      case 'hang':
        return // Never answered; close() destroys the socket.
      case 'malformed': {
        const method = envelope?.method ?? METHODS.ping
        const whole = buildResponseEnvelope(method, buildResultXml(RESULT_CODES.ok, '成功', []))
        return sendXml(res, 200, whole.slice(0, Math.floor(whole.length * 0.6)))
      }
      case 'soap-fault':
        return sendFault(res, serverFault(FAULT_CODES.busy, '系统繁忙，请稍后再试'))
      default:
        break
    }

    if (!envelope) {
      return sendFault(res, clientFault(undefined, '服务器无法读取请求。 ---> XML 文档中有错误。'))
    }
    const method = envelope.method
    const action = (soapActionHeader ?? '').trim().replace(/^"|"$/g, '')
    if (action !== `${SERVICE_NAMESPACE}${method}` || !METHOD_NAMES.has(method)) {
      return sendFault(res, clientFault(undefined, '服务器未能识别 HTTP 头 SOAPAction 的值。'))
    }
    if (envelope.validateData !== token) {
      return sendFault(res, clientFault(FAULT_CODES.invalidToken, 'ValidateData 无效，请联系平台管理员'))
    }
    if (method === METHODS.ping) {
      return sendResult(res, method, buildResultXml(RESULT_CODES.ok, '成功', [[EL.serverTime, shanghaiStamp(now())]]))
    }
    if (parasProblem || envelope.parasXml === undefined) {
      return sendFault(res, clientFault(FAULT_CODES.badParameter, '参数格式错误：ParasXml'))
    }
    const outcome = answer(method, paras, index, fault === 'schema-violation', receive)
    if ('fault' in outcome) return sendFault(res, outcome.fault)
    return sendResult(res, method, outcome.result)
  }

  const sim = await startKnobbedServer<DrcFault, RecordedRequest>({
    host: options.host,
    port: options.port,
    faults: DRC_FAULTS,
    handle(req, res, pathname) {
      // IIS matches paths case-insensitively.
      if (pathname.toLowerCase() === path.toLowerCase()) return handleService(req, res)
      return sendHtml(res, 404, 'Not Found')
    },
    internalError: (res) => sendHtml(res, 500, 'Internal Server Error'),
  })
  return sim.expose({ data, received })
}

/** Validates a knob patch against the current knobs; throws a TypeError naming the knob. */
export function checkKnobs(current: DrcKnobs, patch: Partial<DrcKnobs>): DrcKnobs {
  return checkSimulatorKnobs(DRC_FAULTS, current, patch)
}

// ---------------------------------------------------------------------------------------------------------------
// Protocol

interface Index {
  readonly projects: ReadonlyMap<string, ProjectWire>
  readonly projectsByCompany: ReadonlyMap<string, readonly ProjectWire[]>
  readonly approvals: ReadonlyMap<string, readonly ApprovalWire[]>
}

function buildIndex(data: DrcDataset): Index {
  const projects = new Map<string, ProjectWire>()
  const projectsByCompany = new Map<string, ProjectWire[]>()
  const approvals = new Map<string, ApprovalWire[]>()
  for (const p of data.projects) {
    projects.set(p.项目代码, p)
    for (const c of p.项目单位) {
      const list = projectsByCompany.get(c.统一社会信用代码) ?? []
      list.push(p)
      projectsByCompany.set(c.统一社会信用代码, list)
    }
  }
  for (const a of data.approvals) {
    const list = approvals.get(a.项目代码) ?? []
    list.push(a)
    approvals.set(a.项目代码, list)
  }
  return { projects, projectsByCompany, approvals }
}

const clientFault = (errorCode: string | undefined, faultstring: string): SoapFault =>
  errorCode === undefined
    ? { faultcode: 'soap:Client', faultstring }
    : { faultcode: 'soap:Client', faultstring, errorCode }
const serverFault = (errorCode: string, faultstring: string): SoapFault => ({
  faultcode: 'soap:Server',
  faultstring,
  errorCode,
})
const badParameter = (name: string): Outcome => ({
  fault: clientFault(FAULT_CODES.badParameter, `${FAULT_MEANINGS[FAULT_CODES.badParameter]}：${name}`),
})
const notFound: Outcome = { fault: clientFault(FAULT_CODES.projectNotFound, FAULT_MEANINGS.E1001 as string) }
const ok = (data: readonly XmlNode[], message = '成功'): Outcome => ({
  result: buildResultXml(RESULT_CODES.ok, message, data),
})

/** Answers an authenticated call. Faults name parameters, never their values. */
function answer(
  method: string,
  paras: Readonly<Record<string, string>>,
  index: Index,
  violate: boolean,
  receive: (paras: Readonly<Record<string, string>>) => XmlNode[],
): Outcome {
  switch (method) {
    case METHODS.projectInfo: {
      const code = paras[EL.projectCode]
      if (code === undefined || !PROJECT_CODE_SHAPE.test(code)) return badParameter(EL.projectCode)
      const project = index.projects.get(code)
      if (!project) return notFound
      return ok([projectNode(project, violate)])
    }
    case METHODS.companyProjects: {
      const uscc = paras[EL.uscc]
      if (uscc === undefined || !USCC_SHAPE.test(uscc)) return badParameter(EL.uscc)
      // Like the platform, an unknown company is not an error: it simply has no projects.
      return ok((index.projectsByCompany.get(uscc) ?? []).map((p) => projectNode(p, violate)))
    }
    case METHODS.approvalResults: {
      const code = paras[EL.projectCode]
      if (code === undefined || !PROJECT_CODE_SHAPE.test(code)) return badParameter(EL.projectCode)
      if (!index.projects.has(code)) return notFound
      return ok((index.approvals.get(code) ?? []).map((a) => approvalNode(a, violate)))
    }
    case METHODS.pushConstructionPermit: {
      const problem = permitProblem(paras)
      if (problem) return badParameter(problem)
      if (!index.projects.has(paras[EL.projectCode] as string)) return notFound
      return ok(receive(paras), '接收成功')
    }
    default:
      return { fault: clientFault(undefined, '服务器未能识别 HTTP 头 SOAPAction 的值。') }
  }
}

/** The first PushConstructionPermit parameter that is missing or malformed. */
function permitProblem(paras: Readonly<Record<string, string>>): string | undefined {
  for (const name of PERMIT_PARAS) if (!paras[name]) return name
  if (!PROJECT_CODE_SHAPE.test(paras[EL.projectCode] as string)) return EL.projectCode
  if (!PERMIT_NO_SHAPE.test(paras[EL.permitNo] as string)) return EL.permitNo
  for (const name of [EL.issueDate, EL.plannedStartDate, EL.plannedCompletionDate]) {
    if (!isCompactDate(paras[name] as string)) return name
  }
  for (const name of [EL.contractPrice, EL.floorArea]) if (!DECIMAL.test(paras[name] as string)) return name
  if ((paras[EL.plannedCompletionDate] as string) < (paras[EL.plannedStartDate] as string)) {
    return EL.plannedCompletionDate
  }
  return undefined
}

function isCompactDate(value: string): boolean {
  if (!/^\d{8}$/.test(value)) return false
  const [y, m, d] = [Number(value.slice(0, 4)), Number(value.slice(4, 6)), Number(value.slice(6, 8))]
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

function projectNode(p: ProjectWire, violate: boolean): XmlNode {
  const companies: XmlNode[] = p.项目单位.map((c) => [
    EL.company,
    [
      [EL.companyName, c.单位名称],
      [EL.uscc, violate ? wrongCheckChar(c.统一社会信用代码) : c.统一社会信用代码],
    ],
  ])
  const nodes: XmlNode[] = [
    [EL.projectCode, p.项目代码],
    [EL.projectName, p.项目名称],
    ...companies,
    [EL.location, p.建设地点],
    [EL.scaleAndContent, p.建设规模及内容],
    [EL.totalInvestment, violate ? `-${p.总投资}` : p.总投资],
    [EL.industry, p.行业],
    [EL.projectType, p.项目类型],
    [EL.approvingAuthority, p.审批部门],
    [EL.registeredDate, p.登记日期],
  ]
  if (p.行政区划代码 !== undefined) nodes.push([EL.divisionCode, p.行政区划代码])
  return [EL.project, nodes]
}

function approvalNode(a: ApprovalWire, violate: boolean): XmlNode {
  const nodes: XmlNode[] = [
    [EL.projectCode, a.项目代码],
    [EL.matterName, a.审批事项],
    [EL.approvalResult, a.审批结果],
  ]
  // A 同意 result without its 批复文号 breaks the record schema.
  if (a.批复文号 !== undefined && !(violate && a.审批结果 === '同意')) nodes.push([EL.approvalDocNo, a.批复文号])
  nodes.push([EL.completedAt, a.办结时间], [EL.approvingAuthority, a.审批部门])
  return [EL.approval, nodes]
}

function wrongCheckChar(uscc: string): string {
  return uscc.slice(0, 17) + (uscc.charAt(17) === '0' ? '1' : '0')
}

/** yyyyMMddHHmmss in Asia/Shanghai. */
function shanghaiStamp(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace(/[-T:]/g, '')
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers

/** XML text as the platform sends it: GB18030 bytes under a GBK label. */
function sendXml(res: ServerResponse, status: number, text: string): void {
  sendBody(res, status, XML_CONTENT_TYPE, iconv.encode(text, WIRE_ENCODING))
}

function sendResult(res: ServerResponse, method: string, result: string): void {
  sendXml(res, 200, buildResponseEnvelope(method, result))
}

function sendFault(res: ServerResponse, fault: SoapFault): void {
  // ASP.NET answers every SOAP fault with HTTP 500.
  sendXml(res, 500, buildFaultEnvelope(fault))
}

/** An IIS/ASP.NET-style page: the title without the status. */
function sendHtml(res: ServerResponse, status: number, title: string, body?: string): void {
  sendHtmlPage(res, status, title, { title, body, contentType: 'text/html; charset=utf-8' })
}

function helpPage(): string {
  const items = [...METHOD_NAMES].map((m) => `<li>${m}</li>`).join('')
  return `<h1>ExchangeService</h1><p>支持下列操作（SOAP 1.1，命名空间 ${SERVICE_NAMESPACE}）：</p><ul>${items}</ul>`
}
