import { RateLimiterRes } from 'rate-limiter-flexible'
import { describe, expect, it } from 'vitest'
import type { Quota } from '../catalog/types.js'
import {
  type BudgetAnswer,
  type BudgetChannel,
  createQuotaBudget,
  isBudgetAnswer,
  isBudgetRequest,
  primaryBudgetStore,
} from './primary-budget.js'
import { createQuotaEnforcer } from './quotas.js'

/** A worker's channel to a primary budget, through JSON as over IPC; `silent` drops every request. */
function channelTo(budget: ReturnType<typeof createQuotaBudget>, state = { silent: false }): BudgetChannel {
  let onAnswer: ((answer: BudgetAnswer) => void) | undefined
  return {
    send(request) {
      const sent: unknown = JSON.parse(JSON.stringify(request))
      if (state.silent || !isBudgetRequest(sent)) return true
      void budget.answer(sent).then((answer) => {
        const received: unknown = JSON.parse(JSON.stringify(answer))
        if (isBudgetAnswer(received)) setImmediate(() => onAnswer?.(received))
      })
      return true
    },
    onAnswer(handler) {
      onAnswer = handler
    },
  }
}

const quota = (limit: number): Quota => ({
  id: 'drc-overall',
  department: 'drc',
  limit,
  per: 'minute',
  burst: limit,
  windowSeconds: 60,
})

const call = { dept: 'drc', matter: 'QT00301001', resource: 'housing.construction-permit' }

describe("quotas counted in the primary's memory", () => {
  it('one budget for every worker: the calls of two workers draw from the same bucket', async () => {
    const budget = createQuotaBudget()
    const workers = [primaryBudgetStore(channelTo(budget)), primaryBudgetStore(channelTo(budget))]
    const enforcers = workers.map((store) => createQuotaEnforcer([quota(5)], store))
    const remaining: number[] = []
    for (let i = 0; i < 5; i++) {
      const outcome = await enforcers[i % 2]?.charge(call)
      expect(outcome?.allowed).toBe(true)
      if (outcome?.allowed) remaining.push(outcome.tightest.remaining)
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0])
    const refused = await enforcers[1]?.charge(call)
    expect(refused).toMatchObject({ allowed: false, refusedBy: { remaining: 0 } })
    // Either worker reads the same usage (the operators' status).
    for (const enforcer of enforcers) expect((await enforcer.usage())[0]).toMatchObject({ used: 5, key: 'drc' })
    expect(workers.map((w) => w.stats.fallbacks)).toEqual([0, 0])
  })

  it('a reload that changes the limit counts against the new one; one that keeps it keeps the count', async () => {
    const budget = createQuotaBudget()
    const store = primaryBudgetStore(channelTo(budget))
    await createQuotaEnforcer([quota(5)], store).charge(call)
    const kept = await createQuotaEnforcer([quota(5)], primaryBudgetStore(channelTo(budget))).charge(call)
    expect(kept?.allowed && kept.tightest.remaining).toBe(3)
    const raised = await createQuotaEnforcer([quota(50)], store).charge(call)
    expect(raised?.allowed && raised.tightest.remaining).toBe(49)
  })

  it('counts in the worker’s own memory while the primary does not answer, and says so', async () => {
    const budget = createQuotaBudget()
    const state = { silent: true }
    const warnings: string[] = []
    const infos: string[] = []
    const store = primaryBudgetStore(channelTo(budget, state), {
      timeoutMs: 20,
      log: { warn: (_o, msg) => warnings.push(msg), info: (_o, msg) => infos.push(msg) },
    })
    const enforcer = createQuotaEnforcer([quota(2)], store)
    expect(await enforcer.charge(call)).toMatchObject({ allowed: true, tightest: { remaining: 1 } })
    expect(await enforcer.charge(call)).toMatchObject({ allowed: true, tightest: { remaining: 0 } })
    // The local bucket is the whole budget, and it is enforced too.
    expect(await enforcer.charge(call)).toMatchObject({ allowed: false })
    expect(store.reachable).toBe(false)
    expect(store.stats.fallbacks).toBeGreaterThanOrEqual(3)
    expect(warnings).toHaveLength(1)
    state.silent = false
    expect(await enforcer.charge(call)).toMatchObject({ allowed: true, tightest: { remaining: 1 } })
    expect(store.reachable).toBe(true)
    expect(infos).toHaveLength(1)
  })

  it('answers an empty bucket as a refusal the enforcer recognises (a RateLimiterRes), not as a failure', async () => {
    const budget = createQuotaBudget()
    const store = primaryBudgetStore(channelTo(budget))
    const limiter = store.limiter('one', 1, 60)
    await limiter.consume('k')
    const refusal = await limiter.consume('k').catch((err: unknown) => err)
    expect(refusal).toBeInstanceOf(RateLimiterRes)
    expect((refusal as RateLimiterRes).msBeforeNext).toBeGreaterThan(0)
    expect(await limiter.get('never-used')).toBe(null)
  })
})
