import { expect, it } from 'vitest'
import { ACK_DEADLINE_REASON, type Delivery } from '../engine.js'
import { idsOf, payloadOf, RETRY_DELAY_MS, SHORT_ACK_WAIT_MS, type SuiteContext } from './suite.js'

/** Redelivery after a silent handler or a crashed engine, failed attempts, dead letters. */
export function failureCases(t: SuiteContext): void {
  it('redelivers an event its handler never answered after the ack deadline, with the same id, cursor and payload', async () => {
    const engine = await t.subscribed('s1', { ackWaitMs: SHORT_ACK_WAIT_MS })
    const cursors = await t.publishAll(engine, 's1', ['e1', 'e2'])
    const [first] = await engine.fetch('s1')
    expect(first).toMatchObject({ eventId: 'e1', cursor: cursors[0], attempt: 1 })
    if (t.time() === 'injected') {
      await t.elapse(SHORT_ACK_WAIT_MS - 1)
      expect(await engine.fetch('s1')).toEqual([])
      await t.elapse(1)
    } else {
      await t.elapse(SHORT_ACK_WAIT_MS)
    }
    const [again] = await t.fetchUntil(engine, 's1', 1)
    expect(again).toMatchObject({ eventId: 'e1', cursor: cursors[0], attempt: 2, payload: payloadOf('e1') })
    expect(await engine.ack(again as Delivery)).toBe(true)
    expect(idsOf(await t.fetchUntil(engine, 's1', 1))).toEqual(['e2'])
  })

  it('after a crash (an engine closed with events in flight), a new engine gets the same events, in order', async () => {
    const crashed = await t.subscribed('s1', { ackWaitMs: SHORT_ACK_WAIT_MS, maxInFlight: 3 })
    const cursors = await t.publishAll(crashed, 's1', ['e1', 'e2', 'e3'])
    expect(idsOf(await crashed.fetch('s1', { max: 3 }))).toEqual(['e1', 'e2', 'e3'])
    await crashed.close()

    const restarted = await t.engine()
    await t.elapse(SHORT_ACK_WAIT_MS)
    const again = await t.fetchUntil(restarted, 's1', 3, 3)
    expect(again.map((d) => [d.eventId, d.cursor, d.attempt])).toEqual([
      ['e1', cursors[0], 2],
      ['e2', cursors[1], 2],
      ['e3', cursors[2], 2],
    ])
    for (const d of again) expect(await restarted.ack(d)).toBe(true)
    expect(await restarted.fetch('s1', { max: 3 })).toEqual([])
  })

  it('retries a failed attempt after the retry delay, and dead-letters the event after maxAttempts with its reason', async () => {
    const engine = await t.subscribed('s1', { maxAttempts: 3 })
    const cursors = await t.publishAll(engine, 's1', ['e1', 'e2'])
    const attempts: number[] = []
    let last: Delivery | undefined
    for (let i = 1; i <= 3; i++) {
      const [d] = await t.fetchUntil(engine, 's1', 1)
      expect(d?.eventId).toBe('e1')
      attempts.push(d?.attempt ?? 0)
      last = d
      const outcome = await engine.nak(d as Delivery, 'webhook answered 503')
      expect(outcome).toBe(i < 3 ? 'retry' : 'dead-lettered')
      if (i < 3 && t.time() === 'injected') {
        // Held back for the retry delay: nothing (e2 neither: e1 is still the one in flight).
        expect(await engine.fetch('s1')).toEqual([])
      }
      await t.elapse(RETRY_DELAY_MS)
    }
    expect(attempts).toEqual([1, 2, 3])
    expect(await engine.nak(last as Delivery, 'again')).toBe('stale')

    const [next] = await t.fetchUntil(engine, 's1', 1)
    expect(next).toMatchObject({ eventId: 'e2', attempt: 1 })
    const dead = await engine.deadLetters('s1')
    expect(dead).toEqual([
      { eventId: 'e1', cursor: cursors[0], attempts: 3, reason: 'webhook answered 503', at: expect.any(Number) },
    ])
    // Still in the replay history.
    expect(idsOf((await engine.replay('s1', undefined, 10)).events)).toEqual(['e1', 'e2'])
  })

  it('a failure reported for an attempt that is no longer current changes nothing', async () => {
    const engine = await t.subscribed('s1', { ackWaitMs: SHORT_ACK_WAIT_MS, maxAttempts: 5 })
    await t.publishAll(engine, 's1', ['e1'])
    const [late] = await engine.fetch('s1')
    await t.elapse(SHORT_ACK_WAIT_MS)
    const [current] = await t.fetchUntil(engine, 's1', 1)
    expect(current?.attempt).toBe(2)
    if (t.time() === 'injected') {
      // The late consumer's failure does not release the current attempt to a third delivery.
      expect(await engine.nak(late as Delivery, 'late')).toBe('stale')
      expect(await engine.fetch('s1')).toEqual([])
    }
    expect(await engine.ack(current as Delivery)).toBe(true)
    expect(await engine.deadLetters('s1')).toEqual([])
  })

  it('dead-letters an event whose last attempt went unanswered past its deadline, and goes on', async () => {
    const engine = await t.subscribed('s1', { ackWaitMs: SHORT_ACK_WAIT_MS, maxAttempts: 2 })
    const cursors = await t.publishAll(engine, 's1', ['e1', 'e2'])
    expect((await engine.fetch('s1'))[0]).toMatchObject({ eventId: 'e1', attempt: 1 })
    await t.elapse(SHORT_ACK_WAIT_MS)
    expect((await t.fetchUntil(engine, 's1', 1))[0]).toMatchObject({ eventId: 'e1', attempt: 2 })
    await t.elapse(SHORT_ACK_WAIT_MS)
    const [next] = await t.fetchUntil(engine, 's1', 1)
    expect(next).toMatchObject({ eventId: 'e2', attempt: 1 })
    expect(await engine.deadLetters('s1')).toEqual([
      { eventId: 'e1', cursor: cursors[0], attempts: 2, reason: ACK_DEADLINE_REASON, at: expect.any(Number) },
    ])
  })
}
