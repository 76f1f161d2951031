import type { Clock } from '../../kernel/clock.js'
import type { StateStore } from '../state/store.js'
import type { SubscriptionEngine } from './engine.js'
import type { FeedTables } from './feed/tables.js'
import type { SubscriptionRegistryTables } from './registry/tables.js'
import type { AttemptOutcome } from './webhook/deliverer.js'

/**
 * What operators see of subscriptions: the plain callbacks the wiring reports events through (metrics.ts turns
 * them into Prometheus series; nothing here imports prom-client), and the overview read on demand for /metrics'
 * gauges and /v1/admin/status. Only bounded values: catalog resource ids, fixed outcome words, counts and times —
 * never a subscription id, a URL, a department's token or a payload value.
 */

/** What a publish came to for one subscriber; `filtered-out`: the subscription's filter kept the change out. */
export type PublishCountOutcome = 'stored' | 'duplicate' | 'suspended' | 'filtered-out'

/**
 * How the engine took a webhook attempt's answer: acknowledged; `stale` also for a 2xx whose acknowledgement the
 * engine refused (the delivery was no longer current); `unrecorded`: the nak itself failed.
 */
export type WebhookSettlement = 'acknowledged' | 'retry' | 'dead-lettered' | 'stale' | 'unrecorded'

export function settlementOf(outcome: AttemptOutcome): WebhookSettlement {
  if (outcome.result === 'failed') return outcome.next
  return outcome.acknowledged ? 'acknowledged' : 'stale'
}

export interface SubscriptionsObserver {
  published(resource: string, outcome: PublishCountOutcome): void
  webhookSettled(outcome: WebhookSettlement, seconds: number): void
  /** A feed round that polled (leader) or failed; a follower's round polled nothing and is not reported. */
  feedPolled(resource: string, outcome: 'ok' | 'error'): void
}

export interface FeedOverview {
  readonly resource: string
  /** When any instance last polled it successfully (its cursor row); undefined: never yet. */
  readonly lastPolledAt?: number
  /** Seconds since then, on the gateway's clock. */
  readonly lagSeconds?: number
  /** Whether this instance holds the feed's lease. */
  readonly leader: boolean
  /** This instance's consecutive failed rounds (0 after a good one). */
  readonly failures: number
  /** This instance's last failed round since start: its stable code and when. */
  readonly lastError?: { readonly code: string; readonly at: number }
}

export interface SubscriptionsOverview {
  /** `outbox-sqlite`, `outbox-postgres` or `jetstream`. */
  readonly backend: string
  /** Across every instance (the registry is shared). */
  readonly subscriptions: { readonly active: number; readonly suspended: number }
  /** The resources with active subscriptions and a change feed, in id order. */
  readonly feeds: readonly FeedOverview[]
  /**
   * Dead letters kept for the webhook subscriptions this instance delivers (pull subscriptions have none); undefined
   * when there are more than MAX_DEAD_LETTER_COUNTS of them (one engine read each) or the engine could not tell.
   */
  readonly deadLetters?: number
}

/** Webhook subscriptions whose dead letters the overview counts (one engine read each). */
export const MAX_DEAD_LETTER_COUNTS = 50
/** Dead letters read per subscription: a count beyond it is reported as this many. */
const DEAD_LETTERS_READ = 1_000

/** A poller as the overview reads it (feed/poller.ts). */
export interface FeedStanding {
  readonly leader: boolean
  readonly failures: number
  readonly lastError?: { readonly code: string; readonly at: number }
}

export interface OverviewInputs {
  readonly state: StateStore
  readonly engine: SubscriptionEngine
  readonly clock: Clock
  /** This instance's pollers, by resource. */
  readonly feeds: ReadonlyMap<string, FeedStanding>
  /** The webhook subscriptions this instance delivers. */
  readonly webhookSubscriptions: readonly string[]
}

export async function readSubscriptionsOverview(inputs: OverviewInputs): Promise<SubscriptionsOverview> {
  const { state, engine, clock } = inputs
  const resources = [...inputs.feeds.keys()].sort()
  const [counts, polled, deadLetters] = await Promise.all([
    countByState(state),
    lastPolls(state, resources),
    countDeadLetters(engine, inputs.webhookSubscriptions),
  ])
  const now = clock.now()
  const feeds = resources.map((resource): FeedOverview => {
    const standing = inputs.feeds.get(resource) as FeedStanding
    const at = polled.get(resource)
    const { lastError } = standing
    return {
      resource,
      ...(at === undefined ? {} : { lastPolledAt: at, lagSeconds: Math.max(0, (now - at) / 1000) }),
      leader: standing.leader,
      failures: standing.failures,
      ...(lastError === undefined ? {} : { lastError }),
    }
  })
  return {
    backend: engine.backend,
    subscriptions: counts,
    feeds,
    ...(deadLetters === undefined ? {} : { deadLetters }),
  }
}

async function countByState(state: StateStore): Promise<{ active: number; suspended: number }> {
  const rows = await state.db
    .withTables<SubscriptionRegistryTables>()
    .selectFrom('subscription_registry')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute()
  const counts = { active: 0, suspended: 0 }
  for (const row of rows) if (row.state === 'active' || row.state === 'suspended') counts[row.state] = Number(row.n)
  return counts
}

/**
 * The time of each feed's last successful round, by whichever instance held its lease: a round saves the cursor
 * (and `updated_at`) at least once. A row whose cursor is still NULL was only ever created, never polled.
 */
async function lastPolls(state: StateStore, resources: readonly string[]): Promise<Map<string, number>> {
  if (resources.length === 0) return new Map()
  const rows = await state.db
    .withTables<FeedTables>()
    .selectFrom('feed_cursors')
    .select(['resource', 'cursor', 'updated_at'])
    .where('resource', 'in', resources)
    .execute()
  return new Map(rows.filter((r) => r.cursor !== null).map((r) => [r.resource, Number(r.updated_at)]))
}

async function countDeadLetters(engine: SubscriptionEngine, ids: readonly string[]): Promise<number | undefined> {
  if (ids.length > MAX_DEAD_LETTER_COUNTS) return undefined
  try {
    const lists = await Promise.all(ids.map((id) => engine.deadLetters(id, DEAD_LETTERS_READ)))
    return lists.reduce((sum, list) => sum + list.length, 0)
  } catch {
    // The engine's store or broker is down: the rest of the overview still holds.
    return undefined
  }
}
