import { type Kysely, sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { idempotencyState, openStateIdempotencyStore } from '../../idempotency/state-store.js'
import type { IdempotencyScope, IdempotencyStore, StoredAnswer } from '../../idempotency/store.js'
import { MIGRATION_TABLE } from '../migrate.js'
import type { StateModule, StateStore } from '../store.js'

/**
 * One suite for every state store backend (embedded SQLite, PostgreSQL): versioned migrations that are idempotent
 * and safe when two stores run them at once, the transaction helper, and the idempotency keys kept on it —
 * claim / replay / conflict / in-flight / unknown, release, complete, restart, TTL expiry and purge, bounded
 * answers, and concurrent claims of one key from two connections.
 */
export interface StateStorage {
  /** Opens a store on this storage (a new connection each time, as another instance or after a restart). */
  open(modules?: readonly StateModule[]): Promise<StateStore>
  cleanup(): Promise<void>
}

export interface StateStoreSuiteOptions {
  readonly name: string
  readonly storage: () => Promise<StateStorage>
}

const T0 = Date.parse('2026-11-26T02:00:00Z')
const TTL = 60_000
const WINDOW = 5_000 + 30_000
const answer: StoredAnswer = {
  status: 201,
  contentType: 'application/json; charset=utf-8',
  body: '{"data":{"receiptId":"R1"}}',
  auditId: 'a1',
}
const scope = (key: string, dept = 'housing', resource = 'drc.permit-feedback'): IdempotencyScope => ({
  dept,
  resource,
  key,
})

/** A module of the suite's own, to show modules migrate independently. */
const notesModule = (versions: string[]): StateModule => ({
  name: 'conformance-notes',
  migrations: Object.fromEntries(
    versions.map((v) => [
      v,
      {
        async up(db: Kysely<unknown>) {
          if (v === '0001-notes') {
            await db.schema
              .createTable('conformance_notes')
              .addColumn('id', 'text', (c) => c.primaryKey())
              .addColumn('body', 'text', (c) => c.notNull())
              .execute()
          } else {
            await db.schema.alterTable('conformance_notes').addColumn('author', 'text').execute()
          }
        },
      },
    ]),
  ),
})

export function testStateStore(suite: StateStoreSuiteOptions): void {
  describe(`state store conformance: ${suite.name}`, () => {
    let storage: StateStorage
    let opened: StateStore[] = []
    let idempotencyStores: IdempotencyStore[] = []
    let now = T0

    beforeEach(async () => {
      storage = await suite.storage()
      opened = []
      idempotencyStores = []
      now = T0
    })
    afterEach(async () => {
      for (const store of idempotencyStores) await store.close()
      for (const store of opened) await store.close().catch(() => {})
      await storage.cleanup()
    })

    async function open(modules: readonly StateModule[] = [idempotencyState]): Promise<StateStore> {
      const store = await storage.open(modules)
      opened.push(store)
      return store
    }

    async function keys(
      state?: StateStore,
      options: { instanceId?: string; maxAnswerBytes?: number; purgeIntervalMs?: number } = {},
    ): Promise<IdempotencyStore> {
      const store = await openStateIdempotencyStore({
        state: state ?? (await open()),
        instanceId: options.instanceId ?? 'gw-a',
        ttlMs: TTL,
        maxAnswerBytes: options.maxAnswerBytes ?? 64 * 1024,
        now: () => now,
        purgeIntervalMs: options.purgeIntervalMs ?? 0,
      })
      idempotencyStores.push(store)
      return store
    }

    const begin = (store: IdempotencyStore, key: string, fingerprint = 'fp', at = now) =>
      store.begin(scope(key), fingerprint, at, at + WINDOW)

    async function rows(state: StateStore): Promise<string[]> {
      const found = await state.db.selectFrom('idempotency_keys').select('idem_key').orderBy('idem_key').execute()
      return found.map((r) => r.idem_key)
    }

    async function appliedMigrations(state: StateStore): Promise<string[]> {
      const found = await (state.db as unknown as Kysely<Record<string, { name: string }>>)
        .selectFrom(MIGRATION_TABLE)
        .select('name')
        .orderBy('name')
        .execute()
      return found.map((r) => r.name)
    }

    describe('migrations', () => {
      it('apply each version once: a second open applies nothing', async () => {
        const first = await open()
        expect(first.applied).toEqual(['idempotency/0001-keys'])
        await first.close()
        const second = await open()
        expect(second.applied).toEqual([])
        expect(await appliedMigrations(second)).toEqual(['idempotency/0001-keys'])
        expect(await rows(second)).toEqual([])
      })

      it('are safe when two stores run them at once: every migration applied exactly once, both open', async () => {
        const modules = [idempotencyState, notesModule(['0001-notes', '0002-author'])]
        const [a, b] = await Promise.all([open(modules), open(modules)])
        const all = [...(a?.applied ?? []), ...(b?.applied ?? [])].sort()
        expect(all).toEqual(['conformance-notes/0001-notes', 'conformance-notes/0002-author', 'idempotency/0001-keys'])
        expect(await appliedMigrations(a as StateStore)).toEqual(all)
        await sql`insert into conformance_notes (id, body, author) values ('n1', 'x', 'y')`.execute(
          (b as StateStore).db,
        )
      })

      it('run per module: a module added later, or a new version of one, is applied on the next open', async () => {
        const first = await open([idempotencyState, notesModule(['0001-notes'])])
        expect(first.applied).toEqual(['conformance-notes/0001-notes', 'idempotency/0001-keys'])
        await first.close()
        const second = await open([idempotencyState, notesModule(['0001-notes', '0002-author'])])
        expect(second.applied).toEqual(['conformance-notes/0002-author'])
      })
    })

    describe('transactions', () => {
      it('commit together, or roll back together when the work throws', async () => {
        const state = await open([idempotencyState, notesModule(['0001-notes'])])
        await state.transaction(async (trx) => {
          await sql`insert into conformance_notes (id, body) values ('a', '1')`.execute(trx)
          await sql`insert into conformance_notes (id, body) values ('b', '2')`.execute(trx)
        })
        await expect(
          state.transaction(async (trx) => {
            await sql`insert into conformance_notes (id, body) values ('c', '3')`.execute(trx)
            throw new Error('abandoned')
          }),
        ).rejects.toThrow('abandoned')
        const { rows: notes } = await sql<{ id: string }>`select id from conformance_notes order by id`.execute(
          state.db,
        )
        expect(notes.map((n) => n.id)).toEqual(['a', 'b'])
      })
    })

    describe('idempotency keys', () => {
      it('claims a key once, then replays the stored answer; another request with the key conflicts', async () => {
        const store = await keys()
        expect(await begin(store, 'k', 'fp1')).toEqual({ kind: 'new' })
        expect(await begin(store, 'k', 'fp1')).toEqual({ kind: 'in-flight' })
        await store.complete(scope('k'), answer)
        expect(await begin(store, 'k', 'fp1')).toEqual({ kind: 'replay', answer })
        expect(await begin(store, 'k', 'fp2')).toEqual({ kind: 'conflict' })
      })

      it('scopes a key to the department and the resource', async () => {
        const store = await keys()
        expect(await store.begin(scope('k', 'housing', 'r1'), 'fp', now, now + WINDOW)).toEqual({ kind: 'new' })
        expect(await store.begin(scope('k', 'urban', 'r1'), 'fp', now, now + WINDOW)).toEqual({ kind: 'new' })
        expect(await store.begin(scope('k', 'housing', 'r2'), 'other', now, now + WINDOW)).toEqual({ kind: 'new' })
        expect(await store.begin(scope('k', 'housing', 'r1'), 'fp', now, now + WINDOW)).toEqual({ kind: 'in-flight' })
      })

      it('a released key can be claimed again; an unknown outcome never is', async () => {
        const store = await keys()
        await begin(store, 'a')
        await store.release(scope('a'))
        expect(await begin(store, 'a')).toEqual({ kind: 'new' })
        await begin(store, 'b')
        await store.markUnknown(scope('b'))
        expect(await begin(store, 'b')).toEqual({ kind: 'unknown' })
        // A release after the outcome became unknown does not free it either.
        await store.release(scope('b'))
        expect(await begin(store, 'b')).toEqual({ kind: 'unknown' })
      })

      it('only the claiming instance completes, releases or marks its claim', async () => {
        const state = await open()
        const a = await keys(state, { instanceId: 'gw-a' })
        const b = await keys(state, { instanceId: 'gw-b' })
        await begin(a, 'k')
        await b.release(scope('k'))
        await b.markUnknown(scope('k'))
        await b.complete(scope('k'), { ...answer, body: '{"forged":true}' })
        expect(await begin(b, 'k')).toEqual({ kind: 'in-flight' })
        await a.complete(scope('k'), answer)
        expect(await begin(b, 'k')).toEqual({ kind: 'replay', answer })
      })

      it('keys survive a restart; a key in flight at the stop becomes unknown; expired keys are forgotten', async () => {
        const first = await keys(undefined, { instanceId: 'gw-a' })
        await begin(first, 'done')
        await first.complete(scope('done'), answer)
        await begin(first, 'crashed')
        await begin(first, 'short', 'fp', now - 59_000)
        await first.close()
        for (const state of opened) await state.close()
        opened = []

        now += 2_000 // 'short' is now past its 60 s
        const second = await keys(undefined, { instanceId: 'gw-a' })
        expect(await begin(second, 'done')).toEqual({ kind: 'replay', answer })
        expect(await begin(second, 'crashed')).toEqual({ kind: 'unknown' })
        expect(await begin(second, 'short')).toEqual({ kind: 'new' })
      })

      it('another instance sees a claim in flight until its window ends, then unknown — never new', async () => {
        const state = await open()
        const crashed = await keys(state, { instanceId: 'gw-a' })
        const other = await keys(state, { instanceId: 'gw-b' })
        expect(await begin(crashed, 'k')).toEqual({ kind: 'new' })
        now += WINDOW - 1
        expect(await begin(other, 'k')).toEqual({ kind: 'in-flight' })
        now += 1
        expect(await begin(other, 'k')).toEqual({ kind: 'unknown' })
        // Recorded: the claimer's late markUnknown changes nothing, its late answer is kept for replays.
        expect(await begin(other, 'k')).toEqual({ kind: 'unknown' })
        await crashed.complete(scope('k'), answer)
        expect(await begin(other, 'k')).toEqual({ kind: 'replay', answer })
      })

      it('a key expires after its TTL: the same key is new again, for any request', async () => {
        const store = await keys()
        await begin(store, 'k', 'fp1')
        await store.complete(scope('k'), answer)
        now += TTL - 1
        expect(await begin(store, 'k', 'fp2')).toEqual({ kind: 'conflict' })
        now += 1
        expect(await begin(store, 'k', 'fp2')).toEqual({ kind: 'new' })
        expect(await begin(store, 'k', 'fp2')).toEqual({ kind: 'in-flight' })
      })

      it('purge deletes expired keys from storage and keeps the others', async () => {
        const state = await open()
        const store = await keys(state)
        await begin(store, 'old', 'fp', now - TTL)
        await begin(store, 'edge', 'fp', now - TTL + 1)
        await begin(store, 'fresh')
        expect(await rows(state)).toEqual(['edge', 'fresh', 'old'])
        expect(await store.purge(now)).toBe(1)
        expect(await rows(state)).toEqual(['edge', 'fresh'])
        expect(await store.purge(now + 1)).toBe(1)
        expect(await rows(state)).toEqual(['fresh'])
      })

      it('expired keys are deleted at open, as the journal was compacted at start', async () => {
        const state = await open()
        const first = await keys(state)
        await begin(first, 'x')
        await first.complete(scope('x'), answer)
        await begin(first, 'y', 'fp', now - TTL)
        await keys(state, { instanceId: 'gw-b' })
        expect(await rows(state)).toEqual(['x'])
      })

      it('the periodic purge removes expired keys while running (injected clock, no restart)', async () => {
        const state = await open()
        const store = await keys(state, { purgeIntervalMs: 20 })
        await begin(store, 'k')
        await store.complete(scope('k'), answer)
        await new Promise((r) => setTimeout(r, 60))
        expect(await rows(state)).toEqual(['k'])
        now += TTL
        const deadline = Date.now() + 5_000
        while ((await rows(state)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
        expect(await rows(state)).toEqual([])
      })

      it('bounds answers: a larger first answer is not kept, a retry gets its status and audit id', async () => {
        const state = await open()
        const store = await keys(state, { maxAnswerBytes: 64 })
        const big = { ...answer, body: JSON.stringify({ data: { note: '长'.repeat(20) } }), auditId: 'a-big' }
        expect(Buffer.byteLength(big.body)).toBeGreaterThan(64)
        await begin(store, 'big')
        await store.complete(scope('big'), big)
        expect(await begin(store, 'big')).toEqual({ kind: 'answer-not-kept', status: 201, auditId: 'a-big' })
        const stored = await state.db
          .selectFrom('idempotency_keys')
          .select(['answer_body', 'answer_bytes'])
          .where('idem_key', '=', 'big')
          .executeTakeFirstOrThrow()
        expect(stored).toEqual({ answer_body: null, answer_bytes: Buffer.byteLength(big.body) })
        // Exactly at the bound it is kept.
        const exact = { ...answer, body: 'x'.repeat(64) }
        await begin(store, 'exact')
        await store.complete(scope('exact'), exact)
        expect(await begin(store, 'exact')).toEqual({ kind: 'replay', answer: exact })
      })

      it('concurrent claims of one key from two connections: exactly one wins', async () => {
        const [a, b] = await Promise.all([
          keys(await open(), { instanceId: 'gw-a' }),
          keys(await open(), { instanceId: 'gw-b' }),
        ])
        for (let round = 0; round < 20; round++) {
          const key = `race-${round}`
          const outcomes = await Promise.all(
            Array.from({ length: 6 }, (_, i) =>
              begin(i % 2 === 0 ? (a as IdempotencyStore) : (b as IdempotencyStore), key),
            ),
          )
          expect(outcomes.filter((o) => o.kind === 'new')).toHaveLength(1)
          expect(outcomes.filter((o) => o.kind === 'in-flight')).toHaveLength(5)
        }
        // The same over an expired row: one of them takes it over.
        await begin(a as IdempotencyStore, 'expired', 'fp', now - TTL)
        const outcomes = await Promise.all([
          begin(a as IdempotencyStore, 'expired'),
          begin(b as IdempotencyStore, 'expired'),
          begin(a as IdempotencyStore, 'expired'),
          begin(b as IdempotencyStore, 'expired'),
        ])
        expect(outcomes.filter((o) => o.kind === 'new')).toHaveLength(1)
      })
    })
  })
}
