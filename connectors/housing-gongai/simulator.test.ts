import { Agent, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { computeSign, formatRequestTime } from './signing.js'
import {
  DEFAULT_APP_KEY,
  DEFAULT_APP_SECRET,
  housingSimulator,
  type RunningHousingSimulator,
  seedSample,
  startHousingSimulator,
} from './simulator/index.js'

const agent = new Agent({ connect: { timeout: 1_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 })
const sample = seedSample()
const API = '/gongai/api/v3'
let sim: RunningHousingSimulator

beforeAll(async () => {
  sim = await startHousingSimulator()
})

afterAll(async () => {
  await sim.close()
  await agent.close()
})

beforeEach(() => {
  sim.setKnobs({ latencyMs: 0, fault: 'none' })
})

interface Answer {
  status: number
  contentType: string | undefined
  body: unknown
}

async function send(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: string; contentType?: string } = {},
): Promise<Answer> {
  const res = await request(`${sim.url}${path}`, {
    dispatcher: agent,
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.contentType ? { 'content-type': init.contentType } : {},
    body: init.body,
    signal: AbortSignal.timeout(2_000),
  })
  const text = await res.body.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, body }
}

function signed(params: unknown, overrides: Record<string, unknown> = {}, at: number = Date.now()): string {
  const requestTime = formatRequestTime(at)
  const wire = {
    appKey: DEFAULT_APP_KEY,
    requestTime,
    sign: computeSign(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, requestTime),
    params,
    ...overrides,
  }
  return new URLSearchParams({ data: JSON.stringify(wire) }).toString()
}

const form = 'application/x-www-form-urlencoded'
const post = (service: string, body: string, contentType = form) => send(`${API}/${service}`, { body, contentType })

describe('housing simulator wire protocol', () => {
  it('answers the heartbeat', async () => {
    const answer = await send(`${API}/ping`)
    expect(answer).toStrictEqual({
      status: 200,
      contentType: 'application/json;charset=UTF-8',
      body: { code: '00', msg: '成功', data: 'pong' },
    })
  })

  it('serves legacy rows with string numbers and yyyyMMdd dates', async () => {
    const answer = await post('sgxk.query', signed({ XMDM: sample.projectCode }))
    expect(answer.status).toBe(200)
    const body = answer.body as { code: string; data: Array<Record<string, string>> }
    expect(body.code).toBe('00')
    const row = body.data[0] as Record<string, string>
    expect(row.HTJG).toMatch(/^\d+\.\d{2}$/)
    expect(row.FZRQ).toMatch(/^\d{8}$/)
    expect(row.SJYXBS).toBe('1')
    expect(row.SJGXSJ).toMatch(/^\d{14}$/)
    expect(row.LSH).toBeDefined()
  })

  it('answers 97 for a missing parameter, with HTTP 200 and data ""', async () => {
    expect(await post('sgtsc.query', signed({}))).toStrictEqual({
      status: 200,
      contentType: 'application/json;charset=UTF-8',
      body: { code: '97', msg: '参数缺失：XMDM', data: '' },
    })
    expect((await post('sgxk.query', signed(undefined))).body).toMatchObject({ code: '97' })
    expect((await post('jgysba.query', '')).body).toStrictEqual({ code: '97', msg: '参数缺失：data', data: '' })
    expect((await post('jgysba.query', signed({}), 'application/json')).body).toMatchObject({ code: '97' })
    const noSign = signed({ XMDM: sample.projectCode }, { sign: undefined })
    expect((await post('jgysba.query', noSign)).body).toStrictEqual({ code: '97', msg: '参数缺失：sign', data: '' })
  })

  it('answers 98 for a parameter of the wrong type or format, without echoing it', async () => {
    const badValue = '2024-32O115-89-01-12345'
    const answer = await post('sgtsc.query', signed({ XMDM: badValue }))
    expect(answer.body).toStrictEqual({ code: '98', msg: '参数类型错误：XMDM', data: '' })
    expect((await post('sgxk.query', signed({ SGXKZBH: 32011520240101 }))).body).toMatchObject({ code: '98' })
    expect((await post('sgxk.query', signed('XMDM'))).body).toMatchObject({ code: '98' })
    expect((await post('sgxk.query', 'data=%7Bnot-json')).body).toMatchObject({ code: '98' })
    expect((await post('sgxk.query', signed({}, { requestTime: '2026-01-01' }))).body).toMatchObject({ code: '98' })
  })

  it('answers 99 for a bad sign, an unknown appKey or an expired timestamp', async () => {
    const params = { XMDM: sample.projectCode }
    expect((await post('sgxk.query', signed(params, { sign: 'A'.repeat(32) }))).body).toStrictEqual({
      code: '99',
      msg: '签名验证失败',
      data: '',
    })
    expect((await post('sgxk.query', signed(params, { appKey: 'someone-else' }))).body).toMatchObject({ code: '99' })
    const stale = signed(params, {}, Date.now() - 301_000)
    expect((await post('sgxk.query', stale)).body).toStrictEqual({ code: '99', msg: '请求时间戳已过期', data: '' })
    expect((await post('sgxk.query', signed(params, {}, Date.now() + 290_000))).body).toMatchObject({ code: '00' })
  })

  it('uses its own clock for the timestamp check', async () => {
    const past = Date.parse('2026-01-15T01:30:00Z')
    const other = await startHousingSimulator({ now: () => past, appSecret: 'other-secret' })
    try {
      const requestTime = formatRequestTime(past)
      const wire = {
        appKey: DEFAULT_APP_KEY,
        requestTime,
        sign: computeSign(DEFAULT_APP_KEY, 'other-secret', requestTime),
        params: { XMDM: sample.projectCode },
      }
      const res = await request(`${other.url}${API}/sgtsc.query`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': form },
        body: new URLSearchParams({ data: JSON.stringify(wire) }).toString(),
      })
      expect(await res.body.json()).toMatchObject({ code: '00' })
    } finally {
      await other.close()
    }
  })

  it('answers HTTP 404 for an unknown service or path and 405 for a wrong method', async () => {
    expect((await post('xmjbxx.query', signed({}))).status).toBe(404)
    expect((await send('/elsewhere')).status).toBe(404)
    expect((await send(`${API}/sgxk.query`)).status).toBe(405)
  })

  it('records the last 100 requests with headers and params', async () => {
    for (let i = 0; i < 105; i++) await send(`${API}/ping`)
    await post('sgtsc.query', signed({ XMDM: sample.projectCode }))
    expect(sim.requests).toHaveLength(100)
    expect(sim.requests.at(-1)).toMatchObject({ service: 'sgtsc.query', params: { XMDM: sample.projectCode } })
    expect(sim.requests.at(-1)?.headers['content-type']).toBe(form)
  })
})

describe('housing simulator knobs', () => {
  it('reads and sets knobs over HTTP', async () => {
    expect((await send('/__sim/knobs')).body).toStrictEqual({
      latencyMs: 0,
      fault: 'none',
      faultRate: 1,
      faultCount: 0,
    })
    const set = await send('/__sim/knobs', { body: JSON.stringify({ fault: 'envelope-99', faultRate: 0.5 }) })
    expect(set).toMatchObject({
      status: 200,
      body: { latencyMs: 0, fault: 'envelope-99', faultRate: 0.5, faultCount: 0 },
    })
    expect(sim.knobs).toStrictEqual({ latencyMs: 0, fault: 'envelope-99', faultRate: 0.5, faultCount: 0 })
    expect((await send(`${API}/ping`)).body).toMatchObject({ code: '00' })
    expect((await send(`${API}/ping`)).body).toStrictEqual({ code: '99', msg: '系统繁忙，请稍后再试', data: '' })
    expect((await send('/__sim/knobs', { body: '{"fault":"explode"}' })).status).toBe(400)
    expect((await send('/__sim/knobs', { body: '{"faultRate":2}' })).status).toBe(400)
    expect((await send('/__sim/knobs', { body: '{"latency":5}' })).status).toBe(400)
    expect((await send('/__sim/knobs', { body: 'nope' })).status).toBe(400)
  })

  it('sets faultRate to 1 when only a fault is given', () => {
    sim.setKnobs({ fault: 'http-500', faultRate: 0.25 })
    expect(sim.setKnobs({ fault: 'malformed' })).toStrictEqual({
      latencyMs: 0,
      fault: 'malformed',
      faultRate: 1,
      faultCount: 0,
    })
    expect(() => sim.setKnobs({ latencyMs: -1 })).toThrow(/latencyMs/)
  })

  it('faults exactly the next faultCount requests, then clears', async () => {
    sim.setKnobs({ fault: 'http-503', faultCount: 2 })
    expect((await send(`${API}/ping`)).status).toBe(503)
    expect((await send(`${API}/ping`)).status).toBe(503)
    expect((await send(`${API}/ping`)).status).toBe(200)
    expect(sim.knobs.fault).toBe('none')
    expect(() => sim.setKnobs({ faultCount: 1.5 })).toThrow(/faultCount/)
  })

  it('answers the HTTP and body faults as documented', async () => {
    sim.setKnobs({ fault: 'http-503' })
    const unavailable = await send(`${API}/ping`)
    expect(unavailable.status).toBe(503)
    expect(unavailable.contentType).toMatch(/^text\/html/)
    sim.setKnobs({ fault: 'malformed' })
    const malformed = await send(`${API}/ping`)
    expect(malformed.status).toBe(200)
    expect(() => JSON.parse(malformed.body as string)).toThrow()
    sim.setKnobs({ fault: 'reset' })
    await expect(send(`${API}/ping`)).rejects.toThrow()
  })
})

describe('housing simulator definition', () => {
  it('starts and stops through the SimulatorDefinition', async () => {
    expect(housingSimulator).toMatchObject({ name: 'housing', defaultPort: 9101 })
    expect(housingSimulator.description).toMatch(/工改/)
    const running = await housingSimulator.start({ host: '127.0.0.1', port: 0 })
    try {
      const res = await request(`${running.url}${API}/ping`, { dispatcher: agent })
      expect(await res.body.json()).toMatchObject({ data: 'pong' })
    } finally {
      await running.close()
      await running.close()
    }
  })
})

describe('housing simulator demo hints', () => {
  it('names its URL variable and offers example queries that find seed records', () => {
    expect(housingSimulator.urlVariable).toBe('QIAO_HOUSING_URL')
    const examples = housingSimulator.examples ?? []
    expect(examples.map((e) => e.resource)).toContain('housing.construction-permit')
    expect(examples[0]?.params).toStrictEqual({ projectCode: sample.projectCode })
    expect(housingSimulator.examples).toBe(examples)
  })
})

describe('housing simulator change query (sgxk.changes)', () => {
  type Rows = { code: string; msg: string; data: Array<Record<string, string>> | '' }
  const changes = async (params: unknown) => (await post('sgxk.changes', signed(params))).body as Rows

  it('pages every permit row, superseded ones too, in LSH order, then says 查询无结果', async () => {
    const rows: Array<Record<string, string>> = []
    let after: string | undefined
    for (;;) {
      const body = await changes(after === undefined ? { MYTS: '100' } : { QSLSH: after, MYTS: '100' })
      if (body.code === '01') break
      expect(body.code).toBe('00')
      rows.push(...(body.data as Array<Record<string, string>>))
      after = rows.at(-1)?.LSH
    }
    expect(rows.length).toBeGreaterThanOrEqual(sim.data.permits.length)
    const serials = rows.map((r) => BigInt(r.LSH as string))
    expect(serials).toEqual([...serials].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    expect(new Set(serials).size).toBe(serials.length)
    expect(rows.some((r) => r.SJYXBS === '0')).toBe(true)
  })

  it('serves a permit issued now after every earlier row, to the change query and the permit query', async () => {
    const last = sim.issuePermit()
    const issued = sim.issuePermit()
    expect(BigInt(issued.LSH as string)).toBeGreaterThan(BigInt(last.LSH as string))
    expect(await changes({ QSLSH: last.LSH, MYTS: '10' })).toMatchObject({ code: '00', data: [issued] })
    const byNo = (await post('sgxk.query', signed({ SGXKZBH: issued.SGXKZBH }))).body as Rows
    expect(byNo.data).toEqual([issued])
  })

  it('answers 97 without MYTS and 98 for a malformed QSLSH or MYTS, naming the parameter only', async () => {
    expect(await changes({})).toEqual({ code: '97', msg: '参数缺失：MYTS', data: '' })
    expect(await changes({ QSLSH: '12a', MYTS: '10' })).toEqual({ code: '98', msg: '参数类型错误：QSLSH', data: '' })
    for (const rows of ['0', '501', 'x', 10]) {
      expect(await changes({ MYTS: rows })).toEqual({ code: '98', msg: '参数类型错误：MYTS', data: '' })
    }
  })
})
