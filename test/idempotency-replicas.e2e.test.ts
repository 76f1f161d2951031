import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RunningDrcSimulator, seedSample, startDrcSimulator } from '../connectors/drc-tzxm/simulator/index.js'
import { LOCAL_PG, REPO } from './support/gateway.js'
import { createTestKey, signToken, TEST_AUDIENCE, TEST_ISSUER, type TestKey } from './support/keys.js'

/**
 * Issue 10 acceptance: two `qiao serve` processes on one state store — PostgreSQL (QIAO_STATE_URL), and the
 * embedded SQLite file shared by two processes on one host — take 20 concurrent writes with ONE Idempotency-Key,
 * spread over both. The provider (the 发改 simulator, which receives the permit results) gets exactly one
 * delivery; every other call gets the first answer (replay) or 409 idempotency-in-flight.
 */
let dir: string
let sim: RunningDrcSimulator
let key: TestKey
const feedback = seedSample().permitFeedback
const children: ChildProcess[] = []
const schemas: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-replicas-'))
  sim = await startDrcSimulator({ port: 0 })
  key = await createTestKey('EdDSA', 'replicas-key')
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }))
})
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGTERM')
    await exited(child)
  }
})
afterAll(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
  await client.end()
})

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** `qiao serve` as its own process, with its own audit log (id, directory, keys). */
async function startGatewayProcess(name: string, env: Record<string, string>): Promise<string> {
  return (await startGatewayChild(name, env)).url
}

async function startGatewayChild(
  name: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'serve'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      QIAO_PORT: '0',
      QIAO_JWKS_FILE: join(dir, 'jwks.json'),
      QIAO_ISSUER: TEST_ISSUER,
      QIAO_AUDIENCE: TEST_AUDIENCE,
      QIAO_AUDIT_LOG_ID: name,
      QIAO_AUDIT_DIR: join(dir, name, 'audit'),
      QIAO_AUDIT_KEY_FILE: join(dir, name, 'audit-hmac.key'),
      QIAO_AUDIT_SIGNING_KEY_FILE: join(dir, name, 'audit-signing.jwk.json'),
      QIAO_DRC_URL: sim.url,
      QIAO_HEALTH_INTERVAL: '0',
      QIAO_LOG_LEVEL: 'info',
      // No pre-stop window when the test stops them.
      QIAO_DRAIN_PRESTOP: '0',
      ...env,
    },
  })
  children.push(child)
  let out = ''
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString()
  })
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway ${name} did not start:\n${out}`)), 30_000)
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"qiao listening"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1] as string)
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => reject(new Error(`gateway ${name} exited ${code}:\n${out}`)))
  })
  return { child, url }
}

interface Answer {
  readonly status: number
  readonly text: string
  readonly replayed: boolean
  readonly problem: string | undefined
}

async function write(url: string, idempotencyKey: string, body: unknown): Promise<Answer> {
  const token = await signToken(
    key,
    { dept: 'housing', scope: 'QT00301001:drc.permit-feedback:write' },
    { now: Date.now() },
  )
  const res = await request(`${url}/v1/resources/drc.permit-feedback/records`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'qiao-matter': 'QT00301001',
      'qiao-case': 'SG-2026-0900',
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify(body),
  })
  const text = await res.body.text()
  let problem: string | undefined
  if (res.statusCode >= 400)
    problem = String((JSON.parse(text) as { type?: string }).type)
      .split('/')
      .at(-1)
  return { status: res.statusCode, text, replayed: res.headers['idempotent-replayed'] === 'true', problem }
}

/** 20 concurrent writes with one key, alternating between the two gateways, while the provider is slow. */
async function exactlyOnce(urls: readonly [string, string], permitSuffix: string): Promise<void> {
  const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}${permitSuffix}` }
  const idempotencyKey = `replicas-${permitSuffix}`
  // Slow enough that the first delivery is still running when the others arrive.
  sim.setKnobs({ latencyMs: 400 })
  let answers: Answer[]
  try {
    answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => write(urls[i % 2] as string, idempotencyKey, body)),
    )
  } finally {
    sim.setKnobs({ latencyMs: 0 })
  }
  expect(sim.received.get(body.permitNo)?.count).toBe(1)

  const delivered = answers.filter((a) => a.status === 201 && !a.replayed)
  expect(delivered).toHaveLength(1)
  const first = delivered[0] as Answer
  for (const other of answers.filter((a) => a !== first)) {
    if (other.status === 201) {
      expect(other.replayed).toBe(true)
      expect(other.text).toBe(first.text)
    } else {
      expect({ status: other.status, problem: other.problem }).toEqual({
        status: 409,
        problem: 'idempotency-in-flight',
      })
    }
  }
  // Afterwards, on either instance: the first answer, byte for byte, and still one delivery.
  for (const url of urls) {
    const again = await write(url, idempotencyKey, body)
    expect(again).toMatchObject({ status: 201, replayed: true, text: first.text })
  }
  expect(sim.received.get(body.permitNo)?.count).toBe(1)
}

describe('one Idempotency-Key over two gateway processes', () => {
  it('PostgreSQL state store (QIAO_STATE_URL): 20 concurrent writes deliver exactly once', async () => {
    const schema = `qiao_state_replicas_${process.pid}`
    schemas.push(schema)
    const env = { QIAO_STATE_URL: `${LOCAL_PG}?schema=${schema}` }
    // Started together: both run the migrations at once on the fresh schema.
    const urls = await Promise.all([
      startGatewayProcess('replica-pg-1', { ...env, QIAO_DATA_DIR: join(dir, 'pg-1') }),
      startGatewayProcess('replica-pg-2', { ...env, QIAO_DATA_DIR: join(dir, 'pg-2') }),
    ])
    await exactlyOnce(urls as [string, string], '71')
  }, 120_000)

  it('a claim left in flight by a killed instance: in flight for the other, unknown once it restarts; never re-sent', async () => {
    const schema = `qiao_state_crash_${process.pid}`
    schemas.push(schema)
    const env = { QIAO_STATE_URL: `${LOCAL_PG}?schema=${schema}` }
    const a = { QIAO_DATA_DIR: join(dir, 'crash-a'), ...env }
    const [crashing, otherUrl] = await Promise.all([
      startGatewayChild('replica-crash-a', a),
      startGatewayProcess('replica-crash-b', { QIAO_DATA_DIR: join(dir, 'crash-b'), ...env }),
    ])
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}73` }
    const pushes = () => sim.requests.filter((r) => Object.values(r.paras).includes(body.permitNo)).length
    sim.setKnobs({ latencyMs: 3_000 })
    try {
      const lost = write(crashing.url, 'replicas-crash', body).catch((err: Error) => err)
      // The claim is made before the delivery starts: once the provider has the request, kill the claimer.
      const until = Date.now() + 10_000
      while (pushes() === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      crashing.child.kill('SIGKILL')
      await exited(crashing.child)
      expect(await lost).toBeInstanceOf(Error)
    } finally {
      sim.setKnobs({ latencyMs: 0 })
    }
    // Within the claim's window the other instance cannot tell a slow delivery from a dead claimer.
    expect(await write(otherUrl, 'replicas-crash', body)).toMatchObject({
      status: 409,
      problem: 'idempotency-in-flight',
    })
    // The killed instance starts again (same instance id): its claims from before are unknown, for everyone.
    const restarted = await startGatewayProcess('replica-crash-a', a)
    for (const url of [otherUrl, restarted]) {
      expect(await write(url, 'replicas-crash', body)).toMatchObject({
        status: 409,
        problem: 'idempotency-outcome-unknown',
      })
    }
    expect(pushes()).toBe(1)
    expect(sim.received.get(body.permitNo)?.count ?? 0).toBeLessThanOrEqual(1)
  }, 120_000)

  it('embedded SQLite shared by two processes on one host: 20 concurrent writes deliver exactly once', async () => {
    // One data directory, so one <data dir>/state.sqlite; each process has its own connection to it.
    const shared = join(dir, 'sqlite-shared')
    const urls = await Promise.all([
      startGatewayProcess('replica-sqlite-1', { QIAO_DATA_DIR: shared }),
      startGatewayProcess('replica-sqlite-2', { QIAO_DATA_DIR: shared }),
    ])
    await exactlyOnce(urls as [string, string], '72')
  }, 120_000)
})
