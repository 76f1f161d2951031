import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateDevKey, mintDevToken } from '../gateway/auth/dev-keys.js'
import { readConfig } from '../gateway/config/settings.js'
import { type RunningGateway, startGateway } from '../gateway/gateway.js'
import { createLogger } from '../gateway/telemetry/logger.js'
import { type Harness, NOW, REPO, startHarness } from './support/gateway.js'
import {
  type QiaoEnv,
  qiaoArgv,
  serveEnv,
  serveFixture,
  startGatewayProcess,
  stopGatewayProcess,
} from './support/gateway-process.js'
import {
  createTestKey,
  type JwksServer,
  signToken,
  startJwksServer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestKey,
} from './support/keys.js'

/**
 * Issue 11 (part 1), secure by default: an unknown department is a 403 whatever its shape; `serve` needs an issuer's
 * keys and an https key set; long-lived tokens are refused; cached verifications end with their TTL and with their
 * key; /metrics lives on its own listener, with process and runtime metrics.
 */
const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const SCOPE = `${MATTER}:${PERMITS}:read`

describe('a signed token naming an unknown department', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  it('gets 403 department-unknown whatever the string (DRC, 发改, acc-no-such-dept), audited as such', async () => {
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    for (const [i, dept] of ['DRC', '发改', 'acc-no-such-dept'].entries()) {
      const token = await h.token({ dept, scope: SCOPE })
      const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: `DEPT-${i}` })
      expect(res.status, dept).toBe(403)
      expect(res.json.code, dept).toBe('department-unknown')
      expect(res.text, dept).not.toContain(dept)
      const record = (await h.auditRecords()).find((r) => r.case === `DEPT-${i}`)
      expect(record, dept).toMatchObject({ decision: 'deny', reason: 'department-unknown', status: 403 })
      expect(record?.requester.dept, dept).toBe(dept)
    }
  })

  it('keeps at most a bounded, escaped label of a dept that cannot be a code in the audit record and the log', async () => {
    const raw = `320102199001011234\n{"level":60,"msg":"forged"}${'x'.repeat(100)}`
    const token = await h.token({ dept: raw, scope: SCOPE })
    const res = await h.query(PERMITS, {}, { token, matter: MATTER, caseId: 'DEPT-RAW' })
    expect(res.status).toBe(403)
    expect(res.json.code).toBe('department-unknown')
    const label = (await h.auditRecords()).find((r) => r.case === 'DEPT-RAW')?.requester.dept
    // Its first 32 characters, with the newline and JSON punctuation escaped, and a mark that it was cut.
    expect(label).toBe('320102199001011234\\u{a}\\u{7b}\\u{22}level\\u{22}\\u{3a}60\\u{2c}\\u{22}…')
    expect(res.text).not.toContain('320102199001011234')
    expect(h.logLines.join('\n')).not.toContain('x'.repeat(33))
  })

  it('a missing or non-string dept stays a 401 token-claims-invalid', async () => {
    for (const dept of [undefined, 42]) {
      const token = await h.token({ dept: dept as never, scope: SCOPE })
      const res = await h.query(PERMITS, {}, { token, matter: MATTER, caseId: 'DEPT-NONE' })
      expect(res.status).toBe(401)
      expect(res.json.code).toBe('token-claims-invalid')
    }
  })
})

describe('token lifetime and the verified-token cache', () => {
  let h: Harness
  beforeAll(async () => {
    // No cooldown: a token with an unknown kid makes the gateway refetch the key set at once.
    h = await startHarness({ env: { QIAO_JWKS_COOLDOWN: '0' } })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('refuses a token living 30 days with 401 token-lifetime-exceeded (default maximum 24 h)', async () => {
    const nowSec = Math.floor(NOW / 1000)
    expect(h.config.tokenMaxLifetimeMs).toBe(24 * 3600_000)
    const long = await h.token({ dept: 'drc', scope: SCOPE, iat: nowSec, exp: nowSec + 30 * 86_400 })
    const res = await h.get('/v1/catalog', long)
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('token-lifetime-exceeded')
    expect(res.headers['www-authenticate']).toContain('invalid_token')
    const day = await h.token({ dept: 'drc', scope: SCOPE, iat: nowSec, exp: nowSec + 86_400 })
    expect((await h.get('/v1/catalog', day)).status).toBe(200)
  })

  it('a key removed from the issuer key set ends its cached tokens at the next refetch', async () => {
    const byRsa = await h.token({ dept: 'drc', scope: SCOPE }, { key: h.rsa })
    const byEd = await h.token({ dept: 'drc', scope: SCOPE })
    expect((await h.get('/v1/catalog', byRsa)).status).toBe(200)
    expect((await h.get('/v1/catalog', byEd)).status).toBe(200)
    const { hits } = h.gateway.deps.verifier.stats
    expect((await h.get('/v1/catalog', byRsa)).status).toBe(200)
    expect(h.gateway.deps.verifier.stats.hits).toBe(hits + 1) // served from the cache

    h.jwks.setKeys([h.ed.publicJwk]) // rotation after a compromise: rsa-2026 is gone
    const fetches = h.jwks.fetches
    const unknownKid = await h.token({ dept: 'drc', scope: SCOPE }, { kid: 'ed-2027' })
    expect((await h.get('/v1/catalog', unknownKid)).json.code).toBe('token-key-unknown')
    expect(h.jwks.fetches).toBe(fetches + 1)

    const after = await h.get('/v1/catalog', byRsa)
    expect(after.status).toBe(401)
    expect(after.json.code).toBe('token-key-unknown')
    expect((await h.get('/v1/catalog', byEd)).status).toBe(200)
  })
})

describe('cache TTL (frozen clock)', () => {
  let dir: string
  let jwks: JwksServer
  let key: TestKey
  let gateway: RunningGateway
  let now = NOW

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-ttl-'))
    key = await createTestKey('EdDSA', 'ttl-key')
    jwks = await startJwksServer([key.publicJwk])
    const config = readConfig({
      QIAO_PORT: '0',
      QIAO_DATA_DIR: dir,
      QIAO_JWKS_URL: jwks.url,
      QIAO_ISSUER: TEST_ISSUER,
      QIAO_AUDIENCE: TEST_AUDIENCE,
      QIAO_HEALTH_INTERVAL: '0',
      QIAO_TOKEN_CACHE_TTL: '2m',
    })
    if (!config.ok) throw new Error(config.errors.join('\n'))
    gateway = await startGateway({
      config: config.config,
      clock: { now: () => now },
      logger: createLogger('silent'),
      vars: { QIAO_HOUSING_URL: 'http://127.0.0.1:9', QIAO_DRC_URL: 'http://127.0.0.1:9' },
    })
  })
  afterAll(async () => {
    await gateway?.close()
    await jwks?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('verifies a cached token again once QIAO_TOKEN_CACHE_TTL has passed, and caches it anew', async () => {
    const token = await signToken(key, { dept: 'drc', scope: SCOPE }, { now: NOW })
    const catalog = async () => {
      const res = await request(`${gateway.url}/v1/catalog`, { headers: { authorization: `Bearer ${token}` } })
      await res.body.dump()
      return res.statusCode
    }
    const stats = gateway.deps.verifier.stats
    expect(await catalog()).toBe(200)
    expect(stats).toEqual({ hits: 0, misses: 1 })
    now = NOW + 119_000
    expect(await catalog()).toBe(200)
    expect(stats).toEqual({ hits: 1, misses: 1 })
    now = NOW + 120_000
    expect(await catalog()).toBe(200)
    expect(stats).toEqual({ hits: 1, misses: 2 })
    now = NOW + 121_000
    expect(await catalog()).toBe(200)
    expect(stats).toEqual({ hits: 2, misses: 2 })
  })
})

describe('QIAO_JWKS_URL', () => {
  const jwksUrlErrors = (url: string) => {
    const result = readConfig({ QIAO_JWKS_URL: url, QIAO_ISSUER: TEST_ISSUER }, '/srv/qiao', { requireKeySource: true })
    return result.ok ? [] : result.errors
  }

  it('is https:, or http: to a loopback address only', () => {
    for (const url of [
      'https://idp.gov.example/certs',
      'http://127.0.0.1:8080/jwks.json',
      'http://127.10.20.30/jwks.json',
      'http://localhost:9000/jwks.json',
      'http://[::1]:9000/jwks.json',
    ]) {
      expect(jwksUrlErrors(url), url).toEqual([])
    }
    for (const url of [
      'http://example.test/jwks',
      'http://127.0.0.1.evil.example/jwks',
      'http://128.0.0.1/jwks',
      'http://10.0.0.5/jwks',
      'http://[::2]/jwks',
    ]) {
      expect(jwksUrlErrors(url), url).toEqual([
        'QIAO_JWKS_URL: expected an https: URL (http: only to a loopback address: 127.0.0.0/8, ::1, localhost)',
      ])
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Process start: `qiao serve` as its own process.

describe('qiao serve: key sources', () => {
  const world = serveFixture({ prefix: 'qiao-secure-', keyId: 'serve-key' })
  let jwks: JwksServer
  beforeAll(async () => {
    jwks = await startJwksServer([world.key.publicJwk])
  })
  // afterAll hooks run in reverse order: this one before the fixture's (the directory).
  afterAll(async () => {
    await jwks?.close()
  })

  const baseEnv = (extra: QiaoEnv): QiaoEnv => ({
    HOME: process.env.HOME,
    QIAO_DATA_DIR: join(world.dir, 'data'),
    ...extra,
  })
  const serveSync = (extra: QiaoEnv) =>
    spawnSync(process.execPath, qiaoArgv(['serve']), {
      cwd: REPO,
      env: serveEnv(baseEnv(extra)),
      encoding: 'utf8',
      timeout: 30_000,
    })

  it('refuses to start without QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE, naming them', () => {
    const run = serveSync({})
    expect(run.status).not.toBe(0)
    expect(run.status).not.toBeNull()
    for (const name of ['QIAO_JWKS_URL', 'QIAO_JWKS_FILE', 'QIAO_JWT_HMAC_SECRET_FILE']) {
      expect(run.stderr).toContain(name)
    }
    expect(run.stderr).not.toContain('qiao listening')
    expect(run.stdout + run.stderr).not.toContain('DEMO MODE')
  })

  it('refuses a key set over plain http to a host other than loopback, with every other problem at once', () => {
    const run = serveSync({ QIAO_JWKS_URL: 'http://example.test/jwks', QIAO_ISSUER: TEST_ISSUER, QIAO_PORT: 'x' })
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/QIAO_JWKS_URL: expected an https: URL/)
    expect(run.stderr).toContain('QIAO_PORT')
    expect(run.stderr).not.toContain('qiao listening')
  })

  it('starts with http://127.0.0.1 (loopback); never publishes the dev key nor accepts it, nor /metrics on the public port', async () => {
    // Someone with the data directory has the dev key of an earlier demo: it must be worth nothing to `serve`.
    const devKey = await loadOrCreateDevKey(join(world.dir, 'data'))
    const gateway = await startGatewayProcess(
      baseEnv({
        QIAO_JWKS_URL: jwks.url,
        QIAO_ISSUER: TEST_ISSUER,
        QIAO_AUDIENCE: TEST_AUDIENCE,
        QIAO_METRICS_PORT: '0',
      }),
    )
    try {
      const { url } = gateway
      const metricsUrl = gateway.metricsUrl as string
      const get = async (path: string, token?: string) => {
        const res = await request(`${url}${path}`, {
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        })
        return { status: res.statusCode, text: await res.body.text() }
      }
      expect((await get('/.well-known/jwks.json')).status).toBe(404)
      const forged = await mintDevToken(devKey, {
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        dept: 'drc',
        sub: 'intruder',
        scope: SCOPE,
        ttlSeconds: 600,
      })
      expect((await get('/v1/catalog', forged)).status).toBe(401)
      const real = await world.token({ dept: 'drc', scope: SCOPE })
      expect((await get('/v1/catalog', real)).status).toBe(200)

      // Metrics: 404 on the public port, on their own loopback listener with process and runtime metrics.
      const publicMetrics = await get('/metrics')
      expect(publicMetrics.status).toBe(404)
      expect(publicMetrics.text).not.toContain('process_cpu_seconds_total')
      expect((await get('/healthz')).status).toBe(200)
      expect(new URL(metricsUrl).hostname).toBe('127.0.0.1')
      const metrics = await request(`${metricsUrl}/metrics`)
      const text = await metrics.body.text()
      expect(metrics.statusCode).toBe(200)
      expect(text).toMatch(/^process_cpu_seconds_total \d/m)
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m)
    } finally {
      await stopGatewayProcess(gateway)
    }
  }, 60_000)

  it('starts with only an HMAC secret as the key source, which then must be listed in QIAO_JWT_ALGORITHMS', async () => {
    const secretFile = join(world.dir, 'hmac.key')
    await writeFile(secretFile, 'a-shared-secret-of-at-least-32-bytes!!', { mode: 0o600 })
    const unlisted = serveSync({ QIAO_JWT_HMAC_SECRET_FILE: secretFile, QIAO_ISSUER: TEST_ISSUER })
    expect(unlisted.status).toBe(1)
    expect(unlisted.stderr).toContain('QIAO_JWT_ALGORITHMS')
    const gateway = await startGatewayProcess(
      baseEnv({
        QIAO_JWT_HMAC_SECRET_FILE: secretFile,
        QIAO_JWT_ALGORITHMS: 'HS256',
        QIAO_ISSUER: TEST_ISSUER,
        QIAO_AUDIENCE: TEST_AUDIENCE,
      }),
    )
    try {
      const { url } = gateway
      const res = await request(`${url}/.well-known/jwks.json`)
      await res.body.dump()
      expect(res.statusCode).toBe(404)
      const nowSec = Math.floor(Date.now() / 1000)
      const hs256 = await new SignJWT({ dept: 'drc', scope: SCOPE })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setSubject('svc-1')
        .setIssuedAt(nowSec)
        .setExpirationTime(nowSec + 600)
        .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'))
      const catalog = await request(`${url}/v1/catalog`, { headers: { authorization: `Bearer ${hs256}` } })
      await catalog.body.dump()
      expect(catalog.statusCode).toBe(200)
    } finally {
      await stopGatewayProcess(gateway)
    }
  }, 60_000)
})
