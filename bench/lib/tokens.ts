import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT } from 'jose'

/**
 * The benchmark's issuer: one RS256 key (kept in bench/.work/keys, re-used across runs), its JWKS file for Qiao and
 * its SPKI PEM for HAProxy, and pools of access tokens. Bulk tokens are signed with node:crypto in worker threads
 * (an RSA-2048 signature costs ~1 ms); the first token of every pool is checked with jose, as Qiao will check it.
 */

export const BENCH_ISSUER = 'https://idp.bench.qiao/realms/zwfw'
export const BENCH_AUDIENCE = 'urn:qiao:bench'
export const BENCH_KID = 'bench-rs256-1'
export const BENCH_SCOPE = 'QT00301001:housing.construction-permit:read'
/** Tokens live this long; pools expiring within POOL_MIN_LIFE_S are minted again. */
const TOKEN_LIFE_S = 24 * 3600
const POOL_MIN_LIFE_S = 3 * 3600

export interface BenchKeys {
  readonly dir: string
  readonly privatePem: string
  readonly publicPemFile: string
  readonly jwksFile: string
}

export async function benchKeys(workDir: string): Promise<BenchKeys> {
  const dir = join(workDir, 'keys')
  mkdirSync(dir, { recursive: true })
  const privateFile = join(dir, 'issuer-private.pem')
  const publicPemFile = join(dir, 'issuer-public.pem')
  const jwksFile = join(dir, 'jwks.json')
  if (!existsSync(privateFile) || !existsSync(publicPemFile) || !existsSync(jwksFile)) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid: BENCH_KID, alg: 'RS256', use: 'sig' }
    writeFileSync(privateFile, await exportPKCS8(privateKey), { mode: 0o600 })
    writeFileSync(publicPemFile, await exportSPKI(publicKey))
    writeFileSync(jwksFile, `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`)
  }
  return { dir, privatePem: readFileSync(privateFile, 'utf8'), publicPemFile, jwksFile }
}

export interface Claims {
  readonly [claim: string]: unknown
}

/** Claims of a valid bench token (drc officer, matter QT00301001), with overrides. */
export function benchClaims(i: number, nowSec: number, overrides: Claims = {}): Claims {
  return {
    iss: BENCH_ISSUER,
    aud: BENCH_AUDIENCE,
    sub: `officer-${String(i).padStart(6, '0')}`,
    dept: 'drc',
    client_id: 'drc-tzxm-portal',
    scope: BENCH_SCOPE,
    iat: nowSec,
    exp: nowSec + TOKEN_LIFE_S,
    jti: `bench-${nowSec}-${i}`,
    ...overrides,
  }
}

/** One token signed with jose (used for the probes: expired, wrong scope …). */
export async function signOne(keys: BenchKeys, claims: Claims): Promise<string> {
  const key = await importPKCS8(keys.privatePem, 'RS256')
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', kid: BENCH_KID, typ: 'at+jwt' }).sign(key)
}

// Worker: signs tokens i in [from, to) with node:crypto (RSASSA-PKCS1-v1_5 / SHA-256 = RS256).
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads')
const { createPrivateKey, sign } = require('node:crypto')
const { pem, from, to, nowSec, life, prefix, iss, aud, scope, kid } = workerData
const key = createPrivateKey(pem)
const b64 = (s) => Buffer.from(s).toString('base64url')
const header = b64(JSON.stringify({ alg: 'RS256', kid, typ: 'at+jwt' }))
const out = []
for (let i = from; i < to; i++) {
  const payload = b64(JSON.stringify({
    iss, aud, sub: 'officer-' + String(i).padStart(6, '0'), dept: 'drc', client_id: 'drc-tzxm-portal', scope,
    iat: nowSec, exp: nowSec + life, jti: prefix + '-' + i,
  }))
  const input = header + '.' + payload
  out.push(input + '.' + sign('sha256', Buffer.from(input), key).toString('base64url'))
}
parentPort.postMessage(out)
`

async function mintRange(keys: BenchKeys, from: number, to: number, nowSec: number, prefix: string) {
  const workers = 2
  const per = Math.ceil((to - from) / workers)
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const a = from + w * per
      const b = Math.min(to, a + per)
      if (a >= b) return Promise.resolve([] as string[])
      return new Promise<string[]>((resolve, reject) => {
        const worker = new Worker(WORKER, {
          eval: true,
          workerData: {
            pem: keys.privatePem,
            from: a,
            to: b,
            nowSec,
            life: TOKEN_LIFE_S,
            prefix,
            iss: BENCH_ISSUER,
            aud: BENCH_AUDIENCE,
            scope: BENCH_SCOPE,
            kid: BENCH_KID,
          },
        })
        worker.once('message', (tokens: string[]) => resolve(tokens))
        worker.once('error', reject)
      })
    }),
  )
  return parts.flat()
}

interface PoolMeta {
  readonly count: number
  readonly minExp: number
  readonly kid: string
  readonly jwksDigest: string
}

export interface TokenPool {
  readonly file: string
  readonly count: number
  readonly first: string
  /** Seconds spent minting now (0 when the pool on disk was re-used). */
  readonly mintedSeconds: number
}

/**
 * A file of `count` distinct valid tokens (re-used from bench/.work when still valid for the same key), e.g. the
 * 10,000-token mix or the pool of never-seen tokens.
 */
export async function tokenPool(keys: BenchKeys, name: string, count: number): Promise<TokenPool> {
  const file = join(keys.dir, `tokens-${name}.txt`)
  const metaFile = `${file}.json`
  const jwksDigest = createHash('sha256').update(readFileSync(keys.jwksFile)).digest('hex')
  const nowSec = Math.floor(Date.now() / 1000)
  if (existsSync(file) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as PoolMeta
    if (meta.count >= count && meta.minExp > nowSec + POOL_MIN_LIFE_S && meta.jwksDigest === jwksDigest) {
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
      if (lines.length >= count) {
        if (lines.length > count) writeFileSync(file, `${lines.slice(0, count).join('\n')}\n`)
        writeFileSync(metaFile, JSON.stringify({ ...meta, count }))
        return { file, count, first: lines[0] as string, mintedSeconds: 0 }
      }
    }
  }
  const started = performance.now()
  const tokens = await mintRange(keys, 0, count, nowSec, `${name}-${nowSec}`)
  await checkToken(keys, tokens[0] as string)
  writeFileSync(file, `${tokens.join('\n')}\n`)
  const meta: PoolMeta = { count, minExp: nowSec + TOKEN_LIFE_S, kid: BENCH_KID, jwksDigest }
  writeFileSync(metaFile, JSON.stringify(meta))
  return { file, count, first: tokens[0] as string, mintedSeconds: (performance.now() - started) / 1000 }
}

/** Verifies a token the way Qiao will (issuer, audience, RS256 only), so a bad pool fails here, not in the run. */
export async function checkToken(keys: BenchKeys, token: string): Promise<void> {
  const jwks = JSON.parse(readFileSync(keys.jwksFile, 'utf8')) as { keys: object[] }
  const key = await importJWK(jwks.keys[0] as never, 'RS256')
  await jwtVerify(token, key, { issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE, algorithms: ['RS256'] })
}

/** Replaces a token's payload, keeping header and signature (a forged token). */
export function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>
  claims.scope = `${BENCH_SCOPE} QT00301001:housing.security-applicant:read`
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
}
