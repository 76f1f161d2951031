import { sql, type Transaction } from 'kysely'
import type { StateDatabase, StateStore } from '../state/store.js'
import { decodeCursor } from './kysely-store.js'
import type { Page } from './model.js'
import {
  keyText,
  type Objection,
  type ObjectionQuery,
  type ObjectionState,
  type OpenObjection,
} from './objections-model.js'
import { GRANT_CHANGES_CHANNEL } from './store.js'

/**
 * Where objections live: the state store (embedded SQLite or PostgreSQL), one Kysely implementation for both, with
 * the sharing store's optimistic concurrency (every update names the version it read). Never used on the exchange
 * path: open objections reach calls compiled (objections-board.ts).
 */
export interface ObjectionStore {
  transaction<T>(work: (tx: ObjectionTx) => Promise<T>): Promise<T>
  get(id: string): Promise<Objection | undefined>
  /** Newest first (raised, then id), paged. */
  list(query: ObjectionQuery): Promise<Page<Objection>>
  /** Every open objection, as each instance compiles them. */
  open(): Promise<OpenObjection[]>
  /** Bumped by every transaction that opens or closes one. */
  epoch(): Promise<number>
  /** Counts by provider, resource and state, and the working days each resolved one took (the quality figures). */
  figures(): Promise<ObjectionFigureRows>
}

export interface ObjectionFigureRows {
  readonly counts: readonly { provider: string; resource: string; state: ObjectionState; n: number }[]
  readonly resolutions: readonly { provider: string; resource: string; days: number }[]
}

export interface ObjectionTx {
  insert(objection: Objection): Promise<void>
  /** Stores `objection` (version expectedVersion + 1) only if the stored version is still `expectedVersion`. */
  update(objection: Objection, expectedVersion: number): Promise<boolean>
  /**
   * Bumps the objection epoch; on PostgreSQL it also notifies at commit, on the grant feed's channel: a
   * notification is only a hint there, each listener reads its own epoch, so one channel serves both feeds.
   */
  bumpEpoch(): Promise<void>
}

export function openObjectionStore(state: StateStore): ObjectionStore {
  const { db } = state
  return {
    transaction: (work) => state.transaction((trx) => work(objectionTx(trx, state.dialect))),
    async get(id) {
      const row = await db.selectFrom('sharing_objections').select('doc').where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : (JSON.parse(row.doc) as Objection)
    },
    async list(query) {
      let q = db.selectFrom('sharing_objections').select(['doc', 'raised_at', 'id'])
      if (query.provider !== undefined) q = q.where('provider', '=', query.provider)
      if (query.consumer !== undefined) q = q.where('consumer', '=', query.consumer)
      if (query.state !== undefined) q = q.where('state', '=', query.state)
      if (query.resource !== undefined) q = q.where('resource', '=', query.resource)
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
      if (cursor !== undefined) {
        q = q.where((eb) =>
          eb.or([eb('raised_at', '<', cursor.at), eb.and([eb('raised_at', '=', cursor.at), eb('id', '<', cursor.id)])]),
        )
      }
      const rows = await q
        .orderBy('raised_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute()
      const more = rows.length > query.limit
      const items = (more ? rows.slice(0, query.limit) : rows).map((r) => JSON.parse(r.doc) as Objection)
      if (!more) return { items }
      const last = rows[query.limit - 1] as (typeof rows)[number]
      return { items, next: Buffer.from(`${Number(last.raised_at)}.${last.id}`).toString('base64url') }
    },
    async open() {
      const rows = await db
        .selectFrom('sharing_objections')
        .select(['id', 'resource', 'provider', 'record_key', 'field', 'raised_at'])
        .where('state', '=', 'open')
        .orderBy('raised_at')
        .orderBy('id')
        .execute()
      return rows.map((r) => ({
        id: r.id,
        resource: r.resource,
        provider: r.provider,
        key: r.record_key,
        field: r.field,
        since: new Date(Number(r.raised_at)).toISOString(),
      }))
    },
    async epoch() {
      const row = await db.selectFrom('sharing_objection_epoch').select('epoch').where('id', '=', 1).executeTakeFirst()
      return Number(row?.epoch ?? 0)
    },
    async figures() {
      const counts = await db
        .selectFrom('sharing_objections')
        .select(['provider', 'resource', 'state', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['provider', 'resource', 'state'])
        .execute()
      const resolutions = await db
        .selectFrom('sharing_objections')
        .select(['provider', 'resource', 'resolution_days'])
        .where('state', 'in', ['accepted', 'rejected'])
        .where('resolution_days', 'is not', null)
        .execute()
      return {
        counts: counts.map((r) => ({ ...r, state: r.state as ObjectionState, n: Number(r.n) })),
        resolutions: resolutions.map((r) => ({
          provider: r.provider,
          resource: r.resource,
          days: Number(r.resolution_days),
        })),
      }
    },
  }
}

function objectionTx(trx: Transaction<StateDatabase>, dialect: StateStore['dialect']): ObjectionTx {
  return {
    async insert(objection) {
      await trx.insertInto('sharing_objections').values(rowOf(objection)).execute()
    },
    async update(objection, expectedVersion) {
      const { id, ...row } = rowOf(objection)
      const result = await trx
        .updateTable('sharing_objections')
        .set(row)
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async bumpEpoch() {
      const row = await trx
        .updateTable('sharing_objection_epoch')
        .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
        .where('id', '=', 1)
        .returning('epoch')
        .executeTakeFirstOrThrow()
      if (dialect === 'postgres') {
        await sql`SELECT pg_notify(${GRANT_CHANGES_CHANNEL}, ${`objections:${row.epoch}`})`.execute(trx)
      }
    },
  }
}

function rowOf(objection: Objection) {
  const [key] = Object.values(objection.recordKey)
  return {
    id: objection.id,
    version: objection.version,
    state: objection.state,
    resource: objection.resource,
    provider: objection.provider,
    consumer: objection.consumer,
    field: objection.field,
    record_key: keyText(key),
    raised_at: Date.parse(objection.raisedAt),
    due_at: objection.due.dueAt,
    resolved_at: objection.resolution === undefined ? null : Date.parse(objection.resolution.at),
    resolution_days: objection.resolution?.workingDays ?? null,
    doc: JSON.stringify(objection),
  }
}
