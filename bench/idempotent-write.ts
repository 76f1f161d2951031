import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import pg from 'pg'
import { request } from 'undici'
import { seedSample, startDrcSimulator } from '../connectors/drc-tzxm/simulator/index.js'
import { readConfig } from '../gateway/config/settings.js'
import { startGateway } from '../gateway/gateway.js'
import { createLogger } from '../gateway/telemetry/logger.js'
import { describeMachine } from './lib/machine.js'
import { percentile } from './lib/stats.js'

/**
 * Idempotent-write latency on each state store backend: a gateway started in-process with the 发改 simulator (the
 * provider of drc.permit-feedback, the write resource), N sequential writes with fresh Idempotency-Keys (claim,
 * delivery, audit record, stored answer), then N replays of those keys (claim finds the answer; no delivery).
 * Both include the audit record made durable before the answer (file audit log, fdatasync per group).
 *
 * Usage: node --import tsx bench/idempotent-write.ts [N=500] [postgres URL]
 * Writes bench/results/idempotency-latest.json and .md.
 */

const ROOT = resolve(import.meta.dirname, '..')
const N = Number(process.argv[2] ?? 500)
const PG_URL = process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432/test'
const WARMUP = 50
const ISSUER = 'https://idp.bench.qiao/realms/zwfw'
const AUDIENCE = 'urn:qiao:bench'

interface Latency {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}
interface BackendResult {
  readonly backend: 'sqlite' | 'postgres'
  readonly writes: Latency
  readonly replays: Latency
  readonly deliveries: number
}

const summarise = (ms: readonly number[]): Latency => ({
  p50Ms: round(percentile(ms, 50)),
  p99Ms: round(percentile(ms, 99)),
  maxMs: round(Math.max(...ms)),
})
const round = (v: number) => Math.round(v * 100) / 100

async function run(backend: 'sqlite' | 'postgres'): Promise<BackendResult> {
  const dir = await mkdtemp(join(tmpdir(), `qiao-bench-idem-${backend}-`))
  const schema = `qiao_state_bench_${process.pid}`
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true })
  await writeFile(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] }),
  )
  const sim = await startDrcSimulator({ port: 0 })
  const configResult = readConfig({
    QIAO_PORT: '0',
    QIAO_CATALOG: join(ROOT, 'catalog.yaml'),
    QIAO_DATA_DIR: join(dir, 'data'),
    QIAO_JWKS_FILE: join(dir, 'jwks.json'),
    QIAO_ISSUER: ISSUER,
    QIAO_AUDIENCE: AUDIENCE,
    QIAO_LOG_LEVEL: 'silent',
    QIAO_HEALTH_INTERVAL: '0',
    ...(backend === 'postgres' ? { QIAO_STATE_URL: `${PG_URL}?schema=${schema}` } : {}),
  })
  if (!configResult.ok) throw new Error(configResult.errors.join('\n'))
  const gateway = await startGateway({
    config: configResult.config,
    logger: createLogger('silent'),
    vars: { ...process.env, QIAO_DRC_URL: sim.url },
  })
  const token = await new SignJWT({ dept: 'housing', scope: 'QT00301001:drc.permit-feedback:write' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'bench', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('bench-officer')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey)
  const feedback = seedSample().permitFeedback
  const bodyOf = (i: number) => ({
    ...feedback,
    permitNo: `${feedback.permitNo.slice(0, 10)}${String(i).padStart(8, '0')}`,
  })

  async function write(i: number, expectReplay: boolean): Promise<number> {
    const started = performance.now()
    const res = await request(`${gateway.url}/v1/resources/drc.permit-feedback/records`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'qiao-matter': 'QT00301001',
        'qiao-case': 'BENCH-1',
        'content-type': 'application/json',
        'idempotency-key': `bench-${backend}-${i}`,
      },
      body: JSON.stringify(bodyOf(i)),
    })
    await res.body.text()
    const elapsed = performance.now() - started
    const replayed = res.headers['idempotent-replayed'] === 'true'
    if (res.statusCode !== 201 || replayed !== expectReplay) {
      throw new Error(`write ${i}: status ${res.statusCode}, replayed ${replayed}`)
    }
    return elapsed
  }

  try {
    for (let i = 0; i < WARMUP; i++) await write(N + i, false)
    const writes: number[] = []
    for (let i = 0; i < N; i++) writes.push(await write(i, false))
    const replays: number[] = []
    for (let i = 0; i < N; i++) replays.push(await write(i, true))
    let deliveries = 0
    for (const r of sim.received.values()) deliveries += r.count
    return { backend, writes: summarise(writes), replays: summarise(replays), deliveries }
  } finally {
    await gateway.close()
    await sim.close()
    await rm(dir, { recursive: true, force: true })
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: PG_URL })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
      await client.end()
    }
  }
}

const startedAt = new Date()
const results: BackendResult[] = []
for (const backend of ['sqlite', 'postgres'] as const) {
  results.push(await run(backend))
  console.log(JSON.stringify(results.at(-1)))
}
const machine = describeMachine(ROOT, tmpdir())
const output = {
  ranAt: startedAt.toISOString(),
  command: `node --import tsx bench/idempotent-write.ts ${N}`,
  n: N,
  warmup: WARMUP,
  machine: {
    cpu: `${machine.nproc} × ${machine.cpuModel}`,
    node: machine.node,
    filesystem: machine.filesystem,
    commit: machine.git.commit,
    loadAverageAtStart: machine.loadAverageAtStart,
  },
  results,
}
const resultsDir = join(ROOT, 'bench', 'results')
await writeFile(join(resultsDir, 'idempotency-latest.json'), `${JSON.stringify(output, null, 2)}\n`)
const row = (r: BackendResult) =>
  `| ${r.backend === 'sqlite' ? 'SQLite (embedded, WAL, synchronous=FULL)' : 'PostgreSQL (local server)'} | ${r.writes.p50Ms} | ${r.writes.p99Ms} | ${r.replays.p50Ms} | ${r.replays.p99Ms} | ${r.deliveries} |`
await writeFile(
  join(resultsDir, 'idempotency-latest.md'),
  `# Idempotent write latency by state store backend

\`${output.command}\` on ${output.ranAt.slice(0, 16).replace('T', ' ')} UTC; ${output.machine.cpu}, Node ${output.machine.node}, ${output.machine.filesystem ?? 'unknown filesystem'}, load average at start ${output.machine.loadAverageAtStart.join(' ')}. Raw values: [\`idempotency-latest.json\`](idempotency-latest.json).

One gateway in-process with the 发改 simulator (no added latency) on loopback; ${N} sequential writes to
\`drc.permit-feedback\` with fresh \`Idempotency-Key\`s (claim, delivery, durable audit record, stored answer),
then ${N} replays of the same keys (claim finds the stored answer, no delivery; the replay is audited too), after
${WARMUP} warm-up writes. Client-side latency per call, ms.

| State store | write p50 | write p99 | replay p50 | replay p99 | deliveries at the provider |
|---|---|---|---|---|---|
${results.map(row).join('\n')}

Deliveries = warm-up + ${N} fresh writes: the replays delivered nothing. The machine is shared (other work ran
beside it), so the figures are indicative, not a capacity statement.
`,
)
