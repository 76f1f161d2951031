import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminRecord } from '../gateway/audit/admin.js'
import { openAuditLog } from '../gateway/audit/audit-log.js'
import { loadOrCreateAuditSigningKey } from '../gateway/audit/checkpoint.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { CSV_COLUMNS, CSV_COLUMNS_ZH, UTF8_BOM } from '../gateway/audit/export.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { parseCsv } from './support/csv.js'
import { startHarness } from './support/gateway.js'
import { type CliResult, type QiaoEnv, runQiao } from './support/gateway-process.js'

/**
 * `qiao audit verify` and `qiao audit export` as an auditor runs them: real processes on a copy of a log that a
 * real gateway wrote (and closed). The untouched copy verifies; five kinds of tampering each fail with exit 1 and
 * name the first broken record.
 */

const LOG_ID = 'gw-1'
const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'

let work: string
/** The audit directory the gateway wrote: `<dir>/gw-1/segment-*.jsonl`, checkpoints, keys. */
let pristine: string
let hmacKeyFile: string
let uscc: string
let callCount = 0

/** `qiao <args>` as an auditor runs it, with a data directory of its own. */
function qiao(args: readonly string[], env: QiaoEnv = {}): Promise<CliResult> {
  return runQiao(args, { HOME: process.env.HOME, QIAO_DATA_DIR: join(work, 'data'), ...env })
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'qiao-audit-cli-'))
  // Small segments, so that the copy spans several sealed and linked segments.
  const h = await startHarness({ env: { QIAO_AUDIT_LOG_ID: LOG_ID, QIAO_AUDIT_SEGMENT_MAX_SIZE: '6KiB' } })
  try {
    const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
    // A company with nothing to do with the project queried in the other calls.
    const taken = new Set(h.sim.data.permits.filter((p) => p.XMDM === projectCode).flatMap((p) => [p.JSDWDM, p.SGDWDM]))
    uscc = h.sim.data.permits.find((p) => p.SJYXBS === '1' && !taken.has(p.JSDWDM))?.JSDWDM as string
    const drc = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    const natres = await h.token({ dept: 'natres', scope: 'QR00112001:housing.construction-permit:read' })
    for (let i = 0; i < 12; i++) {
      const res = await h.query(PERMITS, { projectCode }, { token: drc, matter: MATTER, caseId: `NJ-2026-${i}` })
      expect(res.status).toBe(200)
      await h.query(PERMITS, { projectCode }, { token: natres, matter: MATTER, caseId: `ZR-2026-${i}` }) // denied
      callCount += 2
    }
    const bySubject = await h.query(PERMITS, { ownerUscc: uscc }, { token: drc, matter: MATTER, caseId: 'SUBJ-1' })
    expect(bySubject.status).toBe(200)
    callCount++
  } finally {
    // Close first: the copy is of a log at rest, with its final checkpoint.
    await h.gateway.close()
    pristine = join(work, 'pristine')
    await cp(dirname(h.auditDir), pristine, { recursive: true })
    hmacKeyFile = join(work, 'audit-hmac.key')
    await cp(h.gateway.deps.config.auditKeyFile, hmacKeyFile)
    await h.close()
  }
  const segments = (await readdir(join(pristine, LOG_ID))).filter((f) => f.startsWith('segment-'))
  expect(segments.length).toBeGreaterThan(2)
}, 60_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

let copies = 0
async function copyOfLog(): Promise<string> {
  const dir = join(work, `copy-${++copies}`)
  await cp(pristine, dir, { recursive: true })
  return dir
}

const segmentPath = (dir: string, n: number) => join(dir, LOG_ID, `segment-${String(n).padStart(6, '0')}.jsonl`)

async function readLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean)
}

async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, lines.map((l) => `${l}\n`).join(''))
}

const output = (run: CliResult) => `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`

const entryOf = (line: string) => JSON.parse(line) as LogEntry

function firstBroken(run: CliResult): string {
  const line = run.stdout.split('\n').find((l) => l.startsWith('FIRST BROKEN: '))
  expect(line, run.stdout + run.stderr).toBeDefined()
  return line as string
}

describe('qiao audit verify', () => {
  it('an untouched log verifies: exit 0, a summary per log, a warning that keys came from the store', async ({
    expect,
  }) => {
    const run = await qiao(['audit', 'verify', '--dir', await copyOfLog()])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).toMatch(
      new RegExp(`^log ${LOG_ID}: \\d+ records in \\d+ segment\\(s\\), \\d+ signed checkpoint\\(s\\): OK$`, 'm'),
    )
    expect(run.stdout).toContain('VERIFIED')
    expect(run.stdout).not.toContain('FIRST BROKEN')
    expect(run.stderr).toMatch(/warning: .*keys stored in the log being verified/)
  }, 60_000)

  it('with pinned keys: no warning; with the wrong keys every signature fails (exit 1); --json gives the result', async ({
    expect,
  }) => {
    const dir = await copyOfLog()
    const keys = join(work, 'pinned.jwks.json')
    await cp(join(dir, 'audit-keys.jwks.json'), keys)
    const pinned = await qiao(['audit', 'verify', '--dir', dir, '--keys', keys, '--json'])
    expect(pinned.code, pinned.stderr).toBe(0)
    expect(pinned.stderr).not.toContain('warning')
    const result = JSON.parse(pinned.stdout) as { ok: boolean; logs: Array<{ logId: string; records: number }> }
    expect(result.ok).toBe(true)
    expect(result.logs).toEqual([expect.objectContaining({ logId: LOG_ID })])
    expect(result.logs[0]?.records).toBeGreaterThan(callCount)

    const other = await loadOrCreateAuditSigningKey(join(work, 'other-key.jwk.json'))
    const wrong = join(work, 'wrong.jwks.json')
    await writeFile(wrong, JSON.stringify({ keys: [other.publicJwk] }))
    const run = await qiao(['audit', 'verify', '--dir', dir, '--keys', wrong])
    expect(run.code, output(run)).toBe(1)
    expect(run.stdout, output(run)).toContain('has no valid signature')
  }, 60_000)

  it('an edited field: exit 1, the first broken record named', async () => {
    const dir = await copyOfLog()
    const path = segmentPath(dir, 1)
    const lines = await readLines(path)
    const i = lines.findIndex((l) => {
      const r = entryOf(l).record
      return r.kind === 'exchange' && r.decision === 'deny'
    })
    const entry = entryOf(lines[i] as string)
    lines[i] = JSON.stringify({ ...entry, record: { ...entry.record, decision: 'allow', reason: 'ok' } })
    await writeLines(path, lines)
    const run = await qiao(['audit', 'verify', '--dir', dir])
    expect(run.code, output(run)).toBe(1)
    const first = firstBroken(run)
    expect(first).toContain(`log ${LOG_ID} segment 1 line ${i + 1} seq ${entry.seq} record ${entry.record.id}`)
    expect(first).toContain('does not match its chain hash')
    expect(run.stdout).toContain('FAILED')
  }, 60_000)

  it('a deleted record: exit 1, the gap named at the record after it', async () => {
    const dir = await copyOfLog()
    const path = segmentPath(dir, 2)
    const lines = await readLines(path)
    const deleted = entryOf(lines[2] as string)
    const next = entryOf(lines[3] as string)
    lines.splice(2, 1)
    await writeLines(path, lines)
    const run = await qiao(['audit', 'verify', '--dir', dir])
    expect(run.code, output(run)).toBe(1)
    const first = firstBroken(run)
    expect(first).toContain(`segment 2 line 3 seq ${next.seq} record ${next.record.id}`)
    expect(first).toContain(`seq ${deleted.seq} expected here`)
  }, 60_000)

  it('an inserted record: exit 1, the forged record named', async () => {
    const dir = await copyOfLog()
    const path = segmentPath(dir, 1)
    const lines = await readLines(path)
    const model = entryOf(lines[3] as string)
    // A forgery placed to look seamless: the seq, index and chain of the record it pushes down.
    const forged = { ...model, record: { ...model.record, id: '01900000-0000-7000-8000-00000000f0f0' } }
    lines.splice(3, 0, JSON.stringify(forged))
    await writeLines(path, lines)
    const run = await qiao(['audit', 'verify', '--dir', dir])
    expect(run.code, output(run)).toBe(1)
    const first = firstBroken(run)
    expect(first).toContain(`segment 1 line 4 seq ${model.seq} record ${forged.record.id}`)
    expect(run.stdout).toContain(`record seq ${model.seq} appears again`)
  }, 60_000)

  it('two records swapped: exit 1, the first out-of-place record named', async () => {
    const dir = await copyOfLog()
    const path = segmentPath(dir, 2)
    const lines = await readLines(path)
    const [a, b] = [lines[1] as string, lines[2] as string]
    lines[1] = b
    lines[2] = a
    await writeLines(path, lines)
    const run = await qiao(['audit', 'verify', '--dir', dir])
    expect(run.code, output(run)).toBe(1)
    const moved = entryOf(b)
    const first = firstBroken(run)
    expect(first).toContain(`segment 2 line 2 seq ${moved.seq} record ${moved.record.id}`)
    expect(first).toContain(`seq ${entryOf(a).seq} expected here`)
  }, 60_000)

  it('a truncated tail: exit 1, the first missing record named by seq', async () => {
    const dir = await copyOfLog()
    const segments = (await readdir(join(dir, LOG_ID))).filter((f) => f.startsWith('segment-')).sort()
    const path = join(dir, LOG_ID, segments.at(-1) as string)
    const lines = await readLines(path)
    const n = Math.min(2, lines.length)
    const cut = entryOf(lines[lines.length - n] as string)
    await writeLines(path, lines.slice(0, -n))
    const run = await qiao(['audit', 'verify', '--dir', dir])
    expect(run.code, output(run)).toBe(1)
    const first = firstBroken(run)
    expect(first).toContain(`seq ${cut.seq}`)
    expect(first).toContain('missing (truncated)')
  }, 60_000)

  it('usage and I/O errors exit 2', async () => {
    const dir = await copyOfLog()
    const empty = await mkdtemp(join(work, 'empty-'))
    const runs: CliResult[] = []
    // One at a time: each CLI process costs a core for a couple of seconds, and other test files run beside this one.
    for (const args of [
      ['--dir', join(work, 'nowhere')],
      ['--dir', dir, '--url', 'postgres://x@127.0.0.1/q'],
      ['--dir', dir, '--keys', join(work, 'no-keys.json')],
      ['--dir', dir, '--no-such-flag'],
      ['--dir', empty],
    ]) {
      runs.push(await qiao(['audit', 'verify', ...args]))
    }
    expect(
      runs.map((r) => r.code),
      runs.map(output).join('\n'),
    ).toEqual([2, 2, 2, 2, 2])
    expect(runs[0]?.stderr).toContain('no such audit directory')
    expect(runs[1]?.stderr).toContain('give --dir or --url, not both')
    expect(runs[2]?.stderr).toContain('--keys')
    expect(runs[4]?.stderr).toContain('no audit logs found')
  }, 60_000)

  it('reports progress every 10,000 records on large logs', async () => {
    const dir = join(work, 'large')
    const log = await openAuditLog({
      backend: createFileAuditBackend({ dir, now: Date.now }),
      logId: 'big-1',
      hashAlgorithm: 'sha256',
      signingKey: await loadOrCreateAuditSigningKey(join(work, 'large-signing.jwk.json')),
      clock: { now: Date.now },
      checkpointEvery: 5000,
      checkpointIntervalMs: 60_000,
      segmentMaxSize: 64 * 1024 * 1024,
      segmentMaxAgeMs: 86_400_000,
    })
    const now = Date.now()
    await Promise.all(Array.from({ length: 20_500 }, () => log.append(adminRecord('gateway.start', now, {}))))
    await log.close()
    const run = await qiao(['audit', 'verify', '--dir', dir])
    expect(run.code, run.stdout).toBe(0)
    expect(run.stderr).toContain('verified 10000 records…')
    expect(run.stderr).toContain('verified 20000 records…')
    expect(run.stdout).toContain('log big-1: 20500 records')
  }, 60_000)
})

describe('qiao audit export', () => {
  it('streams the log as CSV (BOM, header, one row per record) and as JSON lines, with filters', async () => {
    const dir = await copyOfLog()
    const out = join(work, 'export.csv')
    const csv = await qiao(['audit', 'export', '--dir', dir, '--format', 'csv'])
    const jsonl = await qiao(['audit', 'export', '--dir', dir])
    const denied = await qiao([
      'audit',
      'export',
      '--dir',
      dir,
      '--format',
      'csv',
      '--dept',
      'natres',
      '--decision',
      'deny',
    ])
    const toFile = await qiao(['audit', 'export', '--dir', dir, '--format', 'csv', '--case', 'NJ-2026-3', '--out', out])
    const [english, noCatalog, headersOnJsonl] = await Promise.all([
      qiao(['audit', 'export', '--dir', dir, '--format', 'csv', '--headers', 'en']),
      qiao(['audit', 'export', '--dir', dir, '--format', 'csv'], { QIAO_CATALOG: join(work, 'no-catalog.yaml') }),
      qiao(['audit', 'export', '--dir', dir, '--headers', 'en']),
    ])
    const badFormat = await qiao(['audit', 'export', '--dir', dir, '--format', 'pdf'])
    const badFrom = await qiao(['audit', 'export', '--dir', dir, '--from', 'yesterday'])
    expect(csv.code, csv.stderr).toBe(0)
    expect(csv.stdout.startsWith(UTF8_BOM)).toBe(true)
    const rows = parseCsv(csv.stdout.slice(1))
    expect(rows[0]).toEqual([...CSV_COLUMNS_ZH])
    const entries = jsonl.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogEntry)
    expect(rows.length - 1).toBe(entries.length)
    expect(entries.filter((e) => e.record.kind === 'exchange')).toHaveLength(callCount)
    expect(rows.slice(1).map((r) => r[CSV_COLUMNS.indexOf('id')])).toEqual(entries.map((e) => e.record.id))
    expect(csv.stderr).toContain(`exported ${entries.length} record(s)`)
    // Names from ./catalog.yaml beside the codes; none when there is no catalog, and the export still runs.
    const named = (row: readonly string[] | undefined) =>
      ['deptName', 'matterName', 'resourceName', 'providerName'].map((n) => row?.[CSV_COLUMNS.indexOf(n)])
    const natres = rows.find((r) => r[CSV_COLUMNS.indexOf('dept')] === 'natres')
    expect(named(natres)).toEqual([
      '南京市规划和自然资源局',
      '投资项目在线审批监管（施工许可、图审和竣工验收信息回传）',
      '建筑工程施工许可信息',
      '南京市住房和城乡建设局',
    ])
    expect(english.code, english.stderr).toBe(0)
    const englishRows = parseCsv(english.stdout.slice(1))
    expect(englishRows[0]).toEqual([...CSV_COLUMNS])
    expect(englishRows.slice(1)).toEqual(rows.slice(1))
    expect(noCatalog.code, noCatalog.stderr).toBe(0)
    expect(noCatalog.stderr).toContain('the name columns are empty')
    const unnamed = parseCsv(noCatalog.stdout.slice(1))
    expect(unnamed).toHaveLength(rows.length)
    expect(named(unnamed.find((r) => r[CSV_COLUMNS.indexOf('dept')] === 'natres'))).toEqual(['', '', '', ''])
    expect(headersOnJsonl.code).toBe(2)
    expect(headersOnJsonl.stderr).toContain('--headers')

    expect(denied.stdout.slice(1).split('\r\n').filter(Boolean)).toHaveLength(1 + 12)

    expect(toFile.code, output(toFile)).toBe(0)
    expect(toFile.stdout).toBe('')
    const fileRows = (await readFile(out, 'utf8')).slice(1).split('\r\n').filter(Boolean)
    expect(fileRows).toHaveLength(2)
    expect(fileRows[1]).toContain(',NJ-2026-3,')

    expect(badFormat.code).toBe(2)
    expect(badFrom.code).toBe(2)
    expect(badFrom.stderr).toContain('--from')
  }, 60_000)

  it('finds the calls about one company with --subject and the audit HMAC key', async () => {
    const dir = await copyOfLog()
    const run = await qiao(['audit', 'export', '--dir', dir, '--subject', uscc, '--key-file', hmacKeyFile])
    expect(run.code, run.stderr).toBe(0)
    const entries = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogEntry)
    expect(entries.map((e) => e.record.kind === 'exchange' && e.record.case)).toEqual(['SUBJ-1'])
    expect(run.stdout).not.toContain(uscc)
    const noKey = await qiao(['audit', 'export', '--dir', dir, '--subject', uscc, '--key-file', join(work, 'none')])
    expect(noKey.code, output(noKey)).toBe(2)
  }, 60_000)
})

describe('on the PostgreSQL store (--url)', () => {
  const base = process.env.QIAO_TEST_AUDIT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const schema = `qiao_audit_cli_${process.pid}`
  const url = new URL(base)
  url.searchParams.set('schema', schema)

  afterAll(async () => {
    const client = new pg.Client({ connectionString: base })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end())
  })

  it('verifies a log a gateway wrote to PostgreSQL, names an edited row, and exports it', async () => {
    const h = await startHarness({ env: { QIAO_AUDIT_URL: url.toString(), QIAO_AUDIT_LOG_ID: 'pg-gw-1' } })
    let denied: string
    try {
      const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
      const drc = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
      expect((await h.query(PERMITS, { projectCode }, { token: drc, matter: MATTER, caseId: 'PG-1' })).status).toBe(200)
      const refused = await h.query(PERMITS, { projectCode }, { token: drc, matter: 'XK00208001', caseId: 'PG-2' })
      expect(refused.status).toBe(403)
      denied = refused.headers['qiao-audit-id'] as string
    } finally {
      await h.close()
    }
    const ok = await qiao(['audit', 'verify', '--url', url.toString()])
    expect(ok.code, output(ok)).toBe(0)
    expect(ok.stdout).toMatch(/^log pg-gw-1: \d+ records in 1 segment\(s\), \d+ signed checkpoint\(s\): OK$/m)

    const csv = await qiao(['audit', 'export', '--url', url.toString(), '--format', 'csv', '--kind', 'exchange'])
    expect(csv.code, output(csv)).toBe(0)
    expect(csv.stdout.slice(1).split('\r\n').filter(Boolean)).toHaveLength(3)

    // Someone with write access to the database turns the refusal into an allowed call.
    const client = new pg.Client({ connectionString: base })
    await client.connect()
    await client
      .query(
        `UPDATE "${schema}".entries SET record = jsonb_set(record, '{decision}', '"allow"'), decision = 'allow'
         WHERE record_id = $1`,
        [denied],
      )
      .finally(() => client.end())
    const run = await qiao(['audit', 'verify', '--url', url.toString()])
    expect(run.code, output(run)).toBe(1)
    expect(firstBroken(run)).toContain(`record ${denied} — record content does not match its chain hash`)
  }, 90_000)
})
