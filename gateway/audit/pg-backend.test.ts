import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Config } from '../config/settings.js'
import { type AuditLog, type AuditLogOptions, openAuditLog } from './audit-log.js'
import type { AuditBackend } from './backend.js'
import { type AuditSigningKey, loadOrCreateAuditSigningKey } from './checkpoint.js'
import { adminRecord, exchangeRecord } from './conformance/records.js'
import { type Tampering, testAuditBackend } from './conformance/suite.js'
import type { LogEntry } from './entry.js'
import { compareEntries } from './filter.js'
import { createPgAuditBackend } from './pg-backend.js'
import type { AuditRecord } from './record.js'
import { AuditUnavailableError } from './store.js'
import { verifyAuditLogs } from './verify.js'

const PG_URL = process.env.QIAO_TEST_AUDIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let schemas = 0
const freshSchema = () => `qiao_audit_t_${process.pid}_${++schemas}`

async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

/** Row-level tampering of the stored log, as someone with write access to the database could (mirrors the file test). */
async function tamperRows(schema: string, logId: string, kind: Tampering): Promise<void> {
  const t = `"${schema}".entries`
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query('BEGIN')
    switch (kind) {
      case 'edit':
        await client.query(
          `UPDATE ${t} SET record = jsonb_set(record, '{requester,dept}', '"housing"'), dept = 'housing'
           WHERE log_id = $1 AND seq = 10`,
          [logId],
        )
        break
      case 'delete':
        await client.query(`DELETE FROM ${t} WHERE log_id = $1 AND seq = 10`, [logId])
        break
      case 'insert':
        // Make room at seq 10 (through an offset: the primary key is checked row by row), then put a verbatim copy
        // of the row of seq 20 there; the copy repeats a record id, so the attacker drops the unique index first.
        await client.query(`DROP INDEX "${schema}".entries_record_id`)
        await client.query(`UPDATE ${t} SET seq = seq + 1000000 WHERE log_id = $1 AND seq >= 10`, [logId])
        await client.query(`UPDATE ${t} SET seq = seq - 1000000 + 1 WHERE log_id = $1 AND seq >= 1000000`, [logId])
        await client.query(
          `INSERT INTO ${t} SELECT log_id, 10, segment, idx, logged_at, logged_at_iso, record_id, record, chain, kind,
             record_time, dept, sub, matter, case_id, resource, decision, subjects
           FROM ${t} WHERE log_id = $1 AND seq = 21`,
          [logId],
        )
        break
      case 'swap':
        // The rows at seq 10 and 11 exchange places, each keeping its own stored contents.
        await client.query(`UPDATE ${t} SET seq = -1 WHERE log_id = $1 AND seq = 10`, [logId])
        await client.query(`UPDATE ${t} SET seq = 10 WHERE log_id = $1 AND seq = 11`, [logId])
        await client.query(`UPDATE ${t} SET seq = 11 WHERE log_id = $1 AND seq = -1`, [logId])
        break
      case 'truncate':
        await client.query(`DELETE FROM ${t} WHERE log_id = $1 AND seq >= 45`, [logId])
        break
    }
    await client.query('COMMIT')
  } finally {
    await client.end()
  }
}

/** Schemas used, dropped together once the file is done (one DROP instead of one per test). */
const usedSchemas: string[] = []
afterAll(async () => {
  if (usedSchemas.length > 0) await sql(`DROP SCHEMA IF EXISTS ${usedSchemas.map((s) => `"${s}"`).join(', ')} CASCADE`)
})

/** A fresh schema; every backend made over it is closed at cleanup, and the schema dropped after the last test. */
function pgStorage(schema = freshSchema()) {
  usedSchemas.push(schema)
  const backends: AuditBackend[] = []
  return {
    schema,
    backend(): AuditBackend {
      const backend = createPgAuditBackend({ connectionString: PG_URL, schema, now: () => Date.now() })
      backends.push(backend)
      return backend
    },
    tamper: (logId: string, kind: Tampering) => tamperRows(schema, logId, kind),
    async cleanup() {
      for (const b of backends) await b.close().catch(() => {})
    },
  }
}

testAuditBackend({
  name: 'postgresql',
  segmentUnit: 'entries',
  storage: async () => pgStorage(),
})

describe('PostgreSQL audit backend', () => {
  let storage: ReturnType<typeof pgStorage>
  let key: AuditSigningKey
  let logs: AuditLog[] = []
  let now = Date.parse('2026-11-26T02:00:00Z')

  beforeEach(async () => {
    storage = pgStorage()
    key = await loadOrCreateAuditSigningKey(join(await mkdtemp(join(tmpdir(), 'qiao-auditkey-')), 'key.jwk.json'))
    logs = []
  })
  afterEach(async () => {
    for (const log of logs) await log.close().catch(() => {})
    await storage.cleanup()
  })

  async function open(
    logId = 'gw-1',
    backend = storage.backend(),
    overrides: Partial<AuditLogOptions> = {},
  ): Promise<AuditLog> {
    const log = await openAuditLog({
      backend,
      logId,
      hashAlgorithm: 'sha256',
      signingKey: key,
      clock: { now: () => now++ },
      checkpointEvery: 25,
      checkpointIntervalMs: 60_000,
      segmentMaxSize: 40,
      segmentMaxAgeMs: 24 * 3_600_000,
      ...overrides,
    })
    logs.push(log)
    return log
  }

  async function all(backend: AuditBackend): Promise<LogEntry[]> {
    const out: LogEntry[] = []
    for await (const e of backend.query({})) out.push(e)
    return out
  }

  it('refuses a second instance with the same log id while the first has it open', async () => {
    const first = await open('gw-1')
    await first.append(exchangeRecord(0))
    const second = storage.backend()
    await expect(open('gw-1', second)).rejects.toThrow('audit log gw-1 is already open by another gateway instance')
    // Another log id in the same schema is fine, and so is the same one once the first closed.
    const other = await open('gw-2')
    await other.close()
    await first.close()
    const again = await open('gw-1', second)
    await again.append(exchangeRecord(1))
    await again.close()
    const result = await verifyAuditLogs(storage.backend(), { keys: await again.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs.map((l) => [l.logId, l.records])).toEqual([
      ['gw-1', 2],
      ['gw-2', 0],
    ])
  })

  it('keeps two instances’ logs apart in one schema; both verify and queries span both in stable order', async () => {
    const a = await open('gw-a')
    const b = await open('gw-b')
    await Promise.all([
      ...Array.from({ length: 100 }, (_, i) => a.append(exchangeRecord(i))),
      ...Array.from({ length: 100 }, (_, i) => b.append(exchangeRecord(1000 + i))),
      a.append(adminRecord(1)),
      b.append(adminRecord(2)),
    ])
    await a.close()
    await b.close()
    expect(a.stats.segment).toBeGreaterThan(1) // rotated at 40 entries
    const result = await verifyAuditLogs(storage.backend(), { keys: await a.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs.map((l) => [l.logId, l.records])).toEqual([
      ['gw-a', 101],
      ['gw-b', 101],
    ])
    const entries = await all(storage.backend())
    expect(entries).toHaveLength(202)
    expect(new Set(entries.map((e) => e.logId))).toEqual(new Set(['gw-a', 'gw-b']))
    expect([...entries].sort(compareEntries)).toEqual(entries)
    // Pages after a cursor pick up exactly where the previous page stopped, across logs.
    const middle = entries[77] as LogEntry
    const rest: LogEntry[] = []
    for await (const e of storage
      .backend()
      .query({}, { loggedAt: middle.loggedAt, logId: middle.logId, seq: middle.seq }))
      rest.push(e)
    expect(rest).toEqual(entries.slice(78))
    const onlyB: LogEntry[] = []
    for await (const e of storage.backend().query({ logId: 'gw-b', kind: 'admin' })) onlyB.push(e)
    expect(onlyB.map((e) => e.record.id)).toEqual(['adm-2'])
  })

  it('streams more than one page (1000 rows), with many entries sharing one loggedAt', async () => {
    const big = { segmentMaxSize: 1_000_000, checkpointEvery: 1000 }
    const log = await open('gw-1', storage.backend(), big)
    const n = 1200
    await Promise.all(Array.from({ length: n }, (_, i) => log.append(exchangeRecord(i))))
    expect(log.stats.syncs).toBeLessThan(n / 10) // big batches: one loggedAt each
    const backend = storage.backend()
    const everything = await all(backend)
    expect(everything.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i))
    let drc = 0
    for await (const e of backend.query({ dept: 'drc' })) if (e.record.kind === 'exchange') drc++
    expect(drc).toBe(Math.ceil(n / 3))
    // After a cursor, across a page boundary again.
    const from = everything[100] as LogEntry
    const tail: number[] = []
    for await (const e of backend.query({}, from)) tail.push(e.seq)
    expect(tail).toEqual(Array.from({ length: n - 101 }, (_, i) => 101 + i))
    // Reopening reads the open segment back page by page.
    await log.close()
    expect(await backend.segments('gw-1')).toHaveLength(1)
    const reopened = await open('gw-1', storage.backend(), big)
    await reopened.append(exchangeRecord(n))
    await reopened.close()
    const result = await verifyAuditLogs(storage.backend(), { keys: await reopened.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(n + 1)
  })

  it('reads back exactly the records appended: Chinese text, escapes and numbers, and their leaves still verify', async () => {
    const records: AuditRecord[] = [
      exchangeRecord(0, {
        requester: { dept: '住房和城乡建设局', sub: '王小明' },
        reason: '引号"反斜杠\\换行\n制表\t\u2028 emoji 😀 ünïcødé',
        matter: '建设工程规划许可证核发',
        totalMs: 0.1 + 0.2,
        upstreamMs: 1e-7,
        recordCount: Number.MAX_SAFE_INTEGER,
        status: 200,
        subjects: ['主体-1', 'subject-"2"'],
        fields: ['许可证号', 'permitNo'],
      }),
      {
        ...adminRecord(7),
        details: {
          big: 1e21,
          tiny: 5e-324,
          max: Number.MAX_VALUE,
          neg: -12.5,
          exp: 1.5e-10,
          zero: 0,
          no: null,
          名称: '值',
        },
      },
      exchangeRecord(2),
    ]
    const log = await open()
    for (const r of records) await log.append(r)
    await log.close()
    const backend = storage.backend()
    const back = await all(backend)
    expect(back.map((e) => e.record)).toEqual(records)
    expect(await backend.findRecord(records[0]?.id as string)).toEqual(back[0])
    expect((await verifyAuditLogs(backend, { keys: await log.publicKeys() })).problems).toEqual([])
    // Reopening recomputes every leaf and the chain from the stored records.
    const reopened = await open()
    await reopened.append(exchangeRecord(3))
    // The extracted filter columns match too.
    const drc: LogEntry[] = []
    for await (const e of backend.query({ dept: '住房和城乡建设局', subject: '主体-1' })) drc.push(e)
    expect(drc.map((e) => e.record.id)).toEqual([records[0]?.id])
  })

  it('sends appended values only as parameters, never inside the SQL text', async () => {
    const spy = vi.spyOn(pg.Client.prototype, 'query')
    const log = await open()
    const marker = 'Robert"); DROP TABLE entries;--'
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        log.append(
          exchangeRecord(i, { requester: { dept: `机密部门-${i}`, sub: marker }, subjects: [`hmac-secret-${i}`] }),
        ),
      ),
    )
    await log.checkpoint()
    const texts = spy.mock.calls.map((call) => {
      const q = call[0] as unknown
      return typeof q === 'string' ? q : ((q as { text?: string }).text ?? '')
    })
    const inserts = texts.filter((t) => /INSERT INTO .*entries/s.test(t))
    expect(inserts.length).toBeGreaterThan(0)
    for (const text of texts) {
      expect(text).not.toContain('机密部门')
      expect(text).not.toContain('DROP TABLE entries')
      expect(text).not.toContain('hmac-secret')
      expect(text).not.toContain('rec-0000')
    }
    spy.mockRestore()
    const stored: LogEntry[] = []
    for await (const e of storage.backend().query({ sub: marker })) stored.push(e)
    expect(stored).toHaveLength(20)
  })

  /** Ends the database session holding a log's lock, as a server restart or a failover would. */
  const killWriter = (logId: string) =>
    sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `qiao-audit ${storage.schema}/${logId}`,
    ])

  it('takes the lock again after losing its connection and goes on when nothing changed meanwhile', async () => {
    const log = await open()
    for (let i = 0; i < 5; i++) await log.append(exchangeRecord(i))
    expect(await log.probe()).toBeUndefined()
    expect((await killWriter('gw-1')).rowCount).toBe(1)
    await new Promise((r) => setTimeout(r, 100))
    // The readiness probe reconnects by itself; appends go on over the new connection.
    expect(await log.probe()).toBeUndefined()
    for (let i = 5; i < 10; i++) await log.append(exchangeRecord(i))
    // While it holds the lock again, nobody else gets the log.
    await expect(open('gw-1')).rejects.toThrow(/already open by another gateway instance/)
    await log.close()
    const result = await verifyAuditLogs(storage.backend(), { keys: await log.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(10)
  })

  it('fails closed after losing its connection if another instance took the log meanwhile', async () => {
    const first = await open()
    await first.append(exchangeRecord(0))
    await killWriter('gw-1')
    await new Promise((r) => setTimeout(r, 100))
    const second = await open()
    await second.append(exchangeRecord(1))
    // The other instance holds it: refused, and not ready.
    await expect(first.append(exchangeRecord(2))).rejects.toBeInstanceOf(AuditUnavailableError)
    expect(await first.probe()).toMatch(/already open by another gateway instance/)
    await second.close()
    // It let go, but the log moved on without this instance: still refused, never forked.
    await expect(first.append(exchangeRecord(3))).rejects.toBeInstanceOf(AuditUnavailableError)
    expect(await first.probe()).toMatch(/changed while this instance's database connection was lost/)
    const result = await verifyAuditLogs(storage.backend(), { keys: await second.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(2)
  })

  it('fails closed on a record PostgreSQL cannot store, and the log carries on', async () => {
    const log = await open()
    await log.append(exchangeRecord(0))
    await expect(log.append(exchangeRecord(1, { reason: 'nul \u0000 byte' }))).rejects.toBeInstanceOf(
      AuditUnavailableError,
    )
    await log.append(exchangeRecord(2))
    await log.close()
    const result = await verifyAuditLogs(storage.backend(), { keys: await log.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(2)
  })

  it('refuses to open a log whose open segment was altered', async () => {
    const log = await open()
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.append(exchangeRecord(i))))
    await log.close()
    await storage.tamper('gw-1', 'edit')
    await expect(open()).rejects.toThrow(/audit log gw-1 damaged/)
    // The refused open released its lock: once the record is restored, the log opens again right away.
    await sql(`UPDATE "${storage.schema}".entries SET record = $1::jsonb WHERE log_id = 'gw-1' AND seq = 10`, [
      JSON.stringify(exchangeRecord(10)),
    ])
    const reopened = await open()
    expect(reopened.stats.segment).toBe(1)
  })

  it('starts the next segment when stopped between sealing and starting it', async () => {
    const log = await open()
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(exchangeRecord(i))))
    await log.close()
    // Simulate a stop right after the seal: sign a sealing checkpoint like the log would, without the new segment.
    const { signCheckpoint } = await import('./checkpoint.js')
    const [last] = (await storage.backend().checkpoints({ logId: 'gw-1' })).slice(-1)
    const body = { ...(last?.body as NonNullable<typeof last>['body']), sealed: true }
    const seal = await signCheckpoint(key, body)
    await sql(
      `INSERT INTO "${storage.schema}".checkpoints (log_id, segment, size, sealed, jws, body, created)
       VALUES ('gw-1', 1, $1, true, $2, $3::jsonb, now())`,
      [body.size, seal.jws, JSON.stringify(body)],
    )
    const reopened = await open()
    expect(reopened.stats.segment).toBe(2)
    await reopened.append(exchangeRecord(10))
    await reopened.close()
    const segments = await storage.backend().segments('gw-1')
    expect(segments.map((s) => [s.segment, s.firstSeq])).toEqual([
      [1, 0],
      [2, 10],
    ])
    const result = await verifyAuditLogs(storage.backend(), { keys: await reopened.publicKeys() })
    expect(result.problems).toEqual([])
    expect(result.logs[0]?.records).toBe(11)
  })

  it('is what QIAO_AUDIT_URL configures, with the schema taken from ?schema=', async () => {
    const { configuredAuditBackend } = await import('./open.js')
    const backend = await configuredAuditBackend(
      { auditUrl: `${PG_URL}?schema=${storage.schema}`, auditDir: '/nonexistent' } as Config,
      { now: () => now++ },
    )
    const log = await open('gw-url', backend)
    await log.append(exchangeRecord(0))
    await log.close()
    const { rows } = await sql(`SELECT record_id FROM "${storage.schema}".entries WHERE log_id = 'gw-url'`)
    expect(rows).toEqual([{ record_id: 'rec-000000' }])
  })

  it('creates its schema once even when instances start together, and rejects bad schema names', async () => {
    const backends = Array.from({ length: 4 }, () => storage.backend())
    const opened = await Promise.all(backends.map((b, i) => open(`gw-${i}`, b)))
    for (const log of opened) await log.append(exchangeRecord(Number(log.logId.slice(3)) * 10))
    expect(await storage.backend().logIds()).toEqual(['gw-0', 'gw-1', 'gw-2', 'gw-3'])
    expect(() => createPgAuditBackend({ connectionString: PG_URL, schema: 'Bad-Name', now: Date.now })).toThrow(
      /audit schema/,
    )
    // An empty database reads as an empty store.
    const empty = createPgAuditBackend({
      connectionString: PG_URL,
      schema: 'qiao_audit_t_never_created',
      now: Date.now,
    })
    expect(await empty.logIds()).toEqual([])
    expect(await all(empty)).toEqual([])
    expect(await empty.keys()).toEqual({ keys: [] })
    await empty.close()
  })
})
