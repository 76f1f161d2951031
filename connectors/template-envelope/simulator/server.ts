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
  type SimulatorKnobs as KitKnobs,
  type RunningHttpSimulator,
  startKnobbedServer,
} from '../../kit/simulator-knobs.js'
import { formatRequestTime, requestTimeProblem, verifySign } from '../signing.js'
import {
  DEFAULT_PATH,
  ENVELOPE_CODES,
  FORM_FIELD,
  JSON_CONTENT_TYPE,
  MAX_CHANGE_ROWS,
  PARAM_PAGE_ROWS,
  PARAM_PAGE_TOKEN,
  PARAM_RECORD_NO,
  PARAM_UPDATED_SINCE,
  PING,
  type RecordWireRow,
  SERVICES,
  type WireEnvelope,
} from '../wire.js'
import { DEFAULT_SEED, seedRows } from './seed.js'

/**
 * A stand-in for the 模板系统 data-sharing interface: a real node:http server speaking the envelope-JSON
 * protocol (form field `data=<JSON>`, MD5 sign, `{"code","msg","data"}` envelopes with HTTP 200 even on errors),
 * serving deterministic seed rows, with knobs for latency and faults (connectors/kit/simulator-knobs.ts).
 */

export const SIMULATOR_FAULTS = ['none', 'http-503', 'reset', 'malformed', 'envelope-99', 'hang'] as const

export type SimulatorFault = (typeof SIMULATOR_FAULTS)[number]

/**
 * `latencyMs`, `fault`, `faultRate` and `faultCount` (connectors/kit/simulator-knobs.ts); a fault set without a rate or
 * count applies to every API request (ping included) until set back to `none`:
 * - `http-503`: an HTML error page with status 503;
 * - `reset`: the socket is reset without an answer;
 * - `malformed`: HTTP 200 with a truncated JSON body;
 * - `envelope-99`: HTTP 200 with `{"code":"99",…,"data":""}`;
 * - `hang`: the request is never answered (until the client gives up or the simulator closes).
 */
export type SimulatorKnobs = KitKnobs<SimulatorFault>

/** HttpSimulatorOptions (`path` default DEFAULT_PATH, `now` for the requestTime check), credentials and knobs. */
export interface SimulatorOptions extends HttpSimulatorOptions {
  /** @default 'qiao-gateway' */
  readonly appKey?: string
  /** @default 'demo-secret-change-me' */
  readonly appSecret?: string
  /** Initial knobs. */
  readonly knobs?: Partial<SimulatorKnobs>
}

/** One API request as received (ping included). Kept for tests: the last 100. */
export interface RecordedRequest {
  readonly service: string
  /** Lower-case header names; includes `traceparent` when the caller propagates it. */
  readonly headers: Readonly<Record<string, string>>
  /** The `params` object of the request JSON, `{}` when there was none. */
  readonly params: Readonly<Record<string, unknown>>
}

export interface RunningSimulatorServer extends RunningHttpSimulator<SimulatorFault, RecordedRequest> {
  readonly rows: readonly RecordWireRow[]
  /**
   * A new record is registered now (a copy of a seeded one under a new 记录编号, GXSJ now): served by
   * `records.query` and `records.changes` from then on. The simulator's "make a change". Returns the row.
   */
  addRecord(): RecordWireRow
}

export const DEFAULT_APP_KEY = 'qiao-gateway'
export const DEFAULT_APP_SECRET = 'demo-secret-change-me'
const RECORD_NO_SHAPE = /^[0-9A-Za-z-]{1,64}$/

type Outcome = { rows: readonly RecordWireRow[] } | { code: string; msg: string }

/**
 * Starts the simulator.
 *
 * @example
 * const sim = await startSimulator({ port: 0 })
 * sim.setKnobs({ fault: 'http-503' })
 * // … point the connector at sim.url …
 * await sim.close()
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulatorServer> {
  const appKey = options.appKey ?? DEFAULT_APP_KEY
  const appSecret = options.appSecret ?? DEFAULT_APP_SECRET
  const path = (options.path ?? DEFAULT_PATH).replace(/\/+$/, '')
  const now = options.now ?? Date.now
  const rows = seedRows(options.seed ?? DEFAULT_SEED)
  const byRecordNo = new Map(rows.map((row) => [row.JLBH, row]))
  // Every record in (GXSJ, JLBH) order: what `records.changes` pages through.
  const changeLog = [...rows].sort(byChangeOrder)
  let added = 0

  function addRecord(): RecordWireRow {
    let recordNo: string
    do recordNo = `TE2099${String(900_000 + ++added).padStart(6, '0')}`
    while (byRecordNo.has(recordNo))
    const row: RecordWireRow = { ...(rows[0] as RecordWireRow), JLBH: recordNo, GXSJ: formatRequestTime(now()) }
    byRecordNo.set(recordNo, row)
    changeLog.push(row)
    changeLog.sort(byChangeOrder)
    return row
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, service: string): Promise<void> {
    const body = await readRequestBody(req)
    if (body === undefined) return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '请求体过大', data: '' }, 413)
    const parsed = parseRequest(req, body.toString('utf8'))
    sim.record({ service, headers: flattenHeaders(req), params: parsed.params })

    const turn = await sim.applyKnobs(req)
    if (!turn) return
    switch (turn.fault) {
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
        res.end('{"code":"00","msg":"成功","data":[{"JLBH":"')
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
    if (service !== SERVICES.records && service !== SERVICES.changes) {
      return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '服务不存在', data: '' }, 404)
    }
    if (req.method !== 'POST') return sendHtmlPage(res, 405, 'Method Not Allowed')

    const context = { appKey, appSecret, now: now(), byRecordNo }
    const outcome = service === SERVICES.changes ? answerChanges(parsed, context, changeLog) : answer(parsed, context)
    if ('code' in outcome) return sendEnvelope(res, { code: outcome.code, msg: outcome.msg, data: '' })
    // Like the provincial gateways it imitates, the interface says 查询无结果 rather than sending an empty list.
    if (outcome.rows.length === 0) {
      return sendEnvelope(res, { code: ENVELOPE_CODES.noData, msg: '查询无结果', data: '' })
    }
    return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: outcome.rows })
  }

  const sim = await startKnobbedServer<SimulatorFault, RecordedRequest>({
    host: options.host,
    port: options.port,
    faults: SIMULATOR_FAULTS,
    initialKnobs: options.knobs,
    knobsContentType: JSON_CONTENT_TYPE,
    handle(req, res, pathname) {
      if (pathname.startsWith(`${path}/`)) return handleApi(req, res, pathname.slice(path.length + 1))
      return sendHtmlPage(res, 404, 'Not Found')
    },
    internalError: (res) => sendHtmlPage(res, 500, 'Internal Server Error'),
  })
  return sim.expose({ rows, addRecord })
}

/** Validates a knob patch against the current knobs; throws a TypeError naming the knob. */
export function checkKnobs(current: SimulatorKnobs, patch: Partial<SimulatorKnobs>): SimulatorKnobs {
  return checkSimulatorKnobs(SIMULATOR_FAULTS, current, patch)
}

// ---------------------------------------------------------------------------------------------------------------
// Protocol

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
  if (field === null || field === '') return { problem: missing(FORM_FIELD), params: {} }
  let wire: unknown
  try {
    wire = JSON.parse(field)
  } catch {
    return { problem: wrongType(FORM_FIELD), params: {} }
  }
  if (!isObject(wire)) return { problem: wrongType(FORM_FIELD), params: {} }
  return { wire, params: isObject(wire.params) ? wire.params : {} }
}

interface AnswerContext {
  readonly appKey: string
  readonly appSecret: string
  readonly now: number
  readonly byRecordNo: ReadonlyMap<string, RecordWireRow>
}

/** (GXSJ, JLBH): the order of `records.changes`. */
function byChangeOrder(a: RecordWireRow, b: RecordWireRow): number {
  return a.GXSJ < b.GXSJ ? -1 : a.GXSJ > b.GXSJ ? 1 : a.JLBH < b.JLBH ? -1 : a.JLBH > b.JLBH ? 1 : 0
}

/** Authenticates and answers a `records.changes` request: rows after (GXSJQ, FYBJ), at most MYTS of them. */
function answerChanges(parsed: ParsedRequest, ctx: AnswerContext, changeLog: readonly RecordWireRow[]): Outcome {
  const problem = authProblem(parsed, ctx)
  if (problem) return problem
  const since = parsed.params[PARAM_UPDATED_SINCE] ?? ''
  const token = parsed.params[PARAM_PAGE_TOKEN] ?? ''
  const rows = parsed.params[PARAM_PAGE_ROWS]
  if (typeof since !== 'string' || !/^(?:\d{14})?$/.test(since)) return wrongType(PARAM_UPDATED_SINCE)
  if (typeof token !== 'string' || (token !== '' && !RECORD_NO_SHAPE.test(token))) return wrongType(PARAM_PAGE_TOKEN)
  if (rows === undefined || rows === '') return missing(PARAM_PAGE_ROWS)
  if (typeof rows !== 'string' || !/^\d{1,3}$/.test(rows) || Number(rows) < 1 || Number(rows) > MAX_CHANGE_ROWS) {
    return wrongType(PARAM_PAGE_ROWS)
  }
  const after = (r: RecordWireRow) => r.GXSJ > since || (r.GXSJ === since && r.JLBH > token)
  const start = changeLog.findIndex(after)
  return { rows: start < 0 ? [] : changeLog.slice(start, start + Number(rows)) }
}

/** Why a request is not authenticated, as an envelope error; undefined when it is. */
function authProblem(parsed: ParsedRequest, ctx: AnswerContext): { code: string; msg: string } | undefined {
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
  return undefined
}

/** Authenticates and answers a `records.query` request. Error msgs name parameters, never their values. */
function answer(parsed: ParsedRequest, ctx: AnswerContext): Outcome {
  const problem = authProblem(parsed, ctx)
  if (problem) return problem
  const recordNo = parsed.params[PARAM_RECORD_NO]
  if (recordNo === undefined || recordNo === '') return missing(PARAM_RECORD_NO)
  if (typeof recordNo !== 'string' || !RECORD_NO_SHAPE.test(recordNo)) return wrongType(PARAM_RECORD_NO)
  const row = ctx.byRecordNo.get(recordNo)
  return { rows: row ? [row] : [] }
}

const missing = (name: string) => ({ code: ENVELOPE_CODES.missingParameter, msg: `参数缺失：${name}` })
const wrongType = (name: string) => ({ code: ENVELOPE_CODES.wrongParameterType, msg: `参数类型错误：${name}` })

/** Provincial gateways answer HTTP 200 whatever the envelope code (a few errors come with another status). */
function sendEnvelope(res: ServerResponse, envelope: WireEnvelope, status = 200): void {
  sendJson(res, status, envelope, JSON_CONTENT_TYPE)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
