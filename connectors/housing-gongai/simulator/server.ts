import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  flattenHeaders,
  type HttpSimulatorOptions,
  readRequestBody,
  sendHtmlPage,
  sendJson,
} from '../../kit/simulator-http.js'
import {
  checkSimulatorKnobs,
  type RunningHttpSimulator,
  type SimulatorKnobs,
  startKnobbedServer,
} from '../../kit/simulator-knobs.js'
import { requestTimeProblem, verifySign } from '../signing.js'
import {
  type CompletionFilingWireRow,
  DEFAULT_PATH,
  type DrawingReviewWireRow,
  ENVELOPE_CODES,
  FORM_FIELD,
  JSON_CONTENT_TYPE,
  MAX_CHANGE_ROWS,
  PARAM_AFTER_SERIAL,
  PARAM_OWNER_USCC,
  PARAM_PAGE_ROWS,
  PARAM_PERMIT_NO,
  PARAM_PROJECT_CODE,
  type PermitWireRow,
  PING,
  SERVICES,
  type WireEnvelope,
} from '../wire.js'
import { DEFAULT_SEED, type HousingDataset, housingDataset } from './seed.js'

/**
 * A stand-in for the 住建 工改 data-sharing interface: a real node:http server speaking the provincial-gateway
 * protocol (form field `data=<JSON>`, MD5 sign, `{"code","msg","data"}` envelopes with HTTP 200 even on errors),
 * serving deterministic seed rows, with knobs for latency and faults.
 */

export const HOUSING_FAULTS = [
  'none',
  'http-500',
  'http-503',
  'reset',
  'malformed',
  'schema-violation',
  'envelope-99',
  'hang',
] as const

export type HousingFault = (typeof HOUSING_FAULTS)[number]

/**
 * Knobs (connectors/kit/simulator-knobs.ts). `faultRate` is the share of API requests (ping included) that get the
 * fault. The faults:
 * - `http-500` / `http-503`: an HTML error page with that status;
 * - `reset`: the socket is reset without an answer;
 * - `malformed`: HTTP 200 with a truncated JSON body;
 * - `schema-violation`: a valid envelope whose rows map cleanly but break the canonical schema (a USCC with a
 *   wrong check character, a negative floor area);
 * - `envelope-99`: HTTP 200 with `{"code":"99",…,"data":""}`;
 * - `hang`: the request is never answered (until the client gives up or the simulator closes).
 */
export type HousingKnobs = SimulatorKnobs<HousingFault>

/** HttpSimulatorOptions (`path` default '/gongai/api/v3', `now` for the requestTime check), and the credentials. */
export interface HousingSimulatorOptions extends HttpSimulatorOptions {
  /** @default 'qiao-gateway' */
  readonly appKey?: string
  /** @default 'demo-secret-change-me' */
  readonly appSecret?: string
}

/** One API request as received (ping included). Kept for tests: the last 100. */
export interface RecordedRequest {
  readonly service: string
  /** Lower-case header names; includes `traceparent` when the caller propagates it. */
  readonly headers: Readonly<Record<string, string>>
  /** The `params` object of the request JSON, `{}` when there was none. */
  readonly params: Readonly<Record<string, unknown>>
}

export interface RunningHousingSimulator extends RunningHttpSimulator<HousingFault, RecordedRequest> {
  readonly data: HousingDataset
  /**
   * 住建 issues a new 施工许可证 now: a new valid permit row (a copy of a seeded permit's project, with a new
   * 施工许可证编号, 发证日期 today and the next 流水号), served by the queries and by `sgxk.changes` from then on.
   * The simulator's "make a change", for the change feed. Returns the row.
   */
  issuePermit(): PermitWireRow
}

export const DEFAULT_APP_KEY = 'qiao-gateway'
export const DEFAULT_APP_SECRET = 'demo-secret-change-me'
const PROJECT_CODE_SHAPE = /^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$/
const PERMIT_NO_SHAPE = /^\d{18}$/
const USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXY]{18}$/

type Row = PermitWireRow | DrawingReviewWireRow | CompletionFilingWireRow
type Outcome = { rows: readonly Row[] } | { code: string; msg: string }

/**
 * Starts the simulator.
 *
 * @example
 * const sim = await startHousingSimulator({ port: 0 })
 * sim.setKnobs({ fault: 'http-503', faultRate: 0.5 })
 * // … point the connector at sim.url …
 * await sim.close()
 */
export async function startHousingSimulator(options: HousingSimulatorOptions = {}): Promise<RunningHousingSimulator> {
  const appKey = options.appKey ?? DEFAULT_APP_KEY
  const appSecret = options.appSecret ?? DEFAULT_APP_SECRET
  const path = (options.path ?? DEFAULT_PATH).replace(/\/+$/, '')
  const now = options.now ?? Date.now
  const data = housingDataset(options.seed ?? DEFAULT_SEED)
  const index = buildIndex(data)
  let issued = 0

  function issuePermit(): PermitWireRow {
    const template = data.permits.find((p) => p.SJYXBS !== '0') as PermitWireRow
    const at = shanghaiCompactTime(now())
    const last = index.changeLog.at(-1)?.LSH ?? '0'
    const serial = BigInt(`${at}000000`) > BigInt(last) ? BigInt(`${at}000000`) : BigInt(last) + 1n
    let permitNo: string
    do permitNo = `${template.SGXKZBH.slice(0, 12)}${String(900_000 + ++issued).slice(-6)}`
    while (index.permitsByNo.has(permitNo))
    const row: PermitWireRow = {
      ...template,
      SGXKZBH: permitNo,
      FZRQ: at.slice(0, 8),
      LSH: String(serial),
      SJYXBS: '1',
      SJGXSJ: at,
    }
    delete (row as { SJWXYY?: string }).SJWXYY
    index.changeLog.push(row)
    for (const [map, key] of [
      [index.permitsByProject, row.XMDM],
      [index.permitsByNo, row.SGXKZBH],
      [index.permitsByOwner, row.JSDWDM],
    ] as const) {
      map.set(key, [...(map.get(key) ?? []), row])
    }
    return row
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, service: string): Promise<void> {
    const body = await readRequestBody(req)
    if (body === undefined) return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '请求体过大', data: '' }, 413)
    const parsed = parseRequest(req, body.toString('utf8'))
    sim.record({ service, headers: flattenHeaders(req), params: parsed.params })

    const turn = await sim.applyKnobs(req)
    if (!turn) return
    const { fault } = turn
    switch (fault) {
      case 'http-500':
        return sendHtmlPage(res, 500, 'Internal Server Error')
      case 'http-503':
        res.setHeader('retry-after', '30')
        return sendHtmlPage(res, 503, 'Service Unavailable')
      case 'reset':
        req.socket.resetAndDestroy()
        return
      case 'hang':
        return // Never answered; close() destroys the socket.
      case 'malformed':
        res.writeHead(200, { 'content-type': JSON_CONTENT_TYPE })
        res.end('{"code":"00","msg":"成功","data":[{"SGXKZBH":"3201')
        return
      case 'envelope-99':
        return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '系统繁忙，请稍后再试', data: '' })
      default:
        break
    }

    if (service === PING) {
      if (req.method !== 'GET') return sendHtmlPage(res, 405, 'Method Not Allowed')
      return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: 'pong' })
    }
    if (!SERVICE_NAMES.has(service)) {
      return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '服务不存在', data: '' }, 404)
    }
    if (req.method !== 'POST') return sendHtmlPage(res, 405, 'Method Not Allowed')

    let outcome = answer(service, parsed, { appKey, appSecret, now: now(), index })
    // Like the provincial gateways it imitates, the interface says 查询无结果 rather than sending an empty list.
    if ('rows' in outcome && outcome.rows.length === 0) outcome = { code: ENVELOPE_CODES.noData, msg: '查询无结果' }
    if ('code' in outcome) return sendEnvelope(res, { code: outcome.code, msg: outcome.msg, data: '' })
    const rows = fault === 'schema-violation' ? outcome.rows.map(violateSchema) : outcome.rows
    return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: rows })
  }

  const sim = await startKnobbedServer<HousingFault, RecordedRequest>({
    host: options.host,
    port: options.port,
    faults: HOUSING_FAULTS,
    knobsContentType: JSON_CONTENT_TYPE,
    handle(req, res, pathname) {
      if (pathname.startsWith(`${path}/`)) return handleApi(req, res, pathname.slice(path.length + 1))
      return sendHtmlPage(res, 404, 'Not Found')
    },
    internalError: (res) => sendHtmlPage(res, 500, 'Internal Server Error'),
  })
  return sim.expose({ data, issuePermit })
}

/** Beijing wall-clock `yyyyMMddHHmmss` of an epoch-ms instant (how the 工改 system writes SJGXSJ). */
function shanghaiCompactTime(epochMs: number): string {
  return new Date(epochMs + 8 * 3_600_000).toISOString().replace(/\D/g, '').slice(0, 14)
}

/** Validates a knob patch against the current knobs; throws a TypeError naming the knob. */
export function checkKnobs(current: HousingKnobs, patch: Partial<HousingKnobs>): HousingKnobs {
  return checkSimulatorKnobs(HOUSING_FAULTS, current, patch)
}

// ---------------------------------------------------------------------------------------------------------------
// Protocol

const SERVICE_NAMES: ReadonlySet<string> = new Set(Object.values(SERVICES))

interface ParsedRequest {
  /** Why the form or its JSON could not be read, as an envelope error. */
  readonly problem?: { code: string; msg: string }
  readonly wire?: Readonly<Record<string, unknown>>
  readonly params: Readonly<Record<string, unknown>>
}

function parseRequest(req: IncomingMessage, body: string): ParsedRequest {
  const type = req.headers['content-type'] ?? ''
  const field = type.toLowerCase().startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(body).get(FORM_FIELD)
    : null
  if (field === null || field === '') {
    return { problem: missing(FORM_FIELD), params: {} }
  }
  let wire: unknown
  try {
    wire = JSON.parse(field)
  } catch {
    return { problem: wrongType(FORM_FIELD), params: {} }
  }
  if (!isObject(wire)) return { problem: wrongType(FORM_FIELD), params: {} }
  const params = wire.params
  return { wire, params: isObject(params) ? params : {} }
}

interface AnswerContext {
  readonly appKey: string
  readonly appSecret: string
  readonly now: number
  readonly index: Index
}

/** Authenticates and answers a service request. Error msgs name parameters, never their values. */
function answer(service: string, parsed: ParsedRequest, ctx: AnswerContext): Outcome {
  if (parsed.problem) return parsed.problem
  const wire = parsed.wire ?? {}
  for (const key of ['appKey', 'requestTime', 'sign'] as const) {
    if (wire[key] === undefined || wire[key] === '') return missing(key)
    if (typeof wire[key] !== 'string') return wrongType(key)
  }
  const { appKey, requestTime, sign } = wire as Record<'appKey' | 'requestTime' | 'sign', string>
  if (appKey !== ctx.appKey) return { code: ENVELOPE_CODES.failure, msg: '应用未授权' }
  const timeProblem = requestTimeProblem(requestTime, ctx.now)
  if (timeProblem === 'format') return wrongType('requestTime')
  if (timeProblem === 'skew') return { code: ENVELOPE_CODES.failure, msg: '请求时间戳已过期' }
  if (!verifySign(sign, ctx.appKey, ctx.appSecret, requestTime)) {
    return { code: ENVELOPE_CODES.failure, msg: '签名验证失败' }
  }
  if (wire.params !== undefined && !isObject(wire.params)) return wrongType('params')

  const params = parsed.params
  const xmdm = params[PARAM_PROJECT_CODE]
  const sgxkzbh = params[PARAM_PERMIT_NO]
  const jsdwdm = params[PARAM_OWNER_USCC]
  if (xmdm !== undefined && (typeof xmdm !== 'string' || !PROJECT_CODE_SHAPE.test(xmdm))) {
    return wrongType(PARAM_PROJECT_CODE)
  }
  if (sgxkzbh !== undefined && (typeof sgxkzbh !== 'string' || !PERMIT_NO_SHAPE.test(sgxkzbh))) {
    return wrongType(PARAM_PERMIT_NO)
  }
  if (jsdwdm !== undefined && (typeof jsdwdm !== 'string' || !USCC_SHAPE.test(jsdwdm))) {
    return wrongType(PARAM_OWNER_USCC)
  }
  const { index } = ctx
  switch (service) {
    case SERVICES.permits: {
      if (xmdm === undefined && sgxkzbh === undefined && jsdwdm === undefined) {
        return missing(`${PARAM_PROJECT_CODE}或${PARAM_PERMIT_NO}或${PARAM_OWNER_USCC}`)
      }
      let rows =
        xmdm !== undefined
          ? (index.permitsByProject.get(xmdm) ?? [])
          : sgxkzbh !== undefined
            ? (index.permitsByNo.get(sgxkzbh) ?? [])
            : (index.permitsByOwner.get(jsdwdm as string) ?? [])
      if (sgxkzbh !== undefined) rows = rows.filter((r) => r.SGXKZBH === sgxkzbh)
      if (jsdwdm !== undefined) rows = rows.filter((r) => r.JSDWDM === jsdwdm)
      return { rows }
    }
    case SERVICES.drawingReviews:
      if (xmdm === undefined) return missing(PARAM_PROJECT_CODE)
      return { rows: index.reviewsByProject.get(xmdm) ?? [] }
    case SERVICES.completionFilings:
      if (xmdm === undefined) return missing(PARAM_PROJECT_CODE)
      return { rows: index.filingsByProject.get(xmdm) ?? [] }
    case SERVICES.permitChanges: {
      const after = params[PARAM_AFTER_SERIAL] ?? '0'
      const rows = params[PARAM_PAGE_ROWS]
      if (typeof after !== 'string' || !/^\d{1,32}$/.test(after)) return wrongType(PARAM_AFTER_SERIAL)
      if (rows === undefined) return missing(PARAM_PAGE_ROWS)
      if (typeof rows !== 'string' || !/^\d{1,3}$/.test(rows) || Number(rows) < 1 || Number(rows) > MAX_CHANGE_ROWS) {
        return wrongType(PARAM_PAGE_ROWS)
      }
      const from = BigInt(after)
      const start = index.changeLog.findIndex((r) => BigInt(r.LSH ?? '0') > from)
      return { rows: start < 0 ? [] : index.changeLog.slice(start, start + Number(rows)) }
    }
    default:
      return { code: ENVELOPE_CODES.failure, msg: '服务不存在' }
  }
}

const missing = (name: string) => ({ code: ENVELOPE_CODES.missingParameter, msg: `参数缺失：${name}` })
const wrongType = (name: string) => ({ code: ENVELOPE_CODES.wrongParameterType, msg: `参数类型错误：${name}` })

/** Rows that map cleanly but break the record schema: a wrong USCC check character and a negative floor area. */
function violateSchema(row: Row): Row {
  const copy: Record<string, string | undefined> = { ...row }
  for (const column of ['JSDWDM', 'SCJGDM']) {
    const code = copy[column]
    if (code !== undefined) copy[column] = code.slice(0, 17) + (code.charAt(17) === '0' ? '1' : '0')
  }
  if (copy.ZJZMJ !== undefined) copy.ZJZMJ = `-${copy.ZJZMJ}`
  return copy as unknown as Row
}

interface Index {
  // Mutable: issuePermit adds to them.
  readonly permitsByProject: Map<string, readonly PermitWireRow[]>
  readonly permitsByNo: Map<string, readonly PermitWireRow[]>
  readonly permitsByOwner: Map<string, readonly PermitWireRow[]>
  /** Every permit row in 流水号 order (superseded ones too): what `sgxk.changes` pages through. */
  readonly changeLog: PermitWireRow[]
  readonly reviewsByProject: ReadonlyMap<string, readonly DrawingReviewWireRow[]>
  readonly filingsByProject: ReadonlyMap<string, readonly CompletionFilingWireRow[]>
}

function buildIndex(data: HousingDataset): Index {
  const group = <T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> => {
    const map = new Map<string, T[]>()
    for (const row of rows) {
      const k = key(row)
      const list = map.get(k)
      if (list) list.push(row)
      else map.set(k, [row])
    }
    return map
  }
  return {
    permitsByProject: group(data.permits, (r) => r.XMDM),
    permitsByNo: group(data.permits, (r) => r.SGXKZBH),
    permitsByOwner: group(data.permits, (r) => r.JSDWDM),
    reviewsByProject: group(data.drawingReviews, (r) => r.XMDM),
    filingsByProject: group(data.completionFilings, (r) => r.XMDM),
    changeLog: [...data.permits].sort((a, b) => {
      const [x, y] = [BigInt(a.LSH ?? '0'), BigInt(b.LSH ?? '0')]
      return x < y ? -1 : x > y ? 1 : 0
    }),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers

/** Provincial gateways answer HTTP 200 whatever the envelope code (a few errors come with another status). */
function sendEnvelope(res: ServerResponse, envelope: WireEnvelope, status = 200): void {
  sendJson(res, status, envelope, JSON_CONTENT_TYPE)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
