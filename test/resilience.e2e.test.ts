import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, type HttpResult, NOW, startHarness } from './support/gateway.js'

/**
 * Issue #3 §4, end to end: per-call deadline, circuit breaker, concurrency limit and read retries, between the
 * gateway and the real 住建 simulator on loopback.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const claims = { dept: 'drc', scope: `${MATTER}:${PERMITS}:read` }

let g: Harness | undefined
afterEach(async () => {
  await g?.close()
  g = undefined
})

/** The demo catalog with other deadline and resilience settings for the 住建 connector. */
function withSettings(timeoutMs: number, resilience: string): (text: string) => string {
  return (text) =>
    text
      .replace('timeoutMs: 5000', `timeoutMs: ${timeoutMs}`)
      .replace('    department: housing\n', `    department: housing\n    resilience: ${resilience}\n`)
}

async function ask(h: Harness, projectCode: string): Promise<HttpResult> {
  return h.query(PERMITS, { projectCode }, { token: await h.token(claims), matter: MATTER, caseId: 'R-1' })
}

function code(res: HttpResult): unknown {
  return res.json.code
}

/** The gateway's clock, moved by hand: the breaker's half-open delay passes without sleeping. */
function movableClock() {
  let now = NOW
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

describe('deadline', () => {
  it('an upstream that sleeps 10 s with a 2 s deadline answers 504 at the deadline, not after the upstream', async () => {
    g = await startHarness({ catalog: withSettings(2000, '{ readRetries: 0 }') })
    const projectCode = g.sim.data.permits[0]?.XMDM as string
    g.sim.setKnobs({ latencyMs: 10_000 })
    const before = g.sim.requests.length
    const started = performance.now()
    const res = await ask(g, projectCode)
    const elapsed = performance.now() - started
    expect(res.status).toBe(504)
    expect(code(res)).toBe('upstream-timeout')
    // Not before the deadline. Not after the upstream either: had the gateway waited its 10 s, the simulator would
    // have answered and the call would be a 200 — the 504 is the proof, with no bound on a shared machine's speed.
    expect(elapsed).toBeGreaterThanOrEqual(1_990)
    expect(g.sim.requests.length - before).toBe(1) // one attempt: a timeout is not retried
    expect((await g.auditRecords()).at(-1)).toMatchObject({
      decision: 'allow',
      reason: 'upstream-timeout',
      status: 504,
    })
  })
})

describe('circuit breaker', () => {
  it('opens after N consecutive failures (fast 503 with Retry-After), and closes once the upstream recovers', async () => {
    const clock = movableClock()
    g = await startHarness({
      catalog: withSettings(5000, '{ readRetries: 0, breakerThreshold: 3, breakerHalfOpenAfterMs: 1000 }'),
      clock,
    })
    const projectCode = g.sim.data.permits[0]?.XMDM as string
    g.sim.setKnobs({ fault: 'http-503' })
    for (let i = 0; i < 3; i++) expect(code(await ask(g, projectCode))).toBe('upstream-unavailable')

    const upstreamCalls = g.sim.requests.length
    const open = await ask(g, projectCode)
    expect(open.status).toBe(503)
    expect(code(open)).toBe('upstream-circuit-open')
    const retryAfter = Number(open.headers['retry-after'])
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(1)
    expect(g.sim.requests.length).toBe(upstreamCalls) // failed fast: the upstream was not called
    expect((await g.auditRecords()).at(-1)).toMatchObject({ reason: 'upstream-circuit-open', status: 503 })

    // The upstream recovers; after the half-open delay one probe goes through and closes the circuit.
    g.sim.setKnobs({ fault: 'none' })
    expect(code(await ask(g, projectCode))).toBe('upstream-circuit-open')
    clock.advance(999)
    expect(code(await ask(g, projectCode))).toBe('upstream-circuit-open')
    expect(g.sim.requests.length).toBe(upstreamCalls)
    clock.advance(1)
    expect((await ask(g, projectCode)).status).toBe(200)
    expect((await ask(g, projectCode)).status).toBe(200)
    expect(g.gateway.deps.snapshot().guards.get('housing-gongai')?.state).toBe('closed')
  })

  it('a failed probe re-opens the circuit', async () => {
    const clock = movableClock()
    g = await startHarness({
      catalog: withSettings(5000, '{ readRetries: 0, breakerThreshold: 2, breakerHalfOpenAfterMs: 500 }'),
      clock,
    })
    const projectCode = g.sim.data.permits[0]?.XMDM as string
    g.sim.setKnobs({ fault: 'reset' })
    await ask(g, projectCode)
    await ask(g, projectCode)
    expect(code(await ask(g, projectCode))).toBe('upstream-circuit-open')
    clock.advance(500)
    const beforeProbe = g.sim.requests.length
    expect(code(await ask(g, projectCode))).toBe('upstream-unavailable') // the probe
    expect(g.sim.requests.length).toBe(beforeProbe + 1)
    expect(code(await ask(g, projectCode))).toBe('upstream-circuit-open')
    expect(g.sim.requests.length).toBe(beforeProbe + 1)
  })
})

describe('retries', () => {
  it('a read that hits one connection reset succeeds via retry', async () => {
    g = await startHarness()
    const projectCode = g.sim.data.permits[0]?.XMDM as string
    const before = g.sim.requests.length
    g.sim.setKnobs({ fault: 'reset', faultCount: 1 })
    const res = await ask(g, projectCode)
    expect(res.status).toBe(200)
    expect(g.sim.requests.length - before).toBe(2) // the reset one and the retry
    expect((await g.auditRecords()).at(-1)).toMatchObject({ decision: 'allow', reason: 'ok', status: 200 })
  })

  it('retries 502/503/504 but never a 500, and never more than the configured attempts', async () => {
    g = await startHarness({ catalog: withSettings(5000, '{ readRetries: 2, breakerThreshold: 50 }') })
    const projectCode = g.sim.data.permits[0]?.XMDM as string
    let before = g.sim.requests.length
    g.sim.setKnobs({ fault: 'http-503', faultCount: 2 })
    expect((await ask(g, projectCode)).status).toBe(200)
    expect(g.sim.requests.length - before).toBe(3)

    before = g.sim.requests.length
    g.sim.setKnobs({ fault: 'http-503' })
    expect(code(await ask(g, projectCode))).toBe('upstream-unavailable')
    expect(g.sim.requests.length - before).toBe(3) // 1 + 2 retries

    before = g.sim.requests.length
    g.sim.setKnobs({ fault: 'http-500' })
    expect(code(await ask(g, projectCode))).toBe('upstream-unavailable')
    expect(g.sim.requests.length - before).toBe(1)

    before = g.sim.requests.length
    g.sim.setKnobs({ fault: 'envelope-99' })
    expect(code(await ask(g, projectCode))).toBe('upstream-rejected')
    expect(g.sim.requests.length - before).toBe(1)
  })
})

describe('concurrency limit', () => {
  it('excess calls fail fast with 503 instead of queueing', async () => {
    g = await startHarness({ catalog: withSettings(5000, '{ readRetries: 0, maxConcurrent: 2 }') })
    const h = g
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    h.sim.setKnobs({ latencyMs: 600 })
    const before = h.sim.requests.length
    const results = await Promise.all(Array.from({ length: 5 }, () => ask(h, projectCode)))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 200, 503, 503, 503])
    const rejected = results.filter((r) => r.status === 503)
    for (const r of rejected) {
      expect(code(r)).toBe('upstream-overloaded')
      expect(r.headers['retry-after']).toBe('1')
    }
    // Not queued: the three excess calls never reached the upstream (a queue would have sent them, late).
    expect(h.sim.requests.length - before).toBe(2)
  })
})

describe('callers that leave', () => {
  it('a caller closing the connection mid-call is audited as client-gone and does not count against the provider', async () => {
    g = await startHarness({
      catalog: withSettings(5000, '{ readRetries: 0, breakerThreshold: 2, breakerHalfOpenAfterMs: 60000 }'),
    })
    const h = g
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const token = await h.token(claims)
    h.sim.setKnobs({ latencyMs: 1_000 })
    const { request } = await import('undici')
    for (let i = 0; i < 3; i++) {
      await expect(
        request(`${h.gateway.url}/v1/resources/${PERMITS}/query`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'qiao-matter': MATTER,
            'qiao-case': `GONE-${i}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ projectCode }),
          signal: AbortSignal.timeout(200),
        }),
      ).rejects.toThrow()
    }
    // The gateway notices and audits the three departures on its own time: wait for the records, not for a delay.
    const gone = async () => (await h.auditRecords()).filter((r) => r.reason === 'client-gone')
    await expect.poll(async () => (await gone()).length, { timeout: 10_000 }).toBe(3)
    expect((await gone()).map((r) => r.status)).toEqual([499, 499, 499])
    h.sim.setKnobs({ latencyMs: 0 })
    expect((await ask(h, projectCode)).status).toBe(200) // the circuit stayed closed
    expect(h.gateway.deps.snapshot().guards.get('housing-gongai')?.state).toBe('closed')
  })
})
