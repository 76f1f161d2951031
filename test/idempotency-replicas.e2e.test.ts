import { join } from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { seedSample, startDrcSimulator } from '../connectors/drc-tzxm/simulator/index.js'
import { LOCAL_PG } from './support/gateway.js'
import {
  type GatewayProcess,
  listening,
  postExchange,
  type QiaoEnv,
  type QiaoProcess,
  serveFixture,
  spawnGatewayProcess,
  stopGatewayProcess,
} from './support/gateway-process.js'

/**
 * Issue 10 acceptance: two `qiao serve` processes on one state store — PostgreSQL (QIAO_STATE_URL), and the
 * embedded SQLite file shared by two processes on one host — take 20 concurrent writes with ONE Idempotency-Key,
 * spread over both. The provider (the 发改 simulator, which receives the permit results) gets exactly one
 * delivery; every other call gets the first answer (replay) or 409 idempotency-in-flight.
 */
const world = serveFixture({ prefix: 'qiao-replicas-', keyId: 'replicas-key', simulator: startDrcSimulator })
const feedback = seedSample().permitFeedback
const children: QiaoProcess[] = []
const schemas: string[] = []

afterEach(async () => {
  for (const child of children.splice(0)) await stopGatewayProcess(child)
})
afterAll(async () => {
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
  await client.end()
})

/** `qiao serve` as its own process, with its own audit log (id, directory, keys). */
function startReplica(name: string, env: QiaoEnv): Promise<GatewayProcess> {
  const { dir } = world
  const run = spawnGatewayProcess({
    ...world.trust(),
    QIAO_AUDIT_LOG_ID: name,
    QIAO_AUDIT_DIR: join(dir, name, 'audit'),
    QIAO_AUDIT_KEY_FILE: join(dir, name, 'audit-hmac.key'),
    QIAO_AUDIT_SIGNING_KEY_FILE: join(dir, name, 'audit-signing.jwk.json'),
    QIAO_DRC_URL: world.sim.url,
    // No pre-stop window when the test stops them.
    QIAO_DRAIN_PRESTOP: '0',
    ...env,
  })
  children.push(run)
  return listening(run, `gateway ${name}`)
}

const urlsOf = (pair: readonly GatewayProcess[]) => pair.map((g) => g.url) as [string, string]

interface Answer {
  readonly status: number
  readonly text: string
  readonly replayed: boolean
  readonly problem: string | undefined
}

async function write(url: string, idempotencyKey: string, body: unknown): Promise<Answer> {
  const token = await world.token({ dept: 'housing', scope: 'QT00301001:drc.permit-feedback:write' })
  const res = await postExchange(
    url,
    '/v1/resources/drc.permit-feedback/records',
    { token, matter: 'QT00301001', caseId: 'SG-2026-0900', headers: { 'idempotency-key': idempotencyKey } },
    body,
  )
  const { status, text } = res
  let problem: string | undefined
  if (status >= 400)
    problem = String((JSON.parse(text) as { type?: string }).type)
      .split('/')
      .at(-1)
  return { status, text, replayed: res.headers['idempotent-replayed'] === 'true', problem }
}

/** 20 concurrent writes with one key, alternating between the two gateways, while the provider is slow. */
async function exactlyOnce(urls: readonly [string, string], permitSuffix: string): Promise<void> {
  const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}${permitSuffix}` }
  const idempotencyKey = `replicas-${permitSuffix}`
  const { sim } = world
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
    const replicas = await Promise.all([
      startReplica('replica-pg-1', { ...env, QIAO_DATA_DIR: join(world.dir, 'pg-1') }),
      startReplica('replica-pg-2', { ...env, QIAO_DATA_DIR: join(world.dir, 'pg-2') }),
    ])
    await exactlyOnce(urlsOf(replicas), '71')
  }, 120_000)

  it('a claim left in flight by a killed instance: in flight for the other, unknown once it restarts; never re-sent', async () => {
    const schema = `qiao_state_crash_${process.pid}`
    schemas.push(schema)
    const env = { QIAO_STATE_URL: `${LOCAL_PG}?schema=${schema}` }
    const { dir, sim } = world
    const a = { QIAO_DATA_DIR: join(dir, 'crash-a'), ...env }
    const [crashing, other] = await Promise.all([
      startReplica('replica-crash-a', a),
      startReplica('replica-crash-b', { QIAO_DATA_DIR: join(dir, 'crash-b'), ...env }),
    ])
    const otherUrl = other.url
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}73` }
    const pushes = () => sim.requests.filter((r) => Object.values(r.paras).includes(body.permitNo)).length
    sim.setKnobs({ latencyMs: 3_000 })
    try {
      const lost = write(crashing.url, 'replicas-crash', body).catch((err: Error) => err)
      // The claim is made before the delivery starts: once the provider has the request, kill the claimer.
      const until = Date.now() + 10_000
      while (pushes() === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      await stopGatewayProcess(crashing, 'SIGKILL')
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
    const restarted = (await startReplica('replica-crash-a', a)).url
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
    const shared = join(world.dir, 'sqlite-shared')
    const replicas = await Promise.all([
      startReplica('replica-sqlite-1', { QIAO_DATA_DIR: shared }),
      startReplica('replica-sqlite-2', { QIAO_DATA_DIR: shared }),
    ])
    await exactlyOnce(urlsOf(replicas), '72')
  }, 120_000)
})
