import type { StateModule, StateStore } from '../state/store.js'
import type { BeginOutcome, IdempotencyScope, IdempotencyStore, StoredAnswer } from './store.js'

type KeyState = 'in-flight' | 'done' | 'unknown'

/** One key per (department, resource, Idempotency-Key). Times are epoch milliseconds. */
export interface IdempotencyKeysTable {
  dept: string
  resource: string
  idem_key: string
  /** sha256 of matter, case and canonical body: what makes a retry "the same request". */
  fingerprint: string
  state: KeyState
  /** The instance (its audit log id) that claimed the key, and when. */
  claimed_by: string
  claimed_at: number
  /** While in flight: after this the claimer is taken to have died mid-delivery (see `begin`). */
  in_flight_until: number
  expires_at: number
  answer_status: number | null
  answer_type: string | null
  /** NULL with `done` when the answer was larger than the bound: only its status and audit id are kept. */
  answer_body: string | null
  answer_audit_id: string | null
  answer_bytes: number | null
}

/** The idempotency module's tables in the state store. */
export const idempotencyState: StateModule = {
  name: 'idempotency',
  migrations: {
    '0001-keys': {
      async up(db) {
        await db.schema
          .createTable('idempotency_keys')
          .addColumn('dept', 'text', (c) => c.notNull())
          .addColumn('resource', 'text', (c) => c.notNull())
          .addColumn('idem_key', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('claimed_by', 'text', (c) => c.notNull())
          .addColumn('claimed_at', 'bigint', (c) => c.notNull())
          .addColumn('in_flight_until', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('answer_status', 'integer')
          .addColumn('answer_type', 'text')
          .addColumn('answer_body', 'text')
          .addColumn('answer_audit_id', 'text')
          .addColumn('answer_bytes', 'integer')
          .addPrimaryKeyConstraint('idempotency_keys_pkey', ['dept', 'resource', 'idem_key'])
          .execute()
        // The purge deletes by expiry; the start-up sweep finds this instance's claims in flight.
        await db.schema.createIndex('idempotency_keys_expires_at').on('idempotency_keys').column('expires_at').execute()
        await db.schema
          .createIndex('idempotency_keys_claims')
          .on('idempotency_keys')
          .columns(['claimed_by', 'state'])
          .execute()
      },
    },
  },
}

export interface StateIdempotencyStoreOptions {
  readonly state: StateStore
  /** This instance's id (its audit log id): unique among running instances. */
  readonly instanceId: string
  /** How long a key is remembered, ms. */
  readonly ttlMs: number
  /** Largest answer body kept for replays, bytes (UTF-8). */
  readonly maxAnswerBytes: number
  readonly now: () => number
  /** How often expired keys are deleted while running; default 60 s (and once at start). 0 = only at start. */
  readonly purgeIntervalMs?: number
  readonly onPurgeError?: (err: unknown) => void
}

/** Claims that lose a race with a purge or an expiry are tried again this many times. */
const CLAIM_ATTEMPTS = 3

/**
 * Idempotency keys in the shared state store. Every change is one statement on a unique key, so claims are
 * atomic across instances: the claim is an INSERT … ON CONFLICT DO UPDATE that only takes over an expired row;
 * when it claims nothing, the row that won is read and decides the outcome. Nothing is kept in memory.
 *
 * A claimer that dies mid-delivery leaves its key in flight. Whether the provider got the write is then unknown,
 * so such a key must never be delivered again — and must not stay "in flight" for ever either:
 * - at start, an instance marks its own claims still in flight as unknown (they are from its previous life: two
 *   running instances never share an id);
 * - any instance reports an in-flight claim as unknown once past its `in_flight_until`, which the claimer set to
 *   its call deadline plus a margin (pipeline/38-claim-idempotency.ts) — a live claimer has finished by then.
 */
export async function openStateIdempotencyStore(options: StateIdempotencyStoreOptions): Promise<IdempotencyStore> {
  const { db } = options.state
  const me = options.instanceId
  const byScope = (scope: IdempotencyScope) =>
    ({ dept: scope.dept, resource: scope.resource, idem_key: scope.key }) as const

  async function purge(now: number): Promise<number> {
    const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  await db
    .updateTable('idempotency_keys')
    .set({ state: 'unknown' })
    .where('claimed_by', '=', me)
    .where('state', '=', 'in-flight')
    .execute()
  await purge(options.now())
  const intervalMs = options.purgeIntervalMs ?? 60_000
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          purge(options.now()).catch((err: unknown) => options.onPurgeError?.(err))
        }, intervalMs)
      : undefined
  timer?.unref()

  async function begin(
    scope: IdempotencyScope,
    fingerprint: string,
    now: number,
    inFlightUntil: number,
  ): Promise<BeginOutcome> {
    // A key outlives its claim's window, or a purge could free a key whose delivery is still running.
    const expiresAt = Math.max(now + options.ttlMs, inFlightUntil + 1)
    const claim = {
      fingerprint,
      state: 'in-flight',
      claimed_by: me,
      claimed_at: now,
      in_flight_until: inFlightUntil,
      expires_at: expiresAt,
      answer_status: null,
      answer_type: null,
      answer_body: null,
      answer_audit_id: null,
      answer_bytes: null,
    } as const
    const where = byScope(scope)
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const claimed = await db
        .insertInto('idempotency_keys')
        .values({ ...where, ...claim })
        .onConflict((oc) =>
          oc
            .columns(['dept', 'resource', 'idem_key'])
            .doUpdateSet(claim)
            .where('idempotency_keys.expires_at', '<=', now),
        )
        .returning('claimed_at')
        .executeTakeFirst()
      if (claimed) return { kind: 'new' }

      const row = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where((eb) => eb.and(where))
        .executeTakeFirst()
      // Purged or expired between the two statements: claim again.
      if (!row || row.expires_at <= now) continue
      if (row.fingerprint !== fingerprint) return { kind: 'conflict' }
      if (row.state === 'done') {
        if (row.answer_body === null) {
          return { kind: 'answer-not-kept', status: row.answer_status ?? 0, auditId: row.answer_audit_id ?? '' }
        }
        return {
          kind: 'replay',
          answer: {
            status: row.answer_status ?? 0,
            contentType: row.answer_type ?? 'application/json',
            body: row.answer_body,
            auditId: row.answer_audit_id ?? '',
          },
        }
      }
      if (row.state === 'unknown') return { kind: 'unknown' }
      if (now < row.in_flight_until) return { kind: 'in-flight' }
      // The claimer is past its window: it died mid-delivery. Recorded, so every instance answers the same.
      await db
        .updateTable('idempotency_keys')
        .set({ state: 'unknown' })
        .where((eb) => eb.and(where))
        .where('state', '=', 'in-flight')
        .where('claimed_at', '=', row.claimed_at)
        .execute()
      return { kind: 'unknown' }
    }
    throw new Error('idempotency key could not be claimed')
  }

  // complete, release and markUnknown only change this instance's own claim, never another instance's.
  return {
    begin,
    async complete(scope, answer: StoredAnswer) {
      const bytes = Buffer.byteLength(answer.body, 'utf8')
      const where = byScope(scope)
      await db
        .updateTable('idempotency_keys')
        .set({
          state: 'done',
          answer_status: answer.status,
          answer_type: answer.contentType,
          answer_body: bytes <= options.maxAnswerBytes ? answer.body : null,
          answer_audit_id: answer.auditId,
          answer_bytes: bytes,
        })
        .where((eb) => eb.and(where))
        .where('claimed_by', '=', me)
        // An answer known late (the claim was already reported unknown) is still the better answer for retries.
        .where('state', 'in', ['in-flight', 'unknown'])
        .execute()
    },
    async release(scope) {
      const where = byScope(scope)
      await db
        .deleteFrom('idempotency_keys')
        .where((eb) => eb.and(where))
        .where('claimed_by', '=', me)
        .where('state', '=', 'in-flight')
        .execute()
    },
    async markUnknown(scope) {
      const where = byScope(scope)
      await db
        .updateTable('idempotency_keys')
        .set({ state: 'unknown' })
        .where((eb) => eb.and(where))
        .where('claimed_by', '=', me)
        .where('state', '=', 'in-flight')
        .execute()
    },
    purge,
    async close() {
      clearInterval(timer)
    },
  }
}
