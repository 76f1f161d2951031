import pg from 'pg'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CapturingLogger } from '../../../connectors/kit/conformance/capturing-logger.js'
import { closedPort } from '../../../connectors/kit/conformance/ports.js'
import type { Change, ChangesOperation, Connector } from '../../../connectors/kit/types.js'
import { marketQzk } from '../../../connectors/market-qzk/index.js'
import { appendDeregistration, seedMarketDatabase, seedSample } from '../../../connectors/market-qzk/simulator/index.js'
import type { Clock } from '../../../kernel/clock.js'
import { STATE_MODULES } from '../../state/modules.js'
import { openPostgresState } from '../../state/postgres.js'
import type { StateStore } from '../../state/store.js'
import { type FeedPoller, type FeedPollerOptions, feedBackoffMs, startFeedPoller } from './poller.js'
import type { FeedTables } from './tables.js'

/**
 * The feed poller against the real PostgreSQL: the 市场监管 前置库 (market-qzk connector over a seeded schema) as
 * the provider, and the state store in a schema of its own, shared by two pollers as by two gateway instances.
 */

const PG_URL = process.env.QIAO_TEST_STATE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const RESOURCE = 'market.enterprise-registration'
const MARKET_SCHEMA = `qiao_feed_market_${process.pid}`
const MARKET_TABLE = 'QZK_FRDJXX'
const sample = seedSample()

let schemas = 0
const used: string[] = []
const admin = new pg.Pool({ connectionString: PG_URL, max: 2 })
const agent = new Agent()
const closers: (() => Promise<void>)[] = []
const realClock: Clock = { now: () => Date.now() }

beforeAll(async () => {
  await seedMarketDatabase(admin, { schema: MARKET_SCHEMA })
}, 60_000)

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {})
  for (const schema of [...used, MARKET_SCHEMA]) {
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  }
  await admin.end()
  await agent.close()
})

async function sharedState(): Promise<() => Promise<StateStore>> {
  const schema = `qiao_feed_t_${process.pid}_${++schemas}`
  used.push(schema)
  return async () => {
    const state = await openPostgresState({ connectionString: PG_URL, schema, modules: STATE_MODULES, poolMax: 4 })
    closers.push(() => state.close())
    return state
  }
}

function changesOf(connectionString = PG_URL, log = new CapturingLogger()): ChangesOperation {
  const connector: Connector = marketQzk.create(
    { connectionString, schema: MARKET_SCHEMA },
    {
      dispatcher: agent,
      log,
      clock: realClock,
    },
  )
  closers.push(() => connector.dispose())
  return connector.operations.registrationChanges as ChangesOperation
}

interface Started {
  readonly poller: FeedPoller
  readonly received: Change[]
  readonly log: CapturingLogger
}

function start(state: StateStore, overrides: Partial<FeedPollerOptions> = {}): Started {
  const received: Change[] = []
  const log = new CapturingLogger()
  const poller = startFeedPoller({
    resource: RESOURCE,
    operation: changesOf(),
    timeoutMs: 3_000,
    state,
    clock: realClock,
    log,
    intervalMs: 30,
    pageSize: 60,
    leaseMs: 5_000,
    minBackoffMs: 50,
    maxBackoffMs: 400,
    async onChanges(resource, changes) {
      expect(resource).toBe(RESOURCE)
      received.push(...changes)
    },
    ...overrides,
  })
  closers.push(() => poller.close())
  return { poller, received, log }
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const validRows = async () =>
  Number(
    (
      await admin.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${pg.escapeIdentifier(MARKET_SCHEMA)}."${MARKET_TABLE}" WHERE "SJYXBS" = '1'`,
      )
    ).rows[0]?.n,
  )
const id = (c: Change) => `${c.key}/${c.version}`

describe('feed poller on PostgreSQL', () => {
  it('two pollers on one store: every change is handed over once, by one of them; the other takes over after it stops', async () => {
    const open = await sharedState()
    const [stateA, stateB] = [await open(), await open()]
    const a = start(stateA)
    const b = start(stateB)
    const expected = await validRows()
    await until('every change was handed over', () => a.received.length + b.received.length >= expected)
    // A few more rounds: nothing else arrives, nothing twice.
    await new Promise((r) => setTimeout(r, 200))
    const all = [...a.received, ...b.received]
    expect(all).toHaveLength(expected)
    expect(new Set(all.map(id)).size).toBe(expected)
    const [leader, follower] = a.received.length > 0 ? [a, b] : [b, a]
    expect(follower.received).toEqual([])
    expect(leader.poller.leader).toBe(true)
    expect(follower.poller.leader).toBe(false)

    await leader.poller.close()
    const lsh = await appendDeregistration(
      admin,
      { schema: MARKET_SCHEMA, table: MARKET_TABLE },
      sample.plainUscc,
      Date.now(),
    )
    await until('the other poller handed over the new change', () => follower.received.length > 0)
    // It went on from the saved cursor: only the new change, no repeat.
    expect(follower.received.map(id)).toEqual([`${sample.plainUscc}/${lsh}`])
    expect(follower.received[0]?.record?.status).toBe('deregistered')
    expect(follower.poller.leader).toBe(true)
    const row = await stateB.db
      .withTables<FeedTables>()
      .selectFrom('feed_cursors')
      .selectAll()
      .where('resource', '=', RESOURCE)
      .executeTakeFirstOrThrow()
    expect(row.lease_owner).toBe(follower.poller.owner)
    expect(typeof row.cursor).toBe('string')
  }, 60_000)

  it('saves the cursor only after onChanges resolved: a failed hand-over is repeated, after a backoff', async () => {
    const state = await (await sharedState())()
    let calls = 0
    const pages: string[][] = []
    const started = start(state, {
      async onChanges(_resource, changes) {
        pages.push(changes.map(id))
        if (++calls === 1) throw new Error('subscriber store unavailable')
      },
    })
    const expected = await validRows()
    // The round that repeats the page ends (cursor saved, failures reset) a moment after its hand-over.
    await until(
      'the feed is drained and the round ended',
      () => new Set(pages.flat()).size >= expected && started.poller.failures === 0,
    )
    expect(pages[1], 'the same page again').toEqual(pages[0])
    expect(new Set(pages.slice(1).flat()).size).toBe(pages.slice(1).flat().length)
    const failed = started.log.entries.filter((e) => e.msg === 'feed poll failed; backing off')
    expect(failed).toHaveLength(1)
    expect(failed[0]?.obj).toMatchObject({ resource: RESOURCE, failures: 1, retryInMs: 50, errorName: 'Error' })
  }, 60_000)

  it('backs off while the provider is down, and logs no connection string or payload', async () => {
    const state = await (await sharedState())()
    const down = `postgres://postgres:secret-pw@127.0.0.1:${await closedPort()}/test`
    const started = start(state, { operation: changesOf(down) })
    await new Promise((r) => setTimeout(r, 1_200))
    await started.poller.close()
    const delays = started.log.entries
      .filter((e) => e.msg === 'feed poll failed; backing off')
      .map((e) => (e.obj as { retryInMs: number; errorKind: string }).retryInMs)
    // 50, 100, 200, 400, 400, …: a handful of attempts in 1.2 s, not a tight loop.
    expect(delays.length).toBeGreaterThanOrEqual(3)
    expect(delays.length).toBeLessThanOrEqual(7)
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 400])
    expect(started.log.entries.find((e) => e.msg?.startsWith('feed poll failed'))?.obj).toMatchObject({
      errorKind: 'unavailable',
    })
    expect(started.log.text()).not.toContain('secret-pw')
    expect(started.log.text()).not.toContain(sample.plainUscc)
  }, 30_000)

  const LEASE_LOST = 'feed lease lost; another instance polls this feed'
  const ownerOfRow = async (state: StateStore) =>
    (
      await state.db
        .withTables<FeedTables>()
        .selectFrom('feed_cursors')
        .selectAll()
        .where('resource', '=', RESOURCE)
        .executeTakeFirstOrThrow()
    ).lease_owner

  it('a poller whose lease expired between its rounds learns it at the next round, says so once and follows', async () => {
    const open = await sharedState()
    const [stateA, stateB] = [await open(), await open()]
    // Rounds far apart, so that the takeover falls between two of them.
    const a = start(stateA, { leaseMs: 60_000, intervalMs: 400 })
    const expected = await validRows()
    await until('the first poller drained the feed', () => a.poller.leader && a.received.length >= expected)
    // The second instance's clock is past the first's lease: to it, the first has died.
    const ahead: Clock = { now: () => Date.now() + 120_000 }
    const b = start(stateB, { clock: ahead, leaseMs: 60_000 })
    await until('the second took over', () => b.poller.leader)
    await until('the first saw it lost the lease', () => a.log.entries.some((e) => e.msg === LEASE_LOST))
    expect(a.poller.leader).toBe(false)
    const receivedByFirst = a.received.length
    const lsh = await appendDeregistration(
      admin,
      { schema: MARKET_SCHEMA, table: MARKET_TABLE },
      sample.plainUscc,
      Date.now(),
    )
    await until('the second handed over the new change', () =>
      b.received.some((c) => String(c.version) === String(lsh)),
    )
    await new Promise((r) => setTimeout(r, 900))
    expect(a.received).toHaveLength(receivedByFirst)
    expect(a.log.entries.filter((e) => e.msg === LEASE_LOST)).toHaveLength(1)
    expect(await ownerOfRow(stateB)).toBe(b.poller.owner)
  }, 60_000)

  it('a poller whose lease expired mid-round cannot move the cursor: its save is refused, the new holder polls on', async () => {
    const open = await sharedState()
    const [stateA, stateB] = [await open(), await open()]
    let takenOver: () => void = () => {}
    const takeover = new Promise<void>((resolve) => {
      takenOver = resolve
    })
    const handedByFirst: Change[] = []
    // The first holds its first page until the second has taken the lease: its save comes after the takeover.
    const a = start(stateA, {
      leaseMs: 60_000,
      async onChanges(_resource, changes) {
        handedByFirst.push(...changes)
        await takeover
      },
    })
    await until('the first is handing over its first page', () => handedByFirst.length > 0)
    const ahead: Clock = { now: () => Date.now() + 120_000 }
    const b = start(stateB, { clock: ahead, leaseMs: 60_000 })
    await until('the second took over', () => b.poller.leader)
    takenOver()
    await until('the first saw it lost the lease', () => a.log.entries.some((e) => e.msg === LEASE_LOST))
    expect(a.poller.leader).toBe(false)
    // The first's page was not saved as its cursor: the second hands every change over from the start.
    const expected = await validRows()
    await until('the second handed over every change', () => b.received.length >= expected)
    expect(new Set(b.received.map(id)).size).toBe(expected)
    expect(await ownerOfRow(stateB)).toBe(b.poller.owner)
  }, 60_000)
})

describe('feed backoff', () => {
  it('doubles from the minimum per consecutive failure, up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => feedBackoffMs(n, 1_000, 5_000))).toEqual([
      0, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ])
  })
})
