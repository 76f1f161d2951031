import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ValidateFunction } from 'ajv'
import { Agent } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAjv } from '../../gateway/validation/ajv.js'
import { ConnectorError } from '../kit/connector-error.js'
import type { CallContext, CanonicalRecord, Connector, ConnectorLogger, ReadOperation } from '../kit/types.js'
import { housingGongai, housingGongaiOptionsSchema } from './index.js'
import { isSupersededRow } from './mapping.js'
import {
  DEFAULT_APP_KEY,
  DEFAULT_APP_SECRET,
  type HousingFault,
  type RunningHousingSimulator,
  SEED_REFERENCE_DATE,
  seedSample,
  startHousingSimulator,
} from './simulator/index.js'

interface LogEntry {
  readonly level: string
  readonly obj: object
  readonly msg: string | undefined
}

class CapturingLogger implements ConnectorLogger {
  readonly entries: LogEntry[] = []
  debug(obj: object, msg?: string) {
    this.entries.push({ level: 'debug', obj, msg })
  }
  info(obj: object, msg?: string) {
    this.entries.push({ level: 'info', obj, msg })
  }
  warn(obj: object, msg?: string) {
    this.entries.push({ level: 'warn', obj, msg })
  }
  error(obj: object, msg?: string) {
    this.entries.push({ level: 'error', obj, msg })
  }
}

/** Compiles a record schema the way the catalog loader does. */
function compileRecordSchema(name: string): ValidateFunction {
  const url = new URL(`../../schemas/resources/housing/${name}.record.json`, import.meta.url)
  const schema = JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>
  return createAjv({ today: () => new Date(`${SEED_REFERENCE_DATE}T00:00:00Z`) }).compile(schema)
}

const validators = {
  permit: compileRecordSchema('construction-permit'),
  review: compileRecordSchema('drawing-review'),
  filing: compileRecordSchema('completion-filing'),
}

const sample = seedSample()
const agent = new Agent({ connect: { timeout: 1_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 })
let sim: RunningHousingSimulator
let log: CapturingLogger
let connector: Connector

function connect(
  options: { baseUrl?: string; appSecret?: string; path?: string } = {},
  now: () => number = Date.now,
): Connector {
  return housingGongai.create(
    {
      baseUrl: options.baseUrl ?? sim.url,
      appKey: DEFAULT_APP_KEY,
      appSecret: options.appSecret ?? DEFAULT_APP_SECRET,
      ...(options.path ? { path: options.path } : {}),
    },
    { dispatcher: agent, log, clock: { now } },
  )
}

function ctx(extra: { timeoutMs?: number; propagation?: Record<string, string> } = {}): CallContext {
  const timeoutMs = extra.timeoutMs ?? 5_000
  return {
    signal: AbortSignal.timeout(timeoutMs),
    deadline: Date.now() + timeoutMs,
    requestId: 'req-test',
    log,
    ...(extra.propagation ? { propagation: extra.propagation } : {}),
  }
}

type Params = { projectCode?: string; permitNo?: string }
const read = (c: Connector, operation: string, params: Params, context: CallContext = ctx()) =>
  (c.operations[operation] as unknown as ReadOperation<Params>).handle(params, context)

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError)
    return err as ConnectorError
  }
  throw new Error('expected a ConnectorError')
}

function expectValid(validate: ValidateFunction, records: CanonicalRecord[]) {
  for (const record of records) expect(validate(record), JSON.stringify(validate.errors)).toBe(true)
}

beforeAll(async () => {
  sim = await startHousingSimulator()
})

afterAll(async () => {
  await sim.close()
  await agent.close()
})

beforeEach(() => {
  sim.setKnobs({ latencyMs: 0, fault: 'none' })
  log = new CapturingLogger()
  connector = connect()
})

describe('housing-gongai connector against the simulator', () => {
  it('reads the construction permits of a project', async () => {
    const records = await read(connector, 'constructionPermits', { projectCode: sample.projectCode })
    expect(records.map((r) => r.permitNo)).toStrictEqual(sample.permitNos)
    expectValid(validators.permit, records)
    const first = records[0] as CanonicalRecord
    expect(first.projectCode).toBe(sample.projectCode)
    expect(typeof first.contractPriceWanYuan).toBe('number')
    expect(first.issueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(first).not.toHaveProperty('SJYXBS')
    expect(sim.requests.at(-1)).toMatchObject({ service: 'sgxk.query', params: { XMDM: sample.projectCode } })
  })

  it('reads one permit by permit number', async () => {
    const permitNo = sample.permitNos[1] as string
    const records = await read(connector, 'constructionPermits', { permitNo })
    expect(records).toHaveLength(1)
    expect(records[0]?.permitNo).toBe(permitNo)
    expectValid(validators.permit, records)
    expect(sim.requests.at(-1)).toMatchObject({ service: 'sgxk.query', params: { SGXKZBH: permitNo } })
  })

  it('reads drawing reviews and completion filings', async () => {
    const reviews = await read(connector, 'drawingReviews', { projectCode: sample.projectCode })
    expect(reviews).toHaveLength(sample.drawingReviewCount)
    expectValid(validators.review, reviews)
    expect(reviews.some((r) => r.result === 'passed')).toBe(true)
    const filings = await read(connector, 'completionFilings', { projectCode: sample.projectCode })
    expect(filings).toHaveLength(sample.completionFilingCount)
    expectValid(validators.filing, filings)
  })

  it('maps the 查询无结果 envelope (code 01) for an unknown project or permit number to not-found', async () => {
    const projectCode = sample.unknownProjectCode
    for (const [operation, params] of [
      ['constructionPermits', { projectCode }],
      ['constructionPermits', { permitNo: sample.unknownPermitNo }],
      ['drawingReviews', { projectCode }],
      ['completionFilings', { projectCode }],
    ] as const) {
      const err = await failure(read(connector, operation, params))
      expect(err.kind).toBe('not-found')
      expect(err.upstreamCode).toBe('01')
      expect(err.message).not.toContain(projectCode)
    }
  })

  it('drops rows superseded by a correction (SJYXBS = 0)', async () => {
    const projectCode = sample.correctedProjectCode
    const rows = sim.data.permits.filter((r) => r.XMDM === projectCode)
    const valid = rows.filter((r) => !isSupersededRow(r))
    expect(valid.length).toBeLessThan(rows.length)
    const records = await read(connector, 'constructionPermits', { projectCode })
    expect(records.map((r) => r.contractPriceWanYuan)).toStrictEqual(valid.map((r) => Number(r.HTJG)))
  })

  it('maps a wrong appSecret to rejected with the envelope code', async () => {
    const err = await failure(
      read(connect({ appSecret: 'wrong-secret' }), 'constructionPermits', { projectCode: sample.projectCode }),
    )
    expect(err.kind).toBe('rejected')
    expect(err.upstreamCode).toBe('99')
    expect(err.message).toBe('envelope code 99 (签名验证失败)')
  })

  it('maps a skewed clock to rejected (expired timestamp)', async () => {
    const late = connect({}, () => Date.now() - 10 * 60_000)
    const err = await failure(read(late, 'drawingReviews', { projectCode: sample.projectCode }))
    expect(err).toMatchObject({ kind: 'rejected', upstreamCode: '99' })
    expect(err.message).toBe('envelope code 99 (请求时间戳已过期)')
  })

  it('maps a missing parameter to rejected with code 97', async () => {
    const err = await failure(read(connector, 'drawingReviews', {}))
    expect(err).toMatchObject({ kind: 'rejected', upstreamCode: '97' })
    expect(err.message).toBe('envelope code 97 (参数缺失：XMDM)')
  })

  it('maps a wrong path to rejected with the HTTP status', async () => {
    const err = await failure(read(connect({ path: '/gongai/api/v2' }), 'drawingReviews', sampleProject()))
    expect(err).toMatchObject({ kind: 'rejected', upstreamStatus: 404 })
  })

  const faults: Array<[HousingFault, ConnectorError['kind'], Partial<ConnectorError>]> = [
    ['http-500', 'unavailable', { upstreamStatus: 500 }],
    ['http-503', 'unavailable', { upstreamStatus: 503 }],
    ['reset', 'unavailable', {}],
    ['malformed', 'bad-response', {}],
    ['envelope-99', 'rejected', { upstreamCode: '99' }],
  ]
  for (const [fault, kind, extra] of faults) {
    it(`maps the ${fault} fault to ${kind}`, async () => {
      sim.setKnobs({ fault })
      const err = await failure(read(connector, 'constructionPermits', sampleProject()))
      expect(err.kind).toBe(kind)
      expect(err).toMatchObject(extra)
      // The connection pool recovers once the fault is gone.
      sim.setKnobs({ fault: 'none' })
      expect(await read(connector, 'constructionPermits', sampleProject())).toHaveLength(sample.permitNos.length)
    })
  }

  // A hanging upstream never answers: only the deadline can end the call (no bound on a shared machine's speed).
  it('maps a hanging upstream to timeout at the deadline', async () => {
    sim.setKnobs({ fault: 'hang' })
    const started = performance.now()
    const err = await failure(read(connector, 'completionFilings', sampleProject(), ctx({ timeoutMs: 300 })))
    const elapsed = performance.now() - started
    expect(err.kind).toBe('timeout')
    expect(elapsed).toBeGreaterThanOrEqual(250)
  })

  it('returns schema-violating rows as records that fail the record schema', async () => {
    sim.setKnobs({ fault: 'schema-violation' })
    const permits = await read(connector, 'constructionPermits', sampleProject())
    expect(permits).toHaveLength(sample.permitNos.length)
    for (const record of permits) {
      expect(validators.permit(record)).toBe(false)
      expect(record.totalFloorAreaM2 as number).toBeLessThan(0)
    }
    const reviews = await read(connector, 'drawingReviews', sampleProject())
    for (const record of reviews) expect(validators.review(record)).toBe(false)
    const filings = await read(connector, 'completionFilings', sampleProject())
    for (const record of filings) expect(validators.filing(record)).toBe(false)
  })

  it('spreads faults evenly with faultRate', async () => {
    sim.setKnobs({ fault: 'http-503', faultRate: 0.5 })
    const outcomes: string[] = []
    for (let i = 0; i < 4; i++) {
      try {
        await read(connector, 'drawingReviews', sampleProject())
        outcomes.push('ok')
      } catch (err) {
        outcomes.push((err as ConnectorError).kind)
      }
    }
    expect(outcomes).toStrictEqual(['ok', 'unavailable', 'ok', 'unavailable'])
  })

  it('honours the latency knob', async () => {
    sim.setKnobs({ latencyMs: 150 })
    const started = performance.now()
    await read(connector, 'drawingReviews', sampleProject())
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    const err = await failure(read(connector, 'drawingReviews', sampleProject(), ctx({ timeoutMs: 50 })))
    expect(err.kind).toBe('timeout')
  })

  it('propagates trace context headers', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    await read(
      connector,
      'drawingReviews',
      sampleProject(),
      ctx({ propagation: { traceparent, tracestate: 'qiao=1' } }),
    )
    const recorded = sim.requests.at(-1)
    expect(recorded?.headers.traceparent).toBe(traceparent)
    expect(recorded?.headers.tracestate).toBe('qiao=1')
    expect(recorded?.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8')
  })

  it('logs shapes and counts only: no parameter values, personal data or credentials', async () => {
    const permits = await read(connector, 'constructionPermits', sampleProject())
    await read(connector, 'constructionPermits', { permitNo: sample.permitNos[0] as string })
    await read(connector, 'completionFilings', sampleProject())
    for (const fault of ['http-503', 'malformed', 'envelope-99', 'schema-violation'] as const) {
      sim.setKnobs({ fault })
      await read(connector, 'constructionPermits', sampleProject()).catch(() => undefined)
    }
    sim.setKnobs({ fault: 'none' })
    await read(connect({ appSecret: 'wrong-secret' }), 'drawingReviews', sampleProject()).catch(() => undefined)
    await read(connector, 'drawingReviews', sampleProject(), ctx({ timeoutMs: 1 })).catch(() => undefined)

    expect(log.entries.length).toBeGreaterThanOrEqual(9)
    const allowed = new Set([
      'operation',
      'service',
      'durationMs',
      'httpStatus',
      'envelopeCode',
      'recordCount',
      'errorKind',
    ])
    for (const entry of log.entries) {
      for (const key of Object.keys(entry.obj)) expect(allowed.has(key), key).toBe(true)
    }
    const logged = JSON.stringify(log.entries)
    const secrets = [sample.projectCode, ...sample.permitNos, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, 'wrong-secret']
    for (const record of permits) {
      for (const key of ['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone', 'ownerName', 'constructionSite']) {
        secrets.push(String(record[key]))
      }
    }
    for (const secret of secrets) expect(logged).not.toContain(secret)
  })

  it('reports health up, and down on an HTTP failure', async () => {
    expect(await connector.health({ signal: AbortSignal.timeout(2_000) })).toStrictEqual({ status: 'up' })
    sim.setKnobs({ fault: 'http-503' })
    expect(await connector.health({ signal: AbortSignal.timeout(2_000) })).toStrictEqual({
      status: 'down',
      detail: 'ping answered HTTP 503',
    })
    sim.setKnobs({ fault: 'hang' })
    const health = await connector.health({ signal: AbortSignal.timeout(200) })
    expect(health.status).toBe('down')
  })

  it('reports health down when the simulator is gone, without throwing', async () => {
    const other = await startHousingSimulator()
    const c = connect({ baseUrl: other.url })
    expect((await c.health({ signal: AbortSignal.timeout(2_000) })).status).toBe('up')
    await other.close()
    const health = await c.health({ signal: AbortSignal.timeout(2_000) })
    expect(health.status).toBe('down')
    expect(health.detail).toMatch(/^ping failed: upstream/)
    const err = await failure(read(c, 'drawingReviews', sampleProject()))
    expect(err.kind).toBe('unavailable')
  })

  it('disposes idempotently; later calls throw unavailable', async () => {
    await connector.dispose()
    await connector.dispose()
    const err = await failure(read(connector, 'constructionPermits', sampleProject()))
    expect(err).toMatchObject({ kind: 'unavailable', message: 'connector disposed' })
    expect(await connector.health({ signal: AbortSignal.timeout(1_000) })).toMatchObject({ status: 'down' })
    // The shared dispatcher still works for others.
    expect(await read(connect(), 'drawingReviews', sampleProject())).toHaveLength(sample.drawingReviewCount)
  })
})

function sampleProject(): Params {
  return { projectCode: sample.projectCode }
}

/** An upstream that answers whatever the test scripts, for protocol deviations the simulator never makes. */
describe('housing-gongai connector against a scripted upstream', () => {
  let server: Server
  let baseUrl: string
  let reply: (req: IncomingMessage, res: ServerResponse) => void

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume()
      req.on('end', () => reply(req, res))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const json = (body: unknown, contentType = 'application/json;charset=UTF-8') => {
    reply = (_req, res) => {
      res.writeHead(200, { 'content-type': contentType })
      res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body))
    }
  }

  const call = (params: Params = sampleProject()) =>
    read(connect({ baseUrl }), 'constructionPermits', params, ctx({ timeoutMs: 2_000 }))

  it('refuses an envelope without a data array on code 00', async () => {
    json({ code: '00', msg: '成功', data: '' })
    expect((await failure(call())).kind).toBe('bad-response')
    json({ code: '00', msg: '成功', data: { rows: [] } })
    expect((await failure(call())).kind).toBe('bad-response')
    json({ msg: '成功', data: [] })
    expect((await failure(call())).kind).toBe('bad-response')
    json([])
    expect((await failure(call())).kind).toBe('bad-response')
  })

  it('refuses rows that are not objects or whose dates or numbers do not parse', async () => {
    json({ code: '00', msg: '成功', data: ['x'] })
    expect((await failure(call())).message).toBe('sgxk.query row 0 is not a JSON object')
    json({ code: '00', msg: '成功', data: [{ XMDM: sample.projectCode, FZRQ: '2024-13-01' }] })
    const err = await failure(call())
    expect(err.kind).toBe('bad-response')
    expect(err.message).toBe('sgxk.query row 0: column FZRQ is not a yyyyMMdd date')
    json({ code: '00', msg: '成功', data: [{ XMDM: sample.projectCode, HTJG: '约5000' }] })
    expect((await failure(call())).message).toBe('sgxk.query row 0: column HTJG is not a decimal number')
  })

  it('refuses rows for another project than the one asked for', async () => {
    json({ code: '00', msg: '成功', data: [{ XMDM: sample.unknownProjectCode, SGXKZBH: '320115202401010101' }] })
    const err = await failure(call())
    expect(err).toMatchObject({ kind: 'bad-response' })
    expect(err.message).toBe('sgxk.query row 0 does not match the requested XMDM')
  })

  it('passes through rows that only miss columns, leaving fields out', async () => {
    json({ code: '00', msg: '成功', data: [{ XMDM: sample.projectCode, GCMC: '工程', EXTRA: 1 }] })
    expect(await call()).toStrictEqual([{ projectCode: sample.projectCode, projectName: '工程' }])
  })

  it('decodes a GB18030 body when the charset says so', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ code: '00', msg: '成功', data: [] }))
    json(Buffer.from(body), 'application/json;charset=UTF-8')
    expect(await call()).toStrictEqual([])
    // 南京 in GBK is C4 CF BE A9.
    const gbk = Buffer.concat([
      Buffer.from(`{"code":"00","msg":"ok","data":[{"XMDM":"${sample.projectCode}","GCMC":"`),
      Buffer.from([0xc4, 0xcf, 0xbe, 0xa9]),
      Buffer.from('"}]}'),
    ])
    json(gbk, 'application/json;charset=GBK')
    expect(await call()).toStrictEqual([{ projectCode: sample.projectCode, projectName: '南京' }])
  })

  it('keeps parameter values and identifiers out of envelope error messages', async () => {
    json({ code: '98', msg: `参数类型错误：${sample.projectCode}`, data: '' })
    const echoed = await failure(call())
    expect(echoed).toMatchObject({ kind: 'rejected', upstreamCode: '98', message: 'envelope code 98 (参数类型错误)' })
    json({ code: '96', msg: '数据错误：身份证号110105194912310', data: '' })
    expect((await failure(call())).message).toBe('envelope code 96 (数据错误)')
    json({ code: '99', msg: '很长的错误说明'.repeat(10), data: '' })
    const long = await failure(call())
    expect(Array.from(long.message.replace(/^envelope code 99 \(|\)$/g, ''))).toHaveLength(40)
    json({ code: '<script>', msg: '', data: '' })
    expect((await failure(call())).message).toBe('envelope code (unrecognised)')
  })

  it('maps other HTTP statuses', async () => {
    reply = (_req, res) => {
      res.writeHead(403, { 'content-type': 'text/html' })
      res.end('<h1>Forbidden</h1>')
    }
    expect(await failure(call())).toMatchObject({ kind: 'rejected', upstreamStatus: 403 })
    reply = (_req, res) => {
      res.writeHead(502)
      res.end()
    }
    expect(await failure(call())).toMatchObject({ kind: 'unavailable', upstreamStatus: 502 })
  })
})

describe('housing-gongai definition', () => {
  it('declares its type, system and operations', () => {
    expect(housingGongai.type).toBe('housing-gongai')
    expect(housingGongai.system).toBe('住建 工程建设项目审批管理系统（工改）数据共享接口')
    expect(Object.keys(housingGongai.operations).sort()).toStrictEqual([
      'completionFilings',
      'constructionPermits',
      'drawingReviews',
      'permitChanges',
    ])
    const kinds = Object.fromEntries(Object.entries(housingGongai.operations).map(([name, o]) => [name, o.kind]))
    expect(kinds).toEqual({
      completionFilings: 'read',
      constructionPermits: 'read',
      drawingReviews: 'read',
      permitChanges: 'changes',
    })
  })

  it('has an options schema that accepts the catalog options and nothing else', () => {
    const validate = createAjv().compile(housingGongaiOptionsSchema)
    const options = { baseUrl: 'http://127.0.0.1:9101', appKey: 'qiao-gateway', appSecret: 'x' }
    expect(validate(options)).toBe(true)
    expect(validate({ ...options, path: '/gongai/api/v3' })).toBe(true)
    expect(validate({ ...options, appSecret: '' })).toBe(false)
    expect(validate({ ...options, baseUrl: 'not a url' })).toBe(false)
    expect(validate({ ...options, timeoutMs: 5 })).toBe(false)
    expect(validate({ baseUrl: options.baseUrl, appKey: 'k' })).toBe(false)
  })

  it('checks options when it is created', () => {
    const deps = { dispatcher: agent, log: new CapturingLogger(), clock: { now: Date.now } }
    const base = { appKey: 'k', appSecret: 's' }
    expect(() => housingGongai.create({ ...base, baseUrl: 'ftp://host' }, deps)).toThrow(/baseUrl must use http/)
    expect(() => housingGongai.create({ ...base, baseUrl: 'nope' }, deps)).toThrow(/baseUrl/)
    expect(() => housingGongai.create({ ...base, baseUrl: 'http://u:p@host' }, deps)).toThrow(/credentials/)
    expect(() => housingGongai.create({ ...base, appSecret: '', baseUrl: 'http://host' }, deps)).toThrow(/appSecret/)
    expect(() => housingGongai.create({ ...base, baseUrl: 'http://host', path: 'x' }, deps)).toThrow(/path/)
  })
})
