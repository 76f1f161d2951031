import pg from 'pg'
import type { LogEntry } from '../../gateway/audit/entry.js'
import { createFileAuditBackend } from '../../gateway/audit/file-backend.js'
import { createHasher } from '../../gateway/audit/merkle.js'
import { createPgAuditBackend } from '../../gateway/audit/pg-backend.js'
import type { QueryKind } from './audit-search-data.js'
import { log, measureQueries, type StoreFigures } from './audit-search-measure.js'

/**
 * The PostgreSQL half of the audit search bench: the file store's first `records` entries, stored through the
 * PostgreSQL store's own append (its one-statement batch insert, 2,000 entries a statement) into a schema of their
 * own, ANALYZEd (as autovacuum would soon do), then the same first pages. The schema is dropped afterwards.
 */

const SCHEMA = 'bench_audit_search'
const APPEND_ENTRIES = 2000

export async function searchPostgres(
  url: string,
  fileDir: string,
  logId: string,
  records: number,
  kinds: readonly QueryKind[],
): Promise<(StoreFigures & { readonly analyzeSeconds: number }) | { readonly skipped: string }> {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await admin.connect()
  } catch (err) {
    const why = `PostgreSQL not reachable (${(err as { code?: string }).code ?? (err as Error).message})`
    log(why)
    return { skipped: why }
  }
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
    log(`PostgreSQL: storing ${records.toLocaleString('en-US')} entries`)
    const backend = createPgAuditBackend({ connectionString: url, schema: SCHEMA, now: Date.now })
    let t = performance.now()
    await backend.open(logId, createHasher('sha256'))
    const files = createFileAuditBackend({ dir: fileDir, now: Date.now, index: false })
    let batch: LogEntry[] = []
    let segment = 1
    outer: for (const info of await files.segments(logId)) {
      for await (const entry of files.segmentEntries(logId, info.segment)) {
        if (entry.seq >= records) break outer
        if (entry.segment !== segment) {
          await backend.append(batch)
          batch = []
          segment = entry.segment
          await backend.startSegment(segment, entry.seq, Date.now())
        }
        batch.push(entry)
        if (batch.length >= APPEND_ENTRIES) {
          await backend.append(batch)
          batch = []
        }
      }
    }
    await backend.append(batch)
    const writeSeconds = (performance.now() - t) / 1000
    log(`  stored in ${writeSeconds.toFixed(1)} s`)
    t = performance.now()
    await admin.query(`ANALYZE ${SCHEMA}.entries`)
    const analyzeSeconds = (performance.now() - t) / 1000
    const queries = await measureQueries(() => backend, kinds)
    const { rows } = await admin.query<{ bytes: string }>(`SELECT pg_total_relation_size('${SCHEMA}.entries') AS bytes`)
    await backend.close()
    return { writeSeconds, analyzeSeconds, queries, bytes: Number(rows[0]?.bytes ?? 0) }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {})
    await admin.end()
  }
}
