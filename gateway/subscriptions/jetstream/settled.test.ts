import { describe, expect, it } from 'vitest'
import { SettledSequences, settledAlready } from './settled.js'

describe('settled deliveries', () => {
  it('takes a first delivery at or below the ack floor, or one settled here, for a repeat', () => {
    expect(settledAlready(8, 1, false, 8)).toBe(true)
    expect(settledAlready(7, 1, false, 8)).toBe(true)
    expect(settledAlready(9, 1, false, 8)).toBe(false)
    // A redelivery (count above 1) below the floor is left to the server's own bookkeeping: kept.
    expect(settledAlready(7, 2, false, 8)).toBe(false)
    // The floor unknown (the consumer could not be read): only what was settled here is dropped.
    expect(settledAlready(7, 1, false, undefined)).toBe(false)
    expect(settledAlready(9, 3, true, undefined)).toBe(true)
  })

  it('keeps the newest 4,096 sequences per subscription and forgets a subscription whole', () => {
    const settled = new SettledSequences()
    for (let seq = 1; seq <= 4_097; seq++) settled.add('a', seq)
    settled.add('b', 1)
    expect(settled.has('a', 1)).toBe(false) // the oldest went
    expect(settled.has('a', 2)).toBe(true)
    expect(settled.has('a', 4_097)).toBe(true)
    expect(settled.has('b', 1)).toBe(true)
    settled.forget('a')
    expect(settled.has('a', 4_097)).toBe(false)
    expect(settled.has('b', 1)).toBe(true)
  })
})
