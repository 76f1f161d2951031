import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { JSONWebKeySet } from 'jose'
import { sm2 } from 'sm-crypto-v2'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyCheckpoint } from '../gateway/audit/checkpoint.js'
import { launchChromium } from './support/browser.js'
import { demoToken, signInDemo, startDemo } from './support/demo-process.js'
import { startHarness } from './support/gateway.js'
import { type CliResult, runQiao } from './support/gateway-process.js'

/**
 * 国密 end to end: a gateway with QIAO_AUDIT_SIGNATURE_ALG=SM2 and QIAO_AUDIT_HASH=sm3 serves calls and signs its
 * checkpoints with SM2 (JWS `SM2SM3`); /v1/audit/keys publishes the SM2 key it made on start; `qiao audit verify`
 * (a real process) passes on the log it wrote, and fails, naming the checkpoint, when one checkpoint's signature or
 * signed body was changed. The console's in-browser receipt check (WebCrypto has no SM2) says it cannot check the
 * signature and points to `qiao audit verify`.
 */

const LOG_ID = 'gw-sm2'
const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const CHECKPOINT_EVERY = 5

let work: string
let pristine: string
let published: JSONWebKeySet
let keyFileJwk: Record<string, unknown>
let checkpoints: Array<{ jws: string; body: { segment: number; size: number; hashAlg: string } }>
let proof: { hashAlg: string; checkpoint: { jws: string; body: unknown } }

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'qiao-audit-sm2-'))
  const h = await startHarness({
    env: {
      QIAO_AUDIT_LOG_ID: LOG_ID,
      QIAO_AUDIT_SIGNATURE_ALG: 'SM2',
      QIAO_AUDIT_HASH: 'sm3',
      QIAO_AUDIT_CHECKPOINT_EVERY: String(CHECKPOINT_EVERY),
    },
  })
  try {
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const drc = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
    let auditId = ''
    for (let i = 0; i < 12; i++) {
      const res = await h.query(PERMITS, { projectCode }, { token: drc, matter: MATTER, caseId: `SM2-${i}` })
      expect(res.status).toBe(200)
      auditId ||= res.headers['qiao-audit-id'] as string
    }
    const auditor = await h.token({ dept: 'drc', sub: 'auditor-1', scope: 'audit:read' })
    published = (await h.get('/v1/audit/keys', auditor)).json as unknown as JSONWebKeySet
    checkpoints = (await h.get(`/v1/audit/checkpoints?logId=${LOG_ID}`, auditor)).json.checkpoints as typeof checkpoints
    proof = (await h.get(`/v1/audit/records/${auditId}/proof`, auditor)).json as unknown as typeof proof
    keyFileJwk = JSON.parse(await readFile(h.config.auditSigningKeyFile, 'utf8'))
  } finally {
    // The copy is of a log at rest, sealed at shutdown.
    await h.gateway.close()
    pristine = join(work, 'pristine')
    await cp(dirname(h.auditDir), pristine, { recursive: true })
    await h.close()
  }
}, 60_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

const output = (run: CliResult) => `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`

let copies = 0
/** A copy of the log and the published keys, pinned as an auditor would keep them. */
async function copyOfLog(): Promise<{ dir: string; keys: string }> {
  const dir = join(work, `copy-${++copies}`)
  await cp(pristine, dir, { recursive: true })
  const keys = join(work, `pinned-${copies}.jwks.json`)
  await writeFile(keys, JSON.stringify(published))
  return { dir, keys }
}

function verify(dir: string, keys: string): Promise<CliResult> {
  return runQiao(['audit', 'verify', '--dir', dir, '--keys', keys], { QIAO_DATA_DIR: join(work, 'auditor-data') })
}

/** Rewrites the `index`th line of checkpoints.jsonl; returns the checkpoint's segment and size. */
async function tamperCheckpoint(
  dir: string,
  index: number,
  change: (parts: [string, string, string]) => string,
): Promise<{ segment: number; size: number }> {
  const path = join(dir, LOG_ID, 'checkpoints.jsonl')
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
  const stored = JSON.parse(lines[index] as string) as { jws: string }
  const parts = stored.jws.split('.') as [string, string, string]
  const body = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as { segment: number; size: number }
  lines[index] = JSON.stringify({ ...stored, jws: change(parts) })
  await writeFile(path, `${lines.join('\n')}\n`)
  return body
}

describe('SM2-signed audit log', () => {
  it('publishes the SM2 key made on start, and nothing else', () => {
    expect(keyFileJwk).toMatchObject({ kty: 'EC', crv: 'SM2', alg: 'SM2SM3' })
    expect(published.keys).toHaveLength(1)
    const [key] = published.keys
    expect(key).toEqual({
      kty: 'EC',
      crv: 'SM2',
      x: keyFileJwk.x,
      y: keyFileJwk.y,
      alg: 'SM2SM3',
      use: 'sig',
      kid: keyFileJwk.kid,
    })
  })

  it('signs every checkpoint SM2SM3 over SM3 trees; the signature checks with the SM2 scheme itself', async () => {
    // 12 calls and the start's admin records, a checkpoint every 5: at least two while it runs.
    expect(checkpoints.length).toBeGreaterThanOrEqual(2)
    const [key] = published.keys
    const publicHex = `04${Buffer.from(key?.x as string, 'base64url').toString('hex')}${Buffer.from(key?.y as string, 'base64url').toString('hex')}`
    for (const cp of checkpoints) {
      const [h, p, s] = cp.jws.split('.') as [string, string, string]
      expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({
        alg: 'SM2SM3',
        kid: key?.kid,
        typ: 'qiao-audit-checkpoint+jws',
      })
      expect(cp.body.hashAlg).toBe('sm3')
      // Straight from the library, default user ID, r ‖ s: what any SM2 verifier given the JWS signing input does.
      const signature = Buffer.from(s, 'base64url')
      expect(signature).toHaveLength(64)
      expect(
        sm2.doVerifySignature(new TextEncoder().encode(`${h}.${p}`), signature.toString('hex'), publicHex, {
          hash: true,
          userId: '1234567812345678',
        }),
      ).toBe(true)
    }
    expect(proof.hashAlg).toBe('sm3')
    expect(await verifyCheckpoint(proof.checkpoint.jws, published)).toEqual(proof.checkpoint.body)
  })

  it('qiao audit verify passes on the log as written', async () => {
    const { dir, keys } = await copyOfLog()
    const run = await verify(dir, keys)
    expect(run.code, output(run)).toBe(0)
    expect(run.stdout).toMatch(
      new RegExp(`^log ${LOG_ID}: \\d+ records in 1 segment\\(s\\), \\d+ signed checkpoint\\(s\\): OK$`, 'm'),
    )
    expect(run.stdout).toContain('VERIFIED')
  }, 60_000)

  it('a changed byte of one checkpoint’s signature: exit 1, that checkpoint named', async () => {
    const { dir, keys } = await copyOfLog()
    const at = await tamperCheckpoint(dir, 1, ([h, p, s]) => {
      const signature = Buffer.from(s, 'base64url')
      signature[7] = (signature[7] as number) ^ 0x10
      return `${h}.${p}.${signature.toString('base64url')}`
    })
    const run = await verify(dir, keys)
    expect(run.code, output(run)).toBe(1)
    expect(run.stdout).toContain(
      `checkpoint of segment ${at.segment} at size ${at.size} has no valid signature (JWS signature does not verify`,
    )
    expect(run.stdout).toContain('FAILED')
  }, 60_000)

  it('a changed byte of one checkpoint’s signed body: exit 1, that checkpoint named', async () => {
    const { dir, keys } = await copyOfLog()
    const at = await tamperCheckpoint(dir, 0, ([h, p, s]) => {
      const body = Buffer.from(p, 'base64url').toString()
      // One hex digit of the root hash, the rest (and the signature) kept.
      const edited = body.replace(/"rootHash":"(.)/, (_, c: string) => `"rootHash":"${c === '0' ? '1' : '0'}`)
      expect(edited).not.toBe(body)
      return `${h}.${Buffer.from(edited).toString('base64url')}.${s}`
    })
    const run = await verify(dir, keys)
    expect(run.code, output(run)).toBe(1)
    expect(run.stdout).toContain(`checkpoint of segment ${at.segment} at size ${at.size} has no valid signature`)
  }, 60_000)
})

describe('the console on an SM2-signed log', () => {
  it('recomputes leaf and path, says the SM2 signature cannot be checked in a browser and points to qiao audit verify', async () => {
    const demo = await startDemo({ QIAO_AUDIT_SIGNATURE_ALG: 'SM2' })
    const browser = await launchChromium()
    try {
      const token = await demoToken(demo, { dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
      const res = await request(`${demo.origin}/v1/resources/${PERMITS}/query`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'qiao-matter': MATTER,
          'qiao-case': 'NJ-2026-SM2',
        },
        body: JSON.stringify({ projectCode: '2303-320115-04-03-518275' }),
      })
      await res.body.dump()
      expect(res.statusCode).toBe(200)
      const context = await browser.newContext()
      const page = await signInDemo(context, demo.origin, 'data', 'auditor')
      await page.goto(`${demo.origin}/console/audit/records/${res.headers['qiao-audit-id']}`)
      await page.locator('#receipt[data-receipt-state]').waitFor({ timeout: 10_000 })
      const step = (name: string) => page.getAttribute(`[data-step="${name}"]`, 'data-result')
      expect({
        state: await page.getAttribute('#receipt', 'data-receipt-state'),
        leaf: await step('leaf'),
        path: await step('path'),
        signature: await step('signature'),
      }).toEqual({ state: 'unsupported', leaf: 'passed', path: 'passed', signature: 'skipped' })
      const text = (await page.textContent('#receipt-status')) ?? ''
      expect(text).toContain('无法在浏览器中验证')
      expect(text).toContain('SM2')
      expect(text).toContain('qiao audit verify')
      await context.close()
    } finally {
      await browser.close()
      await demo.close()
    }
  }, 90_000)
})
