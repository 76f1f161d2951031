import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { readConfig } from '../gateway/config/settings.js'
import { startGateway } from '../gateway/gateway.js'
import type { LockHolder } from '../gateway/storage/writer-lock.js'
import { WriterLockHeldError } from '../gateway/storage/writer-lock.js'
import { LOCAL_PG, startHarness } from './support/gateway.js'
import {
  type GatewayProcess,
  PERMITS_READER,
  type QiaoEnv,
  type QiaoProcess,
  queryPermits,
  runQiao,
  serveFixture,
  spawnGatewayProcess,
  spawnQiao,
  startGatewayProcess,
  stopGatewayProcess,
  waitForOutput,
} from './support/gateway-process.js'
import { TEST_ISSUER } from './support/keys.js'

/**
 * Issue 10, part 2: one writer per file audit log. Real `qiao serve` and `qiao demo` processes on one data
 * directory: the second refuses, naming the first; a lock left by a dead process on this host is taken over; a lock
 * of another host is refused. The log stays valid throughout (`qiao audit verify`).
 */
const world = serveFixture({ prefix: 'qiao-writer-lock-', keyId: 'lock-key', simulator: startHousingSimulator })
let dirs = 0

/** A new data directory and the `qiao serve` environment for it. */
function serveEnv(): QiaoEnv {
  return {
    HOME: process.env.HOME,
    QIAO_DATA_DIR: join(world.dir, `data-${++dirs}`),
    ...world.trust(),
    QIAO_AUDIT_LOG_ID: 'lock-gw',
    QIAO_HOUSING_URL: world.sim.url,
  }
}

function lockFileOf(env: QiaoEnv): string {
  return join(env.QIAO_DATA_DIR as string, 'audit', env.QIAO_AUDIT_LOG_ID as string, 'writer.lock')
}

async function readLock(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockHolder
  } catch {
    return undefined
  }
}

/** `qiao serve`, once it listens and its lock names its URL (by then it also handles SIGTERM). */
async function startServe(env: QiaoEnv): Promise<GatewayProcess> {
  const run = await startGatewayProcess(env)
  for (let i = 0; (await readLock(lockFileOf(env)))?.url !== run.url; i++) {
    if (i > 200) throw new Error(`the lock never named ${run.url}:\n${run.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return run
}

/** Waits for a process that must refuse to start: it exits non-zero (not by a signal); what it printed. */
async function refusal(run: QiaoProcess): Promise<string> {
  const code = await run.exit
  expect(code).not.toBe(0)
  expect(code).not.toBeNull()
  return run.output()
}

/** `qiao audit verify --dir …` as an auditor runs it. */
async function verify(auditDir: string): Promise<{ code: number; output: string }> {
  const run = await runQiao(['audit', 'verify', '--dir', auditDir], { HOME: process.env.HOME })
  return { code: run.code, output: run.stdout + run.stderr }
}

async function query(url: string, caseId: string): Promise<{ status: number; auditId: string | undefined }> {
  const token = await world.token(PERMITS_READER)
  const res = await queryPermits(url, { token, caseId, projectCode: world.sim.data.permits[0]?.XMDM })
  return { status: res.status, auditId: res.auditId }
}

/** The pid of a process that has exited: certainly not running. */
async function deadPid(): Promise<number> {
  const child = spawn('true')
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

async function writeLock(env: QiaoEnv, holder: LockHolder): Promise<string> {
  const logDir = join(env.QIAO_DATA_DIR as string, 'audit', env.QIAO_AUDIT_LOG_ID as string)
  await mkdir(logDir, { recursive: true })
  const file = join(logDir, 'writer.lock')
  await writeFile(file, JSON.stringify(holder))
  return file
}

async function adminActions(auditDir: string): Promise<string[]> {
  const backend = createFileAuditBackend({ dir: auditDir, now: Date.now })
  const actions: string[] = []
  for await (const entry of backend.query({})) {
    if (entry.record.kind === 'admin') actions.push(entry.record.action)
  }
  return actions
}

describe('two qiao serve on one data directory', () => {
  it('the second refuses, naming the first; the first keeps serving; the log verifies', async () => {
    const env = serveEnv()
    const auditDir = join(env.QIAO_DATA_DIR as string, 'audit')
    const first = await startServe(env)
    try {
      const message = await refusal(spawnGatewayProcess(env))
      expect(message).toContain(`pid ${first.child.pid} on ${hostname()}`)
      expect(message).toContain(first.url)
      expect(message).toContain('Stop that process')
      expect(message).toMatch(/QIAO_DATA_DIR \(or QIAO_AUDIT_DIR\), or its own QIAO_AUDIT_LOG_ID/)
      expect(message).not.toContain('qiao listening')
      expect(message).not.toMatch(/\n\s+at /) // a message, not a stack trace

      const answer = await query(first.url, 'LOCK-1')
      expect(answer.status).toBe(200)
      expect(typeof answer.auditId).toBe('string')
      const whileRunning = await verify(auditDir)
      expect(whileRunning.output).not.toContain('problem')
      expect(whileRunning.code).toBe(0)
    } finally {
      await stopGatewayProcess(first)
    }
    expect(first.child.exitCode, first.output()).toBe(0)
    const afterStop = await verify(auditDir)
    expect(afterStop.code).toBe(0)
    // One gateway wrote this log: one start, one stop; the lock went with the clean stop.
    const actions = await adminActions(auditDir)
    expect(actions.filter((a) => a === 'gateway.start')).toHaveLength(1)
    expect(actions.filter((a) => a === 'gateway.stop')).toHaveLength(1)
    await expect(readFile(join(auditDir, 'lock-gw', 'writer.lock'))).rejects.toMatchObject({ code: 'ENOENT' })

    // And the directory is free again for the next one.
    const next = await startServe(env)
    expect(await stopGatewayProcess(next), next.output()).toBe(0)
    expect((await verify(auditDir)).code).toBe(0)
  }, 90_000)
})

describe('a lock left behind', () => {
  it('by a dead process on this host is taken over, reported, and the gateway starts', async () => {
    const env = serveEnv()
    const stalePid = await deadPid()
    const file = await writeLock(env, {
      id: 'left-by-a-crash',
      pid: stalePid,
      host: hostname(),
      since: '2026-11-26T02:00:00.000Z',
    })
    const gateway = await startServe(env)
    try {
      const warning = gateway
        .output()
        .split('\n')
        .find((line) => line.includes('writer lock taken over'))
      expect(warning).toBeDefined()
      expect(JSON.parse(warning as string)).toMatchObject({
        level: 40,
        previousWriter: { pid: stalePid, since: '2026-11-26T02:00:00.000Z' },
      })
      expect(await readLock(file)).toMatchObject({ pid: gateway.child.pid, host: hostname(), url: gateway.url })
      expect((await query(gateway.url, 'LOCK-STALE')).status).toBe(200)
    } finally {
      await stopGatewayProcess(gateway)
    }
    expect(gateway.child.exitCode, gateway.output()).toBe(0)
    expect((await verify(join(env.QIAO_DATA_DIR as string, 'audit'))).code).toBe(0)
  }, 60_000)

  it('by another host is refused, with how to remove it', async () => {
    const env = serveEnv()
    const file = await writeLock(env, {
      id: 'elsewhere',
      pid: 4242,
      host: 'gateway-on-another-host',
      since: '2026-11-26T02:00:00.000Z',
    })
    const out = await refusal(spawnGatewayProcess(env))
    expect(out).toContain('locked by a process on another host: pid 4242 on gateway-on-another-host')
    expect(out).toContain(`If it certainly no longer does, remove ${file} and start again`)
    expect(out).not.toContain('qiao listening')
    // Untouched: it is not ours to judge.
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ id: 'elsewhere' })
  }, 60_000)
})

describe('two qiao demo on one data directory', () => {
  it('the second says so with the fix and exits non-zero before starting anything; the log stays valid', async () => {
    const dataDir = join(world.dir, `demo-${++dirs}`)
    const env = {
      HOME: process.env.HOME,
      QIAO_DATA_DIR: dataDir,
      QIAO_PORT: '0',
      QIAO_LOG_LEVEL: 'warn',
      QIAO_HEALTH_INTERVAL: '0',
    }
    const first = spawnQiao(['demo'], env)
    const [, url] = await waitForOutput(first, /Qiao demo gateway: (http:\/\/\S+)/, 'the demo came up')
    try {
      const out = await refusal(spawnQiao(['demo'], env))
      expect(out).toContain(`another Qiao gateway (pid ${first.child.pid}, since `)
      expect(out).toContain(`is running with data directory ${dataDir} on ${url}`)
      expect(out).toContain('Stop it (Ctrl-C in its terminal), or start a second one with its own directory:')
      expect(out).toContain(`QIAO_DATA_DIR=${dataDir}-2`)
      expect(out).toContain('npm start')
      // Detected before anything started: no simulator, no gateway.
      expect(out).not.toContain('simulator')
      expect(out).not.toContain('Qiao demo gateway')

      // The first one still serves.
      const health = await request(`${url}/healthz`)
      await health.body.text()
      expect(health.statusCode).toBe(200)
    } finally {
      await stopGatewayProcess(first, 'SIGINT')
    }
    expect(first.child.exitCode, first.output()).toBe(0)
    const auditDir = join(dataDir, 'audit')
    const result = await verify(auditDir)
    expect(result.code).toBe(0)
    const actions = await adminActions(auditDir)
    expect(actions.filter((a) => a === 'gateway.start')).toHaveLength(1)
  }, 90_000)
})

describe('in one process', () => {
  it('a restart releases the lock and takes a new one; a second gateway on the same log is refused; close frees it', async () => {
    const h = await startHarness()
    const file = join(h.auditDir, 'writer.lock')
    try {
      const before = await readLock(file)
      expect(before).toMatchObject({ pid: process.pid, host: hostname() })
      const err = await startGateway({ config: h.config }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WriterLockHeldError)
      expect((err as WriterLockHeldError).holder?.id).toBe(before?.id)

      await h.restart()
      const after = await readLock(file)
      expect(after?.pid).toBe(process.pid)
      expect(after?.id).not.toBe(before?.id)
      const token = await h.token({ dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' })
      const projectCode = h.sim.data.permits[0]?.XMDM as string
      const res = await h.query(
        'housing.construction-permit',
        { projectCode },
        { token, matter: 'QT00301001', caseId: 'LOCK-RESTART' },
      )
      expect(res.status).toBe(200)
    } finally {
      await h.gateway.close()
    }
    expect(await readLock(file)).toBeUndefined()
    await h.close()
  }, 60_000)

  it('a start that fails after taking the lock releases it', async () => {
    const dataDir = join(world.dir, `failing-${++dirs}`)
    const read = readConfig({
      QIAO_PORT: '0',
      QIAO_DATA_DIR: dataDir,
      QIAO_JWKS_FILE: join(world.dir, 'no-such-jwks.json'),
      QIAO_ISSUER: TEST_ISSUER,
      QIAO_AUDIT_LOG_ID: 'failing-gw',
      QIAO_LOG_LEVEL: 'silent',
    })
    if (!read.ok) throw new Error(read.errors.join('\n'))
    await expect(startGateway({ config: read.config })).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readLock(join(dataDir, 'audit', 'failing-gw', 'writer.lock'))).toBeUndefined()
    // So the next attempt is not refused by a lock of this still-running process.
    await expect(startGateway({ config: read.config })).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('with the PostgreSQL audit store there is no lock file: the advisory lock per log is the single-writer guard', async () => {
    const schema = `qiao_writer_lock_${process.pid}`
    const h = await startHarness({
      env: { QIAO_AUDIT_URL: `${LOCAL_PG}?schema=${schema}`, QIAO_AUDIT_LOG_ID: 'pg-gw' },
    })
    try {
      expect(await readLock(join(h.config.auditDir, 'pg-gw', 'writer.lock'))).toBeUndefined()
      const err = await startGateway({ config: h.config }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      expect((err as Error).message).toContain('already open by another gateway instance')
    } finally {
      await h.close()
      const client = new pg.Client({ connectionString: LOCAL_PG })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
      await client.end()
    }
  }, 60_000)
})
