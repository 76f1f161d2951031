import { expect, it } from 'vitest'
import type { Delivery, SubscriptionEngine } from '../engine.js'
import { idsOf, LONG_ACK_WAIT_MS, payloadOf, type SuiteContext } from './suite.js'

/** Ordering, isolation, de-duplication, instances sharing a subscription, replay. */
export function deliveryCases(t: SuiteContext): void {
  /** Fetches one at a time and acknowledges each, until nothing more comes. */
  async function drain(engine: SubscriptionEngine, id: string): Promise<Delivery[]> {
    const got: Delivery[] = []
    for (;;) {
      const [next] = await engine.fetch(id)
      if (next === undefined) return got
      got.push(next)
      expect(await engine.ack(next)).toBe(true)
    }
  }

  it('delivers a subscription’s events once each, in publish order, with interleaved publishers', async () => {
    const engine = await t.subscribed('s1')
    const a = Array.from({ length: 10 }, (_, i) => `a-${i}`)
    const b = Array.from({ length: 10 }, (_, i) => `b-${i}`)
    const [cursorsA, cursorsB] = await Promise.all([t.publishAll(engine, 's1', a), t.publishAll(engine, 's1', b)])
    const published = [...a.map((id, i) => [id, cursorsA[i]]), ...b.map((id, i) => [id, cursorsB[i]])] as [
      string,
      string,
    ][]
    const inCursorOrder = published.sort((x, y) => (x[1] < y[1] ? -1 : 1)).map(([id]) => id)

    const delivered = await drain(engine, 's1')
    expect(idsOf(delivered)).toEqual(inCursorOrder)
    expect(new Set(idsOf(delivered)).size).toBe(20)
    expect(idsOf(delivered).filter((id) => id.startsWith('a-'))).toEqual(a)
    expect(idsOf(delivered).filter((id) => id.startsWith('b-'))).toEqual(b)
    const cursors = delivered.map((d) => d.cursor)
    expect(cursors).toEqual([...cursors].sort())
    expect(new Set(cursors).size).toBe(20)
    expect(delivered[0]).toMatchObject({
      subscriptionId: 's1',
      attempt: 1,
      publishedAt: t.now(),
      payload: payloadOf(delivered[0]?.eventId ?? ''),
    })
  })

  it('hands out at most maxInFlight events, in order, and the next only once an earlier one is answered', async () => {
    const engine = await t.subscribed('s1', { maxInFlight: 3 })
    await t.publishAll(engine, 's1', ['e0', 'e1', 'e2', 'e3', 'e4'])
    const first = await engine.fetch('s1', { max: 10 })
    expect(idsOf(first)).toEqual(['e0', 'e1', 'e2'])
    expect(await engine.fetch('s1', { max: 10 })).toEqual([])
    expect(await engine.ack(first[1] as Delivery)).toBe(true)
    const next = await engine.fetch('s1', { max: 10 })
    expect(idsOf(next)).toEqual(['e3'])
    for (const d of [first[0], first[2], next[0]]) expect(await engine.ack(d as Delivery)).toBe(true)
    expect(idsOf(await engine.fetch('s1', { max: 10 }))).toEqual(['e4'])
  })

  it('keeps subscriptions apart: one’s event in flight holds up no other, and events never cross', async () => {
    const engine = await t.subscribed('s1')
    await engine.create('s2', { ackWaitMs: LONG_ACK_WAIT_MS })
    await t.publishAll(engine, 's1', ['x0', 'x1', 'same'])
    await t.publishAll(engine, 's2', ['y0', 'y1', 'same'])
    const [held] = await engine.fetch('s1')
    expect(held?.eventId).toBe('x0')
    const other = await drain(engine, 's2')
    expect(idsOf(other)).toEqual(['y0', 'y1', 'same'])
    expect(other.every((d) => d.subscriptionId === 's2')).toBe(true)
    expect(await engine.fetch('s1')).toEqual([]) // x0 is still in flight
    expect(idsOf((await engine.replay('s2', undefined, 10)).events)).toEqual(['y0', 'y1', 'same'])
    expect(idsOf((await engine.replay('s1', undefined, 10)).events)).toEqual(['x0', 'x1', 'same'])
  })

  it('keeps a change published twice as one event, concurrent publishes included', async () => {
    const engine = await t.subscribed('s1')
    const first = await engine.publish('s1', { id: 'e1', payload: { v: 1 } })
    expect(first.outcome).toBe('stored')
    const again = await engine.publish('s1', { id: 'e1', payload: { v: 2 } })
    expect(again).toEqual({ outcome: 'duplicate', cursor: (first as { cursor: string }).cursor })
    const racing = await Promise.all([1, 2, 3].map(() => engine.publish('s1', { id: 'e2', payload: { v: 3 } })))
    expect(racing.filter((r) => r.outcome === 'stored')).toHaveLength(1)
    expect(racing.filter((r) => r.outcome === 'duplicate')).toHaveLength(2)
    expect(new Set(racing.map((r) => (r as { cursor: string }).cursor)).size).toBe(1)
    const delivered = await drain(engine, 's1')
    expect(delivered.map((d) => [d.eventId, d.payload])).toEqual([
      ['e1', { v: 1 }],
      ['e2', { v: 3 }],
    ])
    expect(idsOf((await engine.replay('s1', undefined, 10)).events)).toEqual(['e1', 'e2'])
  })

  it('never hands an event one engine instance has in flight to another', async () => {
    const one = await t.subscribed('s1', { maxInFlight: 4 })
    const two = await t.engine()
    await t.publishAll(one, 's1', ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'])
    const fromOne = await one.fetch('s1', { max: 2 })
    const fromTwo = await two.fetch('s1', { max: 4 })
    expect(idsOf(fromOne)).toEqual(['e0', 'e1'])
    expect(idsOf(fromTwo)).toEqual(['e2', 'e3'])
    expect(await one.fetch('s1', { max: 4 })).toEqual([])
    // Acknowledged on the other instance than the one it was fetched on.
    expect(await two.ack(fromOne[0] as Delivery)).toBe(true)
    expect(idsOf(await one.fetch('s1', { max: 4 }))).toEqual(['e4'])
  })

  it('two engine instances racing over one subscription deliver every event exactly once, within maxInFlight', async () => {
    const one = await t.subscribed('s1', { maxInFlight: 5 })
    const two = await t.engine()
    const ids = Array.from({ length: 30 }, (_, i) => `e-${String(i).padStart(2, '0')}`)
    await t.publishAll(one, 's1', ids)
    const delivered: string[] = []
    let inFlight = 0
    let mostInFlight = 0
    const race = async (engine: SubscriptionEngine) => {
      for (let idle = 0; idle < 3; ) {
        const got = await engine.fetch('s1', { max: 3, waitMs: 50 })
        if (got.length === 0) idle++
        else idle = 0
        inFlight += got.length
        mostInFlight = Math.max(mostInFlight, inFlight)
        for (const d of got) {
          delivered.push(d.eventId)
          inFlight-- // before the ack: the count never lags the engine's
          expect(await engine.ack(d)).toBe(true)
        }
      }
    }
    await Promise.all([race(one), race(two)])
    expect([...delivered].sort()).toEqual(ids)
    expect(mostInFlight).toBeLessThanOrEqual(5)
  })

  it('replays from a cursor exactly what followed it, acknowledged or not', async () => {
    const engine = await t.subscribed('s1')
    const cursors = await t.publishAll(engine, 's1', ['e1', 'e2', 'e3', 'e4', 'e5'])
    for (let i = 0; i < 2; i++) {
      const [d] = await t.fetchUntil(engine, 's1', 1)
      expect(await engine.ack(d as Delivery)).toBe(true)
    }

    const page1 = await engine.replay('s1', undefined, 2)
    expect(idsOf(page1.events)).toEqual(['e1', 'e2'])
    expect(page1.next).toBe(cursors[1])
    expect(page1.events[0]).toEqual({
      eventId: 'e1',
      cursor: cursors[0],
      publishedAt: t.now(),
      payload: payloadOf('e1'),
    })
    const page2 = await engine.replay('s1', page1.next, 10)
    expect(idsOf(page2.events)).toEqual(['e3', 'e4', 'e5'])
    expect(page2.events.map((e) => e.cursor)).toEqual(cursors.slice(2))
    const end = await engine.replay('s1', page2.next, 10)
    expect(end).toEqual({ events: [], next: cursors[4] })
    expect(idsOf((await engine.replay('s1', cursors[2], 1)).events)).toEqual(['e4'])

    await t.publishAll(engine, 's1', ['e6'])
    expect(idsOf((await engine.replay('s1', end.next, 10)).events)).toEqual(['e6'])
    await expect(engine.replay('s1', 'not-a-cursor', 10)).rejects.toMatchObject({ code: 'cursor-invalid' })
    await expect(engine.replay('nobody', undefined, 10)).rejects.toMatchObject({ code: 'subscription-unknown' })
  })
}
