import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SubscriptionTables } from '../gateway/subscriptions/outbox/tables.js'
import type { SubscriptionRegistryTables } from '../gateway/subscriptions/registry/tables.js'
import { type Harness, NOW, startHarness } from './support/gateway.js'
import { signToken } from './support/keys.js'

/**
 * A grant that runs out suspends its subscriptions without anyone calling: 发改's catalog approval for construction
 * permits ends on 2027-12-31 (Beijing); on the gateway's clock past that, the next look at the subscriptions (every
 * second here) suspends it with grant-expired, and the pull API answers 409.
 */

const PERMITS = 'housing.construction-permit'
const MATTER = 'QT00301001'
const AFTER_EXPIRY = Date.parse('2028-01-01T00:00:00+08:00')

let h: Harness
let now = NOW

beforeAll(async () => {
  h = await startHarness({ env: { QIAO_SUBSCRIPTIONS_FEED_INTERVAL: '50ms' }, clock: { now: () => now } })
}, 60_000)

afterAll(async () => {
  await h?.close()
})

const drc = () => signToken(h.ed, { dept: 'drc', sub: 'drc-officer-1', scope: `${MATTER}:${PERMITS}:read` }, { now })

async function stateOf(id: string): Promise<{ state: string; suspended_reason: string | null } | undefined> {
  return h.gateway.deps.state.db
    .withTables<SubscriptionRegistryTables>()
    .selectFrom('subscription_registry')
    .select(['state', 'suspended_reason'])
    .where('id', '=', id)
    .executeTakeFirst()
}

describe('subscriptions: an expired grant', () => {
  it('suspends the subscription in the background with grant-expired; pull answers 409', async () => {
    const res = await request(`${h.gateway.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await drc()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matter: MATTER, resource: PERMITS }),
    })
    expect(res.statusCode).toBe(201)
    const id = ((await res.body.json()) as { data: { id: string } }).data.id
    expect(await stateOf(id)).toEqual({ state: 'active', suspended_reason: null })

    now = AFTER_EXPIRY
    const end = Date.now() + 5_000
    while ((await stateOf(id))?.state !== 'suspended' && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    expect(await stateOf(id)).toEqual({ state: 'suspended', suspended_reason: 'grant-expired' })
    // The engine's queue too: nothing more is handed out or published.
    const queue = await h.gateway.deps.state.db
      .withTables<SubscriptionTables>()
      .selectFrom('subscriptions')
      .select(['state', 'suspended_reason'])
      .where('id', '=', id)
      .executeTakeFirst()
    expect(queue).toEqual({ state: 'suspended', suspended_reason: 'grant-expired' })

    const pulled = await request(`${h.gateway.url}/v1/subscriptions/${id}/events`, {
      headers: { authorization: `Bearer ${await drc()}` },
    })
    expect(pulled.statusCode).toBe(409)
    expect(await pulled.body.json()).toMatchObject({ code: 'subscription-suspended', reason: 'grant-expired' })
    // A new subscription under the lapsed grant is refused as a read would be.
    const again = await request(`${h.gateway.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await drc()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matter: MATTER, resource: PERMITS }),
    })
    expect(again.statusCode).toBe(403)
    expect(((await again.body.json()) as { code: string }).code).toBe('grant-expired')
  }, 30_000)
})
