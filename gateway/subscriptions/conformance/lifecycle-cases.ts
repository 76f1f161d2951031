import { expect, it } from 'vitest'
import { consume, DeliveryFailedError } from '../consume.js'
import type { Delivery } from '../engine.js'
import { idsOf, LONG_ACK_WAIT_MS, SHORT_ACK_WAIT_MS, type SuiteContext } from './suite.js'

/** Suspend, resume, remove, create, refusals, and the consume loop. */
export function lifecycleCases(t: SuiteContext): void {
  it('after suspend nothing is delivered — neither events published before nor those in flight — and nothing is kept', async () => {
    const engine = await t.subscribed('s1', { ackWaitMs: SHORT_ACK_WAIT_MS, maxInFlight: 2 })
    const other = await t.engine()
    await t.publishAll(engine, 's1', ['e1', 'e2', 'e3'])
    const inFlight = await engine.fetch('s1', { max: 2 })
    expect(idsOf(inFlight)).toEqual(['e1', 'e2'])

    await engine.suspend('s1', 'grant-revoked')
    expect(await other.status('s1')).toMatchObject({ state: 'suspended', suspendedReason: 'grant-revoked' })
    expect(await engine.fetch('s1', { max: 5 })).toEqual([])
    expect(await other.fetch('s1', { max: 5 })).toEqual([])
    expect(await engine.ack(inFlight[0] as Delivery)).toBe(false)
    expect(await engine.nak(inFlight[1] as Delivery, 'late')).toBe('stale')
    // Past the deadline of the deliveries that were in flight: still nothing, on either instance.
    await t.elapse(SHORT_ACK_WAIT_MS)
    expect(await engine.fetch('s1', { max: 5, waitMs: 200 })).toEqual([])
    expect(await other.fetch('s1', { max: 5, waitMs: 200 })).toEqual([])
    expect(await other.publish('s1', { id: 'e4', payload: { v: 4 } })).toEqual({ outcome: 'suspended' })
    await expect(other.replay('s1', undefined, 10)).rejects.toMatchObject({ code: 'subscription-suspended' })
  })

  it('resume continues with the events published after it; cursors keep growing; old ids stay duplicates', async () => {
    const engine = await t.subscribed('s1', { maxInFlight: 2 })
    const before = await t.publishAll(engine, 's1', ['e1', 'e2', 'e3'])
    await engine.fetch('s1')
    await engine.suspend('s1', 'grant-expired')
    expect(await engine.publish('s1', { id: 'e4', payload: {} })).toEqual({ outcome: 'suspended' })

    await engine.resume('s1')
    expect(await engine.status('s1')).toMatchObject({ state: 'active', policy: { maxInFlight: 2 } })
    expect(await engine.fetch('s1', { max: 5 })).toEqual([])
    expect(idsOf((await engine.replay('s1', undefined, 10)).events)).toEqual([])
    const [after] = await t.publishAll(engine, 's1', ['e5'])
    expect((after as string) > (before[2] as string)).toBe(true)
    expect((await engine.publish('s1', { id: 'e1', payload: {} })).outcome).toBe('duplicate')
    const delivered = await engine.fetch('s1', { max: 5 })
    expect(delivered.map((d) => [d.eventId, d.attempt])).toEqual([['e5', 1]])
    expect(await engine.ack(delivered[0] as Delivery)).toBe(true)
    expect(idsOf((await engine.replay('s1', before[2], 10)).events)).toEqual(['e5'])
    // Resuming an active subscription changes nothing.
    await t.publishAll(engine, 's1', ['e6'])
    await engine.resume('s1')
    expect(idsOf(await engine.fetch('s1', { max: 5 }))).toEqual(['e6'])
  })

  it('remove forgets the subscription and its events; the id can be created afresh', async () => {
    const engine = await t.subscribed('s1')
    await t.publishAll(engine, 's1', ['e1'])
    await engine.remove('s1')
    expect(await engine.status('s1')).toBeUndefined()
    await expect(engine.publish('s1', { id: 'e2', payload: {} })).rejects.toMatchObject({
      code: 'subscription-unknown',
    })
    await expect(engine.fetch('s1')).rejects.toMatchObject({ code: 'subscription-unknown' })
    await expect(engine.suspend('s1', 'x')).rejects.toMatchObject({ code: 'subscription-unknown' })
    await engine.create('s1', { ackWaitMs: LONG_ACK_WAIT_MS })
    expect(await engine.fetch('s1')).toEqual([])
    expect((await engine.replay('s1', undefined, 10)).events).toEqual([])
  })

  it('create keeps an existing subscription as it is; the policy is shared by every instance', async () => {
    const engine = await t.engine()
    const created = await engine.create('s1', { maxInFlight: 2, ackWaitMs: LONG_ACK_WAIT_MS, maxAttempts: 4 })
    expect(created).toEqual({
      id: 's1',
      state: 'active',
      policy: { maxInFlight: 2, ackWaitMs: LONG_ACK_WAIT_MS, maxAttempts: 4 },
    })
    const other = await t.engine()
    expect(await other.create('s1', { maxInFlight: 7 })).toEqual(created)
    expect(await other.status('s1')).toEqual(created)
    expect(await other.status('s2')).toBeUndefined()
  })

  it('refuses malformed ids, oversized payloads and out-of-range policies, with stable codes', async () => {
    const engine = await t.subscribed('s1')
    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (err: { code?: string }) => err.code,
      )
    expect(await code(engine.create('a.b', {}))).toBe('subscription-id-invalid')
    expect(await code(engine.create('x'.repeat(65), {}))).toBe('subscription-id-invalid')
    expect(await code(engine.create('s2', { maxInFlight: 0 }))).toBe('delivery-policy-invalid')
    expect(await code(engine.create('s2', { maxAttempts: 101 }))).toBe('delivery-policy-invalid')
    expect(await code(engine.publish('s1', { id: 'has space', payload: {} }))).toBe('event-invalid')
    expect(await code(engine.publish('s1', { id: '', payload: {} }))).toBe('event-invalid')
    expect(await code(engine.publish('s1', { id: 'big', payload: 'x'.repeat(256 * 1024) }))).toBe('event-too-large')
    expect(await code(engine.publish('nobody', { id: 'e1', payload: {} }))).toBe('subscription-unknown')
    expect(await code(engine.replay('s1', '12', 10))).toBe('cursor-invalid')
    expect((await engine.replay('s1', undefined, 10)).events).toEqual([])
    await engine.close()
    expect(await code(engine.publish('s1', { id: 'e1', payload: {} }))).toBe('engine-closed')
  })

  it('consume delivers in order, retries a failed handler before the next event, and stops at a suspension', async () => {
    const engine = await t.engine({ retryDelayMs: () => 0 })
    await engine.create('s1', { ackWaitMs: LONG_ACK_WAIT_MS, maxAttempts: 5 })
    await t.publishAll(engine, 's1', ['e1', 'e2', 'e3'])
    const calls: string[] = []
    let failedOnce = false
    let releaseE4: () => void = () => {}
    const e4Held = new Promise<void>((resolve) => {
      releaseE4 = resolve
    })
    let e4Started: () => void = () => {}
    const e4Running = new Promise<void>((resolve) => {
      e4Started = resolve
    })
    const consumer = consume(
      engine,
      's1',
      async (d) => {
        calls.push(`${d.eventId}#${d.attempt}`)
        if (d.eventId === 'e2' && !failedOnce) {
          failedOnce = true
          throw new DeliveryFailedError('webhook answered 503')
        }
        if (d.eventId === 'e4') {
          e4Started()
          await e4Held
        }
      },
      { waitMs: 100 },
    )
    const until = Date.now() + 15_000
    while (calls.length < 4 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toEqual(['e1#1', 'e2#1', 'e2#2', 'e3#1'])

    await t.publishAll(engine, 's1', ['e4', 'e5'])
    await e4Running
    await engine.suspend('s1', 'grant-revoked')
    releaseE4()
    expect(await engine.fetch('s1', { max: 5, waitMs: 200 })).toEqual([])
    await consumer.stop()
    expect(calls).toEqual(['e1#1', 'e2#1', 'e2#2', 'e3#1', 'e4#1'])
    expect(await engine.deadLetters('s1')).toEqual([])
  })
}
