import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Harness, type HttpResult, startHarness } from './support/gateway.js'

/**
 * Operations §4, quotas end to end: a 10/s quota for the calling department (added to the demo catalog, next to
 * its own quotas), enforced by the real gateway in front of the 住建 simulator; then two gateways sharing one
 * budget in the real Redis on 127.0.0.1:6379, and a gateway whose Redis is unreachable.
 *
 * The in-memory limiters read the clock of this process (Date.now): those tests freeze it, so that a burst lies
 * in one window however slow the machine, and move it on instead of sleeping. Redis counts with its own clock,
 * which no test can freeze: the shared-budget test uses a one-minute window, which any burst fits in.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const REDIS = 'redis://127.0.0.1:6379'
const QUOTA = 'drc-test-10-per-second'
const POLICY = `"${QUOTA}";q=10;w=1, "drc-overall";q=1200;w=60`

/** The demo catalog plus 10-per-`per` quotas for 发改 (drc, listed first) and 自然资源 (natres). */
function withQuota(per: 'second' | 'minute') {
  return (text: string): string => {
    if (!text.includes('\nquotas:\n')) throw new Error('the demo catalog has no quotas list')
    return text.replace(
      '\nquotas:\n',
      `\nquotas:\n  - { id: ${QUOTA}, department: drc, limit: 10, per: ${per} }\n` +
        `  - { id: natres-test, department: natres, limit: 10, per: ${per} }\n`,
    )
  }
}

const harnesses: Harness[] = []
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(harnesses.splice(0).map((h) => h.close()))
})

async function start(env: Record<string, string> = {}, per: 'second' | 'minute' = 'second'): Promise<Harness> {
  const h = await startHarness({ catalog: withQuota(per), env })
  harnesses.push(h)
  return h
}

function projectCodeOf(h: Harness): string {
  return h.sim.data.permits[0]?.XMDM as string
}

async function askAs(h: Harness, requestId: string): Promise<HttpResult> {
  const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
  return h.query(
    PERMITS,
    { projectCode: projectCodeOf(h) },
    { token, matter: MATTER, caseId: 'NJ-2026-Q1', headers: { 'x-request-id': requestId } },
  )
}

/** `n` calls sent together; each is told its index. */
async function burst(
  n: number,
  call: (id: string, i: number) => Promise<HttpResult>,
): Promise<{ results: HttpResult[]; ids: string[] }> {
  const ids = Array.from({ length: n }, (_, i) => `${i}`)
  return { results: await Promise.all(ids.map((id, i) => call(id, i))), ids }
}

/** From now on this process's clock (the in-memory limiters') stands still until moved. */
function freezeLimiterClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.parse('2026-11-26T02:00:00Z'))
}

/** The answers split into passed (200) and refused (429). */
function split(results: HttpResult[]): { passed: HttpResult[]; refused: HttpResult[] } {
  return { passed: results.filter((r) => r.status === 200), refused: results.filter((r) => r.status === 429) }
}

/** Each passed call saw a different remaining count: 9, 8, … 0 in some order. */
function remainingCounts(passed: HttpResult[]): string[] {
  return passed.map((r) => r.headers.ratelimit as string).sort()
}

const COUNTDOWN = Array.from({ length: 10 }, (_, i) => `"${QUOTA}";r=${i};t=1`).sort()

describe('a 10/s quota for the calling department', () => {
  it('the 11th call within a second gets 429 quota-exceeded with Retry-After and the RateLimit fields; every call is audited', async () => {
    const h = await start()
    freezeLimiterClock()
    let upstreamBefore = 0
    const { results, ids } = await burst(11, (id, i) => {
      if (i === 0) upstreamBefore = h.sim.requests.length
      return askAs(h, `quota-${id}`)
    })

    const { passed, refused: refusals } = split(results)
    expect(passed).toHaveLength(10)
    expect(refusals).toHaveLength(1)
    expect(remainingCounts(passed)).toEqual(COUNTDOWN)
    for (const res of passed) expect(res.headers['ratelimit-policy']).toBe(POLICY)
    const refused = refusals[0] as HttpResult
    const refusedIndex = results.indexOf(refused)
    expect(refused.headers['content-type']).toBe('application/problem+json')
    expect(refused.json).toMatchObject({
      code: 'quota-exceeded',
      status: 429,
      quota: QUOTA,
      type: '/problems/quota-exceeded',
      detail: `quota ${QUOTA} allows 10 call(s) per second`,
    })
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.headers.ratelimit).toBe(`"${QUOTA}";r=0;t=1`)
    expect(refused.headers['ratelimit-policy']).toBe(POLICY)
    expect(refused.headers['qiao-audit-id']).toBeDefined()

    // One audit record per call, the refused one with its reason.
    const records = (await h.auditRecords()).filter((r) => ids.some((id) => r.requestId === `quota-${id}`))
    expect(records).toHaveLength(11)
    const byRequest = new Map(records.map((r) => [r.requestId, r]))
    for (const [i, res] of results.entries()) {
      const record = byRequest.get(`quota-${ids[i]}`)
      expect(record?.id).toBe(res.headers['qiao-audit-id'])
      expect([record?.reason, record?.status]).toEqual(i === refusedIndex ? ['quota-exceeded', 429] : ['ok', 200])
    }
    const refusedRecord = byRequest.get(`quota-${ids[refusedIndex]}`)
    expect(refusedRecord).toMatchObject({
      id: refused.headers['qiao-audit-id'],
      requester: { dept: 'drc' },
      matter: MATTER,
      resource: PERMITS,
      fields: [],
      recordCount: 0,
    })
    // Refused before its parameters were read: nothing about them is recorded, and the upstream was not called.
    expect(refusedRecord?.paramsDigest).toBeUndefined()
    expect(h.sim.requests.length - upstreamBefore).toBe(10)

    // Another department is not affected: 自然资源's own 10/s bucket is full.
    const natres = await h.query(
      PERMITS,
      { projectCode: projectCodeOf(h) },
      {
        token: await h.token({ dept: 'natres', scope: `QR00112001:${PERMITS}:read` }),
        matter: 'QR00112001',
        caseId: 'ZR-2026-1',
      },
    )
    expect(natres.status).toBe(200)
    expect(natres.headers.ratelimit).toBe('"natres-test";r=9;t=1')
    expect(natres.headers['ratelimit-policy']).toBe('"natres-test";q=10;w=1')

    // Once the window is over, 发改's calls pass again with a full bucket.
    vi.setSystemTime(Date.now() + Number(refused.headers['retry-after']) * 1000 + 50)
    const again = await askAs(h, 'quota-after')
    expect(again.status).toBe(200)
    expect(again.headers.ratelimit).toBe(`"${QUOTA}";r=9;t=1`)
  })
})

describe('quotas in Redis', () => {
  it('two gateway instances sharing Redis enforce one budget: 12 alternating calls, exactly 10 pass', async () => {
    const env = { QIAO_QUOTA_REDIS_URL: REDIS, QIAO_QUOTA_KEY_PREFIX: `qiao-test:${randomUUID()}` }
    const [a, b] = await Promise.all([start(env, 'minute'), start(env, 'minute')])
    expect(a.gateway.url).not.toBe(b.gateway.url)
    const { results } = await burst(12, (id, i) => askAs(i % 2 === 0 ? a : b, `shared-${id}`))
    const { passed, refused } = split(results)
    expect(passed).toHaveLength(10)
    expect(refused.map((r) => r.json.code)).toEqual(['quota-exceeded', 'quota-exceeded'])
    // Both instances served some, and the remaining count ran down across both.
    expect(passed.filter((r) => results.indexOf(r) % 2 === 0).length).toBeGreaterThan(0)
    expect(passed.filter((r) => results.indexOf(r) % 2 === 1).length).toBeGreaterThan(0)
    // Each remaining count from 9 to 0 exactly once across both; the reset is Redis's, within the minute.
    const counted = passed.map((r) => /^"drc-test-10-per-second";r=(\d+);t=(\d+)$/.exec(r.headers.ratelimit as string))
    expect(counted.map((m) => Number(m?.[1])).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    for (const m of counted) expect(Number(m?.[2])).toBeGreaterThanOrEqual(1)
    for (const m of counted) expect(Number(m?.[2])).toBeLessThanOrEqual(60)
    for (const h of [a, b]) expect(h.gateway.deps.snapshot().quotas.store.stats.fallbacks).toBe(0)
  })

  it('with Redis unreachable, the gateway still starts and serves, counting quotas in its own memory, with a warning and a metric', async () => {
    const h = await start({ QIAO_QUOTA_REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, QIAO_METRICS_PORT: '0' })
    freezeLimiterClock()
    const { results } = await burst(11, (id) => askAs(h, `down-${id}`))
    const { passed, refused } = split(results)
    expect(passed).toHaveLength(10)
    expect(refused).toHaveLength(1)
    expect(refused[0]?.headers['retry-after']).toBe('1')
    const warnings = h.logLines
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((l) => l.msg.startsWith('quota store unreachable'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.level).toBe(40)
    // Each call was counted by the fallback for each of its two quotas, and /metrics says so.
    expect(h.gateway.deps.snapshot().quotas.store.stats.fallbacks).toBeGreaterThanOrEqual(22)
    const metrics = await (await fetch(`${h.gateway.metricsUrl}/metrics`)).text()
    const fallbacks = /^qiao_quota_store_fallbacks_total (\d+)$/m.exec(metrics)?.[1]
    expect(Number(fallbacks)).toBeGreaterThanOrEqual(22)
  })
})

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
