import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningHousingSimulator, startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import { REPO } from './support/gateway.js'
import { createTestKey, signToken, TEST_AUDIENCE, TEST_ISSUER, type TestKey } from './support/keys.js'

/**
 * Issue #4 acceptance: under concurrent load the gateway process is killed with SIGKILL. After a restart, every
 * answer any client received has its audit record, the log verifies, and a torn tail, if the kill left one, was
 * repaired and reported.
 */
let dir: string
let sim: RunningHousingSimulator
let key: TestKey

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-crash-'))
  sim = await startHousingSimulator({ port: 0 })
  key = await createTestKey('EdDSA', 'crash-key')
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }))
})
afterAll(async () => {
  await sim?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Resolves when the process has exited (also if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

interface Gateway {
  child: ChildProcess
  url: string
  output: () => string
}

/** `qiao serve` as its own process. */
async function startGatewayProcess(): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'serve'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH,
      QIAO_PORT: '0',
      QIAO_DATA_DIR: join(dir, 'data'),
      QIAO_JWKS_FILE: join(dir, 'jwks.json'),
      QIAO_ISSUER: TEST_ISSUER,
      QIAO_AUDIENCE: TEST_AUDIENCE,
      QIAO_AUDIT_LOG_ID: 'crash-gw',
      QIAO_HOUSING_URL: sim.url,
      QIAO_HEALTH_INTERVAL: '0',
      QIAO_LOG_LEVEL: 'info',
    },
  })
  let out = ''
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString()
  })
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 20_000)
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"qiao listening"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1] as string)
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}:\n${out}`)))
  })
  return { child, url, output: () => out }
}

describe('crash: SIGKILL under load', () => {
  it('every answered call has its record after restart; the log verifies; a torn tail is reported', async () => {
    const first = await startGatewayProcess()
    const token = await signToken(
      key,
      { dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' },
      { now: Date.now() },
    )
    const projectCode = sim.data.permits[0]?.XMDM as string
    const answered: string[] = []
    let stop = false
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await request(`${first.url}/v1/resources/housing.construction-permit/query`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'qiao-matter': 'QT00301001',
              'qiao-case': `CRASH-${n}-${i}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify({ projectCode }),
          })
          await res.body.text()
          const auditId = res.headers['qiao-audit-id']
          if (typeof auditId === 'string') answered.push(auditId)
        } catch {
          return // the process is gone
        }
      }
    }
    const clients = Array.from({ length: 32 }, (_, n) => client(n))
    // Let load build up, then kill without warning.
    const deadline = Date.now() + 20_000
    while (answered.length < 300) {
      if (Date.now() > deadline) throw new Error(`only ${answered.length} answers:\n${first.output().slice(-3000)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    first.child.kill('SIGKILL')
    stop = true
    await exited(first.child)
    await Promise.all(clients)
    expect(answered.length).toBeGreaterThanOrEqual(300)

    // Restart on the same data directory, then stop it cleanly.
    const second = await startGatewayProcess()
    second.child.kill('SIGTERM')
    await exited(second.child)

    const backend = createFileAuditBackend({ dir: join(dir, 'data', 'audit'), now: Date.now })
    const logged = new Set<string>()
    const admin: LogEntry[] = []
    for await (const entry of backend.query({})) {
      logged.add(entry.record.id)
      if (entry.record.kind === 'admin') admin.push(entry)
    }
    const missing = answered.filter((id) => !logged.has(id))
    expect(missing).toEqual([])

    const result = await verifyAuditLogs(backend, { keys: await backend.keys() })
    expect(result.problems).toEqual([])

    // If the kill tore the last line, the restart repaired it and said so, in the log and in the audit log.
    const torn = admin.filter((e) => e.record.kind === 'admin' && e.record.action === 'audit.torn-tail-repaired')
    const reported = second.output().includes('torn last record')
    expect(torn.length > 0).toBe(reported)
    const starts = admin.filter((e) => e.record.kind === 'admin' && e.record.action === 'gateway.start')
    expect(starts.length).toBe(2)
  }, 60_000)
})
