import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO } from './support/gateway.js'

/** The CLI as a new user runs it: real processes, the demo catalog, the simulators, and a printed curl. */

const CLI = [process.execPath, '--import', 'tsx', 'gateway/cli.ts'] as const
let dataDir: string

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'qiao-cli-'))
})
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, QIAO_DATA_DIR: dataDir, QIAO_LOG_LEVEL: 'warn', ...extra }
}

describe('qiao demo', () => {
  it('starts the gateway with the simulators and prints a curl that performs a real query', async () => {
    const child = spawn(CLI[0], CLI.slice(1).concat('demo'), { cwd: REPO, env: env({ QIAO_PORT: '0' }) })
    let out = ''
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString()
    })
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString()
    })
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`demo did not come up:\n${out}`)), 20_000)
        child.stdout.on('data', () => {
          if (out.includes('Ctrl-C stops')) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.once('exit', (code) => reject(new Error(`demo exited ${code}:\n${out}`)))
      })
      expect(out).toContain('DEMO MODE')
      expect(out).toMatch(/node dist\/gateway\/cli\.js token --dept \w+ --sub \S+ --scope '[^']+'/)
      const lines = out.split('\n')
      const start = lines.findIndex((l) => l.trimStart().startsWith('curl -sS ') && l.includes('/query'))
      expect(start).toBeGreaterThan(0)
      const curl = lines
        .slice(start, start + 4)
        .map((l) => l.replace(/\\$/, ''))
        .join(' ')
      const { stdout } = await promisify(execFile)('sh', ['-c', curl], { timeout: 10_000 })
      const body = JSON.parse(stdout) as { data: unknown[]; meta: { auditId: string; masked: string[] } }
      expect(body.data.length).toBeGreaterThan(0)
      expect(body.meta.masked.length).toBeGreaterThan(0)
      expect(body.meta.auditId).toMatch(/^[0-9a-f-]{36}$/)
    } finally {
      child.kill('SIGINT')
      await new Promise((resolve) => child.once('exit', resolve))
    }
    expect(child.exitCode).toBe(0)
  }, 40_000)
})

describe('qiao token', () => {
  it('mints a token the demo gateway accepts: signed by the dev key, with the claims asked for', async () => {
    const run = spawnSync(
      CLI[0],
      CLI.slice(1).concat([
        'token',
        '--dept',
        'drc',
        '--sub',
        'officer-9',
        '--scope',
        'QT00301001:housing.construction-permit:read',
        '--ttl',
        '30m',
      ]),
      { cwd: REPO, env: env(), encoding: 'utf8', timeout: 15_000 },
    )
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const { loadOrCreateDevKey } = await import('../gateway/auth/dev-keys.js')
    const key = await loadOrCreateDevKey(dataDir)
    const { payload, protectedHeader } = await jwtVerify(run.stdout.trim(), createLocalJWKSet(key.publicJwks), {
      issuer: 'urn:qiao:demo-issuer',
      audience: 'qiao',
    })
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid })
    expect(payload).toMatchObject({
      dept: 'drc',
      sub: 'officer-9',
      scope: 'QT00301001:housing.construction-permit:read',
    })
    expect((payload.exp as number) - (payload.iat as number)).toBe(1800)
  })

  it('refuses outside demo mode', () => {
    const run = spawnSync(CLI[0], CLI.slice(1).concat(['token', '--dept', 'drc', '--sub', 's', '--scope', 'x']), {
      cwd: REPO,
      env: env({ QIAO_JWKS_FILE: '/nonexistent.json', QIAO_ISSUER: 'i' }),
      encoding: 'utf8',
      timeout: 15_000,
    })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('only in demo mode')
  })
})

describe('qiao serve', () => {
  it('refuses to start on an invalid catalog and prints every problem', () => {
    const run = spawnSync(CLI[0], CLI.slice(1).concat('serve'), {
      cwd: REPO,
      // A key source, so that the catalog is what stops it (its key set would be read only after the catalog).
      env: env({
        QIAO_CATALOG: 'test/fixtures/catalogs/three-mistakes.yaml',
        QIAO_PORT: '0',
        QIAO_JWKS_FILE: '/nonexistent/jwks.json',
        QIAO_ISSUER: 'https://idp.example/realms/zwfw',
      }),
      encoding: 'utf8',
      timeout: 15_000,
    })
    expect(run.status).toBe(1)
    const lines = run.stderr.trim().split('\n')
    expect(
      lines.filter(
        (l) =>
          /^test\/fixtures\/catalogs\/three-mistakes\.yaml:\d+:\d+ /.test(l) || /three-mistakes\.yaml:\d+:\d+ /.test(l),
      ).length,
    ).toBe(3)
    expect(lines.at(-1)).toBe('3 problem(s) in the catalog; the gateway did not start')
  })

  it('refuses to start on bad configuration and names every variable', () => {
    const run = spawnSync(CLI[0], CLI.slice(1).concat('serve'), {
      cwd: REPO,
      env: env({ QIAO_PORT: 'x', QIAO_BODY_LIMIT: 'lots' }),
      encoding: 'utf8',
      timeout: 15_000,
    })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('QIAO_PORT')
    expect(run.stderr).toContain('QIAO_BODY_LIMIT')
  })
})
