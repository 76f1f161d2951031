import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * The index file of one log, `<audit dir>/<log id>/index.sqlite` (WAL), beside its segments and guarded by the same
 * writer lock. It is derived from the segments and never the truth:
 *
 *   meta     (key, value): `format` (this layout) and `log` (the log id it indexes: a copied file is foreign)
 *   progress one row: `next_seq` (every seq below it is indexed), `last_chain` (the chain value of seq next_seq-1, to
 *            tell that the file still indexes this very log), `lead_ms` / `lag_ms` (the largest record.time −
 *            loggedAt and loggedAt − record.time seen, bounding `from`/`to` by loggedAt; NULL: unbounded), `ordered`
 *            (loggedAt canonical and never decreasing, so positions can be found by time), `generation` (bumped
 *            whenever rows are taken away, so a reader in another process notices)
 *   runs     consecutive lines of one segment: `first` seq (INTEGER PRIMARY KEY), `segment`, byte `offset` of the
 *            first line, `first_at` / `last_at` (loggedAt, epoch ms) and `ends`, each line's end relative to
 *            `offset` (uint32 LE): where a seq's line is, without a row per record
 *   terms    FTS5, contentless, detail=none: rowid = first seq of a block of a run's records (runs.ts), column t =
 *            their terms (terms.ts)
 */

export const INDEX_FILE = 'index.sqlite'
/**
 * Bumped when records get terms an older index lacks (2: evidence bundles), so that such an index is rebuilt from the
 * segments (as a foreign one is) rather than miss the records it indexed without them.
 */
const FORMAT = 'qiao-audit-index/2'

export type Database = BetterSqlite3.Database

export interface Progress {
  readonly nextSeq: number
  readonly lastChain: string | null
  readonly leadMs: number | null
  readonly lagMs: number | null
  readonly ordered: boolean
  readonly generation: number
}

export interface Run {
  readonly first: number
  readonly segment: number
  readonly offset: number
  readonly firstAt: number
  readonly lastAt: number
  /** Each line's end, relative to `offset`. */
  readonly ends: readonly number[]
}

export const EMPTY_PROGRESS: Progress = {
  nextSeq: 0,
  lastChain: null,
  leadMs: 0,
  lagMs: 0,
  ordered: true,
  generation: 0,
}

/** The file cannot serve as this log's index (corrupt, another format, another log's): rebuild or scan. */
export class IndexUnusableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'IndexUnusableError'
  }
}

const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL,
    last_chain TEXT,
    lead_ms INTEGER,
    lag_ms INTEGER,
    ordered INTEGER NOT NULL,
    generation INTEGER NOT NULL
  );
  CREATE TABLE runs (
    first INTEGER PRIMARY KEY,
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    ends BLOB NOT NULL
  );
  CREATE VIRTUAL TABLE terms USING fts5(
    t, content='', contentless_delete=1, detail='none', tokenize="ascii tokenchars '-._'"
  );
  -- Merging FTS segments 8 at a time instead of 4: a fifth less work per indexed record, lookups barely slower.
  INSERT INTO terms (terms, rank) VALUES ('automerge', 8);
`

/** Removes the index file and its WAL companions. */
export async function removeIndexFiles(logDir: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) await rm(join(logDir, INDEX_FILE + suffix), { force: true })
}

let driver: Promise<typeof BetterSqlite3> | undefined
/** better-sqlite3, loaded on first use (verification and set-aside never need it). */
export function sqlite(): Promise<typeof BetterSqlite3> {
  driver ??= import('better-sqlite3').then((m) => m.default)
  return driver
}

/** Any SQLite failure reading the file: the file is not usable as an index. */
function unusable(what: string, err: unknown): IndexUnusableError {
  const code = (err as { code?: unknown }).code
  return new IndexUnusableError(`${what} (${typeof code === 'string' ? code : (err as Error).message})`, {
    cause: err,
  })
}

function checkMeta(db: Database, logId: string): void {
  const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]
  const meta = new Map(rows.map((r) => [r.key, r.value]))
  if (meta.get('format') !== FORMAT) throw new IndexUnusableError(`not a ${FORMAT} index`)
  if (meta.get('log') !== logId) throw new IndexUnusableError('the index belongs to another log')
}

/**
 * Opens (creating if absent) the index for writing. Throws IndexUnusableError when the file is there but cannot
 * serve: the caller removes it and opens again.
 */
export async function openForWriting(logDir: string, logId: string): Promise<Database> {
  const Database = await sqlite()
  let db: Database
  try {
    db = new Database(join(logDir, INDEX_FILE))
  } catch (err) {
    throw unusable('index cannot be opened', err)
  }
  try {
    db.pragma('journal_mode = WAL')
    // Derived data: a commit need not reach the disk (a power cut leaves the index behind, never inconsistent: WAL).
    db.pragma('synchronous = NORMAL')
    const fresh = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'meta'").get() as { n: number }).n
    if (fresh === 0) {
      db.exec('BEGIN')
      db.exec(SCHEMA)
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?), (?, ?)').run('format', FORMAT, 'log', logId)
      writeProgress(db, EMPTY_PROGRESS)
      db.exec('COMMIT')
    } else {
      checkMeta(db, logId)
      const check = db.pragma('quick_check', { simple: true })
      if (check !== 'ok') throw new IndexUnusableError(`index damaged (${String(check).slice(0, 80)})`)
    }
    return db
  } catch (err) {
    db.close()
    throw err instanceof IndexUnusableError ? err : unusable('index unreadable', err)
  }
}

/** Opens an existing index read-only (another process may be writing it), or undefined when there is none. */
export async function openForReading(logDir: string, logId: string): Promise<Database | undefined> {
  const Database = await sqlite()
  let db: Database
  try {
    db = new Database(join(logDir, INDEX_FILE), { readonly: true, fileMustExist: true })
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_CANTOPEN') return undefined
    throw unusable('index cannot be opened', err)
  }
  try {
    db.pragma('busy_timeout = 200')
    checkMeta(db, logId)
    return db
  } catch (err) {
    db.close()
    throw err instanceof IndexUnusableError ? err : unusable('index unreadable', err)
  }
}

interface ProgressRow {
  next_seq: number
  last_chain: string | null
  lead_ms: number | null
  lag_ms: number | null
  ordered: number
  generation: number
}

export function readProgress(db: Database): Progress {
  const row = db.prepare('SELECT * FROM progress WHERE id = 1').get() as ProgressRow | undefined
  if (!row) throw new IndexUnusableError('index without progress')
  return {
    nextSeq: row.next_seq,
    lastChain: row.last_chain,
    leadMs: row.lead_ms,
    lagMs: row.lag_ms,
    ordered: row.ordered === 1,
    generation: row.generation,
  }
}

export function writeProgress(db: Database, p: Progress): void {
  db.prepare(
    `INSERT OR REPLACE INTO progress (id, next_seq, last_chain, lead_ms, lag_ms, ordered, generation)
     VALUES (1, ?, ?, ?, ?, ?, ?)`,
  ).run(p.nextSeq, p.lastChain, p.leadMs, p.lagMs, p.ordered ? 1 : 0, p.generation)
}

interface RunRow {
  first: number
  segment: number
  offset: number
  first_at: number
  last_at: number
  ends: Buffer
}

function toRun(row: RunRow | undefined): Run | undefined {
  if (!row) return undefined
  const ends: number[] = new Array(row.ends.length >>> 2)
  for (let i = 0; i < ends.length; i++) ends[i] = row.ends.readUInt32LE(i * 4)
  return {
    first: row.first,
    segment: row.segment,
    offset: row.offset,
    firstAt: row.first_at,
    lastAt: row.last_at,
    ends,
  }
}

export function encodeEnds(ends: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ends.length * 4)
  for (let i = 0; i < ends.length; i++) out.writeUInt32LE(ends[i] as number, i * 4)
  return out
}

/** The prepared statements one connection uses (prepared once per connection). */
export function statements(db: Database) {
  const runAt = db.prepare('SELECT * FROM runs WHERE first <= ? ORDER BY first DESC LIMIT 1')
  const runFrom = db.prepare('SELECT * FROM runs WHERE first >= ? ORDER BY first LIMIT 1')
  const lastRun = db.prepare('SELECT * FROM runs ORDER BY first DESC LIMIT 1')
  const search = db.prepare(
    'SELECT rowid AS seq FROM terms WHERE terms MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid LIMIT ?',
  )
  const generation = db.prepare('SELECT generation FROM progress WHERE id = 1').pluck()
  return {
    /** The run holding `seq` (or the last one before it). */
    runAt: (seq: number) => toRun(runAt.get(seq) as RunRow | undefined),
    /** The first run starting at or after `seq`. */
    runFrom: (seq: number) => toRun(runFrom.get(seq) as RunRow | undefined),
    lastRun: () => toRun(lastRun.get() as RunRow | undefined),
    /** Seqs in [from, to) carrying every term of `match`, at most `limit`. */
    search: (match: string, from: number, to: number, limit: number) =>
      (search.all(match, from, to, limit) as { seq: number }[]).map((r) => r.seq),
    generation: () => generation.get() as number | undefined,
  }
}

export type Statements = ReturnType<typeof statements>

/** Takes away every row of seq `from` and above (a run reaching across `from` is cut short). */
export function deleteFrom(db: Database, from: number): void {
  const straddling = toRun(
    db.prepare('SELECT * FROM runs WHERE first < ? ORDER BY first DESC LIMIT 1').get(from) as RunRow | undefined,
  )
  db.prepare('DELETE FROM terms WHERE rowid >= ?').run(from)
  db.prepare('DELETE FROM runs WHERE first >= ?').run(from)
  if (straddling && straddling.first + straddling.ends.length > from) {
    const ends = straddling.ends.slice(0, from - straddling.first)
    db.prepare('UPDATE runs SET ends = ? WHERE first = ?').run(encodeEnds(ends), straddling.first)
  }
}

/** Takes away the rows of seqs [from, to) (a purged segment's), whole runs only. */
export function deleteRange(db: Database, from: number, to: number): void {
  db.prepare('DELETE FROM terms WHERE rowid >= ? AND rowid < ?').run(from, to)
  db.prepare('DELETE FROM runs WHERE first >= ? AND first < ?').run(from, to)
}

/** Takes every row away. */
export function deleteAll(db: Database): void {
  db.prepare("INSERT INTO terms (terms) VALUES ('delete-all')").run()
  db.prepare('DELETE FROM runs').run()
}
