import { code } from '../code.js'
import type { ScaffoldNames } from '../names.js'

// Templates of the simulator. Generated code must pass `biome ci` as written: keep lines that interpolate names short.

/** `connectors/<id>/simulator/index.ts`: the SimulatorDefinition. */
export function simulatorIndexTs(n: ScaffoldNames): string {
  return code`import type { SimulatorDefinition } from '../../kit/simulator.js'
import { seedSample } from './seed.js'
import { startSimulator } from './server.js'

export type { SeedSample } from './seed.js'
export { DEFAULT_SEED, RECORD_NO_PREFIX, SEED_RECORD_COUNT, seedRows, seedSample } from './seed.js'
export type {
  RecordedRequest,
  RunningSimulatorServer,
  SimulatorFault,
  SimulatorKnobs,
  SimulatorOptions,
} from './server.js'
export { checkKnobs, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, SIMULATOR_FAULTS, startSimulator } from './server.js'

const SYSTEM = '${n.system}'
const RESOURCE = '${n.resourceId}'
let examples: SimulatorDefinition['examples']

/** \`qiao simulate ${n.id}\`: the ${n.system} data-sharing interface with synthetic seed records. */
export const ${n.camel}Simulator: SimulatorDefinition = {
  name: '${n.id}',
  description: \`\${SYSTEM} data-sharing interface simulator (envelope JSON, synthetic records, knobs at /__sim/knobs)\`,
  defaultPort: ${n.port},
  urlVariable: '${n.envPrefix}_URL',
  /** Computed on first use, so importing the registry does not generate the seed. */
  get examples() {
    examples ??= Object.freeze([{ resource: RESOURCE, params: { recordNo: seedSample().recordNo } }])
    return examples
  },
  start: ({ host, port }) => startSimulator({ host, port }),
}
`
}

/** `connectors/<id>/simulator/server.ts`: the node:http envelope-JSON server with knobs. */
export function simulatorServerTs(n: ScaffoldNames): string {
  return code`import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { RunningSimulator } from '../../kit/simulator.js'
import { requestTimeProblem, verifySign } from '../signing.js'
import {
  DEFAULT_PATH,
  ENVELOPE_CODES,
  FORM_FIELD,
  JSON_CONTENT_TYPE,
  PARAM_RECORD_NO,
  PING,
  type RecordWireRow,
  SERVICES,
  type WireEnvelope,
} from '../wire.js'
import { DEFAULT_SEED, seedRows } from './seed.js'

/**
 * A stand-in for the ${n.system} data-sharing interface: a real node:http server speaking the envelope-JSON
 * protocol (form field \`data=<JSON>\`, MD5 sign, \`{"code","msg","data"}\` envelopes with HTTP 200 even on errors),
 * serving deterministic seed rows, with knobs for latency and faults.
 */

export const SIMULATOR_FAULTS = ['none', 'http-503', 'reset', 'malformed', 'envelope-99', 'hang'] as const

export type SimulatorFault = (typeof SIMULATOR_FAULTS)[number]

export interface SimulatorKnobs {
  /** Delay before answering, ms. */
  readonly latencyMs: number
  /**
   * Applies to every API request (ping included) until set back to \`none\`:
   * - \`http-503\`: an HTML error page with status 503;
   * - \`reset\`: the socket is reset without an answer;
   * - \`malformed\`: HTTP 200 with a truncated JSON body;
   * - \`envelope-99\`: HTTP 200 with \`{"code":"99",…,"data":""}\`;
   * - \`hang\`: the request is never answered (until the client gives up or the simulator closes).
   */
  readonly fault: SimulatorFault
}

export interface SimulatorOptions {
  /** @default '127.0.0.1' */
  readonly host?: string
  /** 0 picks a free port. @default 0 */
  readonly port?: number
  /** @default 'qiao-gateway' */
  readonly appKey?: string
  /** @default 'demo-secret-change-me' */
  readonly appSecret?: string
  /** @default DEFAULT_PATH */
  readonly path?: string
  /** Server clock for the requestTime check, epoch ms. @default Date.now */
  readonly now?: () => number
  /** PRNG seed of the rows. @default DEFAULT_SEED */
  readonly seed?: number
  /** Initial knobs. */
  readonly knobs?: Partial<SimulatorKnobs>
}

/** One API request as received (ping included). Kept for tests: the last 100. */
export interface RecordedRequest {
  readonly service: string
  /** Lower-case header names; includes \`traceparent\` when the caller propagates it. */
  readonly headers: Readonly<Record<string, string>>
  /** The \`params\` object of the request JSON, \`{}\` when there was none. */
  readonly params: Readonly<Record<string, unknown>>
}

export interface RunningSimulatorServer extends RunningSimulator {
  /** Merges knobs; returns the knobs now in force. Throws a TypeError naming a bad knob. */
  setKnobs(knobs: Partial<SimulatorKnobs>): SimulatorKnobs
  readonly knobs: SimulatorKnobs
  readonly requests: readonly RecordedRequest[]
  readonly rows: readonly RecordWireRow[]
}

export const DEFAULT_APP_KEY = 'qiao-gateway'
export const DEFAULT_APP_SECRET = 'demo-secret-change-me'
const MAX_RECORDED = 100
const MAX_BODY_BYTES = 1024 * 1024
const MAX_LATENCY_MS = 120_000
const KNOBS_PATH = '/__sim/knobs'
const RECORD_NO_SHAPE = /^[0-9A-Za-z-]{1,64}$/
const NO_KNOBS: SimulatorKnobs = Object.freeze({ latencyMs: 0, fault: 'none' })

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
  const host = options.host ?? '127.0.0.1'
  const appKey = options.appKey ?? DEFAULT_APP_KEY
  const appSecret = options.appSecret ?? DEFAULT_APP_SECRET
  const path = (options.path ?? DEFAULT_PATH).replace(/\/+$/, '')
  const now = options.now ?? Date.now
  const rows = seedRows(options.seed ?? DEFAULT_SEED)
  const byRecordNo = new Map(rows.map((row) => [row.JLBH, row]))

  let knobs = checkKnobs(NO_KNOBS, options.knobs ?? {})
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<Socket>()

  const setKnobs = (patch: Partial<SimulatorKnobs>): SimulatorKnobs => {
    knobs = checkKnobs(knobs, patch)
    return knobs
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
    switch (knobs.fault) {
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
        res.end('{"code":"00","msg":"成功","data":[{"JLBH":"')
        return
      case 'envelope-99':
        return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '系统繁忙，请稍后再试', data: '' })
      case 'none':
        break
    }

    if (service === PING) {
      if (req.method !== 'GET') return sendHtml(res, 405, 'Method Not Allowed')
      return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: 'pong' })
    }
    if (service !== SERVICES.records) {
      return sendJson(res, 404, { code: ENVELOPE_CODES.failure, msg: '服务不存在', data: '' })
    }
    if (req.method !== 'POST') return sendHtml(res, 405, 'Method Not Allowed')

    const outcome = answer(parsed, { appKey, appSecret, now: now(), byRecordNo })
    if ('code' in outcome) return sendEnvelope(res, { code: outcome.code, msg: outcome.msg, data: '' })
    // Like the provincial gateways it imitates, the interface says 查询无结果 rather than sending an empty list.
    if (outcome.rows.length === 0) {
      return sendEnvelope(res, { code: ENVELOPE_CODES.noData, msg: '查询无结果', data: '' })
    }
    return sendEnvelope(res, { code: ENVELOPE_CODES.ok, msg: '成功', data: outcome.rows })
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
      return sendJson(res, 200, setKnobs(patch as Partial<SimulatorKnobs>))
    } catch (err) {
      return sendJson(res, 400, { error: (err as Error).message })
    }
  }

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname
    let work: Promise<void>
    if (pathname === KNOBS_PATH) work = handleKnobs(req, res)
    else if (pathname.startsWith(\`\${path}/\`)) work = handleApi(req, res, pathname.slice(path.length + 1))
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
  const urlHost = address.family === 'IPv6' ? \`[\${address.address}]\` : address.address
  let closing: Promise<void> | undefined

  return {
    url: \`http://\${urlHost}:\${address.port}\`,
    rows,
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
export function checkKnobs(current: SimulatorKnobs, patch: Partial<SimulatorKnobs>): SimulatorKnobs {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError('knobs must be an object')
  }
  for (const key of Object.keys(patch)) {
    if (key !== 'latencyMs' && key !== 'fault') throw new TypeError(\`unknown knob \${key}\`)
  }
  const next = { ...current }
  if (patch.latencyMs !== undefined) {
    const ms = patch.latencyMs
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS) {
      throw new TypeError(\`latencyMs must be a number of milliseconds in 0..\${MAX_LATENCY_MS}\`)
    }
    next.latencyMs = ms
  }
  if (patch.fault !== undefined) {
    if (!(SIMULATOR_FAULTS as readonly unknown[]).includes(patch.fault)) {
      throw new TypeError(\`fault must be one of \${SIMULATOR_FAULTS.join(', ')}\`)
    }
    next.fault = patch.fault
  }
  return Object.freeze(next)
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

/** Authenticates and answers a \`records.query\` request. Error msgs name parameters, never their values. */
function answer(parsed: ParsedRequest, ctx: AnswerContext): Outcome {
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
  const recordNo = parsed.params[PARAM_RECORD_NO]
  if (recordNo === undefined || recordNo === '') return missing(PARAM_RECORD_NO)
  if (typeof recordNo !== 'string' || !RECORD_NO_SHAPE.test(recordNo)) return wrongType(PARAM_RECORD_NO)
  const row = ctx.byRecordNo.get(recordNo)
  return { rows: row ? [row] : [] }
}

const missing = (name: string) => ({ code: ENVELOPE_CODES.missingParameter, msg: \`参数缺失：\${name}\` })
const wrongType = (name: string) => ({ code: ENVELOPE_CODES.wrongParameterType, msg: \`参数类型错误：\${name}\` })

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
  const text = \`<html><head><title>\${status} \${title}</title></head><body><h1>\${status} \${title}</h1></body></html>\`
  res.writeHead(status, { 'content-type': 'text/html;charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
`
}

/** `connectors/<id>/simulator/seed.ts`: deterministic seed rows. */
export function simulatorSeedTs(n: ScaffoldNames): string {
  return code`import { orgCodeCheckChar, usccCheckChar } from '../../kit/identifiers.js'
import { formatRequestTime } from '../signing.js'
import { type RecordWireRow, STATUS_CODES } from '../wire.js'

/**
 * Deterministic seed data for the simulator: a small set of records as legacy wire rows. Everything comes from one
 * mulberry32 stream, so the same seed always gives the same rows; nothing reads the clock. Names are synthetic;
 * USCCs are valid (组织机构代码 body with its own check character + GB 32100 check character).
 *
 * TODO(integrator): replace with rows shaped like the real system's (columns, code values, quirks seen in samples).
 */

export const DEFAULT_SEED = 20_260_101
export const SEED_RECORD_COUNT = 50
/** Division code in the generated USCCs (the catalog's region). */
export const SEED_DIVISION_CODE = '${n.region}'
/** Prefix of the generated record numbers. */
export const RECORD_NO_PREFIX = '${n.recordNoPrefix}'
/** No record was updated after this moment (2026-10-31 18:00 Asia/Shanghai). */
export const SEED_REFERENCE_TIME = Date.parse('2026-10-31T10:00:00Z')

/** Stable fixtures for tests. */
export interface SeedSample {
  /** An active record. */
  readonly recordNo: string
  /** An inactive record. */
  readonly inactiveRecordNo: string
  /** A well-formed record number that matches nothing. */
  readonly unknownRecordNo: string
}

const cache = new Map<number, readonly RecordWireRow[]>()

/** The rows for a seed (cached and frozen). */
export function seedRows(seed: number = DEFAULT_SEED): readonly RecordWireRow[] {
  let rows = cache.get(seed)
  if (!rows) {
    rows = Object.freeze(generateRows(seed).map((row) => Object.freeze(row)))
    cache.set(seed, rows)
  }
  return rows
}

export function seedSample(rows: readonly RecordWireRow[] = seedRows()): SeedSample {
  const active = rows.find((r) => r.ZT === STATUS_CODES.active)
  const inactive = rows.find((r) => r.ZT === STATUS_CODES.inactive)
  if (!active || !inactive) throw new Error('seed has no active and inactive record; change the generator or the seed')
  const known = new Set(rows.map((r) => r.JLBH))
  let serial = 999_999
  while (known.has(recordNo(2099, serial))) serial--
  return { recordNo: active.JLBH, inactiveRecordNo: inactive.JLBH, unknownRecordNo: recordNo(2099, serial) }
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed | 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const TRADE_NAMES = ['鸿泰', '嘉禾', '锦程', '盛景', '汇智', '君和', '瑞通', '华信', '恒远', '德誉', '宏图', '金鼎']
const KINDS = ['实业有限公司', '建设工程有限公司', '环境科技有限公司', '物业管理有限公司', '餐饮管理有限公司']
/** Characters usable in a 组织机构代码 body (digits and letters without I O Z S V). */
const BODY_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const FIRST_UPDATE = Date.parse('2019-01-01T00:00:00Z')

function recordNo(year: number, serial: number): string {
  return \`\${RECORD_NO_PREFIX}\${year}\${String(serial).padStart(6, '0')}\`
}

function generateRows(seed: number): RecordWireRow[] {
  const next = mulberry32(seed)
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T
  const names = new Set<string>()
  const usccs = new Set<string>()
  const rows: RecordWireRow[] = []
  for (let i = 0; i < SEED_RECORD_COUNT; i++) {
    let name: string
    do name = \`\${pick(TRADE_NAMES)}\${pick(KINDS)}\`
    while (names.has(name))
    names.add(name)
    let uscc: string
    do {
      let body = ''
      for (let j = 0; j < 8; j++) body += BODY_CHARS.charAt(int(0, BODY_CHARS.length - 1))
      const first17 = \`91\${SEED_DIVISION_CODE}\${body}\${orgCodeCheckChar(body)}\`
      uscc = first17 + usccCheckChar(first17)
    } while (usccs.has(uscc))
    usccs.add(uscc)
    const updated = FIRST_UPDATE + Math.floor(next() * (SEED_REFERENCE_TIME - FIRST_UPDATE))
    rows.push({
      JLBH: recordNo(int(2019, 2026), i + 1),
      // CHAR columns come space-padded from the legacy database.
      MC: next() < 0.2 ? \`\${name}  \` : name,
      TYSHXYDM: uscc,
      ZT: next() < 0.85 ? STATUS_CODES.active : STATUS_CODES.inactive,
      GXSJ: formatRequestTime(updated),
    })
  }
  return rows
}
`
}
