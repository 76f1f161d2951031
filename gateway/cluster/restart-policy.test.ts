import { describe, expect, it } from 'vitest'
import { SlotRestarts } from './restart-policy.js'

const policy = { minUptimeMs: 30_000, maxEarlyExits: 4, firstDelayMs: 100, maxDelayMs: 500 }

describe('restarting a worker that exited', () => {
  it('restarts a worker that had run a while at once, however often that happens', () => {
    const restarts = new SlotRestarts(policy)
    for (let i = 0; i < 10; i++) {
      expect(restarts.exited(60_000, true)).toEqual({ action: 'restart', delayMs: 100, earlyExits: 0 })
    }
  })

  it('backs off on early exits (before ready, or ready but soon dead) and gives up after the limit in a row', () => {
    const restarts = new SlotRestarts(policy)
    expect(restarts.exited(2_000, false)).toEqual({ action: 'restart', delayMs: 100, earlyExits: 1 })
    expect(restarts.exited(5_000, true)).toEqual({ action: 'restart', delayMs: 200, earlyExits: 2 })
    expect(restarts.exited(1_000, false)).toEqual({ action: 'restart', delayMs: 400, earlyExits: 3 })
    expect(restarts.exited(1_000, false)).toEqual({ action: 'give-up', earlyExits: 4 })
  })

  it('caps the pause, and a worker that stayed up long enough starts the count again', () => {
    const restarts = new SlotRestarts({ ...policy, maxEarlyExits: 10 })
    const delays = Array.from({ length: 5 }, () => restarts.exited(0, false)).map((v) =>
      v.action === 'restart' ? v.delayMs : -1,
    )
    expect(delays).toEqual([100, 200, 400, 500, 500])
    expect(restarts.exited(30_000, true)).toMatchObject({ action: 'restart', delayMs: 100, earlyExits: 0 })
    expect(restarts.exited(0, false)).toMatchObject({ delayMs: 100, earlyExits: 1 })
  })

  it('counts a worker that was up long but never ready as an early exit', () => {
    const restarts = new SlotRestarts(policy)
    expect(restarts.exited(120_000, false)).toMatchObject({ action: 'restart', earlyExits: 1 })
  })
})
