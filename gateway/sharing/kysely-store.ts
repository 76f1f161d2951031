import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from 'kysely'
import { addCalendarDays } from '../../kernel/working-calendar.js'
import type { StateDatabase, StateStore } from '../state/store.js'
import type { Application, GrantQuery, LiveGrant, Page, SharingEvent, Stage } from './model.js'
import { GRANT_CHANGES_CHANNEL, type SharingStore, type SharingTx } from './store.js'
import type { SharingGrantsTable } from './tables.js'

/** States whose check has a running clock. */
const RUNNING: readonly string[] = ['conformity-check', 'provider-review']

type VisibleTo = { readonly consumer?: string; readonly provider?: string } | undefined

/**
 * The sharing store on the state store, one implementation for both dialects (Kysely). Optimistic concurrency:
 * every update names the version it read (`WHERE version = expected`), so of two reviewers acting on one state
 * exactly one changes a row; the other sees 0 rows and gets 412.
 */
export function openSharingStore(state: StateStore): SharingStore {
  const { db } = state
  return {
    transaction: (work) => state.transaction((trx) => work(sharingTx(trx, state.dialect))),
    async getApplication(id) {
      const row = await db.selectFrom('sharing_applications').select('doc').where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : (JSON.parse(row.doc) as Application)
    },
    async listApplications(query, now, visibleTo) {
      let q = db.selectFrom('sharing_applications').select(['doc', 'submitted_at', 'id'])
      q = visible(q, visibleTo)
      if (query.state !== undefined) q = q.where('state', '=', query.state)
      if (query.consumer !== undefined) q = q.where('consumer', '=', query.consumer)
      if (query.provider !== undefined) q = q.where('provider', '=', query.provider)
      if (query.resource !== undefined) q = q.where('resource', '=', query.resource)
      if (query.overdue === true) q = q.where('due_at', '<', now).where('state', 'in', RUNNING)
      if (query.overdue === false) {
        q = q.where((eb) => eb.or([eb('due_at', 'is', null), eb('due_at', '>=', now), eb('state', 'not in', RUNNING)]))
      }
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
      if (cursor !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb('submitted_at', '<', cursor.at),
            eb.and([eb('submitted_at', '=', cursor.at), eb('id', '<', cursor.id)]),
          ]),
        )
      }
      const rows = await q
        .orderBy('submitted_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute()
      return page(
        rows,
        query.limit,
        (r) => JSON.parse(r.doc) as Application,
        (r) => [r.submitted_at, r.id],
      )
    },
    async history(applicationId) {
      const rows = await db
        .selectFrom('sharing_events')
        .selectAll()
        .where('application_id', '=', applicationId)
        .orderBy('seq')
        .execute()
      return rows.map(
        (r): SharingEvent => ({
          applicationId: r.application_id,
          seq: r.seq,
          at: new Date(r.at).toISOString(),
          actor: r.actor,
          transition: r.transition as SharingEvent['transition'],
          from: r.from_state as SharingEvent['from'],
          to: r.to_state as SharingEvent['to'],
          details: JSON.parse(r.details) as SharingEvent['details'],
        }),
      )
    },
    async getGrant(id) {
      const row = await db.selectFrom('sharing_grants').selectAll().where('id', '=', id).executeTakeFirst()
      return row === undefined ? undefined : grantOf(row)
    },
    async listGrants(query: GrantQuery, today, visibleTo) {
      let q = db.selectFrom('sharing_grants').selectAll()
      q = visible(q, visibleTo)
      if (query.state !== undefined) q = q.where('state', '=', query.state)
      if (query.consumer !== undefined) q = q.where('consumer', '=', query.consumer)
      if (query.provider !== undefined) q = q.where('provider', '=', query.provider)
      if (query.resource !== undefined) q = q.where('resource', '=', query.resource)
      if (query.matter !== undefined) q = q.where('matter', '=', query.matter)
      if (query.expiringWithinDays !== undefined) {
        q = q.where('valid_to', '<=', addCalendarDays(today, query.expiringWithinDays)).where('valid_to', '>=', today)
      }
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
      if (cursor !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', cursor.at),
            eb.and([eb('created_at', '=', cursor.at), eb('id', '<', cursor.id)]),
          ]),
        )
      }
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute()
      return page(rows, query.limit, grantOf, (r) => [r.created_at, r.id])
    },
    async liveGrants() {
      const rows = await db.selectFrom('sharing_grants').selectAll().where('state', '!=', 'superseded').execute()
      return rows.map(grantOf)
    },
    async grantEpoch() {
      const row = await db.selectFrom('sharing_grant_epoch').select('epoch').where('id', '=', 1).executeTakeFirst()
      return Number(row?.epoch ?? 0)
    },
    async overdueUnescalated(now) {
      const rows = await db
        .selectFrom('sharing_applications')
        .select('doc')
        .where('state', 'in', RUNNING)
        .where('due_at', '<', now)
        .where('escalated_at', 'is', null)
        .orderBy('due_at')
        .limit(500)
        .execute()
      return rows.map((r) => JSON.parse(r.doc) as Application)
    },
    async countOverdue(now) {
      const rows = await db
        .selectFrom('sharing_applications')
        .select(['stage', (eb) => eb.fn.countAll<number>().as('n')])
        .where('state', 'in', RUNNING)
        .where('due_at', '<', now)
        .groupBy('stage')
        .execute()
      const counts: Record<Stage, number> = { conformity: 0, review: 0 }
      for (const r of rows) if (r.stage === 'conformity' || r.stage === 'review') counts[r.stage] = Number(r.n)
      return counts
    },
    async grantsDueForReminder(days, today, lastDay) {
      const column = days === 30 ? 'reminded_30' : 'reminded_7'
      const rows = await db
        .selectFrom('sharing_grants')
        .selectAll()
        .where('state', '=', 'active')
        .where('valid_to', '<=', lastDay)
        .where('valid_to', '>=', today)
        .where(column, 'is', null)
        .orderBy('valid_to')
        .limit(500)
        .execute()
      return rows.map(grantOf)
    },
  }
}

function sharingTx(trx: Transaction<StateDatabase>, dialect: StateStore['dialect']): SharingTx {
  const insertEvent = (event: SharingEvent) =>
    trx
      .insertInto('sharing_events')
      .values({
        application_id: event.applicationId,
        seq: event.seq,
        at: Date.parse(event.at),
        actor: event.actor,
        transition: event.transition,
        from_state: event.from,
        to_state: event.to,
        details: JSON.stringify(event.details),
      })
      .execute()
  return {
    async insertApplication(app, event) {
      await trx.insertInto('sharing_applications').values(applicationRow(app)).execute()
      await insertEvent(event)
    },
    async updateApplication(app, expectedVersion, event) {
      const { id, ...row } = applicationRow(app)
      const result = await trx
        .updateTable('sharing_applications')
        .set(row)
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) return false
      await insertEvent(event)
      return true
    },
    appendEvent: async (event) => {
      await insertEvent(event)
    },
    async nextSeq(applicationId) {
      const row = await trx
        .selectFrom('sharing_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('application_id', '=', applicationId)
        .executeTakeFirst()
      return Number(row?.seq ?? 0) + 1
    },
    async insertGrant(grant) {
      await trx.insertInto('sharing_grants').values(grantRow(grant)).execute()
    },
    async updateGrant(grant, expectedVersion) {
      const { id, ...row } = grantRow(grant)
      const result = await trx
        .updateTable('sharing_grants')
        .set(row)
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async grantsFor(matter, resource, action, consumer) {
      const rows = await trx
        .selectFrom('sharing_grants')
        .selectAll()
        .where('matter', '=', matter)
        .where('resource', '=', resource)
        .where('action', '=', action)
        .where('consumer', '=', consumer)
        .where('state', '!=', 'superseded')
        .execute()
      return rows.map(grantOf)
    },
    async markReminded(grantId, days, at) {
      const column = days === 30 ? 'reminded_30' : 'reminded_7'
      const result = await trx
        .updateTable('sharing_grants')
        .set({ [column]: at })
        .where('id', '=', grantId)
        .where(column, 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },
    async bumpGrantEpoch() {
      const row = await trx
        .updateTable('sharing_grant_epoch')
        .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
        .where('id', '=', 1)
        .returning('epoch')
        .executeTakeFirstOrThrow()
      // Delivered at commit, and only if the transaction commits: listeners never see a rolled-back change.
      if (dialect === 'postgres') {
        await sql`SELECT pg_notify(${GRANT_CHANGES_CHANNEL}, ${String(row.epoch)})`.execute(trx)
      }
    },
  }
}

function visible<DB extends StateDatabase, T extends 'sharing_applications' | 'sharing_grants', O>(
  q: SelectQueryBuilder<DB, T, O>,
  to: VisibleTo,
): SelectQueryBuilder<DB, T, O> {
  if (to === undefined) return q
  const { consumer, provider } = to
  // Typed loosely: both tables have the two columns, which Kysely cannot see through the union.
  const loose = q as unknown as SelectQueryBuilder<StateDatabase, 'sharing_applications', O>
  const narrowed = loose.where((eb) => {
    const either = []
    if (consumer !== undefined) either.push(eb('consumer', '=', consumer))
    if (provider !== undefined) either.push(eb('provider', '=', provider))
    return either.length === 0 ? sql<boolean>`1 = 0` : eb.or(either)
  })
  return narrowed as unknown as SelectQueryBuilder<DB, T, O>
}

function applicationRow(app: Application) {
  const running = app.clock !== undefined && !app.clock.paused && RUNNING.includes(app.state)
  return {
    id: app.id,
    version: app.version,
    state: app.state,
    consumer: app.consumer,
    provider: app.provider,
    resource: app.request.resource,
    matter: app.request.matter,
    submitted_at: Date.parse(app.submittedAt),
    updated_at: Date.parse(app.updatedAt),
    stage: RUNNING.includes(app.state) || app.state === 'awaiting-applicant' ? (app.clock?.stage ?? null) : null,
    due_at: running ? (app.clock?.dueAt ?? null) : null,
    escalated_at: app.escalatedAt === undefined ? null : Date.parse(app.escalatedAt),
    doc: JSON.stringify(app),
  }
}

/** The reminders live in their own columns (set by markReminded without rewriting the document). */
function grantRow(grant: LiveGrant) {
  const { reminders, ...doc } = grant
  return {
    id: grant.id,
    version: grant.version,
    state: grant.state,
    application_id: grant.applicationId,
    matter: grant.matter,
    resource: grant.resource,
    action: grant.action,
    consumer: grant.consumer,
    provider: grant.provider,
    valid_to: grant.validTo,
    created_at: Date.parse(grant.approvedAt),
    reminded_30: reminders['30'] ?? null,
    reminded_7: reminders['7'] ?? null,
    doc: JSON.stringify(doc),
  }
}

function grantOf(row: SharingGrantsTable): LiveGrant {
  const doc = JSON.parse(row.doc) as Omit<LiveGrant, 'reminders'>
  const reminders: Partial<Record<'30' | '7', string>> = {}
  if (row.reminded_30 !== null) reminders['30'] = row.reminded_30
  if (row.reminded_7 !== null) reminders['7'] = row.reminded_7
  return { ...doc, reminders }
}

function page<R, T>(rows: R[], limit: number, map: (r: R) => T, key: (r: R) => [number, string]): Page<T> {
  const more = rows.length > limit
  const items = (more ? rows.slice(0, limit) : rows).map(map)
  if (!more) return { items }
  const [at, id] = key(rows[limit - 1] as R)
  return { items, next: Buffer.from(`${at}.${id}`).toString('base64url') }
}

/** A cursor is `<epoch ms>.<id>` in base64url; anything else is treated as the start. */
export function decodeCursor(cursor: string): { at: number; id: string } | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const dot = text.indexOf('.')
  const at = Number(text.slice(0, dot))
  if (dot < 1 || !Number.isSafeInteger(at)) return undefined
  return { at, id: text.slice(dot + 1) }
}

export function isCursor(cursor: string): boolean {
  return /^[A-Za-z0-9_-]{1,200}$/.test(cursor) && decodeCursor(cursor) !== undefined
}

/** For tests: a Kysely handle typed for the sharing tables. */
export type SharingDb = Kysely<StateDatabase>
