import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testSubscriptionEngine } from './conformance/suite.js'
import { openJetStreamEngine } from './jetstream/engine.js'
import { consumerConfig, StreamNames } from './jetstream/streams.js'

const NATS_URL = process.env.QIAO_TEST_NATS_URL ?? '127.0.0.1:4222'

let namespaces = 0
const freshNamespace = () => `qiao_subs_t${process.pid}_${++namespaces}`

/** Deletes a namespace's streams (consumers go with them). */
async function dropNamespace(namespace: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL })
  try {
    const jsm = await jetstreamManager(nc)
    const names = new StreamNames(namespace)
    for (const stream of [names.events, names.state]) {
      await jsm.streams.delete(stream).catch((err: { code?: number }) => {
        if (err.code !== 10059) throw err
      })
    }
  } finally {
    await nc.close()
  }
}

testSubscriptionEngine({
  name: 'NATS JetStream',
  async storage() {
    const namespace = freshNamespace()
    return {
      time: 'broker',
      // Each engine its own connection: another gateway instance on the same broker.
      open: (options) => openJetStreamEngine({ ...options, servers: NATS_URL, namespace }),
      cleanup: () => dropNamespace(namespace),
    }
  },
})

describe('JetStream backend', () => {
  let nc: NatsConnection
  const namespace = freshNamespace()
  const names = new StreamNames(namespace)
  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL })
  })
  afterAll(async () => {
    await nc.close()
    await dropNamespace(namespace)
  })

  it('keeps events on one subject per subscription with a durable consumer carrying the delivery policy', async () => {
    const engine = await openJetStreamEngine({
      clock: { now: () => 1 },
      connection: nc,
      namespace,
      retentionMs: 3_600_000,
      dedupWindowMs: 600_000,
    })
    await engine.create('s1', { maxInFlight: 3, ackWaitMs: 45_000, maxAttempts: 4 })
    await engine.publish('s1', { id: 'permit:P-1:v1', payload: { a: 1 } })
    const jsm = await jetstreamManager(nc)
    const stream = await jsm.streams.info(names.events)
    expect(stream.config).toMatchObject({ max_age: 3_600_000 * 1e6, duplicate_window: 600_000 * 1e6 })
    const consumer = await jsm.consumers.info(names.events, names.consumer('s1'))
    expect(consumer.config).toMatchObject({
      durable_name: 'sub_s1',
      filter_subject: `${namespace}.ev.s1`,
      max_ack_pending: 3,
      ack_wait: 45_000 * 1e6,
      max_deliver: 5,
    })
    const stored = await jsm.streams.getMessage(names.events, { last_by_subj: `${namespace}.ev.s1` })
    expect(stored?.header.get('Nats-Msg-Id')).toBe('s1/permit:P-1:v1')
    await engine.close()
    expect(nc.isClosed()).toBe(false) // the caller's connection stays open
  })

  it('fails closed when a suspension was interrupted after its consumer went: nothing is delivered until resume', async () => {
    const engine = await openJetStreamEngine({ clock: { now: () => 1 }, connection: nc, namespace })
    await engine.create('s2')
    await engine.publish('s2', { id: 'e1', payload: 1 })
    const jsm = await jetstreamManager(nc)
    await jsm.consumers.delete(names.events, names.consumer('s2')) // the suspension's first step, then a crash
    expect(await engine.status('s2')).toMatchObject({ state: 'active' })
    expect(await engine.fetch('s2', { max: 5 })).toEqual([])
    expect(await engine.create('s2')).toMatchObject({ state: 'active' }) // create does not bring it back
    expect(await engine.fetch('s2', { max: 5 })).toEqual([])
    await engine.resume('s2') // repairs, dropping what was published before
    expect(await engine.fetch('s2', { max: 5 })).toEqual([])
    await engine.publish('s2', { id: 'e2', payload: 2 })
    expect((await engine.fetch('s2', { max: 5 })).map((d) => d.eventId)).toEqual(['e2'])
    await engine.close()
  })
  it('does not deliver again what it settled when the server sends it once more as a first delivery', async () => {
    // nats-server before nats-io/nats-server#5305 can send an acknowledged message again with a delivery count of
    // 1; a consumer started over from the beginning does the same to every message, which is how it is made here.
    const engine = await openJetStreamEngine({ clock: { now: () => 1 }, connection: nc, namespace })
    const policy = { maxInFlight: 10, ackWaitMs: 30_000, maxAttempts: 3 }
    await engine.create('s3', policy)
    await engine.publish('s3', { id: 'e1', payload: 1 })
    await engine.publish('s3', { id: 'e2', payload: 2 })
    const first = await engine.fetch('s3', { max: 5 })
    expect(first.map((d) => [d.eventId, d.attempt])).toEqual([
      ['e1', 1],
      ['e2', 1],
    ])
    expect(await engine.ack(first[0] as (typeof first)[number])).toBe(true)
    // e2 is neither acknowledged nor failed yet: in flight when the consumer starts over.
    const jsm = await jetstreamManager(nc)
    const startOver = async () => {
      await jsm.consumers.delete(names.events, names.consumer('s3'))
      await jsm.consumers.add(names.events, consumerConfig(names, 's3', policy))
    }
    await startOver()
    await engine.publish('s3', { id: 'e3', payload: 3 })
    const again = await engine.fetch('s3', { max: 5 })
    // e1 was settled here: acknowledged again, not handed over; e2 and e3 were not, so they come.
    expect(again.map((d) => [d.eventId, d.attempt])).toEqual([
      ['e2', 1],
      ['e3', 1],
    ])
    for (const d of again) expect(await engine.ack(d)).toBe(true)
    const info = await jsm.consumers.info(names.events, names.consumer('s3'))
    expect(info.num_ack_pending).toBe(0)
    expect(info.ack_floor.stream_seq).toBe(Number(again.at(-1)?.cursor))
    // Another instance, which settled nothing itself, has only the floor to go by; a consumer started over has a
    // floor of 0, so everything comes to it again (at least once, same event ids).
    const other = await openJetStreamEngine({ clock: { now: () => 1 }, servers: NATS_URL, namespace })
    await startOver()
    expect((await other.fetch('s3', { max: 5 })).map((d) => d.eventId)).toEqual(['e1', 'e2', 'e3'])
    await other.close()
    await engine.close()
  })
})
