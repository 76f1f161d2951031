import { Agent, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { flattenHeaders, readRequestBody, sendHtmlPage, sendJson } from './simulator-http.js'
import {
  checkSimulatorKnobs,
  type KnobbedServer,
  KnobState,
  type RunningHttpSimulator,
  startKnobbedServer,
} from './simulator-knobs.js'

const FAULTS = ['none', 'boom', 'hang'] as const
type Fault = (typeof FAULTS)[number]
const OFF = Object.freeze({ latencyMs: 0, fault: 'none' as Fault, faultRate: 1, faultCount: 0 })

describe('checkSimulatorKnobs', () => {
  it('merges a patch; a fault alone sets the rate to 1 and the count to 0', () => {
    const knobs = checkSimulatorKnobs(FAULTS, { ...OFF, faultRate: 0.25, faultCount: 3 }, { fault: 'boom' })
    expect(knobs).toStrictEqual({ latencyMs: 0, fault: 'boom', faultRate: 1, faultCount: 0 })
    expect(Object.isFrozen(knobs)).toBe(true)
    expect(checkSimulatorKnobs(FAULTS, OFF, { fault: 'boom', faultRate: 0.5 }).faultRate).toBe(0.5)
  })

  it('refuses bad knobs with a TypeError naming the knob', () => {
    const bad = (patch: unknown) => () => checkSimulatorKnobs(FAULTS, OFF, patch as Partial<typeof OFF>)
    expect(bad(null)).toThrow('knobs must be an object')
    expect(bad([])).toThrow('knobs must be an object')
    expect(bad({ latency: 1 })).toThrow('unknown knob latency')
    expect(bad({ latencyMs: -1 })).toThrow(/latencyMs/)
    expect(bad({ latencyMs: 120_001 })).toThrow(/latencyMs/)
    expect(bad({ fault: 'explode' })).toThrow('fault must be one of none, boom, hang')
    expect(bad({ faultRate: 1.5 })).toThrow(/faultRate/)
    expect(bad({ faultCount: 1.5 })).toThrow(/faultCount/)
  })
})

describe('KnobState', () => {
  const schedule = (state: KnobState<Fault>, n: number) => Array.from({ length: n }, () => state.nextFault() ?? '-')

  it('spreads faults evenly by faultRate, and restarts the schedule on set', () => {
    const state = new KnobState(FAULTS)
    expect(schedule(state, 3)).toEqual(['-', '-', '-'])
    state.set({ fault: 'boom', faultRate: 0.5 })
    expect(schedule(state, 4)).toEqual(['-', 'boom', '-', 'boom'])
    state.set({ faultRate: 0.25 })
    expect(schedule(state, 8)).toEqual(['-', '-', '-', 'boom', '-', '-', '-', 'boom'])
    state.set({ faultRate: 0 })
    expect(schedule(state, 3)).toEqual(['-', '-', '-'])
  })

  it('faults exactly the next faultCount requests, then clears the fault', () => {
    const state = new KnobState(FAULTS, { fault: 'boom', faultCount: 2 })
    expect(schedule(state, 3)).toEqual(['boom', 'boom', '-'])
    expect(state.current).toStrictEqual({ latencyMs: 0, fault: 'none', faultRate: 1, faultCount: 0 })
  })

  it('needs a none fault', () => {
    expect(() => new KnobState(['boom'])).toThrow(/none/)
  })
})

describe('startKnobbedServer', () => {
  interface Seen {
    readonly path: string
    readonly headers: Readonly<Record<string, string>>
  }
  const agent = new Agent({ connect: { timeout: 1_000 } })
  let server: KnobbedServer<Fault, Seen>
  let sim: RunningHttpSimulator<Fault, Seen> & { readonly extra: string }

  beforeAll(async () => {
    server = await startKnobbedServer<Fault, Seen>({
      faults: FAULTS,
      async handle(req, res, pathname) {
        if (pathname === '/throw') throw new Error('handler bug')
        const body = await readRequestBody(req, 16)
        if (body === undefined) return sendJson(res, 413, { error: 'too large' })
        server.record({ path: pathname, headers: flattenHeaders(req) })
        const turn = await server.applyKnobs(req)
        if (!turn) return
        if (turn.fault === 'hang') return
        if (turn.fault === 'boom') return sendHtmlPage(res, 503, 'Service Unavailable')
        return sendJson(res, 200, { echo: body.toString('utf8') })
      },
      internalError: (res) => sendHtmlPage(res, 500, 'Internal Server Error'),
    })
    sim = server.expose({ extra: 'data' })
  })
  afterAll(async () => {
    await sim.close()
    await agent.close()
  })
  beforeEach(() => {
    sim.setKnobs({ fault: 'none', latencyMs: 0 })
  })

  const call = async (path: string, init: { method?: 'GET' | 'POST' | 'PUT'; body?: string } = {}) => {
    const res = await request(`${sim.url}${path}`, {
      dispatcher: agent,
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      body: init.body,
      headers: { 'x-many': ['a', 'b'] },
      signal: AbortSignal.timeout(2_000),
    })
    return { status: res.statusCode, type: res.headers['content-type'], text: await res.body.text() }
  }

  it('serves GET and POST /__sim/knobs and refuses what is not a knob', async () => {
    expect(JSON.parse((await call('/__sim/knobs')).text)).toStrictEqual(sim.knobs)
    const set = await call('/__sim/knobs', { body: '{"fault":"boom","faultRate":0.5}' })
    expect(set.status).toBe(200)
    expect(set.type).toBe('application/json; charset=utf-8')
    expect(JSON.parse(set.text)).toStrictEqual({ latencyMs: 0, fault: 'boom', faultRate: 0.5, faultCount: 0 })
    expect(sim.knobs.faultRate).toBe(0.5)
    expect((await call('/x')).status).toBe(200)
    expect((await call('/x')).status).toBe(503)
    expect(JSON.parse((await call('/__sim/knobs', { body: '{"fault":"explode"}' })).text)).toStrictEqual({
      error: 'fault must be one of none, boom, hang',
    })
    expect((await call('/__sim/knobs', { body: 'nope' })).status).toBe(400)
    expect((await call('/__sim/knobs', { method: 'PUT', body: '{}' })).status).toBe(405)
  })

  it('records requests, keeps the last 100, and exposes the simulator with its own members', async () => {
    for (let i = 0; i < 102; i++) await call(`/r${i}`)
    expect(sim.requests).toHaveLength(100)
    expect(sim.requests[0]?.path).toBe('/r2')
    expect(sim.requests.at(-1)?.headers['x-many']).toBe('a, b')
    expect(sim.extra).toBe('data')
  })

  it('delays by latencyMs, refuses large bodies and turns a handler failure into a 500 page', async () => {
    sim.setKnobs({ latencyMs: 150 })
    const started = Date.now()
    expect((await call('/slow', { body: 'hi' })).text).toBe('{"echo":"hi"}')
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    sim.setKnobs({ latencyMs: 0 })
    expect((await call('/big', { body: 'x'.repeat(17) })).status).toBe(413)
    const failed = await call('/throw')
    expect(failed).toStrictEqual({
      status: 500,
      type: 'text/html;charset=UTF-8',
      text: '<html><head><title>500 Internal Server Error</title></head><body><h1>500 Internal Server Error</h1></body></html>',
    })
  })

  it('closes while a request hangs, and close is idempotent', async () => {
    const other = await startKnobbedServer<Fault, Seen>({
      faults: FAULTS,
      initialKnobs: { fault: 'hang' },
      async handle(req) {
        await other.applyKnobs(req)
      },
      internalError: () => {},
    })
    const running = other.expose({})
    const pending = request(`${running.url}/`, { dispatcher: agent }).catch((err: unknown) => err)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await running.close()
    await running.close()
    expect(await pending).toBeInstanceOf(Error)
  })
})
