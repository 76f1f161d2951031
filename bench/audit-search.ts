import { readdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AuditFilter } from '../gateway/audit/backend.js'
import { buildBatch } from '../gateway/audit/batch.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { INDEX_FILE } from '../gateway/audit/file/index/index.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { createHasher } from '../gateway/audit/merkle.js'
import { type QueryKind, queryKinds, type SearchPlan, searchGroups, searchPlan } from './lib/audit-search-data.js'
import {
  firstPage,
  log,
  measureQueries,
  QUERIES_PER_KIND,
  type QueryFigures,
  type StoreFigures,
  seconds,
} from './lib/audit-search-measure.js'
import { searchPostgres } from './lib/audit-search-pg.js'

/**
 * The auditor's first page (50 records) over a large log, on both audit stores: a rare subject, a hot subject, a
 * department on one day, a subject and a resource. The file store's log is written in bulk through the store's own
 * append (large batches, index off), then its index is built by the product's own path — the writer's open, which
 * finds no index and builds it from the segments — and timed; so is catching up 10,000 records written while the
 * index was not told. PostgreSQL gets the same entries through its store's append (large batches).
 *
 * Usage: node --import tsx bench/audit-search.ts <dir> <records> [pg-url|-]   Prints `AUDIT_SEARCH_RESULT {json}`.
 */

export interface FileFigures extends StoreFigures {
  readonly segmentBytes: number
  /** The writer's open with no index until it covers every record. */
  readonly indexBuildSeconds: number
  readonly catchUp: { readonly records: number; readonly seconds: number }
  /** The same queries through a read-only connection, as `qiao audit export` beside a gateway. */
  readonly readerQueries: readonly QueryFigures[]
  /** One rare-subject query with the index off: the scan the store did before. */
  readonly scanSeconds: number
}

export interface AuditSearchResult {
  readonly records: number
  readonly subjects: number
  readonly file: FileFigures
  readonly postgres: (StoreFigures & { readonly analyzeSeconds: number }) | { readonly skipped: string }
}

const LOG_ID = 'bench-search'
const SEGMENT_BYTES = 64 * 1024 * 1024
const APPEND_RECORDS = 4000
const CATCH_UP_RECORDS = 10_000

/** Appends records [from, from + count) through the file store's own append, index off, in large batches. */
async function writeFileLog(dir: string, plan: SearchPlan, from: number, count: number): Promise<void> {
  const hasher = createHasher('sha256')
  const backend = createFileAuditBackend({ dir, now: Date.now, index: false })
  const opened = await backend.open(LOG_ID, hasher)
  let { nextSeq, chain, segment, segmentSize } = opened
  let index = opened.segmentLeaves.length
  let entries: LogEntry[] = []
  let lines: Buffer[] = []
  const flush = async () => {
    if (entries.length === 0) return
    await backend.append(entries, Buffer.concat(lines))
    entries = []
    lines = []
  }
  for (const group of searchGroups(plan, from, count)) {
    if (segmentSize >= SEGMENT_BYTES) {
      await flush()
      segment++
      await backend.startSegment(segment, nextSeq, Date.now())
      index = 0
      segmentSize = 0
    }
    const batch = buildBatch(
      hasher,
      { logId: LOG_ID, nextSeq, segment, index, chain, loggedAt: new Date(group.loggedAtMs).toISOString() },
      group.records,
    )
    entries.push(...batch.entries)
    lines.push(batch.lines)
    nextSeq += group.records.length
    index += group.records.length
    chain = batch.chain
    segmentSize += batch.bytes
    if (entries.length >= APPEND_RECORDS) await flush()
  }
  await flush()
  await backend.close()
}

const sizeOf = (dir: string, match: (name: string) => boolean) =>
  readdirSync(dir)
    .filter(match)
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0)

async function fileStore(dir: string, plan: SearchPlan, kinds: readonly QueryKind[]): Promise<FileFigures> {
  const logDir = join(dir, LOG_ID)
  log(`file store: writing ${plan.records.toLocaleString('en-US')} records`)
  let t = performance.now()
  await writeFileLog(dir, plan, 0, plan.records)
  const writeSeconds = seconds(t)
  log(`  written in ${writeSeconds.toFixed(1)} s; opening the writer, which builds the index from the segments`)
  t = performance.now()
  const writer = createFileAuditBackend({ dir, now: Date.now })
  await writer.open(LOG_ID, createHasher('sha256'))
  const built = await writer.indexCaughtUp()
  const indexBuildSeconds = seconds(t)
  if (built?.nextSeq !== plan.records) throw new Error(`index covers ${built?.nextSeq}, not ${plan.records}`)
  log(`  index built in ${indexBuildSeconds.toFixed(1)} s`)
  const queries = await measureQueries(() => writer, kinds)
  await writer.close()

  log(`file store: ${CATCH_UP_RECORDS.toLocaleString('en-US')} more records the index does not hear of, then open`)
  await writeFileLog(dir, plan, plan.records, CATCH_UP_RECORDS)
  t = performance.now()
  const again = createFileAuditBackend({ dir, now: Date.now })
  await again.open(LOG_ID, createHasher('sha256'))
  const caught = await again.indexCaughtUp()
  const catchUpSeconds = seconds(t)
  if (caught?.nextSeq !== plan.records + CATCH_UP_RECORDS) throw new Error(`catch-up stopped at ${caught?.nextSeq}`)
  await again.close()
  log(`  caught up in ${catchUpSeconds.toFixed(2)} s; the same queries through a read-only connection`)
  const readerQueries = await measureQueries(() => createFileAuditBackend({ dir, now: Date.now }), kinds)

  log('file store: one rare-subject query without the index (a scan of the whole log)')
  t = performance.now()
  await firstPage(createFileAuditBackend({ dir, now: Date.now, index: false }), kinds[0]?.filters[0] as AuditFilter)
  const scanSeconds = seconds(t)
  log(`  ${scanSeconds.toFixed(1)} s`)
  return {
    writeSeconds,
    queries,
    bytes: sizeOf(logDir, (f) => f.startsWith(INDEX_FILE)),
    segmentBytes: sizeOf(logDir, (f) => f.startsWith('segment-')),
    indexBuildSeconds,
    catchUp: { records: CATCH_UP_RECORDS, seconds: catchUpSeconds },
    readerQueries,
    scanSeconds,
  }
}

async function main(): Promise<void> {
  const [dirArg, recordsArg, pgArg] = process.argv.slice(2)
  const dir = resolve(dirArg ?? 'bench/.work/audit-search')
  const records = Number(recordsArg ?? 50_000)
  const pgUrl = pgArg ?? 'postgres://postgres@127.0.0.1:5432/test'
  rmSync(dir, { recursive: true, force: true })
  const plan = searchPlan(records)
  const kinds = queryKinds(plan, QUERIES_PER_KIND)
  try {
    const file = await fileStore(join(dir, 'audit'), plan, kinds)
    const postgres =
      pgUrl === '-'
        ? { skipped: 'not asked for' }
        : await searchPostgres(pgUrl, join(dir, 'audit'), LOG_ID, records, kinds)
    const result: AuditSearchResult = { records, subjects: plan.subjects.length, file, postgres }
    console.log(`AUDIT_SEARCH_RESULT ${JSON.stringify(result)}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
