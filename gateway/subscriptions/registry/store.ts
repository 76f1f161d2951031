import type { StateStore } from '../../state/store.js'
import type { SubscriptionRegistryTable, SubscriptionRegistryTables } from './tables.js'

export interface SubscriptionFilter {
  /** Admin-division code prefixes (回流: a district's own records). */
  readonly regions?: readonly string[]
  /** Business keys (project codes, USCCs), at most 1,000. */
  readonly keys?: readonly string[]
}

export type SubscriptionDelivery =
  | { readonly kind: 'pull' }
  | { readonly kind: 'webhook'; readonly url: string; readonly secret: string }

export interface Subscription {
  readonly id: string
  readonly consumer: string
  readonly matter: string
  readonly resource: string
  readonly grantRef: string
  readonly filter: SubscriptionFilter
  readonly delivery: SubscriptionDelivery
  readonly state: 'active' | 'suspended'
  readonly suspendedReason?: string
  readonly lastEvent?: { readonly id: string; readonly at: number }
  readonly createdAt: number
  readonly updatedAt: number
}

/** The subscriptions in the state store, shared by every instance. */
export interface SubscriptionRegistry {
  insert(subscription: Subscription): Promise<void>
  get(id: string): Promise<Subscription | undefined>
  /** A department's own, oldest first. */
  listByConsumer(consumer: string): Promise<Subscription[]>
  /** Every active one (the wiring's working set). */
  active(): Promise<Subscription[]>
  /** The active ones on one resource (read at every page of its change feed). */
  activeOn(resource: string): Promise<Subscription[]>
  /** Marks it suspended unless it already is; true when this call suspended it. */
  suspend(id: string, reason: string, now: number): Promise<boolean>
  remove(id: string): Promise<boolean>
  /** Notes the newest event published to it. */
  published(id: string, eventId: string, at: number): Promise<void>
}

export function openSubscriptionRegistry(state: StateStore): SubscriptionRegistry {
  const db = state.db.withTables<SubscriptionRegistryTables>()
  const table = 'subscription_registry' as const
  return {
    async insert(s) {
      await db
        .insertInto(table)
        .values({
          id: s.id,
          consumer: s.consumer,
          matter: s.matter,
          resource: s.resource,
          grant_ref: s.grantRef,
          filter: JSON.stringify(s.filter),
          delivery_kind: s.delivery.kind,
          webhook_url: s.delivery.kind === 'webhook' ? s.delivery.url : null,
          webhook_secret: s.delivery.kind === 'webhook' ? s.delivery.secret : null,
          state: s.state,
          suspended_reason: s.suspendedReason ?? null,
          last_event_id: null,
          last_event_at: null,
          created_at: s.createdAt,
          updated_at: s.updatedAt,
        })
        .execute()
    },
    async get(id) {
      const row = await db.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirst()
      return row && subscriptionOf(row)
    },
    async listByConsumer(consumer) {
      const rows = await db
        .selectFrom(table)
        .selectAll()
        .where('consumer', '=', consumer)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(subscriptionOf)
    },
    async active() {
      const rows = await db.selectFrom(table).selectAll().where('state', '=', 'active').orderBy('id').execute()
      return rows.map(subscriptionOf)
    },
    async activeOn(resource) {
      const rows = await db
        .selectFrom(table)
        .selectAll()
        .where('resource', '=', resource)
        .where('state', '=', 'active')
        .orderBy('id')
        .execute()
      return rows.map(subscriptionOf)
    },
    async suspend(id, reason, now) {
      const result = await db
        .updateTable(table)
        .set({ state: 'suspended', suspended_reason: reason, updated_at: now })
        .where('id', '=', id)
        .where('state', '=', 'active')
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
    async published(id, eventId, at) {
      await db.updateTable(table).set({ last_event_id: eventId, last_event_at: at }).where('id', '=', id).execute()
    },
    async remove(id) {
      const result = await db.deleteFrom(table).where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}

function subscriptionOf(row: SubscriptionRegistryTable): Subscription {
  const delivery: SubscriptionDelivery =
    row.delivery_kind === 'webhook'
      ? { kind: 'webhook', url: row.webhook_url ?? '', secret: row.webhook_secret ?? '' }
      : { kind: 'pull' }
  return {
    id: row.id,
    consumer: row.consumer,
    matter: row.matter,
    resource: row.resource,
    grantRef: row.grant_ref,
    filter: JSON.parse(row.filter) as SubscriptionFilter,
    delivery,
    state: row.state,
    ...(row.suspended_reason === null ? {} : { suspendedReason: row.suspended_reason }),
    ...(row.last_event_id === null ? {} : { lastEvent: { id: row.last_event_id, at: Number(row.last_event_at) } }),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}
