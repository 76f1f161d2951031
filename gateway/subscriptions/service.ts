import type { Clock } from '../../kernel/clock.js'
import { uuidv7 } from '../audit/ids.js'
import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import { grantKey, type ReadBinding } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { decide } from '../policy/decide.js'
import type { ReplayPage, SubscriptionEngine } from './engine.js'
import { SubscriptionError } from './errors.js'
import { checkRegionField, readRequest, webhookUrlShape } from './registry/request.js'
import type { Subscription, SubscriptionFilter, SubscriptionRegistry } from './registry/store.js'
import { generateWebhookSecret } from './webhook/signing.js'

/**
 * Subscriptions as a product (issue 18): a consumer department with a live read grant subscribes to a resource's
 * changes; the wiring (wiring.ts) projects each change through that grant and publishes it to the engine, which
 * delivers it by webhook or keeps it for the pull API. Everything here answers the HTTP routes
 * (routes/subscriptions.ts) and throws GatewayErrors with stable codes.
 */

/** Most events in one page of the pull API. */
export const MAX_PULL_LIMIT = 500
export const DEFAULT_PULL_LIMIT = 100

const SUBSCRIPTION_ID = /^sub_[0-9a-f]{32}$/

/** Why a subscription stops: the grant it rests on no longer holds. */
export type SuspensionReason = 'grant-revoked' | 'grant-superseded' | 'grant-expired'

export type GrantStanding =
  | { readonly ok: true; readonly grant: CompiledGrant<ReadBinding> }
  | { readonly ok: false; readonly reason: SuspensionReason }

/**
 * Whether the grant a subscription was made under still holds in this snapshot: the same grant (a renewal is a new
 * grant: the old subscription rests on the superseded one), not revoked, not expired. Checked at every publish and
 * whenever the grant sync swaps a snapshot in.
 */
export function grantStanding(snapshot: CatalogSnapshot, subscription: Subscription, now: number): GrantStanding {
  const found = snapshot.grants.read.get(
    grantKey(subscription.matter, subscription.resource, 'read', subscription.consumer),
  )
  if (found === undefined) return { ok: false, reason: 'grant-revoked' }
  if (grantRefOf(found) !== subscription.grantRef) return { ok: false, reason: 'grant-superseded' }
  if (found.grant.revoked !== undefined) return { ok: false, reason: 'grant-revoked' }
  if (found.grant.validUntilMs !== undefined && now >= found.grant.validUntilMs) {
    return { ok: false, reason: 'grant-expired' }
  }
  return { ok: true, grant: found }
}

/** The live grant's id, or the catalog grant's stable id (as /v1/grants names it). */
export function grantRefOf(compiled: CompiledGrant): string {
  const { grant } = compiled
  return grant.grantId ?? `catalog:${grant.matter}:${grant.resource}:${grant.action}:${grant.consumer}`
}

/** What the API answers about a subscription: never the webhook's secret (that only once, at creation). */
export interface SubscriptionView {
  readonly id: string
  readonly consumer: string
  readonly matter: string
  readonly resource: string
  readonly grant: string
  readonly filter: SubscriptionFilter
  readonly delivery: { readonly kind: 'pull' } | { readonly kind: 'webhook'; readonly url: string }
  readonly state: 'active' | 'suspended'
  readonly suspendedReason?: string
  readonly createdAt: string
  readonly updatedAt: string
}

export interface SubscriptionStatusView extends SubscriptionView {
  readonly deadLetters: number
  readonly lastEvent?: { readonly id: string; readonly at: string }
}

export interface PulledEvent {
  readonly id: string
  readonly cursor: string
  readonly publishedAt: string
  readonly payload: unknown
}

export interface SubscriptionService {
  /** 201: the subscription, and a webhook's signing secret (shown this once). */
  create(principal: Principal, body: Record<string, unknown>): Promise<{ view: SubscriptionView; secret?: string }>
  list(principal: Principal): Promise<SubscriptionView[]>
  get(principal: Principal, id: string): Promise<SubscriptionStatusView>
  remove(principal: Principal, id: string): Promise<void>
  /** The pull API: retained events after `after`, and the cursor to go on from. */
  events(
    principal: Principal,
    id: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ events: PulledEvent[]; next: string | undefined }>
  /** Suspends it in the engine first (nothing more is delivered), then in the registry. */
  suspend(subscription: Subscription, reason: SuspensionReason): Promise<void>
}

export interface SubscriptionServiceOptions {
  readonly registry: SubscriptionRegistry
  readonly engine: SubscriptionEngine
  readonly snapshot: () => CatalogSnapshot
  readonly clock: Clock
  /**
   * The webhook URL policy: a problem message, or undefined when the URL may be called (the wiring passes
   * webhook/url-policy.ts's; without one, only https or http to loopback).
   */
  readonly checkWebhookUrl?: (url: string) => string | undefined
  /** After a subscription was created, removed or suspended: the wiring re-plans its pollers and deliverers. */
  readonly onChanged?: (subscription: Subscription) => void
  readonly log: { warn(obj: object, msg?: string): void }
}

export function createSubscriptionService(options: SubscriptionServiceOptions): SubscriptionService {
  const { registry, engine, snapshot, clock } = options
  const checkUrl = options.checkWebhookUrl ?? webhookUrlShape

  async function own(principal: Principal, id: string): Promise<Subscription> {
    const found = SUBSCRIPTION_ID.test(id) ? await registry.get(id) : undefined
    // Another department's subscription is not there for the caller: same 404 as an unknown id.
    if (found === undefined || found.consumer !== principal.dept) throw new GatewayError('subscription-not-found')
    return found
  }

  async function suspend(subscription: Subscription, reason: SuspensionReason): Promise<void> {
    await engine.suspend(subscription.id, reason)
    if (await registry.suspend(subscription.id, reason, clock.now())) {
      options.log.warn(
        { subscription: subscription.id, resource: subscription.resource, reason },
        'subscription suspended',
      )
      options.onChanged?.({ ...subscription, state: 'suspended', suspendedReason: reason })
    }
  }

  /** A subscription read as active whose grant no longer holds is suspended now, not at the next publish. */
  async function current(subscription: Subscription): Promise<Subscription> {
    if (subscription.state !== 'active') return subscription
    const standing = grantStanding(snapshot(), subscription, clock.now())
    if (standing.ok) return subscription
    await suspend(subscription, standing.reason)
    return { ...subscription, state: 'suspended', suspendedReason: standing.reason }
  }

  return {
    async create(principal, body) {
      const asked = readRequest(body, checkUrl)
      const now = clock.now()
      const snap = snapshot()
      const resource = snap.catalog.resources.get(asked.resource)
      if (resource === undefined) {
        throw new GatewayError('resource-not-found', { detail: 'no such resource in the catalog' })
      }
      // The same decision as a read under this matter: department, matter, grant, scope, revocation, validity.
      const decision = decide(
        snap.catalog,
        snap.grants.read,
        principal,
        { matter: asked.matter, caseId: 'subscription' },
        resource,
        'read',
        now,
      )
      if (!decision.allow) {
        const extensions: Record<string, unknown> = {}
        if (decision.requiredScope !== undefined) extensions.requiredScope = decision.requiredScope
        if (decision.matters !== undefined) extensions.matters = decision.matters
        throw new GatewayError(decision.code, {
          detail: decision.detail,
          ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
        })
      }
      if (resource.changes === undefined) {
        throw new GatewayError('resource-has-no-change-feed', {
          detail: `${resource.id} has no change feed (no changes: binding in the catalog)`,
        })
      }
      checkRegionField(asked.filter, resource, decision.grant)
      const secret = asked.webhookUrl === undefined ? undefined : generateWebhookSecret()
      const subscription: Subscription = {
        id: `sub_${uuidv7(now).replaceAll('-', '')}`,
        consumer: principal.dept,
        matter: asked.matter,
        resource: resource.id,
        grantRef: grantRefOf(decision.grant),
        filter: asked.filter,
        delivery:
          asked.webhookUrl === undefined || secret === undefined
            ? { kind: 'pull' }
            : { kind: 'webhook', url: asked.webhookUrl, secret },
        state: 'active',
        createdAt: now,
        updatedAt: now,
      }
      // The engine's queue first: a registry row always has one to publish to.
      await engine.create(subscription.id)
      try {
        await registry.insert(subscription)
      } catch (err) {
        // No registry row, so nothing would ever remove the queue: take it down again (best effort; the insert's
        // failure is what the caller hears about).
        await engine
          .remove(subscription.id)
          .catch((removal: unknown) =>
            options.log.warn(
              { subscription: subscription.id, errorName: removal instanceof Error ? removal.name : typeof removal },
              'subscription queue left behind after a failed registry insert',
            ),
          )
        throw err
      }
      options.onChanged?.(subscription)
      return { view: viewOf(subscription), ...(secret === undefined ? {} : { secret }) }
    },

    async list(principal) {
      const mine = await registry.listByConsumer(principal.dept)
      const views: SubscriptionView[] = []
      for (const subscription of mine) views.push(viewOf(await current(subscription)))
      return views
    },

    async get(principal, id) {
      const subscription = await current(await own(principal, id))
      const deadLetters = await engine.deadLetters(id, 1_000)
      const { lastEvent } = subscription
      return {
        ...viewOf(subscription),
        deadLetters: deadLetters.length,
        ...(lastEvent === undefined ? {} : { lastEvent: { id: lastEvent.id, at: iso(lastEvent.at) } }),
      }
    },

    async remove(principal, id) {
      const subscription = await own(principal, id)
      await engine.remove(id)
      await registry.remove(id)
      options.onChanged?.({ ...subscription, state: 'suspended', suspendedReason: 'removed' })
    },

    async events(principal, id, after, limit) {
      const subscription = await current(await own(principal, id))
      if (subscription.state === 'suspended') throw suspendedProblem(subscription)
      let page: ReplayPage
      try {
        page = await engine.replay(id, after, limit)
      } catch (err) {
        if (err instanceof SubscriptionError && err.code === 'cursor-invalid') {
          throw new GatewayError('subscription-cursor-invalid')
        }
        if (err instanceof SubscriptionError && err.code === 'subscription-suspended') {
          throw suspendedProblem(subscription)
        }
        throw err
      }
      return {
        events: page.events.map((e) => ({
          id: e.eventId,
          cursor: e.cursor,
          publishedAt: iso(e.publishedAt),
          payload: e.payload,
        })),
        next: page.next,
      }
    },

    suspend,
  }
}

function suspendedProblem(subscription: Subscription): GatewayError {
  return new GatewayError('subscription-suspended', {
    detail: `the grant behind this subscription no longer holds (${subscription.suspendedReason ?? 'suspended'})`,
    extensions: { reason: subscription.suspendedReason ?? 'suspended' },
  })
}

function viewOf(s: Subscription): SubscriptionView {
  return {
    id: s.id,
    consumer: s.consumer,
    matter: s.matter,
    resource: s.resource,
    grant: s.grantRef,
    filter: s.filter,
    delivery: s.delivery.kind === 'webhook' ? { kind: 'webhook', url: s.delivery.url } : { kind: 'pull' },
    state: s.state,
    ...(s.suspendedReason === undefined ? {} : { suspendedReason: s.suspendedReason }),
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  }
}

const iso = (ms: number): string => new Date(ms).toISOString()
