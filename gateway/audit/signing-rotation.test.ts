import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JSONWebKeySet } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type AuditLog, openAuditLog } from './audit-log.js'
import { loadOrCreateAuditSigningKey, verifyCheckpoint } from './checkpoint.js'
import { exchangeRecord } from './conformance/records.js'
import { createFileAuditBackend } from './file-backend.js'
import type { SignatureAlgorithm } from './signing.js'
import { verifyAuditLogs } from './verify.js'

/** SM2 checkpoints in a real audit log (file store, SM3 hashing): signed, published, proved, rotated, verified. */
describe('audit log signed with SM2', () => {
  let dir: string
  let log: AuditLog | undefined
  let now = Date.parse('2026-11-26T02:00:00Z')

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-sm2-log-'))
  })
  afterEach(async () => {
    await log?.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  async function open(algorithm: SignatureAlgorithm, keyFile: string): Promise<AuditLog> {
    log = await openAuditLog({
      backend: createFileAuditBackend({ dir: join(dir, 'audit'), now: () => now }),
      logId: 'gw-sm2',
      hashAlgorithm: 'sm3',
      signingKey: await loadOrCreateAuditSigningKey(join(dir, keyFile), algorithm),
      clock: { now: () => now++ },
      checkpointEvery: 10,
      checkpointIntervalMs: 60_000,
      segmentMaxSize: 64 * 1024 * 1024,
      segmentMaxAgeMs: 24 * 3_600_000,
    })
    return log
  }

  const verify = (keys: JSONWebKeySet) =>
    verifyAuditLogs(createFileAuditBackend({ dir: join(dir, 'audit'), now: () => now }), { keys })

  it('signs checkpoints SM2SM3, publishes the SM2 key, proves receipts and verifies', async () => {
    const audit = await open('SM2', 'sm2.jwk.json')
    for (let i = 0; i < 25; i++) await audit.append(exchangeRecord(i))
    const proof = await audit.proof('rec-000004')
    const keys = await audit.publicKeys()
    expect(keys.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'SM2', alg: 'SM2SM3', use: 'sig' })])
    expect(keys.keys[0]).not.toHaveProperty('d')
    const header = JSON.parse(Buffer.from(proof?.checkpoint.jws.split('.')[0] as string, 'base64url').toString())
    expect(header).toEqual({ alg: 'SM2SM3', kid: keys.keys[0]?.kid, typ: 'qiao-audit-checkpoint+jws' })
    expect(await verifyCheckpoint(proof?.checkpoint.jws as string, keys)).toEqual(proof?.checkpoint.body)
    await audit.close()
    const result = await verify(keys)
    expect(result.problems).toEqual([])
    expect(result.logs[0]).toMatchObject({ records: 25, uncovered: 0 })
  })

  it('keeps verifying across a rotation from Ed25519 to SM2', async () => {
    const audit = await open('Ed25519', 'ed.jwk.json')
    for (let i = 0; i < 15; i++) await audit.append(exchangeRecord(i))
    const sm2Key = await loadOrCreateAuditSigningKey(join(dir, 'sm2.jwk.json'), 'SM2')
    const previous = await audit.rotateKey(sm2Key)
    for (let i = 15; i < 30; i++) await audit.append(exchangeRecord(i))
    await audit.close()
    const keys = await audit.publicKeys()
    expect(keys.keys.map((k) => [k.kid, k.alg])).toEqual([
      [previous, 'EdDSA'],
      [sm2Key.kid, 'SM2SM3'],
    ])
    const algs = (await audit.checkpoints()).map(
      (c) => JSON.parse(Buffer.from(c.jws.split('.')[0] as string, 'base64url').toString()).alg,
    )
    expect(new Set(algs)).toEqual(new Set(['EdDSA', 'SM2SM3']))
    expect((await verify(keys)).problems).toEqual([])
    // Without the old key the Ed25519 checkpoints no longer verify: both keys are needed.
    const onlySm2 = await verify({ keys: keys.keys.filter((k) => k.kid === sm2Key.kid) })
    expect(onlySm2.ok).toBe(false)
  })

  it('names the checkpoint whose SM2 signature was changed', async () => {
    const audit = await open('SM2', 'sm2.jwk.json')
    for (let i = 0; i < 20; i++) await audit.append(exchangeRecord(i))
    await audit.close()
    const keys = await audit.publicKeys()
    const path = join(dir, 'audit', 'gw-sm2', 'checkpoints.jsonl')
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
    const stored = JSON.parse(lines[0] as string) as { jws: string }
    const [h, p, s] = stored.jws.split('.') as [string, string, string]
    const signature = Buffer.from(s, 'base64url')
    signature[20] = (signature[20] as number) ^ 0x01
    lines[0] = JSON.stringify({ ...stored, jws: `${h}.${p}.${signature.toString('base64url')}` })
    await writeFile(path, `${lines.join('\n')}\n`)
    const result = await verify(keys)
    expect(result.ok).toBe(false)
    expect(result.problems.map((x) => x.message)).toContainEqual(
      expect.stringMatching(/^checkpoint of segment 1 at size 10 has no valid signature/),
    )
  })
})
