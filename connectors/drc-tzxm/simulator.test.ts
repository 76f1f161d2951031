import iconv from 'iconv-lite'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_VALIDATE_DATA,
  drcSimulator,
  type RunningDrcSimulator,
  seedSample,
  startDrcSimulator,
} from './simulator/index.js'
import {
  buildParasXml,
  buildRequestEnvelope,
  DEFAULT_PATH,
  parseResponseEnvelope,
  parseResultXml,
  soapAction,
} from './wire.js'

const agent = new Agent({ connect: { timeout: 1_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 })
const sample = seedSample()
let sim: RunningDrcSimulator

beforeAll(async () => {
  sim = await startDrcSimulator({ now: () => Date.parse('2026-11-15T01:30:00Z') })
})

afterAll(async () => {
  await sim.close()
  await agent.close()
})

beforeEach(() => {
  sim.setKnobs({ latencyMs: 0, fault: 'none' })
})

interface Raw {
  status: number
  contentType: string | undefined
  bytes: Buffer
}

async function raw(
  body: string | Buffer,
  headers: Record<string, string> = {},
  path: string = DEFAULT_PATH,
  method: 'GET' | 'POST' = 'POST',
): Promise<Raw> {
  const res = await request(`${sim.url}${path}`, {
    dispatcher: agent,
    method,
    headers,
    body: method === 'GET' ? undefined : body,
    signal: AbortSignal.timeout(2_000),
  })
  return {
    status: res.statusCode,
    contentType: res.headers['content-type'] as string | undefined,
    bytes: Buffer.from(await res.body.arrayBuffer()),
  }
}

/** A SOAP call as the connector makes it: GB18030 bytes, GBK label. */
function soap(method: string, paras?: Array<[string, string]>, token = DEFAULT_VALIDATE_DATA, action = method) {
  const envelope = buildRequestEnvelope(method, token, paras && buildParasXml(paras))
  return raw(iconv.encode(envelope, 'gb18030'), {
    'content-type': 'text/xml; charset=GBK',
    soapaction: soapAction(action),
  })
}

function decode(answer: Raw, method: string) {
  const parsed = parseResponseEnvelope(iconv.decode(answer.bytes, 'gb18030'), method)
  return parsed.kind === 'result' ? { ...parsed, result: parseResultXml(parsed.result) } : parsed
}

describe('drc simulator wire protocol', () => {
  it('answers in GB18030 bytes under a GBK label, so 𠮷 is four bytes on the wire', async () => {
    const answer = await soap('GetProjectInfo', [['项目代码', sample.nonBmpProjectCode]])
    expect(answer.status).toBe(200)
    expect(answer.contentType).toBe('text/xml; charset=GBK')
    expect(answer.bytes.includes(Buffer.from('9534b235', 'hex'))).toBe(true)
    expect(answer.bytes.includes(Buffer.from('𠮷', 'utf8'))).toBe(false)
    const text = answer.bytes.toString('latin1')
    expect(text.startsWith('<?xml version="1.0" encoding="GBK"?><soap:Envelope')).toBe(true)
    const parsed = decode(answer, 'GetProjectInfo')
    expect(parsed).toMatchObject({
      kind: 'result',
      result: { code: '1', data: { 项目: [{ 项目单位: [{ 单位名称: sample.nonBmpCompanyName }] }] } },
    })
  })

  it('answers Ping with the server time', async () => {
    const parsed = decode(await soap('Ping'), 'Ping')
    expect(parsed).toStrictEqual({
      kind: 'result',
      result: { code: '1', message: '成功', data: { 服务时间: '20261115093000' } },
    })
  })

  it('answers faults with HTTP 500: unknown project, bad token, bad parameter, wrong SOAPAction', async () => {
    const unknown = await soap('GetProjectInfo', [['项目代码', sample.unknownProjectCode]])
    expect(unknown.status).toBe(500)
    expect(decode(unknown, 'GetProjectInfo')).toStrictEqual({
      kind: 'fault',
      fault: { faultcode: 'soap:Client', faultstring: '项目代码不存在', errorCode: 'E1001' },
    })
    const token = await soap('GetProjectInfo', [['项目代码', sample.projectCode]], 'wrong')
    expect(decode(token, 'GetProjectInfo')).toMatchObject({ kind: 'fault', fault: { errorCode: 'E1002' } })
    const shape = await soap('GetApprovalResults', [['项目代码', '2403-3201']])
    expect(decode(shape, 'GetApprovalResults')).toMatchObject({
      kind: 'fault',
      fault: { errorCode: 'E1003', faultstring: '参数格式错误：项目代码' },
    })
    const action = await soap('GetProjectInfo', [['项目代码', sample.projectCode]], DEFAULT_VALIDATE_DATA, 'Other')
    expect(decode(action, 'GetProjectInfo')).toMatchObject({ kind: 'fault', fault: { faultcode: 'soap:Client' } })
    const notXml = await raw('not xml', { 'content-type': 'text/xml; charset=GBK', soapaction: soapAction('Ping') })
    expect(notXml.status).toBe(500)
    expect(decode(notXml, 'Ping')).toMatchObject({ kind: 'fault', fault: { faultcode: 'soap:Client' } })
  })

  it('answers an empty data list for a company without projects', async () => {
    const parsed = decode(
      await soap('GetProjectsByCompany', [['统一社会信用代码', sample.unknownCompanyUscc]]),
      'GetProjectsByCompany',
    )
    expect(parsed).toStrictEqual({ kind: 'result', result: { code: '1', message: '成功', data: '' } })
  })

  it('stores pushed permits decoded from GB18030, once per delivery, each with its own receipt', async () => {
    const paras: Array<[string, string]> = [
      ['项目代码', sample.projectCode],
      ['施工许可证编号', '320100202611150199'],
      ['发证日期', '20261115'],
      ['发证机关', '南京市𠮷祥新区建设局'],
      ['合同价格', '100.5'],
      ['建筑面积', '2000'],
      ['计划开工日期', '20261201'],
      ['计划竣工日期', '20271201'],
    ]
    const first = decode(await soap('PushConstructionPermit', paras), 'PushConstructionPermit')
    expect(first).toStrictEqual({
      kind: 'result',
      result: {
        code: '1',
        message: '接收成功',
        data: { 回执编号: expect.stringMatching(/^HZ20261115093000\d{6}$/), 接收时间: '20261115093000' },
      },
    })
    expect(sim.received.get('320100202611150199')).toMatchObject({ count: 1, body: Object.fromEntries(paras) })
    await soap('PushConstructionPermit', paras)
    const stored = sim.received.get('320100202611150199')
    expect(stored?.count).toBe(2)
    expect(new Set(stored?.receiptIds).size).toBe(2)
    expect(stored?.body.发证机关).toBe('南京市𠮷祥新区建设局')
  })

  it('refuses malformed writes without storing them', async () => {
    const base: Array<[string, string]> = [
      ['项目代码', sample.projectCode],
      ['施工许可证编号', '320100202611150198'],
      ['发证日期', '20261115'],
      ['发证机关', '南京市城乡建设委员会'],
      ['合同价格', '100.5'],
      ['建筑面积', '2000'],
      ['计划开工日期', '20261201'],
      ['计划竣工日期', '20271201'],
    ]
    const cases: Array<[number, string, string]> = [
      [1, '3201002026', '施工许可证编号'],
      [2, '20260230', '发证日期'],
      [4, '-1', '合同价格'],
      [7, '20261130', '计划竣工日期'],
    ]
    for (const [i, value, name] of cases) {
      const paras = base.map(([n, v], j) => [n, j === i ? value : v] as [string, string])
      expect(decode(await soap('PushConstructionPermit', paras), 'PushConstructionPermit')).toMatchObject({
        kind: 'fault',
        fault: { errorCode: 'E1003', faultstring: `参数格式错误：${name}` },
      })
    }
    const unknown = base.map(([n, v]) => [n, n === '项目代码' ? sample.unknownProjectCode : v] as [string, string])
    expect(decode(await soap('PushConstructionPermit', unknown), 'PushConstructionPermit')).toMatchObject({
      kind: 'fault',
      fault: { errorCode: 'E1001' },
    })
    expect(sim.received.has('320100202611150198')).toBe(false)
  })

  it('refuses other content types, methods and paths like IIS', async () => {
    expect((await raw('x', { 'content-type': 'application/json' })).status).toBe(415)
    const help = await raw('', {}, DEFAULT_PATH, 'GET')
    expect(help.status).toBe(200)
    expect(help.bytes.toString('utf8')).toContain('GetProjectInfo')
    expect((await raw('x', { 'content-type': 'text/xml' }, '/Other.asmx')).status).toBe(404)
    // Paths are case-insensitive.
    const lower = await raw(
      iconv.encode(buildRequestEnvelope('Ping', DEFAULT_VALIDATE_DATA), 'gb18030'),
      {
        'content-type': 'text/xml; charset=GBK',
        soapaction: soapAction('Ping'),
      },
      DEFAULT_PATH.toLowerCase(),
    )
    expect(lower.status).toBe(200)
  })

  it('records requests without the token', async () => {
    await soap('GetProjectInfo', [['项目代码', sample.projectCode]])
    const last = sim.requests.at(-1)
    expect(last).toMatchObject({
      method: 'GetProjectInfo',
      soapAction: '"http://tempuri.org/GetProjectInfo"',
      paras: { 项目代码: sample.projectCode },
    })
    expect(JSON.stringify(last?.paras)).not.toContain(DEFAULT_VALIDATE_DATA)
  })

  it('takes knobs over HTTP and refuses bad ones', async () => {
    const post = async (body: string) => {
      const res = await request(`${sim.url}/__sim/knobs`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
    }
    expect(await post('{"fault":"soap-fault","faultRate":0.5}')).toStrictEqual({
      status: 200,
      body: { latencyMs: 0, fault: 'soap-fault', faultRate: 0.5, faultCount: 0 },
    })
    expect((await post('{"fault":"nope"}')).status).toBe(400)
    expect((await post('{"latencyMs":-1}')).status).toBe(400)
    expect((await post('{"other":1}')).body).toStrictEqual({ error: 'unknown knob other' })
    expect((await post('not json')).status).toBe(400)
    expect(sim.knobs).toStrictEqual({ latencyMs: 0, fault: 'soap-fault', faultRate: 0.5, faultCount: 0 })
  })

  it('faults exactly the next faultCount requests, then clears', async () => {
    sim.setKnobs({ fault: 'http-503', faultCount: 2 })
    expect((await soap('Ping')).status).toBe(503)
    expect((await soap('Ping')).status).toBe(503)
    expect((await soap('Ping')).status).toBe(200)
    expect(sim.knobs.fault).toBe('none')
    expect(() => sim.setKnobs({ faultCount: 1.5 })).toThrow(/faultCount/)
    expect(sim.setKnobs({ fault: 'reset', faultCount: 1 })).toMatchObject({ fault: 'reset', faultCount: 1 })
    expect(sim.setKnobs({ fault: 'hang' })).toMatchObject({ faultRate: 1, faultCount: 0 })
  })

  it('has a simulator definition for the CLI', () => {
    expect(drcSimulator).toMatchObject({ name: 'drc', defaultPort: 9102, urlVariable: 'QIAO_DRC_URL' })
    // Every resource it serves has examples (at least two each, the shared cross-department project first).
    expect(new Set(drcSimulator.examples?.map((e) => e.resource))).toStrictEqual(
      new Set(['drc.investment-project', 'drc.company-projects', 'drc.approval-result']),
    )
  })
})
