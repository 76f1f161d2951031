import pg from 'pg'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openPostgresState } from '../state/postgres.js'
import type { StateStore } from '../state/store.js'
import { watchGrantEpoch } from './grant-feed.js'
import { openSharingStore } from './kysely-store.js'
import { GRANT_CHANGES_CHANNEL } from './store.js'

const PG_URL = process.env.QIAO_TEST_STATE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
// The poll is a safety net only: with it out of the way, what arrives arrives by NOTIFY.
const NO_SAFETY_POLL = { safetyPollMs: 3_600_000 }
const WITHIN_A_SECOND = { timeout: 1_000, interval: 10 }

let schemas = 0
const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** A fresh schema and two stores on it, as two gateway instances have; dropped after the test. */
async function twoStores(): Promise<{ schema: string; writer: StateStore; reader: StateStore }> {
  const schema = `qiao_grant_feed_t_${process.pid}_${++schemas}`
  cleanups.push(() => admin((c) => c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(schema)} CASCADE`)))
  const writer = await openPostgresState({ connectionString: PG_URL, schema, modules: STATE_MODULES })
  cleanups.push(() => writer.close())
  const reader = await openPostgresState({ connectionString: PG_URL, schema, modules: STATE_MODULES })
  cleanups.push(() => reader.close())
  return { schema, writer, reader }
}

async function watch(state: StateStore, seen: number[], options = {}) {
  const sharing = openSharingStore(state)
  const feed = await watchGrantEpoch(state, (epoch) => seen.push(epoch), { sharing, ...NO_SAFETY_POLL, ...options })
  cleanups.push(() => feed.close())
  return feed
}

const bump = (state: StateStore) => openSharingStore(state).transaction((tx) => tx.bumpGrantEpoch())

/** Backend pids of the store's listener (its session is named after the schema). */
function listenerPids(schema: string): Promise<number[]> {
  return admin(async (c) => {
    const { rows } = await c.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
      [`qiao listen ${schema}`.slice(0, 63)],
    )
    return rows.map((r) => r.pid)
  })
}

describe('grant feed on PostgreSQL (LISTEN/NOTIFY)', () => {
  it('delivers a change committed through one store to the other within a second', async () => {
    const { writer, reader } = await twoStores()
    const seen: number[] = []
    await watch(reader, seen)
    await bump(writer)
    await vi.waitFor(() => expect(seen).toEqual([1]), WITHIN_A_SECOND)
    await bump(writer)
    await vi.waitFor(() => expect(seen).toEqual([1, 2]), WITHIN_A_SECOND)
  })

  it("takes a notification as a hint only: another schema's changes on one database are not this store's", async () => {
    const { writer, reader } = await twoStores()
    const other = await twoStores()
    const seen: number[] = []
    await watch(reader, seen)
    await bump(other.writer) // the other schema's epoch becomes 1
    await openSharingStore(writer).transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await tx.bumpGrantEpoch()
    })
    // Notifications arrive in commit order: by the time ours (3) is seen, the other's (1) was handled.
    await vi.waitFor(() => expect(seen).toContain(3), WITHIN_A_SECOND)
    expect(seen).toEqual([3])
  })

  it('reconnects after its backend is terminated, reports the epoch then, and gets the next change', async () => {
    const { schema, writer, reader } = await twoStores()
    const seen: number[] = []
    const warnings: string[] = []
    const log = { warn: (_: object, msg?: string) => warnings.push(msg ?? ''), info: () => {} }
    await watch(reader, seen, { minRetryMs: 20, maxRetryMs: 200, log })
    const [pid] = await listenerPids(schema)
    expect(pid).toBeDefined()
    // A change made while the listener is down is lost to NOTIFY: the read after the reconnect must report it.
    await admin((c) => c.query('SELECT pg_terminate_backend($1)', [pid]))
    await bump(writer)
    await vi.waitFor(async () => {
      const pids = await listenerPids(schema)
      expect(pids).toHaveLength(1)
      expect(pids).not.toContain(pid)
    }, 5_000)
    await vi.waitFor(() => expect(seen).toContain(1), 5_000)
    expect(warnings).toEqual(['grant change listener lost its connection; reconnecting'])

    const before = seen.length
    await bump(writer)
    await vi.waitFor(() => expect(seen.slice(before)).toEqual([2]), WITHIN_A_SECOND)
  })

  it('listens on the channel the store notifies, on a session of its own', async () => {
    const { schema, reader } = await twoStores()
    const payloads: string[] = []
    const listener = await reader.listen?.(
      GRANT_CHANGES_CHANNEL,
      (payload) => payloads.push(payload),
      () => {},
    )
    cleanups.push(async () => listener?.close())
    expect(await listenerPids(schema)).toHaveLength(1)
    await admin((c) => c.query('SELECT pg_notify($1, $2)', [GRANT_CHANGES_CHANNEL, '41']))
    await vi.waitFor(() => expect(payloads).toEqual(['41']), WITHIN_A_SECOND)
    await listener?.close()
    await vi.waitFor(async () => expect(await listenerPids(schema)).toEqual([]), 5_000)
  })
})
