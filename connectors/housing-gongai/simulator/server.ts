import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { RunningSimulator } from '../../kit/simulator.js'
import { requestTimeProblem, verifySign } from '../signing.js'
import {
  type CompletionFilingWireRow,
  DEFAULT_PATH,
  type DrawingReviewWireRow,
  ENVELOPE_CODES,
  FORM_FIELD,
  JSON_CONTENT_TYPE,
  PARAM_OWNER_USCC,
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

export interface HousingKnobs {
  /** Delay before answering, ms. */
  readonly latencyMs: number
  /**
   * - `http-500` / `http-503`: an HTML error page with that status;
   * - `reset`: the socket is reset without an answer;
   * - `malformed`: HTTP 200 with a truncated JSON body;
   * - `schema-violation`: a valid envelope whose rows map cleanly but break the canonical schema (a USCC with a
   *   wrong check character, a negative floor area);
   * - `envelope-99`: HTTP 200 with `{"code":"99",…,"data":""}`;
   * - `hang`: the request is never answered (until the client gives up or the simulator closes).
   */
  readonly fault: HousingFault
  /** Share of API requests (ping included) that get the fault, 0..1; spread evenly, not randomly. */
  readonly faultRate: number
  /** When > 0: exactly the next this-many API requests get the fault, then the fault clears (0 = use faultRate). */
  readonly faultCount: number
}

export interface HousingSimulatorOptions {
  /** @default '127.0.0.1' */
  readonly host?: string
  /** 0 picks a free port. @default 0 */
  readonly port?: number
  /** @default 'qiao-gateway' */
  readonly appKey?: string
  /** @default 'demo-secret-change-me' */
  readonly appSecret?: string
  /** @default '/gongai/api/v3' */
  readonly path?: string
  /** Server clock for the requestTime check, epoch ms. @default Date.now */
  readonly now?: () => number
  /** PRNG seed of the dataset. @default DEFAULT_SEED */
  readonly seed?: number
}

/** One API request as received (ping included). Kept for tests: the last 100. */
export interface RecordedRequest {
  readonly service: string
  /** Lower-case header names; includes `traceparent` when the caller propagates it. */
  readonly headers: Readonly<Record<string, string>>
  /** The `params` object of the request JSON, `{}` when there was none. */
  readonly params: Readonly<Record<string, unknown>>
}

export interface RunningHousingSimulator extends RunningSimulator {
  /** Merges knobs; setting `fault` without `faultRate` sets the rate to 1. Returns the knobs now in force. */
  setKnobs(knobs: Partial<HousingKnobs>): HousingKnobs
  readonly knobs: HousingKnobs
  readonly requests: readonly RecordedRequest[]
  readonly data: HousingDataset
}

export const DEFAULT_APP_KEY = 'qiao-gateway'
export const DEFAULT_APP_SECRET = 'demo-secret-change-me'
const MAX_RECORDED = 100
const MAX_BODY_BYTES = 1024 * 1024
const MAX_LATENCY_MS = 120_000
const KNOBS_PATH = '/__sim/knobs'
const PROJECT_CODE_SHAPE = /^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$/
const PERMIT_NO_SHAPE = /^\d{18}$/
const USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXY]{18}$/
const NO_KNOBS: HousingKnobs = Object.freeze({ latencyMs: 0, fault: 'none', faultRate: 1, faultCount: 0 })

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
  const host = options.host ?? '127.0.0.1'
  const appKey = options.appKey ?? DEFAULT_APP_KEY
  const appSecret = options.appSecret ?? DEFAULT_APP_SECRET
  const path = (options.path ?? DEFAULT_PATH).replace(/\/+$/, '')
  const now = options.now ?? Date.now
  const data = housingDataset(options.seed ?? DEFAULT_SEED)
  const index = buildIndex(data)

  let knobs: HousingKnobs = NO_KNOBS
  let faultCredit = 0
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<Socket>()

  const setKnobs = (patch: Partial<HousingKnobs>): HousingKnobs => {
    knobs = checkKnobs(knobs, patch)
    faultCredit = 0
    return knobs
  }

  /** The fault for this request, if its turn has come: with rate r, every 1/r-th request. */
  const nextFault = (): HousingFault | undefined => {
    if (knobs.fault === 'none') return undefined
    if (knobs.faultCount > 0) {
      const fault = knobs.fault
      knobs = Object.freeze({
        ...knobs,
        faultCount: knobs.faultCount - 1,
        fault: knobs.faultCount === 1 ? 'none' : fault,
      })
      return fault
    }
    if (knobs.faultRate <= 0) return undefined
    faultCredit += knobs.faultRate
    if (faultCredit < 1 - 1e-9) return undefined
    faultCredit -= 1
    return knobs.fault
  }

  const sleep = (ms: number, req: IncomingMessage): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timers.add(timer)
      req.socket.once('close', done)
      function done() {
        clearTimeout(timer)
        timers.delete(timer)
        req.socket.off('close', done)
        resolve()
      }
    })

  async function handleApi(req: IncomingMessage, res: ServerResponse, service: string): Promise<void> {
    const body = await readBody(req)
    if (body === undefined) return sendJson(res, 413, { code: ENVELOPE_CODES.failure, msg: '请求体过大', data: '' })
    const parsed = parseRequest(req, body)
    requests.push({ service, headers: flattenHeaders(req), params: parsed.params })
    if (requests.length > MAX_RECORDED) requests.splice(0, requests.length - MAX_RECORDED)

    if (knobs.latencyMs > 0) await sleep(knobs.latencyMs, req)
    if (req.socket.destroyed) return
    const fault = nextFault()
    switch (fault) {
      case 'http-500':
        return sendHtml(res, 500, 'Internal Server Error')
      case 'http-503':
        res.setHeader('retry-after', '30')
        return sendHtml(res, 503, 'Service Unavailable')
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
      if (req.method !== 'GET') return sendHtml(res, 405, 'Method Not Allowed')
      return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: 'pong' })
    }
    if (!SERVICE_NAMES.has(service))
      return sendJson(res, 404, { code: ENVELOPE_CODES.failure, msg: '服务不存在', data: '' })
    if (req.method !== 'POST') return sendHtml(res, 405, 'Method Not Allowed')

    let outcome = answer(service, parsed, { appKey, appSecret, now: now(), index })
    // Like the provincial gateways it imitates, the interface says 查询无结果 rather than sending an empty list.
    if ('rows' in outcome && outcome.rows.length === 0) outcome = { code: ENVELOPE_CODES.noData, msg: '查询无结果' }
    if ('code' in outcome) return sendEnvelope(res, { code: outcome.code, msg: outcome.msg, data: '' })
    const rows = fault === 'schema-violation' ? outcome.rows.map(violateSchema) : outcome.rows
    return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: rows })
  }

  async function handleKnobs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') return sendJson(res, 200, knobs)
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' })
    const body = await readBody(req)
    let patch: unknown
    try {
      patch = JSON.parse(body ?? '')
    } catch {
      return sendJson(res, 400, { error: 'body must be a JSON object of knobs' })
    }
    try {
      return sendJson(res, 200, setKnobs(patch as Partial<HousingKnobs>))
    } catch (err) {
      return sendJson(res, 400, { error: (err as Error).message })
    }
  }

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname
    let work: Promise<void>
    if (pathname === KNOBS_PATH) work = handleKnobs(req, res)
    else if (pathname.startsWith(`${path}/`)) work = handleApi(req, res, pathname.slice(path.length + 1))
    else work = Promise.resolve(sendHtml(res, 404, 'Not Found'))
    work.catch(() => {
      if (!res.headersSent) sendHtml(res, 500, 'Internal Server Error')
      else res.destroy()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  let closing: Promise<void> | undefined

  return {
    url: `http://${urlHost}:${address.port}`,
    data,
    setKnobs,
    get knobs() {
      return knobs
    },
    get requests() {
      return requests
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
      })
      return closing
    },
  }
}

/** Validates a knob patch against the current knobs; throws a TypeError naming the knob. */
export function checkKnobs(current: HousingKnobs, patch: Partial<HousingKnobs>): HousingKnobs {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError('knobs must be an object')
  }
  for (const key of Object.keys(patch)) {
    if (key !== 'latencyMs' && key !== 'fault' && key !== 'faultRate' && key !== 'faultCount') {
      throw new TypeError(`unknown knob ${key}`)
    }
  }
  const next = { ...current }
  if (patch.latencyMs !== undefined) {
    const ms = patch.latencyMs
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS) {
      throw new TypeError(`latencyMs must be a number of milliseconds in 0..${MAX_LATENCY_MS}`)
    }
    next.latencyMs = ms
  }
  if (patch.fault !== undefined) {
    if (!(HOUSING_FAULTS as readonly unknown[]).includes(patch.fault)) {
      throw new TypeError(`fault must be one of ${HOUSING_FAULTS.join(', ')}`)
    }
    next.fault = patch.fault
    if (patch.faultRate === undefined) next.faultRate = 1
    if (patch.faultCount === undefined) next.faultCount = 0
  }
  if (patch.faultCount !== undefined) {
    const count = patch.faultCount
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 1_000_000) {
      throw new TypeError('faultCount must be an integer ≥ 0')
    }
    next.faultCount = count
  }
  if (patch.faultRate !== undefined) {
    const rate = patch.faultRate
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new TypeError('faultRate must be a number in 0..1')
    }
    next.faultRate = rate
  }
  return Object.freeze(next)
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
  readonly permitsByProject: ReadonlyMap<string, readonly PermitWireRow[]>
  readonly permitsByNo: ReadonlyMap<string, readonly PermitWireRow[]>
  readonly permitsByOwner: ReadonlyMap<string, readonly PermitWireRow[]>
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
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers

/** The body as UTF-8 text, or undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

function sendEnvelope(res: ServerResponse, envelope: WireEnvelope): void {
  // Provincial gateways answer HTTP 200 whatever the envelope code.
  sendJson(res, 200, envelope)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendHtml(res: ServerResponse, status: number, title: string): void {
  const text = `<html><head><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1></body></html>`
  res.writeHead(status, { 'content-type': 'text/html;charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
