import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Quota } from '../catalog/types.js'
import { quotaExceededHeaders, rateLimitHeaders, resetSeconds, sfString } from './headers.js'
import {
  createQuotaEnforcer,
  type QuotaCall,
  type QuotaState,
  quotaMatches,
  refillSeconds,
  tightest,
} from './quotas.js'
import { memoryQuotaStore, openQuotaStore, type QuotaStore } from './store.js'

const REDIS = 'redis://127.0.0.1:6379'

function quota(q: Partial<Quota> & { id: string }): Quota {
  return { limit: 10, per: 'second', windowSeconds: 1, burst: q.limit ?? 10, ...q }
}

const call: QuotaCall = { dept: 'drc', matter: 'QT00301001', resource: 'housing.construction-permit' }

function state(id: string, remaining: number, resetMs: number): QuotaState {
  return { quota: quota({ id }), points: 10, windowSeconds: 1, remaining, resetMs }
}

const silent = { warn: () => {}, info: () => {} }

const stores: QuotaStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

describe('matching', () => {
  it('the enforcer charges exactly the quotas that match, in catalog order, among thousands', async () => {
    const depts = ['drc', 'urban', 'water']
    const matters = ['QT00301001', 'XK00208001']
    const resources = ['housing.construction-permit', 'housing.drawing-review']
    const pick = <T>(xs: readonly T[], i: number): T | undefined =>
      i % (xs.length + 1) === 0 ? undefined : xs[(i % (xs.length + 1)) - 1]
    const quotas = Array.from({ length: 3000 }, (_, i) =>
      quota({
        id: `q${i}`,
        department: pick(depts, i),
        matter: pick(matters, i >> 2),
        resource: pick(resources, i >> 4),
        limit: 1000,
      }),
    )
    const enforcer = createQuotaEnforcer(quotas, memoryQuotaStore())
    for (const dept of depts) {
      for (const matter of matters) {
        for (const resource of resources) {
          const c = { dept, matter, resource }
          const outcome = await enforcer.charge(c)
          const expected = quotas.filter((q) => quotaMatches(q, c)).map((q) => q.id)
          expect(outcome?.states.map((st) => st.quota.id) ?? []).toEqual(expected)
        }
      }
    }
  })

  it('matches when each named department, matter and resource is the call’s', () => {
    expect(quotaMatches(quota({ id: 'a', department: 'drc' }), call)).toBe(true)
    expect(quotaMatches(quota({ id: 'b', matter: 'QT00301001' }), call)).toBe(true)
    expect(quotaMatches(quota({ id: 'c', department: 'drc', matter: 'QT00301001' }), call)).toBe(true)
    expect(quotaMatches(quota({ id: 'd', department: 'drc', resource: 'housing.construction-permit' }), call)).toBe(
      true,
    )
    expect(quotaMatches(quota({ id: 'e', department: 'natres' }), call)).toBe(false)
    expect(quotaMatches(quota({ id: 'f', department: 'drc', matter: 'XK00208001' }), call)).toBe(false)
    expect(quotaMatches(quota({ id: 'g', matter: 'QT00301001', resource: 'housing.drawing-review' }), call)).toBe(false)
  })

  it('counts a bucket as burst calls per refill time', () => {
    expect(refillSeconds(quota({ id: 'a', limit: 10 }))).toBe(1)
    expect(refillSeconds(quota({ id: 'b', limit: 20, burst: 40 }))).toBe(2)
    expect(refillSeconds(quota({ id: 'c', limit: 5000, per: 'day', windowSeconds: 86_400, burst: 500 }))).toBe(8640)
  })

  it('picks the quota with the fewest calls left, then the one that refills last', () => {
    expect(tightest([state('a', 5, 900), state('b', 2, 100), state('c', 9, 5000)]).quota.id).toBe('b')
    expect(tightest([state('a', 2, 900), state('b', 2, 30_000)]).quota.id).toBe('b')
  })
})

describe('RateLimit header fields', () => {
  it('formats the policy of every matching quota and the state of the tightest', () => {
    const states = [state('drc-overall', 1199, 59_400), state('drc-10s', 3, 420)]
    expect(rateLimitHeaders({ allowed: true, tightest: tightest(states), states })).toEqual({
      'ratelimit-policy': '"drc-overall";q=10;w=1, "drc-10s";q=10;w=1',
      ratelimit: '"drc-10s";r=3;t=1',
    })
  })

  it('on a refusal: Retry-After in whole seconds (rounded up), equal to t, r=0', () => {
    const refused = { ...state('q', 0, 1_200), points: 10, windowSeconds: 2 }
    expect(quotaExceededHeaders({ allowed: false, refusedBy: refused, states: [refused] })).toEqual({
      'retry-after': '2',
      'ratelimit-policy': '"q";q=10;w=2',
      ratelimit: '"q";r=0;t=2',
    })
  })

  it('rounds seconds up and never says 0; escapes structured-field strings', () => {
    expect([0, 1, 999, 1000, 1001, 59_999].map(resetSeconds)).toEqual([1, 1, 1, 1, 2, 60])
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(() => sfString('发改')).toThrow()
  })
})

describe('enforcer (in memory)', () => {
  it('refuses the 11th call of a 10/s budget and tells when a token is back', async () => {
    const q = createQuotaEnforcer([quota({ id: 'drc-10', department: 'drc' })], memoryQuotaStore())
    const outcomes = []
    for (let i = 0; i < 11; i++) outcomes.push(await q.charge(call))
    expect(outcomes.slice(0, 10).every((o) => o?.allowed)).toBe(true)
    expect(outcomes.map((o) => (o?.allowed ? o.tightest.remaining : -1))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1])
    const refused = outcomes[10]
    if (!refused || refused.allowed) throw new Error('expected a refusal')
    expect(refused.refusedBy.quota.id).toBe('drc-10')
    expect(refused.refusedBy.resetMs).toBeGreaterThan(0)
    expect(refused.refusedBy.resetMs).toBeLessThanOrEqual(1000)
    // Another department is not counted.
    expect(await q.charge({ ...call, dept: 'natres' })).toBeUndefined()
  })

  it('charges every matching quota, and a refusal by one gives the others their token back', async () => {
    const q = createQuotaEnforcer(
      [
        quota({ id: 'dept', department: 'drc', limit: 100, burst: 100 }),
        quota({ id: 'matter', matter: 'QT00301001', limit: 2, burst: 2 }),
      ],
      memoryQuotaStore(),
    )
    const first = await q.charge(call)
    expect(first?.allowed && first.states.map((s) => [s.quota.id, s.remaining])).toEqual([
      ['dept', 99],
      ['matter', 1],
    ])
    expect(first?.allowed && first.tightest.quota.id).toBe('matter')
    await q.charge(call)
    const third = await q.charge(call)
    expect(third?.allowed).toBe(false)
    // The refused call did not cost a token of `dept`: 98 left, so the next call (another matter) sees 97.
    const other = await q.charge({ ...call, matter: 'XK00208001' })
    expect(other?.allowed && other.tightest.remaining).toBe(97)
  })
})

describe('catalog reloads', () => {
  it('a new snapshot with the same quota keeps counting in memory; a changed quota starts afresh', async () => {
    const store = memoryQuotaStore()
    const before = createQuotaEnforcer([quota({ id: 'drc-10', department: 'drc' })], store)
    for (let i = 0; i < 4; i++) await before.charge(call)
    const same = createQuotaEnforcer([quota({ id: 'drc-10', department: 'drc' })], store)
    const next = await same.charge(call)
    expect(next?.allowed && next.tightest.remaining).toBe(5)
    const changed = createQuotaEnforcer([quota({ id: 'drc-10', department: 'drc', limit: 20, burst: 20 })], store)
    const fresh = await changed.charge(call)
    expect(fresh?.allowed && fresh.tightest.remaining).toBe(19)
  })
})

describe('enforcer (Redis)', () => {
  it('two stores on one Redis share one budget', async () => {
    const prefix = `qiao-test:${randomUUID()}`
    const [a, b] = await Promise.all([
      openQuotaStore({ redisUrl: REDIS, keyPrefix: prefix, log: silent }),
      openQuotaStore({ redisUrl: REDIS, keyPrefix: prefix, log: silent }),
    ])
    stores.push(a, b)
    const quotas = [quota({ id: 'shared', department: 'drc', limit: 10, per: '10s', windowSeconds: 10, burst: 10 })]
    const qa = createQuotaEnforcer(quotas, a)
    const qb = createQuotaEnforcer(quotas, b)
    let allowed = 0
    for (let i = 0; i < 12; i++) if ((await (i % 2 === 0 ? qa : qb).charge(call))?.allowed) allowed++
    expect(allowed).toBe(10)
    expect(a.stats.fallbacks + b.stats.fallbacks).toBe(0)
  })

  it('with Redis unreachable, counts in memory, warns once and counts the fallbacks', async () => {
    const port = await closedPort()
    const warnings: string[] = []
    const store = await openQuotaStore({
      redisUrl: `redis://127.0.0.1:${port}`,
      keyPrefix: 'qiao-test',
      log: { warn: (_o, msg) => void warnings.push(msg), info: () => {} },
    })
    stores.push(store)
    const q = createQuotaEnforcer([quota({ id: 'drc-10', department: 'drc' })], store)
    // Timers and the clock frozen: a charge that waited for Redis (a connect or command timeout, a retry delay)
    // would never settle and the test would time out; one that falls back at once settles through I/O alone. The
    // frozen clock also keeps all eleven calls in one window, however slow the machine.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const outcomes = []
    try {
      for (let i = 0; i < 11; i++) outcomes.push(await q.charge(call))
    } finally {
      vi.useRealTimers()
    }
    expect(outcomes.filter((o) => o?.allowed)).toHaveLength(10)
    expect(outcomes[10]?.allowed).toBe(false)
    expect(store.stats.fallbacks).toBe(11)
    expect(warnings).toEqual([
      'quota store unreachable: quotas are counted in this instance’s memory until Redis is back',
    ])
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
