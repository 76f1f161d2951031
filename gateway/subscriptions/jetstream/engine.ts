import {
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type MsgRequest,
  type NextMsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream'
import { connect, headers, type MsgHdrs, type NatsConnection, nanos } from '@nats-io/transport-node'
import {
  ACK_DEADLINE_REASON,
  type DeadLetter,
  type Delivery,
  type DeliveryPolicy,
  type EngineOptions,
  type PublishResult,
  type ReplayedEvent,
  type SubscriptionEngine,
} from '../engine.js'
import { SubscriptionError } from '../errors.js'
import {
  boundCount,
  boundReason,
  checkSubscriptionId,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_RETENTION_MS,
  decodeCursor,
  decodePayload,
  defaultRetryDelayMs,
  encodeCursor,
  encodeEvent,
  resolvePolicy,
} from '../validate.js'
import { answer, type PulledMessage, pull } from './pull.js'
import { SettledSequences, settledAlready } from './settled.js'
import {
  consumerConfig,
  ensureStreams,
  readState,
  type StateRecord,
  StreamNames,
  statusOf,
  writeState,
} from './streams.js'

export interface JetStreamEngineOptions extends EngineOptions {
  /** `nats://host:port` (or several); ignored when `connection` is given. Default 127.0.0.1:4222. */
  readonly servers?: string | string[]
  /** A connection of the caller's, which the engine does not close. */
  readonly connection?: NatsConnection
  /** Names the streams and subjects (see streams.ts); default `qiao_subs`. */
  readonly namespace?: string
  /** How long a publish of the same event id is recognised as a duplicate; default 24 h (at most the retention). */
  readonly dedupWindowMs?: number
  /** Stream replicas (a clustered broker); default 1. */
  readonly replicas?: number
  /** Wait for the server to confirm a publish, ack, nak or term; default 5 s. */
  readonly requestTimeoutMs?: number
}

const EVENT_ID = 'Qiao-Event-Id'
const PUBLISHED_AT = 'Qiao-Published-At'
const MAX_BATCH = 256

/**
 * The subscription engine on NATS JetStream (see ../engine.ts for the contract and the choice of backends). The
 * broker does the queueing: each subscription's durable consumer holds its position, in-flight limit
 * (`max_ack_pending` = maxInFlight), ack deadline (`ack_wait`) and redelivery; instances share it, so an event in
 * flight on one is handed to no other. The engine adds the rest:
 * - the subscription's state (active or suspended) in a state stream, read on every publish so that a suspension
 *   elsewhere refuses publishes at once;
 * - suspension: the consumer is deleted first (nothing more is delivered, acknowledgements of deliveries in flight
 *   go unanswered), then the state written, then the subject purged; a resume purges again (anything that slipped
 *   in meanwhile) before a new consumer starts. An interrupted suspension fails closed: a fetch without a consumer
 *   delivers nothing whatever the state says, and only `resume` makes a new consumer.
 * - dead letters: a failure on the last attempt, or a delivery past the last one (its attempt went unanswered
 *   until the deadline), is recorded on `<ns>.dead.<id>` and terminated (`+TERM`).
 * Ack deadlines and retry delays run on the broker's clock; `clock` stamps publishes and dead letters.
 */
export async function openJetStreamEngine(options: JetStreamEngineOptions): Promise<SubscriptionEngine> {
  const nc = options.connection ?? (await connect({ servers: options.servers ?? '127.0.0.1:4222' }))
  const ownsConnection = options.connection === undefined
  try {
    const jsm = await jetstreamManager(nc)
    const names = new StreamNames(options.namespace ?? 'qiao_subs')
    const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS
    await ensureStreams(jsm, names, {
      retentionMs,
      dedupWindowMs: options.dedupWindowMs ?? 24 * 3_600_000,
      replicas: options.replicas ?? 1,
    })
    return jetStreamEngine(nc, jsm, names, options, ownsConnection)
  } catch (err) {
    if (ownsConnection) await nc.close().catch(() => {})
    throw err
  }
}

function jetStreamEngine(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: StreamNames,
  options: JetStreamEngineOptions,
  ownsConnection: boolean,
): SubscriptionEngine {
  const js = jetstream(nc)
  const { clock } = options
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs
  const timeout = options.requestTimeoutMs ?? 5_000
  const apiPrefix = '$JS.API'
  /** Consumers this engine has seen exist: a fetch on another goes through a look at the consumer first. */
  const knownConsumers = new Set<string>()
  /** Delivery policies are fixed at create, so each is read once. */
  const policies = new Map<string, DeliveryPolicy>()
  /** What this engine settled, to recognise the broker sending it again (settled.ts). */
  const settled = new SettledSequences()
  let closed = false

  /** The consumer's ack floor (stream sequence), or undefined when it cannot be read now (then nothing is dropped). */
  async function ackFloorOf(id: string): Promise<number | undefined> {
    try {
      return (await jsm.consumers.info(names.events, names.consumer(id))).ack_floor.stream_seq
    } catch {
      return undefined
    }
  }

  const open = () => {
    if (closed) throw new SubscriptionError('engine-closed')
  }

  async function stateOf(id: string): Promise<StateRecord> {
    checkSubscriptionId(id)
    open()
    const found = await readState(jsm, names, id)
    if (found === undefined) throw new SubscriptionError('subscription-unknown', id)
    policies.set(id, found.record.policy)
    return found.record
  }

  async function policyOf(id: string): Promise<DeliveryPolicy> {
    return policies.get(id) ?? (await stateOf(id)).policy
  }

  async function consumerExists(id: string): Promise<boolean> {
    try {
      await jsm.consumers.info(names.events, names.consumer(id))
      return true
    } catch (err) {
      if ((err as { code?: unknown }).code === 10014) return false
      throw err
    }
  }

  async function deleteConsumer(id: string): Promise<void> {
    knownConsumers.delete(id)
    await jsm.consumers.delete(names.events, names.consumer(id)).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 10014) throw err
    })
  }

  const purgeEvents = (id: string) => jsm.streams.purge(names.events, { filter: names.eventSubject(id) })

  /** Records the dead letter and terminates the delivery; false when it was recorded before (a stale delivery). */
  async function deadLetter(id: string, message: PulledMessage, attempts: number, reason: string): Promise<boolean> {
    const eventId = message.headers?.get(EVENT_ID) ?? ''
    const record: DeadLetter = {
      eventId,
      cursor: encodeCursor(message.streamSeq),
      attempts,
      reason,
      at: clock.now(),
    }
    // One dead letter per event: its id de-duplicates (within the window) a second report of the same end.
    const recorded = await js.publish(names.deadSubject(id), JSON.stringify(record), {
      msgID: `dead/${id}/${message.streamSeq}`,
      expect: { streamName: names.events },
      timeout,
    })
    if (await answer(nc, message.reply, '+TERM', timeout)) settled.add(id, message.streamSeq)
    return !recorded.duplicate
  }

  async function pullReady(id: string, max: number, waitMs: number): Promise<Delivery[] | undefined> {
    const { messages, answered } = await pull(nc, apiPrefix, names.events, names.consumer(id), max, waitMs)
    if (!answered) return undefined
    const policy = messages.length > 0 ? await policyOf(id) : undefined
    // One look at the consumer per batch that has first deliveries: a repeat of a settled message comes as one.
    const ackFloor = messages.some((m) => m.deliveryCount === 1 && !settled.has(id, m.streamSeq))
      ? await ackFloorOf(id)
      : undefined
    const deliveries: Delivery[] = []
    for (const message of messages) {
      if (settledAlready(message.streamSeq, message.deliveryCount, settled.has(id, message.streamSeq), ackFloor)) {
        // Settled already: acknowledged again so that the server lets go of it, and not delivered twice.
        await answer(nc, message.reply, '+ACK', timeout)
        continue
      }
      const eventId = message.headers?.get(EVENT_ID)
      if (policy === undefined || eventId === undefined || eventId === '') continue
      if (message.deliveryCount > policy.maxAttempts) {
        await deadLetter(id, message, policy.maxAttempts, ACK_DEADLINE_REASON)
        continue
      }
      deliveries.push({
        subscriptionId: id,
        eventId,
        cursor: encodeCursor(message.streamSeq),
        attempt: message.deliveryCount,
        publishedAt: publishedAtOf(message.headers),
        payload: decodePayload(new TextDecoder().decode(message.data)),
        receipt: message.reply,
      })
    }
    return deliveries
  }

  /** The messages of `subject` after stream sequence `after`, in order, by the stream's next-by-subject get. */
  async function readSubject(subject: string, after: number, limit: number) {
    const found: StoredMsg[] = []
    let next = after + 1
    while (found.length < limit) {
      // STREAM.MSG.GET takes `next_by_subj` (server 2.9 on); the client types it for direct gets only, which would
      // need `allow_direct` on the stream.
      const query: NextMsgRequest = { seq: next, next_by_subj: subject }
      const stored = await jsm.streams.getMessage(names.events, query as unknown as MsgRequest)
      if (stored === null) break
      found.push(stored)
      next = stored.seq + 1
    }
    return found
  }

  return {
    backend: 'jetstream',

    async create(id, asked) {
      checkSubscriptionId(id)
      open()
      const policy = resolvePolicy(options, asked)
      const existing = await readState(jsm, names, id)
      if (existing !== undefined) return statusOf(id, existing.record)
      // The consumer before the state: no event can be published before the state is written, and a create
      // interrupted in between is completed by the next (adding the same consumer again changes nothing).
      await jsm.consumers.add(names.events, consumerConfig(names, id, policy))
      const record: StateRecord = { state: 'active', policy }
      if (await writeState(js, names, id, record, 0)) return statusOf(id, record)
      return statusOf(id, await stateOf(id)) // another instance created it first
    },

    async status(id) {
      checkSubscriptionId(id)
      open()
      const found = await readState(jsm, names, id)
      return found === undefined ? undefined : statusOf(id, found.record)
    },

    async publish(id, event): Promise<PublishResult> {
      checkSubscriptionId(id)
      const payload = encodeEvent(event, maxPayloadBytes)
      if ((await stateOf(id)).state !== 'active') return { outcome: 'suspended' }
      const h = headers()
      h.set(EVENT_ID, event.id)
      h.set(PUBLISHED_AT, String(clock.now()))
      const ack = await js.publish(names.eventSubject(id), payload, {
        msgID: `${id}/${event.id}`,
        headers: h,
        expect: { streamName: names.events },
        timeout,
      })
      // A duplicate's acknowledgement names the sequence of the first publish.
      return { outcome: ack.duplicate ? 'duplicate' : 'stored', cursor: encodeCursor(ack.seq) }
    },

    async fetch(id, fetchOptions = {}) {
      checkSubscriptionId(id)
      open()
      const max = boundCount(fetchOptions.max, 1, MAX_BATCH)
      const waitMs = Math.max(0, fetchOptions.waitMs ?? 0)
      if (!knownConsumers.has(id)) {
        if (!(await consumerExists(id))) {
          await stateOf(id) // unknown subscriptions are an error; suspended ones (or half-suspended) get nothing
          return []
        }
        knownConsumers.add(id)
      }
      const deliveries = await pullReady(id, max, waitMs)
      if (deliveries !== undefined) return deliveries
      knownConsumers.delete(id) // no answer at all: the consumer went away meanwhile
      await stateOf(id)
      return []
    },

    async ack(delivery) {
      open()
      const acked = await answer(nc, delivery.receipt, '+ACK', timeout)
      const seq = Number(delivery.cursor)
      if (acked && Number.isSafeInteger(seq)) settled.add(delivery.subscriptionId, seq)
      return acked
    },

    async nak(delivery, reason) {
      open()
      const found = await readState(jsm, names, delivery.subscriptionId)
      if (found === undefined || found.record.state !== 'active') return 'stale'
      const pulled = pulledOf(delivery)
      if (pulled === undefined) return 'stale'
      if (delivery.attempt >= found.record.policy.maxAttempts) {
        const recorded = await deadLetter(delivery.subscriptionId, pulled, delivery.attempt, boundReason(reason))
        return recorded ? 'dead-lettered' : 'stale'
      }
      const delay = nanos(Math.max(0, retryDelayMs(delivery.attempt)))
      return (await answer(nc, delivery.receipt, `-NAK ${JSON.stringify({ delay })}`, timeout)) ? 'retry' : 'stale'
    },

    async replay(id, after, limit) {
      const from = decodeCursor(after)
      const count = boundCount(limit, 100, 1000)
      if ((await stateOf(id)).state !== 'active') throw new SubscriptionError('subscription-suspended', id)
      const stored = await readSubject(names.eventSubject(id), from, count)
      const events: ReplayedEvent[] = stored.map((m) => ({
        eventId: m.header.get(EVENT_ID),
        cursor: encodeCursor(m.seq),
        publishedAt: publishedAtOf(m.header),
        payload: decodePayload(m.string()),
      }))
      return { events, next: events.at(-1)?.cursor ?? after }
    },

    async deadLetters(id, limit) {
      await stateOf(id)
      const stored = await readSubject(names.deadSubject(id), 0, boundCount(limit, 100, 1000))
      return stored.map((m) => m.json<DeadLetter>())
    },

    async suspend(id, reason) {
      const record = await stateOf(id)
      settled.forget(id)
      await deleteConsumer(id)
      await writeState(js, names, id, { ...record, state: 'suspended', suspendedReason: boundReason(reason) })
      await purgeEvents(id)
    },

    async resume(id) {
      const record = await stateOf(id)
      if (record.state === 'active' && (await consumerExists(id))) return
      // Whatever was published before (or slipped in during) the suspension goes, before delivery starts again.
      await purgeEvents(id)
      await jsm.consumers.add(names.events, consumerConfig(names, id, record.policy))
      await writeState(js, names, id, { state: 'active', policy: record.policy })
    },

    async remove(id) {
      checkSubscriptionId(id)
      open()
      policies.delete(id)
      settled.forget(id)
      await deleteConsumer(id)
      await purgeEvents(id)
      await jsm.streams.purge(names.events, { filter: names.deadSubject(id) })
      await jsm.streams.purge(names.state, { filter: names.stateSubject(id) })
    },

    async close() {
      if (closed) return
      closed = true
      if (ownsConnection) await nc.close()
    },
  }

  function pulledOf(delivery: Delivery): PulledMessage | undefined {
    const seq = Number(delivery.cursor)
    if (!delivery.receipt.startsWith('$JS.ACK.') || !Number.isSafeInteger(seq)) return undefined
    const h = headers()
    h.set(EVENT_ID, delivery.eventId)
    return {
      reply: delivery.receipt,
      headers: h,
      data: new Uint8Array(),
      deliveryCount: delivery.attempt,
      streamSeq: seq,
    }
  }
}

function publishedAtOf(h: MsgHdrs | undefined): number {
  const at = Number(h?.get(PUBLISHED_AT))
  return Number.isFinite(at) ? at : 0
}
