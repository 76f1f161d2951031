import pg from 'pg'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, LOCAL_PG, startHarness } from './support/gateway.js'

/**
 * Two gateway instances on one PostgreSQL state store, both reading 住建's one 工改 system: the permit feed is polled
 * by one instance at a time (its lease), so each change is audited and published once, and either instance's pull
 * API answers the same events (one outbox).
 */

const PERMITS = 'housing.construction-permit'
const MATTER = 'QT00301001'
const schema = `qiao_subs_${process.pid}`
const STATE_URL = `${LOCAL_PG}?schema=${schema}`

let a: Harness
let b: Harness

beforeAll(async () => {
  const env = { QIAO_STATE_URL: STATE_URL, QIAO_SUBSCRIPTIONS_FEED_INTERVAL: '50ms' }
  a = await startHarness({ env: { ...env, QIAO_AUDIT_LOG_ID: 'qiao-a' } })
  b = await startHarness({
    env: { ...env, QIAO_AUDIT_LOG_ID: 'qiao-b', QIAO_JWKS_URL: a.jwks.url },
    upstreamUrl: a.sim.url,
  })
}, 60_000)

afterAll(async () => {
  await b?.close()
  await a?.close()
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await client.end()
})

async function pull(h: Harness, id: string, token: string): Promise<{ id: string; cursor: string }[]> {
  const res = await request(`${h.gateway.url}/v1/subscriptions/${id}/events?limit=500`, {
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.statusCode).toBe(200)
  return ((await res.body.json()) as { data: { id: string; cursor: string }[] }).data
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('subscriptions on two instances sharing PostgreSQL', () => {
  it('delivers each change once, whichever instance polls, and both pull the same events', async () => {
    const token = await a.token({ dept: 'drc', sub: 'drc-officer-1', scope: `${MATTER}:${PERMITS}:read` })
    const res = await request(`${a.gateway.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matter: MATTER, resource: PERMITS }),
    })
    expect(res.statusCode).toBe(201)
    const id = ((await res.body.json()) as { data: { id: string } }).data.id
    // B finds the subscription made on A at its next look at the registry (every second here) and polls too; the
    // feed's lease lets one of them read it at a time.
    await new Promise((r) => setTimeout(r, 1_500))

    const issued = [a.sim.issuePermit(), a.sim.issuePermit(), a.sim.issuePermit()]
    await until('the three permits arrive', async () => (await pull(a, id, token)).length >= 3)
    await new Promise((r) => setTimeout(r, 600))
    const events = await pull(a, id, token)
    expect(events.map((e) => e.id)).toEqual(issued.map((p) => `${PERMITS}/${p.SGXKZBH}/${p.LSH}`))
    expect(await pull(b, id, token)).toEqual(events)

    const audited = [...(await a.auditRecords()), ...(await b.auditRecords())].filter(
      (r) => r.case === `subscription:${id}`,
    )
    expect(audited).toHaveLength(3)
  }, 60_000)
})
