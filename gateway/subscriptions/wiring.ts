import { createHash } from 'node:crypto'
import type { Change, ChangesOperation, ConnectorLogger } from '../../connectors/kit/types.js'
import type { Clock } from '../../kernel/clock.js'
import type { KeyedDigest } from '../audit/digest.js'
import { uuidv7 } from '../audit/ids.js'
import type { ExchangeAuditRecord } from '../audit/record.js'
import type { AuditStore } from '../audit/store.js'
import { subjectsOf } from '../audit/subjects.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import type { ReadBinding } from '../catalog/types.js'
import type { Config } from '../config/settings.js'
import { writeAudit } from '../pipeline/70-write-audit.js'
import type { StateStore } from '../state/store.js'
import { hotValidator } from '../validation/hot-path.js'
import type { JsonValue, SubscriptionEngine } from './engine.js'
import { type FeedPoller, startFeedPoller } from './feed/poller.js'
import { openJetStreamEngine } from './jetstream/engine.js'
import { openOutboxEngine } from './outbox/engine.js'
import {
  readSubscriptionsOverview,
  type SubscriptionsObserver,
  type SubscriptionsOverview,
  settlementOf,
} from './overview.js'
import { compileFilter } from './registry/request.js'
import { openSubscriptionRegistry, type Subscription, type SubscriptionRegistry } from './registry/store.js'
import { createSubscriptionService, grantStanding, type SubscriptionService, type SuspensionReason } from './service.js'
import { startWebhookDelivery } from './webhook/deliverer.js'
import { checkWebhookUrl, type WebhookUrlPolicy } from './webhook/url-policy.js'

/**
 * Subscriptions in `serve`: for every resource with a change feed and at least one active subscription, one feed
 * poller (one across instances: its lease); each page of changes is, for each active subscription on the resource,
 * filtered, projected and masked through the subscriber's compiled grant, audited like a read (fail closed: no
 * record, no publish) and published with the stable event id `<resource>/<key>/<version>`, which the engine
 * de-duplicates. A subscription whose grant no longer holds is suspended at the next publish and whenever a new
 * snapshot is swapped in (`onSnapshot`, from the grant sync).
 */
export interface SubscriptionsWiringOptions {
  readonly state: StateStore
  readonly engine: SubscriptionEngine
  readonly snapshot: () => CatalogSnapshot
  readonly audit: AuditStore
  readonly digest: KeyedDigest
  readonly clock: Clock
  readonly log: ConnectorLogger
  /** Wait between polls of a drained feed. */
  readonly feedIntervalMs: number
  /** How often the registry is read again for subscriptions made or removed on other instances; default 10 s. */
  readonly rescanMs?: number
  /** Which webhook URLs a subscription may name, at creation and at every connection (webhook/url-policy.ts). */
  readonly webhookUrlPolicy?: WebhookUrlPolicy
  /** Told of publishes, webhook attempts and feed rounds (metrics.ts); plain values only. */
  readonly observer?: SubscriptionsObserver
}

export interface RunningSubscriptions {
  readonly service: SubscriptionService
  readonly registry: SubscriptionRegistry
  /** A new snapshot was swapped in (grant sync, reload): suspends what it no longer grants, re-plans the pollers. */
  onSnapshot(): Promise<void>
  /** Resources polled by this instance's pollers right now (tests, status). */
  polled(): string[]
  /** Backend, counts by state, each fed resource's last good poll and error, dead letters (overview.ts). */
  overview(): Promise<SubscriptionsOverview>
  close(): Promise<void>
}

/** Engine event ids are 1–200 visible ASCII characters; a longer or non-ASCII key or version is hashed. */
const EVENT_ID = /^[\x21-\x7e]{1,200}$/

export function eventIdOf(resource: string, change: Pick<Change, 'key' | 'version'>): string {
  const plain = `${resource}/${change.key}/${change.version}`
  if (EVENT_ID.test(plain)) return plain
  return `${resource}/h-${createHash('sha256').update(`${change.key}\u0000${change.version}`).digest('hex')}`
}

/**
 * `serve`'s subscriptions from its configuration: events in NATS JetStream with QIAO_SUBSCRIPTIONS_NATS_URL, else in
 * the state store's outbox beside the grants; webhooks over http and to private addresses only in `qiao demo`.
 * Closing them closes the engine too.
 */
export async function startConfiguredSubscriptions(
  options: Omit<SubscriptionsWiringOptions, 'engine' | 'feedIntervalMs' | 'webhookUrlPolicy'> & {
    readonly config: Pick<
      Config,
      'subscriptionsNatsUrl' | 'subscriptionsFeedInterval' | 'subscriptionsWebhookHosts' | 'demoMode'
    >
  },
): Promise<RunningSubscriptions> {
  const { config, state, clock } = options
  const engine: SubscriptionEngine =
    config.subscriptionsNatsUrl === undefined
      ? await openOutboxEngine({ state, clock })
      : await openJetStreamEngine({ servers: config.subscriptionsNatsUrl, clock })
  const running = await startSubscriptions({
    ...options,
    engine,
    feedIntervalMs: config.subscriptionsFeedInterval,
    // Subscriptions made on other instances are found as often as a drained feed is polled (1 s at least).
    rescanMs: Math.max(1_000, config.subscriptionsFeedInterval),
    webhookUrlPolicy: webhookUrlPolicyOf(config),
  }).catch(async (err: unknown) => {
    await engine.close()
    throw err
  })
  return {
    ...running,
    async close() {
      await running.close()
      await engine.close()
    },
  }
}

export async function startSubscriptions(options: SubscriptionsWiringOptions): Promise<RunningSubscriptions> {
  const { state, engine, snapshot, audit, digest, clock, log, observer } = options
  const registry = openSubscriptionRegistry(state)
  const pollers = new Map<string, { poller: FeedPoller; operation: ChangesOperation }>()
  const webhooks = new Map<string, { close(): Promise<void> }>()
  // One filter per subscription and compiled grant: a grant sync recompiles grants, so the filter follows.
  const filters = new WeakMap<CompiledGrant, Map<string, ReturnType<typeof compileFilter>>>()
  let closed = false

  const service = createSubscriptionService({
    registry,
    engine,
    snapshot,
    clock,
    log,
    checkWebhookUrl: (url) => {
      const problems = checkWebhookUrl(url, options.webhookUrlPolicy)
      return problems.length === 0 ? undefined : problems.map((p) => `${p.zh} (${p.code})`).join('; ')
    },
    onChanged: () => void replan(),
  })

  function filterOf(subscription: Subscription, grant: CompiledGrant<ReadBinding>) {
    let byId = filters.get(grant)
    if (byId === undefined) {
      byId = new Map()
      filters.set(grant, byId)
    }
    let filter = byId.get(subscription.id)
    if (filter === undefined) {
      filter = compileFilter(subscription.filter, grant.grant.fields)
      byId.set(subscription.id, filter)
    }
    return filter
  }

  async function suspend(subscription: Subscription, reason: SuspensionReason): Promise<void> {
    await service.suspend(subscription, reason)
  }

  async function onChanges(resourceId: string, changes: readonly Change[]): Promise<void> {
    const snap = snapshot()
    const resource = snap.catalog.resources.get(resourceId)
    // Thrown, not skipped: the poller backs off and the page is handed over again once the catalog has it back.
    if (resource?.read === undefined) throw new Error(`resource ${resourceId} has no read binding to check changes by`)
    const valid = hotValidator(resource.read.response.validate)
    const accepted: Change[] = []
    for (const change of changes) {
      if (change.op === 'delete' ? change.record === undefined : change.record !== undefined && valid(change.record)) {
        accepted.push(change)
      } else {
        // Version only: the key may identify a company, the record is the provider's bad data.
        log.warn(
          { resource: resourceId, version: change.version },
          'change violates the resource schema; not published',
        )
      }
    }
    const subscriptions = await registry.activeOn(resourceId)
    for (const subscription of subscriptions) {
      const now = clock.now()
      const standing = grantStanding(snap, subscription, now)
      if (!standing.ok) {
        await suspend(subscription, standing.reason)
        continue
      }
      const { grant } = standing
      const passes = filterOf(subscription, grant)
      // A subscription gets the changes made from its creation on (to the second: providers stamp seconds), not the
      // feed's history: that is what a query is for.
      const since = Math.floor(subscription.createdAt / 1000) * 1000
      for (const change of accepted) {
        if (!(Date.parse(change.changedAt) >= since)) continue
        if (!passes(change)) {
          observer?.published(resourceId, 'filtered-out')
          continue
        }
        const released = change.record === undefined ? undefined : grant.project(change.record)
        const payload: { [key: string]: JsonValue } = {
          op: change.op,
          key: change.key,
          version: change.version,
          changedAt: change.changedAt,
          ...(released === undefined ? {} : { record: released as JsonValue }),
        }
        const eventId = eventIdOf(resourceId, change)
        // Fail closed: a change whose release cannot be audited is not published (the page is polled again).
        await writeAudit(audit, releaseRecord(snap, subscription, grant, change, eventId, payload, now, digest))
        const result = await engine.publish(subscription.id, { id: eventId, payload })
        observer?.published(resourceId, result.outcome)
        if (result.outcome === 'suspended') {
          const status = await engine.status(subscription.id)
          await registry.suspend(subscription.id, status?.suspendedReason ?? 'grant-revoked', clock.now())
          break
        }
        if (result.outcome === 'stored') await registry.published(subscription.id, eventId, now)
      }
    }
  }

  /** A deliverer per active webhook subscription; one that cannot start (URL refused now) is logged, not retried. */
  function startWebhook(subscription: Subscription): void {
    if (subscription.delivery.kind !== 'webhook') return
    try {
      webhooks.set(
        subscription.id,
        startWebhookDelivery({
          engine,
          subscriptionId: subscription.id,
          url: subscription.delivery.url,
          secret: subscription.delivery.secret,
          ...(options.webhookUrlPolicy === undefined ? {} : { urlPolicy: options.webhookUrlPolicy }),
          clock,
          log,
          onGone: (id) => log.warn({ subscription: id }, 'webhook receiver answered 410 Gone'),
          onAttempt: (_delivery, outcome, seconds) => observer?.webhookSettled(settlementOf(outcome), seconds),
        }),
      )
    } catch (err) {
      webhooks.set(subscription.id, { close: async () => {} })
      log.error(
        { subscription: subscription.id, errorName: err instanceof Error ? err.name : typeof err },
        'webhook deliverer not started',
      )
    }
  }

  /** Reads the active subscriptions, suspends those whose grant is gone, and starts or stops pollers to match. */
  async function planOnce(): Promise<void> {
    if (closed) return
    const snap = snapshot()
    const now = clock.now()
    const wanted = new Map<string, ChangesOperation>()
    const live = new Set<string>()
    for (const subscription of await registry.active()) {
      const standing = grantStanding(snap, subscription, now)
      if (!standing.ok) {
        await suspend(subscription, standing.reason)
        continue
      }
      live.add(subscription.id)
      if (subscription.delivery.kind === 'webhook' && !webhooks.has(subscription.id)) startWebhook(subscription)
      const operation = changesOperationOf(snap, subscription.resource)
      if (operation !== undefined) wanted.set(subscription.resource, operation)
    }
    for (const [id, deliverer] of webhooks) {
      if (live.has(id)) continue
      webhooks.delete(id)
      await deliverer.close()
    }
    for (const [resource, running] of pollers) {
      // Gone, or its connector replaced by a reload: the old poller stops (the new one goes on from the cursor).
      if (wanted.get(resource) === running.operation) continue
      pollers.delete(resource)
      await running.poller.close()
    }
    for (const [resource, operation] of wanted) {
      if (pollers.has(resource) || closed) continue
      const timeoutMs = snap.catalog.resources.get(resource)?.timeoutMs ?? 5_000
      const connector = snap.catalog.resources.get(resource)?.connector
      const guard = connector === undefined ? undefined : snap.guards.get(connector)
      const poller = startFeedPoller({
        resource,
        operation,
        ...(guard === undefined ? {} : { guard }),
        timeoutMs,
        state,
        clock,
        log,
        intervalMs: options.feedIntervalMs,
        onChanges,
        onRound: (report) => {
          if (report.outcome === 'error' || report.leader) observer?.feedPolled(resource, report.outcome)
        },
      })
      pollers.set(resource, { poller, operation })
    }
  }

  // One plan at a time; requests made meanwhile are served by one more run.
  let planning: Promise<void> = Promise.resolve()
  let queued: Promise<void> | undefined
  function replan(): Promise<void> {
    if (queued !== undefined) return queued
    const next = planning.then(() => {
      queued = undefined
      return planOnce().catch((err: unknown) =>
        log.error({ errorName: err instanceof Error ? err.name : typeof err }, 'subscriptions not re-planned'),
      )
    })
    queued = next
    planning = next
    return next
  }

  await replan()
  const rescan = setInterval(() => void replan(), options.rescanMs ?? 10_000)
  rescan.unref()

  return {
    service,
    registry,
    onSnapshot: replan,
    polled: () => [...pollers.keys()],
    overview: () =>
      readSubscriptionsOverview({
        state,
        engine,
        clock,
        feeds: new Map([...pollers].map(([resource, running]) => [resource, running.poller])),
        webhookSubscriptions: [...webhooks.keys()],
      }),
    async close() {
      closed = true
      clearInterval(rescan)
      await planning
      await Promise.all([...pollers.values()].map((p) => p.poller.close()))
      await Promise.all([...webhooks.values()].map((w) => w.close()))
      pollers.clear()
      webhooks.clear()
    },
  }
}

function changesOperationOf(snapshot: CatalogSnapshot, resourceId: string): ChangesOperation | undefined {
  const resource = snapshot.catalog.resources.get(resourceId)
  if (resource?.changes === undefined || resource.connector === undefined) return undefined
  const operation = snapshot.connectors.get(resource.connector)?.operations[resource.changes.operation]
  return operation?.kind === 'changes' ? operation : undefined
}

/**
 * The audit record of one change released to one subscriber, shaped like a read's (auditRecordOf): the matter is
 * the subscription's, the case `subscription:<id>`, the parameters the change's key and version (digested).
 * Keys in canonical (code-unit) order, as the log stores them.
 */
function releaseRecord(
  snapshot: CatalogSnapshot,
  subscription: Subscription,
  grant: CompiledGrant<ReadBinding>,
  change: Change,
  eventId: string,
  payload: JsonValue,
  now: number,
  digest: KeyedDigest,
): ExchangeAuditRecord {
  const released = change.record !== undefined
  const params = { key: change.key, version: change.version }
  return {
    action: 'read',
    approvalRef: grant.grant.approval?.ref,
    case: `subscription:${subscription.id}`,
    catalogVersion: snapshot.catalog.version,
    decision: 'allow',
    fields: released ? grant.fields : [],
    id: uuidv7(now),
    kind: 'exchange',
    masked: released ? grant.masked : [],
    matter: subscription.matter,
    paramsDigest: digest(params),
    provider: snapshot.catalog.resources.get(subscription.resource)?.provider,
    reason: 'ok',
    recordCount: released ? 1 : 0,
    releaseDigest: digest(payload),
    requestId: `subscription:${subscription.id}:${eventId}`.slice(0, 300),
    requester: { clientId: undefined, dept: subscription.consumer, sub: undefined, tokenId: undefined },
    resource: subscription.resource,
    status: 200,
    subjects: subjectsOf(digest, [], undefined, grant.subjectFields, change.record ? [change.record] : undefined),
    time: new Date(now).toISOString(),
    totalMs: 0,
  }
}

/**
 * Demo: http and loopback receivers. Otherwise https only; with the operator's host list only those hosts, and they
 * may be intranet addresses (a department's office system usually is); without it no private address at all.
 */
export function webhookUrlPolicyOf(config: Pick<Config, 'demoMode' | 'subscriptionsWebhookHosts'>): WebhookUrlPolicy {
  if (config.demoMode) return { allowHttp: true, allowPrivateAddresses: true }
  const hosts = config.subscriptionsWebhookHosts
  if (hosts === undefined) return { allowHttp: false, allowPrivateAddresses: false }
  return { allowHttp: false, allowedHosts: hosts, allowPrivateAddresses: true }
}
