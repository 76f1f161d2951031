import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type AuditLog, type AuditLogOptions, openAuditLog } from '../audit-log.js'
import type { AuditBackend, AuditCursor, AuditFilter } from '../backend.js'
import { type AuditSigningKey, loadOrCreateAuditSigningKey, type SignedCheckpoint } from '../checkpoint.js'
import type { LogEntry } from '../entry.js'
import { createHasher, verifyInclusion } from '../merkle.js'
import type { AdminAuditRecord, ExchangeAuditRecord } from '../record.js'
import { checkpointImprint } from '../tsa/token.js'
import { verifyAuditLogs } from '../verify.js'
import { expectBundleFilter } from './bundles.js'
import { adminRecord, exchangeRecord } from './records.js'

/**
 * One suite for every audit backend (file, PostgreSQL): the log must keep every record durably and in order,
 * group its commits, checkpoint and sign, prove inclusion, survive a restart, rotate and link segments, answer
 * the auditor's filters with stable cursor pages, and — through `qiao audit verify` — expose every kind of
 * tampering with its storage.
 */
export type Tampering = 'edit' | 'delete' | 'insert' | 'swap' | 'truncate'

export interface BackendStorage {
  /** A backend over this storage (a new object each time, as after a restart). */
  backend(): AuditBackend
  /** Damages the stored log the way an attacker with write access would. */
  tamper(logId: string, kind: Tampering): Promise<void>
  /** Leaves a torn, half-written last record (file-like backends only). */
  tear?(logId: string): Promise<void>
  cleanup(): Promise<void>
}

export interface AuditBackendSuiteOptions {
  readonly name: string
  readonly storage: () => Promise<BackendStorage>
  /** Unit of segmentMaxSize for this backend: bytes or entries. */
  readonly segmentUnit: 'bytes' | 'entries'
}

export function testAuditBackend(suite: AuditBackendSuiteOptions): void {
  describe(`audit backend conformance: ${suite.name}`, () => {
    let storage: BackendStorage
    let key: AuditSigningKey
    let logs: AuditLog[] = []
    let now = Date.parse('2026-11-26T02:00:00Z')

    beforeEach(async () => {
      storage = await suite.storage()
      const { mkdtemp } = await import('node:fs/promises')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      key = await loadOrCreateAuditSigningKey(join(await mkdtemp(join(tmpdir(), 'qiao-auditkey-')), 'key.jwk.json'))
      logs = []
    })
    afterEach(async () => {
      for (const log of logs) await log.close().catch(() => {})
      await storage.cleanup()
    })

    async function open(overrides: Partial<AuditLogOptions> = {}): Promise<AuditLog> {
      const log = await openAuditLog({
        backend: storage.backend(),
        logId: 'gw-1',
        hashAlgorithm: 'sha256',
        signingKey: key,
        clock: { now: () => now++ },
        checkpointEvery: 50,
        checkpointIntervalMs: 60_000,
        segmentMaxSize: suite.segmentUnit === 'bytes' ? 64 * 1024 * 1024 : 1_000_000,
        segmentMaxAgeMs: 24 * 3_600_000,
        ...overrides,
      })
      logs.push(log)
      return log
    }

    async function all(log: AuditLog, filter: AuditFilter = {}, after?: AuditCursor): Promise<LogEntry[]> {
      const out: LogEntry[] = []
      for await (const e of log.query(filter, after)) out.push(e)
      return out
    }

    const verify = async (log: AuditLog) => verifyAuditLogs(storage.backend(), { keys: await log.publicKeys() })

    it('keeps every record, in order, and verifies', async () => {
      const log = await open()
      for (let i = 0; i < 120; i++) await log.append(exchangeRecord(i))
      await log.append(adminRecord(1))
      await log.close()
      const entries = await all(await open())
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 121 }, (_, i) => i))
      expect(entries[5]?.record).toEqual(exchangeRecord(5))
      const result = await verify(logs[0] as AuditLog)
      expect(result.problems).toEqual([])
      expect(result.ok).toBe(true)
      expect(result.logs[0]).toMatchObject({ logId: 'gw-1', records: 121, uncovered: 0 })
    })

    it('keeps release evidence (request and release digests) as written, and the log verifies', async () => {
      const log = await open()
      const released = exchangeRecord(1, { requestDigest: 'a1'.repeat(32), releaseDigest: 'b2'.repeat(32) })
      const refused = exchangeRecord(5, { requestDigest: 'c3'.repeat(32) })
      await log.append(released)
      await log.append(refused)
      await log.close()
      const backend = storage.backend()
      expect((await backend.findRecord(released.id))?.record).toEqual(released)
      expect((await backend.findRecord(refused.id))?.record).not.toHaveProperty('releaseDigest')
      expect((await all(await open(), { status: 200 })).map((e) => e.record)).toEqual([released])
      expect((await verify(log)).problems).toEqual([])
      await backend.close()
    })

    it('groups concurrent appends into shared syncs (group commit)', async () => {
      const log = await open()
      await Promise.all(Array.from({ length: 256 }, (_, i) => log.append(exchangeRecord(i))))
      expect(log.stats.appended).toBe(256)
      expect(log.stats.syncs).toBeLessThan(256 / 8)
    })

    it('signs checkpoints every N records and proves inclusion against them', async () => {
      const log = await open({ checkpointEvery: 10 })
      for (let i = 0; i < 35; i++) await log.append(exchangeRecord(i))
      const checkpoints = await log.checkpoints({ logId: 'gw-1' })
      expect(checkpoints.map((c) => c.body.size)).toEqual([10, 20, 30])
      const proof = await log.proof('rec-000012')
      expect(proof).toBeDefined()
      if (!proof) return
      expect(proof.treeSize).toBe(20) // the first checkpoint that covers it
      const hasher = createHasher('sha256')
      const { leafInput } = await import('../entry.js')
      const leaf = hasher.leaf(leafInput(proof.entry))
      const root = Buffer.from(proof.checkpoint.body.rootHash, 'hex')
      expect(
        verifyInclusion(
          hasher,
          proof.leafIndex,
          proof.treeSize,
          leaf,
          proof.proof.map((h) => Buffer.from(h, 'hex')),
          root,
        ),
      ).toBe(true)
      // A record beyond every checkpoint gets one signed on demand.
      const fresh = await log.proof('rec-000034')
      expect(fresh?.treeSize).toBe(35)
      expect(await log.proof('no-such-record')).toBeUndefined()
    })

    it('keeps verifying across a key rotation', async () => {
      const log = await open({ checkpointEvery: 10 })
      for (let i = 0; i < 15; i++) await log.append(exchangeRecord(i))
      const { mkdtemp } = await import('node:fs/promises')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      const next = await loadOrCreateAuditSigningKey(join(await mkdtemp(join(tmpdir(), 'qiao-auditkey-')), 'k.json'))
      expect(await log.rotateKey(next)).toBe(key.kid)
      for (let i = 15; i < 30; i++) await log.append(exchangeRecord(i))
      await log.close()
      expect((await log.publicKeys()).keys.map((k) => k.kid)).toEqual([key.kid, next.kid])
      const result = await verify(log)
      expect(result.problems).toEqual([])
      const kids = (await log.checkpoints()).map(
        (c) => JSON.parse(Buffer.from(c.jws.split('.')[0] as string, 'base64url').toString()).kid,
      )
      expect(new Set(kids)).toEqual(new Set([key.kid, next.kid]))
    })

    it('continues the same chain after a restart', async () => {
      let log = await open()
      for (let i = 0; i < 30; i++) await log.append(exchangeRecord(i))
      await log.close()
      log = await open()
      for (let i = 30; i < 60; i++) await log.append(exchangeRecord(i))
      await log.close()
      const result = await verify(log)
      expect(result.problems).toEqual([])
      expect(result.logs[0]?.records).toBe(60)
    })

    it('rotates segments, seals and links them, and proves records in sealed segments', async () => {
      const log = await open({ segmentMaxSize: suite.segmentUnit === 'bytes' ? 8 * 1024 : 25, checkpointEvery: 10 })
      for (let i = 0; i < 100; i++) await log.append(exchangeRecord(i))
      // An append resolves once durable; a rotation it triggered may still be running. A checkpoint goes through the
      // same serial lane, so after it the segment count and the stored seals describe the same moment.
      await log.checkpoint()
      expect(log.stats.segment).toBeGreaterThan(2)
      const seals = (await log.checkpoints({ logId: 'gw-1' })).filter((c) => c.body.sealed)
      expect(seals.length).toBe(log.stats.segment - 1)
      const proof = await log.proof('rec-000003')
      expect(proof?.entry.segment).toBe(1)
      // Every segment's proofs check out: older sealed ones (tree rebuilt from the store), the last sealed one (tree
      // kept) and the open one.
      const hasher = createHasher('sha256')
      const { leafInput } = await import('../entry.js')
      const segmentsProved = new Set<number>()
      for (let i = 0; i < 100; i += 3) {
        const p = await log.proof(`rec-${String(i).padStart(6, '0')}`)
        if (!p) throw new Error(`no proof for record ${i}`)
        segmentsProved.add(p.entry.segment)
        const proofHashes = p.proof.map((h) => Buffer.from(h, 'hex'))
        const root = Buffer.from(p.checkpoint.body.rootHash, 'hex')
        const leaf = hasher.leaf(leafInput(p.entry))
        expect(verifyInclusion(hasher, p.leafIndex, p.treeSize, leaf, proofHashes, root), `record ${i}`).toBe(true)
      }
      const lastSealed = log.stats.segment - 1
      expect(segmentsProved.size).toBeGreaterThanOrEqual(3)
      expect([segmentsProved.has(1), segmentsProved.has(lastSealed)]).toEqual([true, true])
      await log.close()
      const result = await verify(log)
      expect(result.problems).toEqual([])
      expect(result.logs[0]?.segments).toBe(log.stats.segment)
    })

    it('answers the auditor’s filters, and cursor pages cover everything exactly once in a stable order', async () => {
      const log = await open()
      for (let i = 0; i < 60; i++) await log.append(exchangeRecord(i))
      await log.append(adminRecord(1))
      const every = await all(log)
      expect(every).toHaveLength(61)
      const drc = await all(log, { dept: 'drc' })
      expect(drc.length).toBe(20)
      expect(drc.every((e) => e.record.kind === 'exchange' && e.record.requester.dept === 'drc')).toBe(true)
      expect((await all(log, { subject: 'subject-3' })).map((e) => e.record.id)).toEqual(
        every
          .filter((e) => e.record.kind === 'exchange' && e.record.subjects?.includes('subject-3'))
          .map((e) => e.record.id),
      )
      expect((await all(log, { decision: 'deny', matter: 'QT00301001' })).length).toBe(6)
      expect((await all(log, { kind: 'admin' })).length).toBe(1)
      expect((await all(log, { case: 'CASE-2', resource: 'housing.construction-permit' })).length).toBeGreaterThan(0)
      const from = exchangeRecord(10).time
      const to = exchangeRecord(20).time
      expect((await all(log, { from, to, kind: 'exchange' })).map((e) => e.seq)).toEqual(
        Array.from({ length: 10 }, (_, i) => i + 10),
      )
      // Pages of 7 via the cursor of the last entry of each page.
      const paged: number[] = []
      let cursor: AuditCursor | undefined
      for (;;) {
        const page: LogEntry[] = []
        for await (const e of log.query({}, cursor)) {
          page.push(e)
          if (page.length === 7) break
        }
        if (page.length === 0) break
        paged.push(...page.map((e) => e.seq))
        const last = page.at(-1) as LogEntry
        cursor = { loggedAt: last.loggedAt, logId: last.logId, seq: last.seq }
      }
      expect(paged).toEqual(every.map((e) => e.seq))
      await expectBundleFilter(log, (filter) => all(log, filter))
    })

    it('finds refusals and failures of every kind by outcome, reason and status; decision stays the access decision', async () => {
      // How calls end: allowed and answered, denied, allowed and then refused (quota, parameters) or failed.
      const endings: readonly Pick<ExchangeAuditRecord, 'decision' | 'reason' | 'status' | 'action'>[] = [
        { decision: 'allow', reason: 'ok', status: 200, action: 'read' },
        { decision: 'deny', reason: 'insufficient-scope', status: 403, action: 'read' },
        { decision: 'allow', reason: 'quota-exceeded', status: 429, action: 'read' },
        { decision: 'allow', reason: 'upstream-unavailable', status: 503, action: 'read' },
        { decision: 'allow', reason: 'params-invalid', status: 400, action: 'read' },
        { decision: 'deny', reason: 'grant-missing', status: 403, action: 'read' },
        { decision: 'allow', reason: 'ok', status: 201, action: 'write' },
        { decision: 'allow', reason: 'upstream-timeout', status: 504, action: 'read' },
      ]
      const log = await open()
      const written: ExchangeAuditRecord[] = []
      for (let i = 0; i < 48; i++) {
        const record = exchangeRecord(i, endings[i % endings.length])
        written.push(record)
        await log.append(record)
        // Admin records carry an outcome of their own, which these filters are not about.
        if (i % 16 === 0) {
          const outcome: AdminAuditRecord['outcome'] = i === 0 ? 'failed' : 'rejected'
          await log.append({ ...adminRecord(i), outcome })
        }
      }
      const ids = async (filter: AuditFilter) => (await all(log, filter)).map((e) => e.record.id)
      const cases: Array<[AuditFilter, (r: ExchangeAuditRecord) => boolean]> = [
        [{ outcome: 'ok' }, (r) => r.status === 200 || r.status === 201],
        [{ outcome: 'refused' }, (r) => r.status === 400 || r.status === 403 || r.status === 429],
        [{ outcome: 'failed' }, (r) => r.status === 503 || r.status === 504],
        [{ reason: 'quota-exceeded' }, (r) => r.status === 429],
        [{ reason: 'ok' }, (r) => r.status === 200 || r.status === 201],
        [{ status: 429 }, (r) => r.reason === 'quota-exceeded'],
        [{ status: 403 }, (r) => r.decision === 'deny'],
        [{ decision: 'allow', outcome: 'refused' }, (r) => r.status === 429 || r.status === 400],
        [{ decision: 'deny', outcome: 'refused' }, (r) => r.status === 403],
        [
          { outcome: 'refused', reason: 'quota-exceeded', dept: 'drc' },
          (r) => r.status === 429 && r.requester.dept === 'drc',
        ],
        [
          { outcome: 'failed', status: 503, matter: 'XK00208001' },
          (r) => r.status === 503 && r.matter === 'XK00208001',
        ],
      ]
      for (const [filter, wanted] of cases) {
        const expected = written.filter(wanted).map((r) => r.id)
        expect(expected.length, JSON.stringify(filter)).toBeGreaterThan(0)
        expect(await ids(filter), JSON.stringify(filter)).toEqual(expected)
      }
      const none: AuditFilter[] = [
        { status: 418 },
        { outcome: 'ok', reason: 'quota-exceeded' },
        { outcome: 'refused', status: 503 },
      ]
      for (const filter of none) expect(await ids(filter), JSON.stringify(filter)).toEqual([])
      // The access decision alone: a 429 and a 503 are `allow`, so `decision=deny` misses them.
      const allowed = await ids({ decision: 'allow' })
      expect(allowed).toEqual(expect.arrayContaining(written.filter((r) => r.status >= 429).map((r) => r.id)))
      expect(await ids({ decision: 'deny' })).toEqual(written.filter((r) => r.status === 403).map((r) => r.id))
      // Admin records never match an exchange filter, whatever their own outcome; `kind` still finds them.
      expect(await ids({ kind: 'admin' })).toHaveLength(3)
      expect(await ids({ kind: 'admin', outcome: 'failed' })).toEqual([])
      expect(await ids({ kind: 'admin', reason: 'ok' })).toEqual([])
      // Cursor pages of a new filter cover its records exactly once.
      const paged: string[] = []
      let cursor: AuditCursor | undefined
      for (;;) {
        const page: LogEntry[] = []
        for await (const e of log.query({ outcome: 'refused', decision: 'allow' }, cursor)) {
          page.push(e)
          if (page.length === 4) break
        }
        if (page.length === 0) break
        paged.push(...page.map((e) => e.record.id))
        const last = page.at(-1) as LogEntry
        cursor = { loggedAt: last.loggedAt, logId: last.logId, seq: last.seq }
      }
      expect(paged).toEqual(written.filter((r) => r.status === 429 || r.status === 400).map((r) => r.id))
    })

    for (const kind of ['edit', 'delete', 'insert', 'swap', 'truncate'] as const) {
      it(`verify detects tampering: ${kind}`, async () => {
        const log = await open({ checkpointEvery: 20 })
        for (let i = 0; i < 50; i++) await log.append(exchangeRecord(i))
        await log.close()
        expect((await verify(log)).ok).toBe(true)
        await storage.tamper('gw-1', kind)
        const result = await verify(log)
        expect(result.ok).toBe(false)
        const first = result.problems[0]
        expect(first).toBeDefined()
        expect(first?.seq ?? first?.recordId).toBeDefined()
      })
    }

    if (suite.segmentUnit === 'bytes') {
      it('cuts a torn last record back at start and reports it', async () => {
        const log = await open()
        for (let i = 0; i < 10; i++) await log.append(exchangeRecord(i))
        await log.close()
        await storage.tear?.('gw-1')
        const reopened = await open()
        expect(reopened.repairs.join(' ')).toMatch(/torn last record/)
        await reopened.append(exchangeRecord(10))
        await reopened.close()
        const result = await verify(reopened)
        expect(result.problems).toEqual([])
        expect(result.logs[0]?.records).toBe(11)
      })
    }

    it('keeps checkpoint timestamp tokens beside their checkpoints, across a restart; a store without reads empty', async () => {
      const log = await open()
      expect(await storage.backend().timestamps('gw-1')).toEqual(new Map())
      for (let i = 0; i < 3; i++) await log.append(exchangeRecord(i))
      const first = (await log.checkpoint()) as SignedCheckpoint
      await log.append(exchangeRecord(3))
      const second = (await log.checkpoint()) as SignedCheckpoint
      const backend = storage.backend()
      await backend.storeTimestamp('gw-1', first.jws, new Uint8Array([1, 2, 3]))
      await backend.storeTimestamp('gw-1', second.jws, new Uint8Array([4]))
      await backend.storeTimestamp('gw-1', second.jws, new Uint8Array([5, 6]))
      await log.close()
      const stored = await storage.backend().timestamps('gw-1')
      const key = (cp: SignedCheckpoint) => checkpointImprint(cp.jws).toString('hex')
      expect([...stored.keys()].sort()).toEqual([key(first), key(second)].sort())
      expect([...(stored.get(key(first)) ?? [])]).toEqual([1, 2, 3])
      expect([...(stored.get(key(second)) ?? [])]).toEqual([5, 6])
      expect((await verify(log)).problems).toEqual([])
    })

    it('retention removes only sealed segments older than the cut-off, and the rest still verifies', async () => {
      const log = await open({ segmentMaxSize: suite.segmentUnit === 'bytes' ? 8 * 1024 : 25, checkpointEvery: 10 })
      for (let i = 0; i < 100; i++) await log.append(exchangeRecord(i))
      await log.close()
      const backend = storage.backend()
      const segments = await backend.segments('gw-1')
      const cut = Date.parse((await all(await open())).find((e) => e.segment === 3)?.loggedAt as string)
      const removed = await backend.purge('gw-1', cut)
      expect(removed).toEqual([1, 2])
      expect((await backend.segments('gw-1')).filter((s) => s.purged).length).toBe(2)
      expect(segments.length).toBeGreaterThan(3)
      const result = await verify(log)
      expect(result.problems).toEqual([])
      await backend.close()
    })
  })
}
