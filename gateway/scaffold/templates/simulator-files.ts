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
  return code`import type { IncomingMessage, ServerResponse } from 'node:http'
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
 * serving deterministic seed rows, with knobs for latency and faults (connectors/kit/simulator-knobs.ts).
 */

export const SIMULATOR_FAULTS = ['none', 'http-503', 'reset', 'malformed', 'envelope-99', 'hang'] as const

export type SimulatorFault = (typeof SIMULATOR_FAULTS)[number]

/**
 * \`latencyMs\`, \`fault\`, \`faultRate\` and \`faultCount\` (connectors/kit/simulator-knobs.ts); a fault set without a rate or
 * count applies to every API request (ping included) until set back to \`none\`:
 * - \`http-503\`: an HTML error page with status 503;
 * - \`reset\`: the socket is reset without an answer;
 * - \`malformed\`: HTTP 200 with a truncated JSON body;
 * - \`envelope-99\`: HTTP 200 with \`{"code":"99",…,"data":""}\`;
 * - \`hang\`: the request is never answered (until the client gives up or the simulator closes).
 */
export type SimulatorKnobs = KitKnobs<SimulatorFault>

/** HttpSimulatorOptions (\`path\` default DEFAULT_PATH, \`now\` for the requestTime check), credentials and knobs. */
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
  /** Lower-case header names; includes \`traceparent\` when the caller propagates it. */
  readonly headers: Readonly<Record<string, string>>
  /** The \`params\` object of the request JSON, \`{}\` when there was none. */
  readonly params: Readonly<Record<string, unknown>>
}

export interface RunningSimulatorServer extends RunningHttpSimulator<SimulatorFault, RecordedRequest> {
  readonly rows: readonly RecordWireRow[]
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
    if (service !== SERVICES.records) {
      return sendEnvelope(res, { code: ENVELOPE_CODES.failure, msg: '服务不存在', data: '' }, 404)
    }
    if (req.method !== 'POST') return sendHtmlPage(res, 405, 'Method Not Allowed')

    const outcome = answer(parsed, { appKey, appSecret, now: now(), byRecordNo })
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
      if (pathname.startsWith(\`\${path}/\`)) return handleApi(req, res, pathname.slice(path.length + 1))
      return sendHtmlPage(res, 404, 'Not Found')
    },
    internalError: (res) => sendHtmlPage(res, 500, 'Internal Server Error'),
  })
  return sim.expose({ rows })
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

/** Provincial gateways answer HTTP 200 whatever the envelope code (a few errors come with another status). */
function sendEnvelope(res: ServerResponse, envelope: WireEnvelope, status = 200): void {
  sendJson(res, status, envelope, JSON_CONTENT_TYPE)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
`
}

/** `connectors/<id>/simulator/seed.ts`: deterministic seed rows. */
export function simulatorSeedTs(n: ScaffoldNames): string {
  return code`import {
  companyName,
  drawUnique,
  frozenPerSeed,
  SeedRng,
  USCC_BODY_CHARS,
  usccFromParts,
} from '../../kit/seed-tools.js'
import { formatRequestTime } from '../signing.js'
import { type RecordWireRow, STATUS_CODES } from '../wire.js'

/**
 * Deterministic seed data for the simulator: a small set of records as legacy wire rows. Everything comes from one
 * mulberry32 stream (\`SeedRng\`, connectors/kit/seed-tools.ts), so the same seed always gives the same rows; nothing
 * reads the clock. Names are synthetic; USCCs are valid (组织机构代码 body with its own check character + GB 32100
 * check character). The kit also generates resident ids, person names, mobile numbers and street addresses.
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

/** The rows for a seed (cached and frozen). */
export const seedRows: (seed?: number) => readonly RecordWireRow[] = frozenPerSeed(generateRows, DEFAULT_SEED)

export function seedSample(rows: readonly RecordWireRow[] = seedRows()): SeedSample {
  const active = rows.find((r) => r.ZT === STATUS_CODES.active)
  const inactive = rows.find((r) => r.ZT === STATUS_CODES.inactive)
  if (!active || !inactive) throw new Error('seed has no active and inactive record; change the generator or the seed')
  const known = new Set(rows.map((r) => r.JLBH))
  let serial = 999_999
  while (known.has(recordNo(2099, serial))) serial--
  return { recordNo: active.JLBH, inactiveRecordNo: inactive.JLBH, unknownRecordNo: recordNo(2099, serial) }
}

const TRADE_NAMES = ['鸿泰', '嘉禾', '锦程', '盛景', '汇智', '君和', '瑞通', '华信', '恒远', '德誉', '宏图', '金鼎']
const KINDS = ['实业有限公司', '建设工程有限公司', '环境科技有限公司', '物业管理有限公司', '餐饮管理有限公司']
const FIRST_UPDATE = Date.parse('2019-01-01T00:00:00Z')

function recordNo(year: number, serial: number): string {
  return \`\${RECORD_NO_PREFIX}\${year}\${String(serial).padStart(6, '0')}\`
}

/** Keep the order of the draws: it is what makes a seed give the same rows. */
function generateRows(seed: number): RecordWireRow[] {
  const rng = new SeedRng(seed)
  const names = new Set<string>()
  const usccs = new Set<string>()
  const rows: RecordWireRow[] = []
  for (let i = 0; i < SEED_RECORD_COUNT; i++) {
    const name = drawUnique(names, () => companyName(rng, '', TRADE_NAMES, KINDS))
    const uscc = drawUnique(usccs, () => usccFromParts('91', SEED_DIVISION_CODE, rng.chars(USCC_BODY_CHARS, 8)))
    const updated = FIRST_UPDATE + Math.floor(rng.float() * (SEED_REFERENCE_TIME - FIRST_UPDATE))
    rows.push({
      JLBH: recordNo(rng.int(2019, 2026), i + 1),
      // CHAR columns come space-padded from the legacy database.
      MC: rng.chance(0.2) ? \`\${name}  \` : name,
      TYSHXYDM: uscc,
      ZT: rng.chance(0.85) ? STATUS_CODES.active : STATUS_CODES.inactive,
      GXSJ: formatRequestTime(updated),
    })
  }
  return rows
}
`
}
