import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSample as drcSample } from '../connectors/drc-tzxm/simulator/index.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { type Harness, type HttpResult, LOCAL_PG, startHarness } from './support/gateway.js'
import { type CliResult, runQiao } from './support/gateway-process.js'

/**
 * Issue 17, part 1: what a read released is provable later. The answer carries `Content-Digest` (RFC 9530) and
 * `Qiao-Request-Digest`; its audit record the keyed request and release digests; with `releaseReceipt: true` a
 * signed receipt. `qiao audit prove-release` (a real process, offline) proves a filed body against the record of a
 * real gateway's call — on the file store and on PostgreSQL — and refuses a body with one character changed.
 */

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const REVIEWS = 'housing.drawing-review'
const FEEDBACK = 'drc.permit-feedback'

/** The demo catalog with signed release receipts on the construction permits only. */
const withReceipts = (text: string) => {
  const at = text.indexOf(`  - id: ${PERMITS}\n`)
  const timeout = text.indexOf('    timeoutMs: 5000\n', at)
  return `${text.slice(0, timeout)}    releaseReceipt: true\n${text.slice(timeout)}`
}

let work: string
let files = 0
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'qiao-release-'))
})
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

async function file(content: string | Uint8Array): Promise<string> {
  const path = join(work, `filed-${++files}`)
  await writeFile(path, content)
  return path
}

/** `qiao audit prove-release` as an auditor runs it, with nothing of the gateway's environment but its store and key. */
function prove(store: string[], keyFile: string, auditId: string, extra: string[]): Promise<CliResult> {
  return runQiao(['audit', 'prove-release', auditId, ...store, '--key-file', keyFile, ...extra], {
    HOME: process.env.HOME,
    QIAO_DATA_DIR: join(work, 'auditor'),
  })
}

const sha256 = (text: string) => `sha-256=:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('base64')}:`

/** The body with one character of one released value changed (the same length, still valid JSON). */
function oneCharacterChanged(body: string, value: string): string {
  const at = body.indexOf(value)
  expect(at).toBeGreaterThan(-1)
  const changed = value.endsWith('1') ? `${value.slice(0, -1)}2` : `${value.slice(0, -1)}1`
  return `${body.slice(0, at)}${changed}${body.slice(at + value.length)}`
}

async function recordOf(h: Harness, res: HttpResult): Promise<ExchangeAuditRecord> {
  const id = res.headers['qiao-audit-id']
  const record = (await h.auditRecords()).find((r) => r.id === id)
  expect(record).toBeDefined()
  return record as ExchangeAuditRecord
}

describe('release evidence on the file audit store', () => {
  let h: Harness
  let store: string[]
  let keyFile: string
  const answers: Record<'permit' | 'review' | 'denied' | 'write', HttpResult> = {} as never
  let permitNo: string
  let keys: JSONWebKeySet

  beforeAll(async () => {
    h = await startHarness({ catalog: withReceipts })
    const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read ${MATTER}:${REVIEWS}:read` })
    answers.permit = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: 'NJ-2026-000123' })
    answers.review = await h.query(REVIEWS, { projectCode }, { token, matter: MATTER, caseId: 'NJ-2026-000124' })
    const natres = await h.token({ dept: 'natres', scope: `QR00112001:${PERMITS}:read` })
    answers.denied = await h.query(PERMITS, { projectCode }, { token: natres, matter: MATTER, caseId: 'ZR-1' })
    const writer = await h.token({ dept: 'housing', scope: `${MATTER}:${FEEDBACK}:write` })
    const feedback = drcSample().permitFeedback
    answers.write = await h.write(FEEDBACK, feedback, {
      token: writer,
      matter: MATTER,
      caseId: 'W-1',
      idempotencyKey: 'rel-w-1',
    })
    permitNo = ((answers.permit.json.data as Array<{ permitNo: string }>)[0] as { permitNo: string }).permitNo
    const auditor = await h.token({ dept: 'drc', sub: 'auditor-1', scope: 'audit:read' })
    keys = (await h.get('/v1/audit/keys', auditor)).json as unknown as JSONWebKeySet
    // The CLI reads the log at rest, as an auditor's copy would be.
    await h.gateway.close()
    store = ['--dir', h.config.auditDir]
    keyFile = h.config.auditKeyFile
  }, 60_000)
  afterAll(async () => {
    await h?.close()
  })

  it('an answered read: Content-Digest of the bytes sent, Qiao-Request-Digest and both digests in its record', async () => {
    const { permit, review } = answers
    expect([permit.status, review.status]).toEqual([200, 200])
    for (const res of [permit, review]) {
      expect(res.headers['content-digest']).toBe(sha256(res.text))
      const record = await recordOf(h, res)
      expect(res.headers['qiao-request-digest']).toBe(record.requestDigest)
      expect(record.requestDigest).toMatch(/^[0-9a-f]{64}$/)
      expect(record.releaseDigest).toMatch(/^[0-9a-f]{64}$/)
      // Keyed digests only: the log holds neither the body nor its plain hash.
      expect(JSON.stringify(record)).not.toContain(permitNo)
      expect(JSON.stringify(record)).not.toContain(res.headers['content-digest']?.slice(9, -1))
    }
    const [a, b] = [await recordOf(h, permit), await recordOf(h, review)]
    expect(a.requestDigest).not.toBe(b.requestDigest)
    expect(a.releaseDigest).not.toBe(b.releaseDigest)
  })

  it('with releaseReceipt: a receipt that verifies with the published key and binds the content digest', async () => {
    const { permit, review } = answers
    expect(review.headers['qiao-release-receipt']).toBeUndefined()
    const jws = permit.headers['qiao-release-receipt'] as string
    // Checked with jose and the published JWKS alone, not with the gateway's code.
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(keys))
    expect(protectedHeader.typ).toBe('qiao-release-receipt+jws')
    const meta = permit.json.meta as { auditId: string; retrievedAt: string }
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      auditId: meta.auditId,
      case: 'NJ-2026-000123',
      contentDigest: sha256(permit.text),
      matter: MATTER,
      requestDigest: (await recordOf(h, permit)).requestDigest,
      resource: PERMITS,
      time: meta.retrievedAt,
    })
  })

  it('prove-release: the released body verifies, with and without its receipt', async () => {
    const { permit, review } = answers
    const id = permit.headers['qiao-audit-id'] as string
    const receipt = await file(permit.headers['qiao-release-receipt'] as string)
    const withReceipt = await prove(store, keyFile, id, ['--body', await file(permit.text), '--receipt', receipt])
    expect(withReceipt.stderr).not.toMatch(/qiao audit prove-release:/)
    expect(withReceipt.code).toBe(0)
    expect(withReceipt.stdout).toMatch(/^ok {3}release digest: the body's \d+ record\(s\) are what/m)
    expect(withReceipt.stdout).toMatch(/^ok {3}receipt signature: verifies/m)
    expect(withReceipt.stdout).toMatch(/^ok {3}Content-Digest: the file's exact bytes/m)
    expect(withReceipt.stdout).toMatch(/^PROVEN: /m)
    const reviewId = review.headers['qiao-audit-id'] as string
    expect((await prove(store, keyFile, reviewId, ['--body', await file(review.text)])).code).toBe(0)
    // Filed after being re-serialised (pretty-printed): the records still prove; the exact bytes no longer do.
    const pretty = await file(JSON.stringify(JSON.parse(permit.text), null, 2))
    expect((await prove(store, keyFile, id, ['--body', pretty])).code).toBe(0)
    const prettyWithReceipt = await prove(store, keyFile, id, ['--body', pretty, '--receipt', receipt])
    expect(prettyWithReceipt.code).toBe(1)
    expect(prettyWithReceipt.stdout).toMatch(/^FAIL Content-Digest: the file's bytes .* are not the body/m)
  })

  it('prove-release: one changed character is not proven, nor another call’s body, nor a forged receipt', async () => {
    const { permit, review } = answers
    const id = permit.headers['qiao-audit-id'] as string
    const edited = await prove(store, keyFile, id, ['--body', await file(oneCharacterChanged(permit.text, permitNo))])
    expect(edited.code).toBe(1)
    expect(edited.stdout).toMatch(/^FAIL release digest: the body's data differs/m)
    expect(edited.stdout).toMatch(/^NOT PROVEN: /m)
    const other = await prove(store, keyFile, id, ['--body', await file(review.text)])
    expect(other.code).toBe(1)
    expect(other.stdout).toContain(`the body is the answer of call ${review.headers['qiao-audit-id']}, not of ${id}`)
    const [header, payload, signature] = (permit.headers['qiao-release-receipt'] as string).split('.')
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString())
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, case: 'NJ-2026-999999' })).toString('base64url')
    const forged = await file(`${header}.${forgedPayload}.${signature}`)
    const refused = await prove(store, keyFile, id, ['--body', await file(permit.text), '--receipt', forged])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/^FAIL receipt signature: .*does not verify/m)
    const wrongKey = await file(new Uint8Array(32).fill(1))
    expect((await prove(store, wrongKey, id, ['--body', await file(permit.text)])).code).toBe(1)
  })

  it('a refused call and a write have no release digest, and prove-release says so', async () => {
    const { denied, write } = answers
    expect(denied.status).toBe(403)
    expect(write.status).toBe(201)
    for (const res of [denied, write]) {
      expect(res.headers['content-digest']).toBeUndefined()
      expect(res.headers['qiao-release-receipt']).toBeUndefined()
      expect(await recordOf(h, res)).not.toHaveProperty('releaseDigest')
    }
    // The write's request was read in full: its record binds it; the denied call never got that far.
    expect((await recordOf(h, write)).requestDigest).toMatch(/^[0-9a-f]{64}$/)
    expect(await recordOf(h, denied)).not.toHaveProperty('requestDigest')
    const result = await prove(store, keyFile, denied.headers['qiao-audit-id'] as string, [
      '--body',
      await file(denied.text),
    ])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/released no records \(read answered 403 [a-z-]+\): it has no release digest/)
    const unknown = await prove(store, keyFile, 'no-such-call', ['--body', await file(answers.permit.text)])
    expect(unknown.code).toBe(1)
    expect(unknown.stdout).toContain('no exchange record no-such-call')
    const missing = await prove(store, keyFile, 'x', ['--body', join(work, 'nothing-here')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--body .*nothing-here: ENOENT/)
  })
})

describe('release evidence on the PostgreSQL audit store', () => {
  const schema = `qiao_release_e2e_${process.pid}`
  let h: Harness | undefined
  afterAll(async () => {
    await h?.close().catch(() => {})
    const client = new pg.Client({ connectionString: LOCAL_PG })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
    await client.end()
  })

  it('the record keeps both digests; prove-release --url proves the body and refuses an edited one', async () => {
    const url = `${LOCAL_PG}?schema=${schema}`
    h = await startHarness({ catalog: withReceipts, env: { QIAO_AUDIT_URL: url, QIAO_AUDIT_LOG_ID: 'gw-rel' } })
    const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
    const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: 'PG-1' })
    expect(res.status).toBe(200)
    expect(res.headers['content-digest']).toBe(sha256(res.text))
    const id = res.headers['qiao-audit-id'] as string
    const permitNo = ((res.json.data as Array<{ permitNo: string }>)[0] as { permitNo: string }).permitNo
    await h.gateway.close()

    const client = new pg.Client({ connectionString: LOCAL_PG })
    await client.connect()
    const stored = await client.query(
      `SELECT record FROM ${client.escapeIdentifier(schema)}.entries WHERE record_id = $1`,
      [id],
    )
    await client.end()
    expect(stored.rows[0]?.record.requestDigest).toBe(res.headers['qiao-request-digest'])
    expect(stored.rows[0]?.record.releaseDigest).toMatch(/^[0-9a-f]{64}$/)

    const store = ['--url', url]
    const keyFile = h.config.auditKeyFile
    const receipt = await file(res.headers['qiao-release-receipt'] as string)
    const proven = await prove(store, keyFile, id, ['--body', await file(res.text), '--receipt', receipt])
    expect(proven.stderr).not.toMatch(/qiao audit prove-release:/)
    expect(proven.code).toBe(0)
    expect(proven.stdout).toMatch(/^PROVEN: /m)
    const edited = await prove(store, keyFile, id, ['--body', await file(oneCharacterChanged(res.text, permitNo))])
    expect(edited.code).toBe(1)
    expect(edited.stdout).toMatch(/^FAIL release digest/m)
  }, 60_000)
})
