import { describe, expect, it } from 'vitest'
import { SubscriptionError } from './errors.js'
import { parseAckSubject } from './jetstream/pull.js'
import { decodeCursor, defaultRetryDelayMs, encodeCursor, encodeEvent, resolvePolicy } from './validate.js'

const codeOf = (work: () => unknown) => {
  try {
    work()
    return 'accepted'
  } catch (err) {
    return err instanceof SubscriptionError ? err.code : String(err)
  }
}

describe('subscription engine rules shared by both backends', () => {
  it('cursors are fixed-width sequences: they round-trip and sort as strings the way they sort as numbers', () => {
    expect(encodeCursor(42)).toBe('0000000000000042')
    expect(decodeCursor(encodeCursor(9_007_199_254_740_991))).toBe(9_007_199_254_740_991)
    expect(decodeCursor(undefined)).toBe(0)
    const seqs = [1, 9, 10, 99, 100, 12_345]
    expect(seqs.map(encodeCursor).sort()).toEqual(seqs.map(encodeCursor))
    for (const bad of ['42', '000000000000004x', '-000000000000042', '9999999999999999']) {
      expect(codeOf(() => decodeCursor(bad))).toBe('cursor-invalid')
    }
  })

  it('a policy is the engine default under what a create asks for, and refused out of range', () => {
    expect(resolvePolicy({ clock: { now: () => 0 } }, undefined)).toEqual({
      maxInFlight: 1,
      ackWaitMs: 30_000,
      maxAttempts: 8,
    })
    expect(resolvePolicy({ clock: { now: () => 0 }, defaultPolicy: { maxAttempts: 3 } }, { maxInFlight: 4 })).toEqual({
      maxInFlight: 4,
      ackWaitMs: 30_000,
      maxAttempts: 3,
    })
    for (const bad of [{ maxInFlight: 1001 }, { maxInFlight: 1.5 }, { ackWaitMs: 0 }, { maxAttempts: 0 }]) {
      expect(codeOf(() => resolvePolicy({ clock: { now: () => 0 } }, bad))).toBe('delivery-policy-invalid')
    }
  })

  it('events: visible-ASCII ids, JSON payloads within the bound', () => {
    expect(encodeEvent({ id: 'permit:P-1:v2', payload: { 名称: '青溪' } }, 100)).toBe('{"名称":"青溪"}')
    expect(codeOf(() => encodeEvent({ id: 'line\nbreak', payload: 1 }, 100))).toBe('event-invalid')
    expect(codeOf(() => encodeEvent({ id: '许可', payload: 1 }, 100))).toBe('event-invalid')
    expect(codeOf(() => encodeEvent({ id: 'e', payload: undefined as never }, 100))).toBe('event-invalid')
    // The bound is on UTF-8 bytes: 34 characters of Chinese are 102 bytes, with the quotes 104.
    expect(codeOf(() => encodeEvent({ id: 'e', payload: '青'.repeat(34) }, 100))).toBe('event-too-large')
  })

  it('the default retry delay doubles from 1 s and stops at 5 min', () => {
    expect([1, 2, 3, 9, 10, 30].map(defaultRetryDelayMs)).toEqual([1000, 2000, 4000, 256_000, 300_000, 300_000])
  })

  it('reads the delivery count and stream sequence from both forms of a JetStream ack subject', () => {
    expect(parseAckSubject('$JS.ACK.QIAO_SUBS_EVENTS.sub_s1.3.17.40.1796216986433108914.2')).toEqual({
      deliveryCount: 3,
      streamSeq: 17,
    })
    expect(parseAckSubject('$JS.ACK.hub.ACCHASH.QIAO_SUBS_EVENTS.sub_s1.1.5.5.1796216986433108914.0.Xyz123')).toEqual({
      deliveryCount: 1,
      streamSeq: 5,
    })
    expect(parseAckSubject('_INBOX.abc')).toBeUndefined()
    expect(parseAckSubject('$JS.ACK.too.short')).toBeUndefined()
  })
})
