import { createHash } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { type AuditLog, openAuditLog } from '../../gateway/audit/audit-log.js'
import type { AuditBackend, AuditCursor, AuditFilter } from '../../gateway/audit/backend.js'
import { type AuditSigningKey, loadOrCreateAuditSigningKey } from '../../gateway/audit/checkpoint.js'
import type { LogEntry } from '../../gateway/audit/entry.js'
import { INDEX_FILE, type IndexEvent } from '../../gateway/audit/file/index/index.js'
import { createFileAuditBackend, type FileAuditBackend } from '../../gateway/audit/file-backend.js'
import type { AuditRecord, ExchangeAuditRecord } from '../../gateway/audit/record.js'

/**
 * Audit logs of mixed records for the search index's tests: every filter value drawn from small pools (so filters
 * find something), subjects as keyed-digest-like hex and as plain strings, refusals and failures of every kind,
 * admin records, record times a little before and after their loggedAt, several segments and two logs whose
 * loggedAt interleave (ties across logs included).
 */

export const POOLS = {
  dept: ['drc', 'urban', 'natres', 'market', 'housing'],
  sub: Array.from({ length: 12 }, (_, i) => `officer-${i}`),
  matter: ['QT00301001', 'XK00208001', 'QT00102003', 'XK00501002'],
  case: [...Array.from({ length: 20 }, (_, i) => `NJ-2026-${i}`), '宁建审〔2026〕12号', 'CASE.x_y-(1)'],
  resource: ['housing.construction-permit', 'housing.drawing-review', 'drc.project', 'market.company'],
  subject: [
    ...Array.from({ length: 30 }, (_, i) => createHash('sha256').update(`subject:${i}`).digest('hex')),
    'subject-plain-1',
    'subject-plain-2',
  ],
} as const

/** How calls end, as the gateway records them. */
export const ENDINGS: readonly Pick<ExchangeAuditRecord, 'decision' | 'reason' | 'status'>[] = [
  { decision: 'allow', reason: 'ok', status: 200 },
  { decision: 'allow', reason: 'ok', status: 200 },
  { decision: 'allow', reason: 'ok', status: 201 },
  { decision: 'deny', reason: 'insufficient-scope', status: 403 },
  { decision: 'deny', reason: 'grant-missing', status: 403 },
  { decision: 'allow', reason: 'quota-exceeded', status: 429 },
  { decision: 'allow', reason: 'params-invalid', status: 400 },
  { decision: 'allow', reason: 'upstream-unavailable', status: 503 },
  { decision: 'allow', reason: 'upstream-timeout', status: 504 },
]

/** A small deterministic generator (mulberry32), so a failing run can be repeated. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const pick = <T>(rand: () => number, values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T

export const START_MS = Date.parse('2026-11-26T02:00:00Z')

/** Record `i` of a log: the call arrived up to 40 ms before (or, clocks differing, 10 ms after) it is logged. */
export function mixedRecord(rand: () => number, logId: string, i: number, loggedMs: number): AuditRecord {
  const time = new Date(loggedMs - Math.floor(rand() * 50) + 10).toISOString()
  const id = `${logId}-${String(i).padStart(6, '0')}`
  if (rand() < 0.05) {
    return { id, time, kind: 'admin', action: 'catalog.reload', actor: 'system', outcome: 'ok', details: { n: i } }
  }
  const subjects = Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand, POOLS.subject))
  return {
    id,
    time,
    kind: 'exchange',
    requestId: `req-${id}`,
    requester: { dept: pick(rand, POOLS.dept), sub: pick(rand, POOLS.sub) },
    matter: pick(rand, POOLS.matter),
    case: pick(rand, POOLS.case),
    resource: pick(rand, POOLS.resource),
    provider: 'housing',
    action: 'read',
    ...pick(rand, ENDINGS),
    fields: ['permitNo'],
    masked: [],
    recordCount: 1,
    totalMs: 3,
    catalogVersion: 'test',
    ...(subjects.length > 0 ? { subjects } : {}),
  }
}

export interface WrittenLog {
  readonly log: AuditLog
  readonly backend: FileAuditBackend
}

/**
 * Appends `count` mixed records to `logId` in `dir` through the product's audit log (group commit: a few records per
 * batch), on a clock that starts at START_MS and moves 1 ms every few records, so two logs written this way share
 * loggedAt values. Leaves the log open.
 */
export async function writeMixedLog(
  dir: string,
  logId: string,
  count: number,
  options: {
    readonly seed: number
    readonly key: AuditSigningKey
    readonly segmentMaxSize?: number
    readonly firstIndex?: number
    readonly onIndexEvent?: (event: IndexEvent) => void
  },
): Promise<WrittenLog> {
  const rand = seeded(options.seed)
  let now = START_MS + (options.firstIndex ?? 0)
  let ticks = 0
  const clock = {
    now: () => {
      if (++ticks % 3 === 0) now++
      return now
    },
  }
  const backend = createFileAuditBackend({
    dir,
    now: clock.now,
    ...(options.onIndexEvent ? { onIndexEvent: options.onIndexEvent } : {}),
  })
  const log = await openAuditLog({
    backend,
    logId,
    hashAlgorithm: 'sha256',
    signingKey: options.key,
    clock,
    checkpointEvery: 100,
    checkpointIntervalMs: 60_000,
    segmentMaxSize: options.segmentMaxSize ?? 64 * 1024,
    segmentMaxAgeMs: 24 * 3_600_000,
  })
  const first = options.firstIndex ?? 0
  for (let i = first; i < first + count; ) {
    const batch = Math.min(1 + Math.floor(rand() * 6), first + count - i)
    await Promise.all(Array.from({ length: batch }, (_, j) => log.append(mixedRecord(rand, logId, i + j, now))))
    i += batch
  }
  return { log, backend }
}

export async function signingKey(dir: string): Promise<AuditSigningKey> {
  return loadOrCreateAuditSigningKey(join(dir, 'audit-signing-key.jwk.json'))
}

export async function collect(entries: AsyncIterable<LogEntry>, limit = Number.POSITIVE_INFINITY): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  if (limit <= 0) return out
  for await (const e of entries) {
    out.push(e)
    if (out.length >= limit) break
  }
  return out
}

/** `seq@log` of each entry: what two answers are compared by. */
export const positions = (entries: readonly LogEntry[]) => entries.map((e) => `${e.seq}@${e.logId}`)

/** The same query over the store without its index (a full scan) and with it. */
export async function bothWays(
  dir: string,
  filter: AuditFilter,
  after?: AuditCursor,
  // Quiet: a test that expects the index to be refused says so itself.
  indexed: AuditBackend = createFileAuditBackend({ dir, now: Date.now, onIndexEvent: () => {} }),
): Promise<{ scanned: string[]; found: string[] }> {
  const scanned = positions(
    await collect(createFileAuditBackend({ dir, now: Date.now, index: false }).query(filter, after)),
  )
  const found = positions(await collect(indexed.query(filter, after)))
  return { scanned, found }
}

/** Takes away an index's rows from `seq` on and sets its progress there (the chain of `seq - 1` from its line). */
export function truncateIndex(logDir: string, seq: number): void {
  const db = new Database(join(logDir, INDEX_FILE))
  const run = db.prepare('SELECT first, ends FROM runs WHERE first < ? ORDER BY first DESC LIMIT 1').get(seq) as {
    first: number
    ends: Buffer
  }
  db.prepare('DELETE FROM terms WHERE rowid >= ?').run(seq)
  db.prepare('DELETE FROM runs WHERE first >= ?').run(seq)
  db.prepare('UPDATE runs SET ends = ? WHERE first = ?').run(run.ends.subarray(0, (seq - run.first) * 4), run.first)
  db.prepare('UPDATE progress SET next_seq = ?, last_chain = NULL').run(seq)
  db.close()
}

/** What an index holds: its progress and how many seqs have terms. */
export function indexState(logDir: string): { nextSeq: number; rows: number } {
  const db = new Database(join(logDir, INDEX_FILE), { readonly: true })
  const nextSeq = db.prepare('SELECT next_seq FROM progress').pluck().get() as number
  const runs = db.prepare('SELECT first, length(ends) / 4 AS n FROM runs').all() as { first: number; n: number }[]
  db.close()
  return { nextSeq, rows: runs.reduce((sum, r) => sum + r.n, 0) }
}
