import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from 'kysely'
import { migrateState } from './migrate.js'
import type { StateDatabase, StateModule, StateStore } from './store.js'

export interface SqliteStateOptions {
  /** The database file, e.g. `<data dir>/state.sqlite`. */
  readonly file: string
  readonly modules: readonly StateModule[]
  /** How long a statement waits for another connection's write lock; default 5 s. */
  readonly busyTimeoutMs?: number
}

/**
 * Transactions begin IMMEDIATE: a deferred BEGIN that reads, then writes after another connection wrote, fails at
 * once with SQLITE_BUSY instead of waiting; IMMEDIATE takes the write lock up front and waits (busy_timeout).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase
  constructor(database: SqliteDatabase) {
    super({ database })
    this.#database = database
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database })
  }
}

/**
 * better-sqlite3 waits for a lock synchronously, blocking the event loop: a second connection to the same file in
 * the same process (only tests do that) would then wait for a transaction that cannot go on. Transactions on one
 * file are therefore taken one at a time per process; other processes are held off by SQLite's own lock.
 */
const fileQueues = new Map<string, Promise<unknown>>()
function serialised<T>(file: string, work: () => Promise<T>): Promise<T> {
  const run = (fileQueues.get(file) ?? Promise.resolve()).then(work)
  const tail = run.catch(() => {})
  fileQueues.set(file, tail)
  void tail.then(() => {
    if (fileQueues.get(file) === tail) fileQueues.delete(file)
  })
  return run
}

/**
 * The embedded state store. WAL lets readers run beside the one writer; synchronous=FULL syncs the WAL on every
 * commit, so an acknowledged claim survives a power loss (with NORMAL the last commits may be lost, and a lost
 * claim would let a retry deliver twice).
 */
export async function openSqliteState(options: SqliteStateOptions): Promise<StateStore> {
  const file = resolve(options.file)
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const { default: Database } = await import('better-sqlite3')
  const database = new Database(file)
  let db: Kysely<StateDatabase> | undefined
  try {
    // busy_timeout first: switching to WAL needs a lock another starting instance may hold.
    database.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`)
    // Switching a new file to WAL needs the file to itself: while another starting process holds it (migrating),
    // SQLite may answer SQLITE_BUSY at once instead of waiting (its deadlock avoidance skips the busy handler).
    await retryWhileBusy(() => database.pragma('journal_mode = WAL'), STARTUP_WAIT_MS)
    database.pragma('synchronous = FULL')
    db = new Kysely<StateDatabase>({ dialect: new ImmediateSqliteDialect(database) })
    const kysely = db
    // Kysely runs SQLite migrations without a transaction or a lock (its adapter assumes one connection), so two
    // processes starting on a new file would both create the tables. One IMMEDIATE transaction around the whole run
    // takes the file's write lock first: the other process waits (busy_timeout), then finds everything applied.
    const applied = await serialised(file, async () => {
      await retryWhileBusy(() => database.exec('BEGIN IMMEDIATE'), STARTUP_WAIT_MS)
      try {
        const done = await migrateState(kysely, options.modules)
        database.exec('COMMIT')
        return done
      } catch (err) {
        if (database.inTransaction) database.exec('ROLLBACK')
        throw err
      }
    })
    return {
      dialect: 'sqlite',
      db: kysely,
      applied,
      transaction: (work) => serialised(file, () => kysely.transaction().execute(work)),
      close: () => kysely.destroy(),
    }
  } catch (err) {
    if (db) await db.destroy()
    else database.close()
    throw err
  }
}

/** How long a starting process waits for another one's start-up (WAL switch, migrations) before giving up. */
const STARTUP_WAIT_MS = 30_000

/** Runs `work` again after a short, growing pause while SQLite answers SQLITE_BUSY, up to `waitMs` in all. */
async function retryWhileBusy<T>(work: () => T, waitMs: number): Promise<T> {
  const until = Date.now() + waitMs
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    try {
      return work()
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw err
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
}
