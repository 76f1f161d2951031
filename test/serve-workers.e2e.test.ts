import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSample, startDrcSimulator } from '../connectors/drc-tzxm/simulator/index.js'
import { type RunningHousingSimulator, startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import {
  type ClusterProcess,
  connectionTo,
  openConnection,
  startCluster,
  type WorkerConnection,
} from './support/cluster-process.js'
import { REPO } from './support/gateway.js'
import { PERMITS_MATTER, PERMITS_READER, runQiao, serveFixture, stopGatewayProcess } from './support/gateway-process.js'

/**
 * Issue 16: `qiao serve --workers 2`, one process tree on loopback, through its life: calls land on both workers,
 * each with its own audit log; quotas are one budget; a write retried on the other worker is delivered once; the
 * primary answers the metrics of both; SIGHUP and an API reload reach both; a worker killed with SIGKILL comes
 * back and continues its log; SIGTERM lets a slow call finish, every process exits 0, and both logs verify.
 * The cases share the one cluster, in order.
 */
const world = serveFixture({ prefix: 'qiao-workers-', keyId: 'workers-key', simulator: startDrcSimulator })
let housing: RunningHousingSimulator
let cluster: ClusterProcess
const [W1, W2] = ['workers-gw-w1', 'workers-gw-w2'] as const
/** Which worker's log each answer's audit id must be found in once the cluster has stopped. */
const expectedIn = new Map<string, string>()
let exchangeCalls = 0

beforeAll(async () => {
  housing = await startHousingSimulator({ port: 0 })
  // The demo catalog with absolute schema paths, in the scratch directory (its own file to reload).
  const catalog = join(world.dir, 'catalog.yaml')
  await writeFile(
    catalog,
    (await readFile(join(REPO, 'catalog.yaml'), 'utf8')).replaceAll(' schemas/', ` ${REPO}/schemas/`),
  )
  cluster = await startCluster({
    ...world.trust(),
    QIAO_DATA_DIR: join(world.dir, 'data'),
    QIAO_CATALOG: catalog,
    QIAO_AUDIT_LOG_ID: 'workers-gw',
    QIAO_DRC_URL: world.sim.url,
    QIAO_HOUSING_URL: housing.url,
    QIAO_METRICS_PORT: '0',
    QIAO_DRAIN_PRESTOP: '0',
    QIAO_DRAIN_TIMEOUT: '20s',
    // A probe that timed out on a loaded machine is repeated soon, not after the default 30 s.
    QIAO_HEALTH_INTERVAL: '1s',
  })
}, 150_000)

afterAll(async () => {
  if (cluster) await stopGatewayProcess(cluster, 'SIGKILL')
  await housing?.close()
})

const permitsToken = () => world.token(PERMITS_READER)
const projectCode = () => housing.data.permits[0]?.XMDM as string

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
  readonly auditId: string
}

/** An exchange call over a held connection, so it reaches that connection's worker. */
async function exchange(
  on: WorkerConnection,
  path: string,
  call: { token: string; matter: string; caseId: string; headers?: Record<string, string> },
  body: unknown,
): Promise<Answer> {
  const res = await on.client.request({
    method: 'POST',
    path,
    headers: {
      authorization: `Bearer ${call.token}`,
      'qiao-matter': call.matter,
      'qiao-case': call.caseId,
      'content-type': 'application/json',
      ...call.headers,
    },
    body: JSON.stringify(body),
  })
  const text = await res.body.text()
  exchangeCalls++
  const auditId = String(res.headers['qiao-audit-id'])
  expectedIn.set(auditId, on.logId)
  return { status: res.statusCode, headers: res.headers, text, auditId }
}

const readPermits = async (on: WorkerConnection, caseId: string) =>
  exchange(
    on,
    '/v1/resources/housing.construction-permit/query',
    { token: await permitsToken(), matter: PERMITS_MATTER, caseId },
    { projectCode: projectCode() },
  )

describe('qiao serve --workers 2', () => {
  it('hands connections to both workers, each with its own audit log id; calls are served on either', async () => {
    expect(cluster.logIds).toEqual([W1, W2])
    const seen = new Set<string>()
    for (let i = 0; i < 6; i++) {
      const connection = await openConnection(cluster.url)
      seen.add(connection.logId)
      if (i < 4) expect((await readPermits(connection, `WORKERS-SPREAD-${i}`)).status).toBe(200)
      await connection.close()
    }
    expect([...seen].sort()).toEqual([W1, W2])
  }, 60_000)

  it('counts a quota once for the gateway: each call takes from the same budget, whichever worker serves it', async () => {
    const [one, two] = [await connectionTo(cluster.url, W1), await connectionTo(cluster.url, W2)]
    try {
      const remaining: number[] = []
      for (let i = 0; i < 4; i++) {
        const answer = await readPermits(i % 2 === 0 ? one : two, `WORKERS-QUOTA-${i}`)
        expect(answer.status).toBe(200)
        // 发改's overall quota (catalog `drc-overall`): RateLimit: "drc-overall";r=<remaining>;t=<seconds>
        const m = /"drc-overall";r=(\d+)/.exec(String(answer.headers.ratelimit))
        remaining.push(Number(m?.[1]))
      }
      const first = remaining[0] as number
      expect(remaining).toEqual([first, first - 1, first - 2, first - 3])
    } finally {
      await Promise.all([one.close(), two.close()])
    }
  }, 60_000)

  it('delivers a write once when its retry (same Idempotency-Key) reaches the other worker', async () => {
    const feedback = seedSample().permitFeedback
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}81` }
    const write = async (on: WorkerConnection) =>
      exchange(
        on,
        '/v1/resources/drc.permit-feedback/records',
        {
          token: await world.token({ dept: 'housing', scope: 'QT00301001:drc.permit-feedback:write' }),
          matter: 'QT00301001',
          caseId: 'SG-2026-0981',
          headers: { 'idempotency-key': 'workers-retry-81' },
        },
        body,
      )
    const one = await connectionTo(cluster.url, W1)
    const first = await write(one)
    await one.close()
    expect(first.status).toBe(201)
    const two = await connectionTo(cluster.url, W2)
    const retry = await write(two)
    await two.close()
    expect(retry).toMatchObject({ status: 201, text: first.text })
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(world.sim.received.get(body.permitNo)?.count).toBe(1)
  }, 60_000)

  it('serves the metrics of both workers on the primary’s listener: counters summed, gauges per worker', async () => {
    const up = (t: string) =>
      [1, 2].every((w) => new RegExp(`^qiao_upstream_up\\{connector="housing-gongai",worker="${w}"\\} 1$`, 'm').test(t))
    // Each worker's gauge is its own last probe: wait (a few probe intervals at most) until both have probed up.
    let text = ''
    for (const end = Date.now() + 15_000; ; ) {
      const res = await request(cluster.metricsUrl as string)
      text = await res.body.text()
      expect(res.statusCode).toBe(200)
      if (up(text) || Date.now() > end) break
      await new Promise((r) => setTimeout(r, 250))
    }
    const calls = [...text.matchAll(/^qiao_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
    expect(calls).toBe(exchangeCalls)
    expect(text).toMatch(/^qiao_upstream_up\{connector="housing-gongai",worker="1"\} 1$/m)
    expect(text).toMatch(/^qiao_upstream_up\{connector="housing-gongai",worker="2"\} 1$/m)
    expect(text).toMatch(/^qiao_cluster_workers_ready 2$/m)
  }, 30_000)

  it('reloads the catalog in every worker on SIGHUP to the primary, and on an API reload made on one worker', async () => {
    // Each worker's log lines carry its slot.
    const reloads = () => {
      const bySlot = [0, 0]
      for (const line of cluster.output().split('\n')) {
        if (!line.includes('"msg":"catalog reloaded"')) continue
        const { worker } = JSON.parse(line) as { worker: number }
        bySlot[worker - 1] = (bySlot[worker - 1] ?? 0) + 1
      }
      return bySlot
    }
    expect(reloads()).toEqual([0, 0])
    cluster.child.kill('SIGHUP')
    await until(() => reloads().join() === '1,1', 'both workers reloaded on SIGHUP')
    const one = await connectionTo(cluster.url, W1)
    const res = await one.client.request({
      method: 'POST',
      path: '/v1/admin/catalog/reload',
      headers: { authorization: `Bearer ${await world.token({ dept: 'drc', sub: 'ops-1', scope: 'catalog:admin' })}` },
    })
    expect(res.statusCode).toBe(200)
    await res.body.dump()
    await one.close()
    await until(() => reloads().join() === '2,2', 'the API reload passed on to the other worker')
  }, 60_000)

  it('restarts a worker killed with SIGKILL; it serves again and goes on with its own log', async () => {
    const killed = cluster.readyWorkers().find((w) => w.slot === 2)
    expect(killed?.logId).toBe(W2)
    process.kill(killed?.pid as number, 'SIGKILL')
    const again = await cluster.workerReady(2, killed?.pid)
    expect(again.logId).toBe(W2)
    const two = await connectionTo(cluster.url, W2)
    expect((await readPermits(two, 'WORKERS-AFTER-RESTART')).status).toBe(200)
    await two.close()
  }, 90_000)

  it('drains on SIGTERM: a slow call in flight finishes, every process exits 0, and both logs verify', async () => {
    const two = await connectionTo(cluster.url, W2)
    const served = housing.requests.filter((r) => r.service === 'sgxk.query').length
    housing.setKnobs({ latencyMs: 2_500 })
    let slow: Answer
    try {
      const inFlight = readPermits(two, 'WORKERS-DRAIN')
      await until(
        () => housing.requests.filter((r) => r.service === 'sgxk.query').length > served,
        'the slow call at the provider',
      )
      cluster.child.kill('SIGTERM')
      slow = await inFlight
    } finally {
      housing.setKnobs({ latencyMs: 0 })
    }
    expect(slow.status).toBe(200)
    expect(await cluster.exit).toBe(0)
    await two.close()

    const dir = join(world.dir, 'data', 'audit')
    const verified = await runQiao(['audit', 'verify', '--dir', dir, '--json'])
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    const report = JSON.parse(verified.stdout) as { logs: { logId: string; uncovered: number }[] }
    expect(report.logs.map((l) => [l.logId, l.uncovered])).toEqual([
      [W1, 0],
      [W2, 0],
    ])

    const entries: LogEntry[] = []
    const backend = createFileAuditBackend({ dir, now: Date.now })
    for await (const e of backend.query({})) entries.push(e)
    await backend.close()
    // Every call is recorded in the log of the worker that served it.
    const logOf = new Map(entries.map((e) => [e.record.id, e.logId]))
    for (const [auditId, logId] of expectedIn) expect([auditId, logOf.get(auditId)]).toEqual([auditId, logId])
    const actions = (logId: string) =>
      entries
        .filter((e) => e.logId === logId && e.record.kind === 'admin')
        .map((e) => (e.record as { action: string }).action)
    // W2 started twice (the SIGKILL in between) and stopped once; both reloaded twice and stopped cleanly.
    expect(actions(W2).filter((a) => a === 'gateway.start')).toHaveLength(2)
    for (const logId of [W1, W2]) {
      expect(actions(logId).filter((a) => a === 'catalog.reload')).toHaveLength(2)
      expect(actions(logId).at(-1)).toBe('gateway.stop')
    }
    // The API reload is recorded in both logs, with its actor and the same request id.
    const apiReloads = entries.filter(
      (e) => e.record.kind === 'admin' && e.record.action === 'catalog.reload' && e.record.actor === 'drc/ops-1',
    )
    expect(apiReloads.map((e) => e.logId).sort()).toEqual([W1, W2])
    const requestIds = apiReloads.map((e) => (e.record as { requestId?: string }).requestId)
    expect(requestIds[0]).toBeTruthy()
    expect(requestIds[1]).toBe(requestIds[0])
  }, 90_000)
})

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${cluster.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
