import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'
import type { DeliveryPolicy, SubscriptionStatus } from '../engine.js'

/**
 * Where one engine namespace lives on the broker. Two streams:
 * - `<NS>_EVENTS`: `<ns>.ev.<subscription>` (the events, one subject per subscription, each with a durable
 *   consumer `sub_<subscription>` filtered on it) and `<ns>.dead.<subscription>` (dead-letter records: id, reason,
 *   attempts — no payload). Limits retention by age: the replay history.
 * - `<NS>_STATE`: `<ns>.state.<subscription>`, the last record per subject (like a key-value bucket): whether the
 *   subscription is active or suspended, and its delivery policy.
 */
export class StreamNames {
  readonly events: string
  readonly state: string

  constructor(readonly namespace: string) {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(namespace))
      throw new Error('JetStream namespace must match [a-z][a-z0-9_]{0,31}')
    this.events = `${namespace.toUpperCase()}_EVENTS`
    this.state = `${namespace.toUpperCase()}_STATE`
  }
  eventSubject = (id: string) => `${this.namespace}.ev.${id}`
  deadSubject = (id: string) => `${this.namespace}.dead.${id}`
  stateSubject = (id: string) => `${this.namespace}.state.${id}`
  consumer = (id: string) => `sub_${id}`
}

export interface StreamSettings {
  readonly retentionMs: number
  readonly dedupWindowMs: number
  readonly replicas: number
}

/** Creates both streams, or brings an existing one's limits to these settings. */
export async function ensureStreams(jsm: JetStreamManager, names: StreamNames, settings: StreamSettings) {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
  }
  await ensureStream(jsm, {
    ...common,
    name: names.events,
    subjects: [`${names.namespace}.ev.*`, `${names.namespace}.dead.*`],
    max_age: nanos(settings.retentionMs),
    duplicate_window: nanos(Math.min(settings.dedupWindowMs, settings.retentionMs)),
  })
  await ensureStream(jsm, {
    ...common,
    name: names.state,
    subjects: [`${names.namespace}.state.*`],
    max_msgs_per_subject: 1,
    duplicate_window: nanos(60_000),
  })
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.add(config)
  } catch (err) {
    // 10058: the stream exists with other settings (an upgrade changed the retention, say).
    if (!(err instanceof JetStreamApiError) || err.code !== 10058) throw err
    await jsm.streams.update(config.name, config)
  }
}

/** The durable consumer of one subscription: its delivery policy is the consumer's own. */
export function consumerConfig(names: StreamNames, id: string, policy: DeliveryPolicy): Partial<ConsumerConfig> {
  return {
    durable_name: names.consumer(id),
    filter_subject: names.eventSubject(id),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(policy.ackWaitMs),
    max_ack_pending: policy.maxInFlight,
    // One delivery past the last attempt: the engine sees it was not answered and records the dead letter
    // (jetstream/engine.ts); the server stops there even if no engine does.
    max_deliver: policy.maxAttempts + 1,
  }
}

export interface StateRecord {
  readonly state: 'active' | 'suspended'
  readonly policy: DeliveryPolicy
  readonly suspendedReason?: string
}

export async function readState(
  jsm: JetStreamManager,
  names: StreamNames,
  id: string,
): Promise<{ record: StateRecord; seq: number } | undefined> {
  const stored = await jsm.streams.getMessage(names.state, { last_by_subj: names.stateSubject(id) })
  if (stored === null) return undefined
  return { record: stored.json<StateRecord>(), seq: stored.seq }
}

/**
 * Writes the subscription's state. With `expectedSeq`, only over that record (0: only when there is none), so that
 * of two instances creating one subscription exactly one writes; false when another record was there.
 */
export async function writeState(
  js: JetStreamClient,
  names: StreamNames,
  id: string,
  record: StateRecord,
  expectedSeq?: number,
): Promise<boolean> {
  try {
    await js.publish(names.stateSubject(id), JSON.stringify(record), {
      expect: {
        streamName: names.state,
        ...(expectedSeq === undefined ? {} : { lastSubjectSequence: expectedSeq }),
      },
    })
    return true
  } catch (err) {
    if (
      expectedSeq !== undefined &&
      err instanceof JetStreamApiError &&
      err.code === JetStreamApiCodes.StreamWrongLastSequence
    ) {
      return false
    }
    throw err
  }
}

export function statusOf(id: string, record: StateRecord): SubscriptionStatus {
  return record.state === 'active'
    ? { id, state: 'active', policy: record.policy }
    : { id, state: 'suspended', policy: record.policy, suspendedReason: record.suspendedReason ?? 'unspecified' }
}
