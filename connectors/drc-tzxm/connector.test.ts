import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ValidateFunction } from 'ajv'
import iconv from 'iconv-lite'
import { Agent } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAjv } from '../../gateway/validation/ajv.js'
import { CapturingLogger } from '../kit/conformance/capturing-logger.js'
import { closedPort } from '../kit/conformance/ports.js'
import { ConnectorError } from '../kit/connector-error.js'
import type {
  CallContext,
  CanonicalRecord,
  Connector,
  ReadOperation,
  WriteOperation,
  WriteReceipt,
} from '../kit/types.js'
import { drcTzxm, drcTzxmOptionsSchema, type PermitFeedbackBody } from './index.js'
import { toPermitParas } from './mapping.js'
import {
  DEFAULT_VALIDATE_DATA,
  type DrcFault,
  type RunningDrcSimulator,
  seedSample,
  startDrcSimulator,
} from './simulator/index.js'
import { buildFaultEnvelope, buildResponseEnvelope, buildResultXml, type SoapFault, type XmlNode } from './wire.js'

function compile(name: string): ValidateFunction {
  const url = new URL(`../../schemas/resources/drc/${name}.json`, import.meta.url)
  return createAjv().compile(JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>)
}

const validators = {
  project: compile('investment-project.record'),
  approval: compile('approval-result.record'),
}

const sample = seedSample()
const agent = new Agent({ connect: { timeout: 1_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 })
let sim: RunningDrcSimulator
let log: CapturingLogger
let connector: Connector
let permitSerial = 0

function connect(options: { baseUrl?: string; validateData?: string; path?: string } = {}): Connector {
  return drcTzxm.create(
    {
      baseUrl: options.baseUrl ?? sim.url,
      validateData: options.validateData ?? DEFAULT_VALIDATE_DATA,
      ...(options.path ? { path: options.path } : {}),
    },
    { dispatcher: agent, log, clock: { now: Date.now } },
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

type Params = Record<string, string>
const read = (c: Connector, operation: string, params: Params, context: CallContext = ctx()) =>
  (c.operations[operation] as unknown as ReadOperation<Params>).handle(params, context)
const push = (c: Connector, body: PermitFeedbackBody, context: CallContext = ctx()): Promise<WriteReceipt> =>
  (c.operations.pushConstructionPermit as unknown as WriteOperation<PermitFeedbackBody>).handle(body, context)

/** A fresh permit body (a new 施工许可证编号 each time). */
function permit(overrides: Partial<PermitFeedbackBody> = {}): PermitFeedbackBody {
  permitSerial += 1
  const permitNo = `320115202611${String(permitSerial).padStart(6, '0')}`
  return { ...sample.permitFeedback, permitNo, ...overrides }
}

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

const byProject = () => ({ projectCode: sample.projectCode })

beforeAll(async () => {
  sim = await startDrcSimulator()
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

describe('drc-tzxm connector against the simulator', () => {
  it('reads one project by project code', async () => {
    const records = await read(connector, 'projectInfo', byProject())
    expect(records).toHaveLength(1)
    expectValid(validators.project, records)
    const wire = sim.data.projects.find((p) => p.项目代码 === sample.projectCode)
    expect(records[0]).toMatchObject({
      projectCode: sample.projectCode,
      projectName: wire?.项目名称,
      companyName: wire?.项目单位[0]?.单位名称,
      totalInvestmentWanYuan: Number(wire?.总投资),
      divisionCode: sample.projectCode.slice(5, 11),
    })
    expect(sim.requests.at(-1)).toMatchObject({ method: 'GetProjectInfo', paras: { 项目代码: sample.projectCode } })
  })

  it('keeps a company name with a character outside the BMP intact through GB18030 (𠮷, U+20BB7)', async () => {
    const [record] = await read(connector, 'projectInfo', { projectCode: sample.nonBmpProjectCode })
    expect(record?.companyName).toBe('南京𠮷祥建设发展有限公司')
    expect(Array.from(record?.companyName as string)[2]?.codePointAt(0)).toBe(0x20bb7)
    const projects = await read(connector, 'companyProjects', { companyUscc: sample.nonBmpCompanyUscc })
    expect(projects.length).toBeGreaterThanOrEqual(2)
    for (const p of projects) expect(p.companyName).toBe(sample.nonBmpCompanyName)
    expectValid(validators.project, projects)
  })

  it('keeps BMP rare characters and escaped text intact', async () => {
    const rare = sim.data.projects.find((p) => p.项目单位[0]?.单位名称.includes('堃'))
    const escaped = sim.data.projects.find((p) => p.建设规模及内容.includes('R&D'))
    for (const wire of [rare, escaped]) {
      const [record] = await read(connector, 'projectInfo', { projectCode: wire?.项目代码 as string })
      expect(record?.companyName).toBe(wire?.项目单位[0]?.单位名称)
      expect(record?.scaleAndContent).toBe(wire?.建设规模及内容)
    }
  })

  it('reads a legacy-format project code', async () => {
    const [record] = await read(connector, 'projectInfo', { projectCode: sample.legacyProjectCode })
    expect(record?.projectCode).toBe(sample.legacyProjectCode)
    expectValid(validators.project, [record as CanonicalRecord])
  })

  it('reads the projects of a company', async () => {
    const records = await read(connector, 'companyProjects', { companyUscc: sample.companyUscc })
    expect(records).toHaveLength(sample.companyProjectCount)
    expectValid(validators.project, records)
    for (const r of records) expect(r.companyUscc).toBe(sample.companyUscc)
    expect(await read(connector, 'companyProjects', { companyUscc: sample.unknownCompanyUscc })).toStrictEqual([])
  })

  it('reads the approval results of a project', async () => {
    const records = await read(connector, 'approvalResults', byProject())
    expect(records).toHaveLength(sample.approvalResultCount)
    expectValid(validators.approval, records)
    for (const r of records) expect(r.completedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/)
  })

  it('maps E1001 (项目代码不存在) for an unknown project to not-found', async () => {
    for (const operation of ['projectInfo', 'approvalResults']) {
      const err = await failure(read(connector, operation, { projectCode: sample.unknownProjectCode }))
      expect(err).toMatchObject({ kind: 'not-found', upstreamCode: 'E1001', upstreamStatus: 500 })
      expect(err.message).toBe('SOAP fault E1001 (项目代码不存在)')
    }
  })

  it('maps a wrong ValidateData (E1002) to rejected, without repeating the token', async () => {
    const err = await failure(read(connect({ validateData: 'not-the-token' }), 'projectInfo', byProject()))
    expect(err).toMatchObject({ kind: 'rejected', upstreamCode: 'E1002' })
    expect(err.message).not.toContain('not-the-token')
  })

  it('maps a wrong path to rejected with the HTTP status', async () => {
    const err = await failure(read(connect({ path: '/Other/Service.asmx' }), 'projectInfo', byProject()))
    expect(err).toMatchObject({ kind: 'rejected', upstreamStatus: 404 })
  })

  it('pushes a construction permit: delivered exactly once per call, with a receipt', async () => {
    const body = permit({ issuingAuthority: '南京市𠮷祥新区建设局' })
    const before = sim.requests.length
    const receipt = await push(connector, body)
    expect(receipt.receiptId).toMatch(/^HZ\d{14}\d{6}$/)
    expect(receipt.acceptedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/)
    expect(Math.abs(Date.parse(receipt.acceptedAt) - Date.now())).toBeLessThan(5_000)
    expect(sim.requests.length - before).toBe(1)
    const stored = sim.received.get(body.permitNo)
    expect(stored?.count).toBe(1)
    expect(stored?.receiptIds).toStrictEqual([receipt.receiptId])
    expect(stored?.body).toStrictEqual(Object.fromEntries(toPermitParas(body)))
    expect(stored?.body.发证机关).toBe('南京市𠮷祥新区建设局')
    // A second call is a second delivery, with its own receipt.
    const again = await push(connector, body)
    expect(again.receiptId).not.toBe(receipt.receiptId)
    expect(sim.received.get(body.permitNo)?.count).toBe(2)
  })

  it('refuses a write for an unknown project (not-found) and a malformed one (rejected), storing nothing', async () => {
    const unknown = permit({ projectCode: sample.unknownProjectCode })
    expect((await failure(push(connector, unknown))).kind).toBe('not-found')
    const backwards = permit({ plannedCompletionDate: '2026-01-01' })
    const err = await failure(push(connector, backwards))
    expect(err).toMatchObject({ kind: 'rejected', upstreamCode: 'E1003' })
    const control = permit({ issuingAuthority: '南京\u0000建设局' })
    const before = sim.requests.length
    expect(await failure(push(connector, control))).toMatchObject({ kind: 'rejected' })
    expect(sim.requests.length).toBe(before)
    for (const b of [unknown, backwards, control]) expect(sim.received.has(b.permitNo)).toBe(false)
  })

  it('does not deliver a write the upstream faulted or never answered', async () => {
    sim.setKnobs({ fault: 'soap-fault' })
    const busy = permit()
    expect(await failure(push(connector, busy))).toMatchObject({ kind: 'unavailable', upstreamCode: 'E9999' })
    sim.setKnobs({ fault: 'hang' })
    const hung = permit()
    expect((await failure(push(connector, hung, ctx({ timeoutMs: 200 })))).kind).toBe('timeout')
    expect(sim.received.has(busy.permitNo)).toBe(false)
    expect(sim.received.has(hung.permitNo)).toBe(false)
  })

  const faults: Array<[DrcFault, ConnectorError['kind'], Partial<ConnectorError>]> = [
    ['http-500', 'unavailable', { upstreamStatus: 500 }],
    ['http-503', 'unavailable', { upstreamStatus: 503 }],
    ['reset', 'unavailable', {}],
    ['malformed', 'bad-response', {}],
    ['soap-fault', 'unavailable', { upstreamCode: 'E9999', upstreamStatus: 500 }],
  ]
  for (const [fault, kind, extra] of faults) {
    it(`maps the ${fault} fault to ${kind}`, async () => {
      sim.setKnobs({ fault })
      const err = await failure(read(connector, 'approvalResults', byProject()))
      expect(err.kind).toBe(kind)
      expect(err).toMatchObject(extra)
      // The connection pool recovers once the fault is gone.
      sim.setKnobs({ fault: 'none' })
      expect(await read(connector, 'approvalResults', byProject())).toHaveLength(sample.approvalResultCount)
    })
  }

  // A hanging upstream never answers: only the deadline can end the call (no bound on a shared machine's speed).
  it('maps a hanging upstream to timeout at the deadline', async () => {
    sim.setKnobs({ fault: 'hang' })
    const started = performance.now()
    const err = await failure(read(connector, 'projectInfo', byProject(), ctx({ timeoutMs: 300 })))
    const elapsed = performance.now() - started
    expect(err.kind).toBe('timeout')
    expect(elapsed).toBeGreaterThanOrEqual(250)
  })

  it('returns schema-violating data as records that fail the record schema', async () => {
    sim.setKnobs({ fault: 'schema-violation' })
    const [project] = await read(connector, 'projectInfo', byProject())
    expect(validators.project(project)).toBe(false)
    expect(project?.totalInvestmentWanYuan as number).toBeLessThan(0)
    const approvals = await read(connector, 'approvalResults', byProject())
    const approved = approvals.filter((a) => a.result === 'approved')
    expect(approved.length).toBeGreaterThan(0)
    for (const a of approved) expect(validators.approval(a)).toBe(false)
  })

  it('spreads faults evenly with faultRate', async () => {
    sim.setKnobs({ fault: 'http-503', faultRate: 0.5 })
    const outcomes: string[] = []
    for (let i = 0; i < 4; i++) {
      try {
        await read(connector, 'projectInfo', byProject())
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
    await read(connector, 'projectInfo', byProject())
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    expect((await failure(read(connector, 'projectInfo', byProject(), ctx({ timeoutMs: 50 })))).kind).toBe('timeout')
  })

  it('sends SOAP 1.1 headers and propagates trace context, which cannot replace them', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    await read(
      connector,
      'approvalResults',
      byProject(),
      ctx({ propagation: { traceparent, tracestate: 'qiao=1', SOAPAction: '"x"', 'Content-Type': 'text/plain' } }),
    )
    const headers = sim.requests.at(-1)?.headers
    expect(headers?.traceparent).toBe(traceparent)
    expect(headers?.tracestate).toBe('qiao=1')
    expect(headers?.soapaction).toBe('"http://tempuri.org/GetApprovalResults"')
    expect(headers?.['content-type']).toBe('text/xml; charset=GBK')
  })

  it('logs operation, method, codes, timings and counts only: no values, names or the token', async () => {
    const projects = await read(connector, 'projectInfo', { projectCode: sample.nonBmpProjectCode })
    const company = await read(connector, 'companyProjects', { companyUscc: sample.companyUscc })
    const approvals = await read(connector, 'approvalResults', byProject())
    const body = permit()
    const receipt = await push(connector, body)
    await read(connector, 'projectInfo', { projectCode: sample.unknownProjectCode }).catch(() => undefined)
    for (const fault of ['http-503', 'malformed', 'soap-fault', 'schema-violation'] as const) {
      sim.setKnobs({ fault })
      await read(connector, 'projectInfo', byProject()).catch(() => undefined)
    }
    sim.setKnobs({ fault: 'none' })
    await read(connect({ validateData: 'wrong-token' }), 'projectInfo', byProject()).catch(() => undefined)
    await push(connector, permit({ issuingAuthority: '\u0000' })).catch(() => undefined)
    await read(connector, 'projectInfo', byProject(), ctx({ timeoutMs: 1 })).catch(() => undefined)

    expect(log.entries.length).toBeGreaterThanOrEqual(12)
    const allowed = new Set([
      'operation',
      'method',
      'durationMs',
      'httpStatus',
      'faultCode',
      'resultCode',
      'recordCount',
      'errorKind',
    ])
    for (const entry of log.entries) {
      for (const key of Object.keys(entry.obj)) expect(allowed.has(key), key).toBe(true)
    }
    const logged = log.text()
    const values = [
      sample.projectCode,
      sample.nonBmpProjectCode,
      sample.unknownProjectCode,
      sample.companyUscc,
      DEFAULT_VALIDATE_DATA,
      'wrong-token',
      body.permitNo,
      body.issuingAuthority,
      receipt.receiptId,
      String(body.contractPriceWanYuan),
    ]
    for (const record of [...projects, ...company, ...approvals]) {
      for (const value of Object.values(record)) if (typeof value === 'string' && value.length >= 4) values.push(value)
    }
    for (const value of values) expect(logged).not.toContain(value)
  })

  it('reports health up, and down on HTTP failures, a refused token or a hang, without throwing', async () => {
    expect(await connector.health({ signal: AbortSignal.timeout(2_000) })).toStrictEqual({ status: 'up' })
    expect(sim.requests.at(-1)?.method).toBe('Ping')
    sim.setKnobs({ fault: 'http-503' })
    expect(await connector.health({ signal: AbortSignal.timeout(2_000) })).toStrictEqual({
      status: 'down',
      detail: 'ping failed: upstream answered HTTP 503',
    })
    sim.setKnobs({ fault: 'none' })
    const refused = await connect({ validateData: 'wrong-token' }).health({ signal: AbortSignal.timeout(2_000) })
    expect(refused.status).toBe('down')
    expect(refused.detail).toMatch(/^ping failed: SOAP fault E1002/)
    expect(refused.detail).not.toContain('wrong-token')
    sim.setKnobs({ fault: 'hang' })
    expect((await connector.health({ signal: AbortSignal.timeout(200) })).status).toBe('down')
  })

  it('reports health down when nothing listens, and reads fail as unavailable', async () => {
    const c = connect({ baseUrl: `http://127.0.0.1:${await closedPort()}` })
    const health = await c.health({ signal: AbortSignal.timeout(2_000) })
    expect(health.status).toBe('down')
    expect(health.detail).toMatch(/^ping failed: upstream unreachable/)
    expect((await failure(read(c, 'projectInfo', byProject()))).kind).toBe('unavailable')
  })

  it('disposes idempotently; later calls throw unavailable', async () => {
    await connector.dispose()
    await connector.dispose()
    expect(await failure(read(connector, 'projectInfo', byProject()))).toMatchObject({
      kind: 'unavailable',
      message: 'connector disposed',
    })
    expect(await failure(push(connector, permit()))).toMatchObject({ kind: 'unavailable' })
    expect(await connector.health({ signal: AbortSignal.timeout(1_000) })).toMatchObject({ status: 'down' })
    // The shared dispatcher still works for others.
    expect(await read(connect(), 'projectInfo', byProject())).toHaveLength(1)
  })
})

/** An upstream that answers whatever the test scripts, for protocol deviations the simulator never makes. */
describe('drc-tzxm connector against a scripted upstream', () => {
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

  const answer = (status: number, body: string | Buffer, contentType = 'text/xml; charset=GBK') => {
    reply = (_req, res) => {
      res.writeHead(status, { 'content-type': contentType })
      res.end(typeof body === 'string' ? iconv.encode(body, 'gb18030') : body)
    }
  }
  const result = (method: string, code: string, message: string, data?: readonly XmlNode[]) =>
    answer(200, buildResponseEnvelope(method, buildResultXml(code, message, data)))
  const fault = (f: SoapFault, status = 500) => answer(status, buildFaultEnvelope(f))

  const project = (code: string, uscc = '91350200776049653A'): XmlNode => [
    '项目',
    [
      ['项目代码', code],
      ['项目名称', '测试项目'],
      [
        '项目单位',
        [
          ['单位名称', '测试公司'],
          ['统一社会信用代码', uscc],
        ],
      ],
    ],
  ]
  const call = (params: Params = byProject()) =>
    read(connect({ baseUrl }), 'projectInfo', params, ctx({ timeoutMs: 2_000 }))

  it('maps faults by error code, else by faultcode, on HTTP 500 or 200', async () => {
    const cases: Array<[SoapFault, ConnectorError['kind'], string]> = [
      [{ faultcode: 'soap:Client', faultstring: '参数格式错误', errorCode: 'E1003' }, 'rejected', 'E1003'],
      [{ faultcode: 'soap:Server', faultstring: '系统繁忙', errorCode: 'E9999' }, 'unavailable', 'E9999'],
      [{ faultcode: 'soap:Server', faultstring: '服务器无法处理请求。' }, 'unavailable', 'soap:Server'],
      [{ faultcode: 'soap:Client', faultstring: '' }, 'rejected', 'soap:Client'],
      [{ faultcode: 'soap:Client', faultstring: '', errorCode: 'E2001' }, 'rejected', 'E2001'],
      [{ faultcode: 'soap:Server', faultstring: '', errorCode: 'E2002' }, 'unavailable', 'E2002'],
      [{ faultcode: 'soap:VersionMismatch', faultstring: '' }, 'rejected', 'soap:VersionMismatch'],
      [{ faultcode: 'soap:Client', faultstring: '', errorCode: '<bad code>' }, 'rejected', 'soap:Client'],
    ]
    for (const [f, kind, code] of cases) {
      fault(f)
      expect(await failure(call()), JSON.stringify(f)).toMatchObject({ kind, upstreamCode: code })
    }
    fault({ faultcode: 'soap:Client', faultstring: '项目代码不存在', errorCode: 'E1001' }, 200)
    expect(await failure(call())).toMatchObject({ kind: 'not-found', upstreamStatus: 200 })
  })

  it('keeps parameter values and identifiers out of fault and result messages', async () => {
    fault({ faultcode: 'soap:Client', faultstring: `项目代码${sample.projectCode}不存在`, errorCode: 'E1001' })
    expect((await failure(call())).message).toBe('SOAP fault E1001 (项目代码不存在)')
    fault({ faultcode: 'soap:Client', faultstring: `无效令牌 ${DEFAULT_VALIDATE_DATA}`, errorCode: 'E1002' })
    expect((await failure(call())).message).toBe('SOAP fault E1002 (ValidateData 无效)')
    result('GetProjectInfo', '0', `查询失败：${sample.projectCode}`)
    expect(await failure(call())).toMatchObject({ kind: 'rejected', upstreamCode: '0', message: 'result code 0' })
    result('GetProjectInfo', '-1', '无权限访问该接口')
    expect((await failure(call())).message).toBe('result code -1 (无权限访问该接口)')
    result('GetProjectInfo', '<x>', '')
    expect((await failure(call())).message).toBe('result code (unrecognised)')
  })

  it('maps HTTP statuses: 500 without a fault and other 5xx to unavailable, others to rejected', async () => {
    answer(500, '<html><body><h1>Server Error in "/" Application.</h1></body></html>', 'text/html')
    expect(await failure(call())).toMatchObject({ kind: 'unavailable', upstreamStatus: 500 })
    answer(500, 'x'.repeat(200_000))
    expect(await failure(call())).toMatchObject({ kind: 'unavailable', upstreamStatus: 500 })
    answer(500, buildResponseEnvelope('GetProjectInfo', buildResultXml('1', '成功', [])))
    expect(await failure(call())).toMatchObject({ kind: 'unavailable', upstreamStatus: 500 })
    answer(502, '')
    expect(await failure(call())).toMatchObject({ kind: 'unavailable', upstreamStatus: 502 })
    answer(415, '', 'text/html')
    expect(await failure(call())).toMatchObject({ kind: 'rejected', upstreamStatus: 415 })
  })

  it('refuses answers that are not the expected envelope or result', async () => {
    const cases: Array<[string, string]> = [
      ['not xml', 'answer is not well-formed XML'],
      ['<Envelope><Body/></Envelope>', 'answer has an empty Body'],
      [buildResponseEnvelope('Ping', buildResultXml('1', '成功')), 'answer Body has no GetProjectInfoResponse'],
      [buildResponseEnvelope('GetProjectInfo', '<result><code>1'), 'result XML is not well-formed XML'],
      [buildResponseEnvelope('GetProjectInfo', '<result><message/></result>'), 'result has no code'],
    ]
    for (const [body, message] of cases) {
      answer(200, body)
      expect(await failure(call()), body).toMatchObject({ kind: 'bad-response', message })
    }
    answer(200, Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c]))
    expect(await failure(call())).toMatchObject({ kind: 'bad-response', message: 'response body is not valid gb18030' })
  })

  it('decodes GBK/GB2312/unlabelled answers as GB18030 and honours an explicit UTF-8', async () => {
    const envelope = buildResponseEnvelope(
      'GetProjectInfo',
      buildResultXml('1', '成功', [project(sample.projectCode)]).replace('测试公司', '南京𠮷祥'),
    )
    for (const type of [
      'text/xml; charset=GBK',
      'text/xml; charset=gb2312',
      'text/xml',
      'text/xml;charset="GB18030"',
    ]) {
      answer(200, iconv.encode(envelope, 'gb18030'), type)
      expect((await call())[0]?.companyName, type).toBe('南京𠮷祥')
    }
    answer(200, Buffer.from(envelope, 'utf8'), 'text/xml; charset=utf-8')
    expect((await call())[0]?.companyName).toBe('南京𠮷祥')
  })

  it('reads a result in CDATA and character references a GBK-only writer emits for 𠮷', async () => {
    const inner =
      '<?xml version="1.0" encoding="gb2312"?><result><code>1</code><message>成功</message><data><项目>' +
      `<项目代码>${sample.projectCode}</项目代码><项目单位><单位名称>南京&#x20BB7;祥</单位名称></项目单位></项目></data></result>`
    answer(
      200,
      '<?xml version="1.0" encoding="gbk"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
        '<soap:Body><GetProjectInfoResponse xmlns="http://tempuri.org/">' +
        `<GetProjectInfoResult><![CDATA[${inner}]]></GetProjectInfoResult></GetProjectInfoResponse></soap:Body></soap:Envelope>`,
    )
    expect(await call()).toStrictEqual([
      { projectCode: sample.projectCode, companyName: '南京𠮷祥', divisionCode: '320100' },
    ])
  })

  it('refuses records that were not asked for, or more than one project for one code', async () => {
    result('GetProjectInfo', '1', '成功', [project(sample.unknownProjectCode)])
    expect(await failure(call())).toMatchObject({
      kind: 'bad-response',
      message: 'GetProjectInfo 项目[0] does not match the requested 项目代码',
    })
    result('GetProjectInfo', '1', '成功', [project(sample.projectCode), project(sample.projectCode)])
    expect((await failure(call())).message).toBe('GetProjectInfo 项目 is repeated for one project code')
    result('GetProjectsByCompany', '1', '成功', [project(sample.projectCode, '91350500798359476R')])
    const company = read(connect({ baseUrl }), 'companyProjects', { companyUscc: '91350200776049653A' }, ctx())
    expect((await failure(company)).message).toBe(
      'GetProjectsByCompany 项目[0] has no 项目单位 with the requested 统一社会信用代码',
    )
    result('GetApprovalResults', '1', '成功', [['审批记录', [['项目代码', sample.unknownProjectCode]]]])
    const approvals = read(connect({ baseUrl }), 'approvalResults', byProject(), ctx())
    expect((await failure(approvals)).message).toBe(
      'GetApprovalResults 审批记录[0] does not match the requested 项目代码',
    )
    result(
      'GetProjectInfo',
      '1',
      '成功',
      [project(sample.projectCode)].map(([, c]) => ['项目', [...(c as XmlNode[]), ['总投资', '五千']]] as XmlNode),
    )
    expect((await failure(call())).message).toBe('GetProjectInfo 总投资 is not a decimal number')
  })

  it('answers an empty list when data is empty, and refuses a write answer without a receipt', async () => {
    result('GetProjectInfo', '1', '成功', [])
    expect(await call()).toStrictEqual([])
    result('GetProjectInfo', '1', '成功')
    expect(await call()).toStrictEqual([])
    result('PushConstructionPermit', '1', '接收成功')
    const c = connect({ baseUrl })
    expect(await failure(push(c, permit()))).toMatchObject({
      kind: 'bad-response',
      message: 'PushConstructionPermit data is missing',
    })
    result('PushConstructionPermit', '1', '接收成功', [['回执编号', 'HZ1']])
    expect((await failure(push(c, permit()))).message).toBe('PushConstructionPermit 接收时间 is missing')
  })
})

describe('drc-tzxm definition', () => {
  it('declares its type, system and operations', () => {
    expect(drcTzxm.type).toBe('drc-tzxm')
    expect(drcTzxm.system).toBe('发改 全国投资项目在线审批监管平台 数据交换服务（SOAP）')
    expect(Object.entries(drcTzxm.operations).map(([name, m]) => [name, m.kind])).toStrictEqual([
      ['projectInfo', 'read'],
      ['companyProjects', 'read'],
      ['approvalResults', 'read'],
      ['pushConstructionPermit', 'write'],
    ])
  })

  it('has an options schema that accepts the catalog options and nothing else', () => {
    const validate = createAjv().compile(drcTzxmOptionsSchema)
    const options = { baseUrl: 'http://127.0.0.1:9102', validateData: 'token' }
    expect(validate(options)).toBe(true)
    expect(validate({ ...options, path: '/TzxmExchange/ExchangeService.asmx' })).toBe(true)
    expect(validate({ ...options, validateData: '' })).toBe(false)
    expect(validate({ ...options, baseUrl: 'not a url' })).toBe(false)
    expect(validate({ ...options, path: 'x.asmx' })).toBe(false)
    expect(validate({ ...options, timeoutMs: 5 })).toBe(false)
    expect(validate({ baseUrl: options.baseUrl })).toBe(false)
  })

  it('checks options when it is created, never repeating the token', () => {
    const deps = { dispatcher: agent, log: new CapturingLogger(), clock: { now: Date.now } }
    const base = { validateData: 'secret-token' }
    expect(() => drcTzxm.create({ ...base, baseUrl: 'ftp://host' }, deps)).toThrow(/baseUrl must use http/)
    expect(() => drcTzxm.create({ ...base, baseUrl: 'nope' }, deps)).toThrow(/baseUrl/)
    expect(() => drcTzxm.create({ ...base, baseUrl: 'http://u:p@host' }, deps)).toThrow(/credentials/)
    expect(() => drcTzxm.create({ ...base, baseUrl: 'http://host?x=1' }, deps)).toThrow(/query/)
    expect(() => drcTzxm.create({ validateData: '', baseUrl: 'http://host' }, deps)).toThrow(/validateData/)
    expect(() => drcTzxm.create({ validateData: 'a\u0001', baseUrl: 'http://host' }, deps)).toThrow(/XML/)
    expect(() => drcTzxm.create({ ...base, baseUrl: 'http://host', path: 'x' }, deps)).toThrow(/path/)
  })
})
