import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TIMESTAMPS } from '../gateway/audit/tsa/file-store.js'
import { type Harness, NOW, startHarness } from './support/gateway.js'
import { type CliResult, runQiao } from './support/gateway-process.js'
import { startTestTsa, type TestTsa } from './support/tsa.js'

/**
 * Independent time for the audit log: each signed checkpoint gets an RFC 3161 token from a real TSA on loopback
 * (openssl ts -reply), `qiao audit verify` checks them in a separate process, and the TSA policy decides what the
 * gateway does while the TSA is down (`refuse-after`: 503 timestamping-unavailable; `continue`: keep serving).
 */

const LOG_ID = 'gw-tsa'
const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'

let work: string
let tsa: TestTsa
let otherTsa: TestTsa

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'qiao-audit-tsa-'))
  ;[tsa, otherTsa] = await Promise.all([startTestTsa('Qiao Test TSA'), startTestTsa('Unrelated TSA')])
}, 60_000)

afterAll(async () => {
  await Promise.all([tsa?.close(), otherTsa?.close()])
  await rm(work, { recursive: true, force: true })
})

/**
 * A gateway whose clock the test moves forward (from the harness's NOW, which the simulators check requests
 * against); the TSA stamps real time, so `qiao audit verify` reports the checkpoints as timestamped late.
 */
async function gatewayWithTsa(
  policy: string,
): Promise<{ h: Harness; advance(ms: number): void; call(): Promise<number> }> {
  let offset = 0
  const clock = { now: () => NOW + offset }
  const h = await startHarness({
    clock,
    env: {
      QIAO_AUDIT_LOG_ID: LOG_ID,
      QIAO_AUDIT_CHECKPOINT_EVERY: '1',
      QIAO_AUDIT_TSA_URL: tsa.url,
      QIAO_AUDIT_TSA_ROOTS_FILE: tsa.rootsFile,
      QIAO_AUDIT_TSA_POLICY: policy,
      QIAO_METRICS_PORT: '0',
    },
  })
  const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
  let n = 0
  return {
    h,
    advance: (ms) => {
      offset += ms
    },
    async call() {
      const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
      const res = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: `TSA-${n++}` })
      return res.status
    },
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function verify(dir: string, roots: string, policy = 'refuse-after:1'): Promise<CliResult> {
  return runQiao(['audit', 'verify', '--dir', dir, '--tsa-roots', roots], {
    HOME: process.env.HOME,
    QIAO_DATA_DIR: join(work, 'auditor'),
    QIAO_AUDIT_TSA_POLICY: policy,
  })
}

describe('RFC 3161 timestamps on audit checkpoints', () => {
  let pristine: string

  beforeAll(async () => {
    const { h, call } = await gatewayWithTsa('refuse-after:1')
    try {
      for (let i = 0; i < 4; i++) expect(await call()).toBe(200)
      const ready = await h.get('/readyz')
      expect((ready.json.audit as Record<string, unknown>).timestamping).toMatchObject({ state: 'ok' })
    } finally {
      // Closing waits for the final seal's token before the store closes.
      await h.gateway.close()
    }
    pristine = join(work, 'pristine')
    await cp(dirname(h.auditDir), pristine, { recursive: true })
    await h.close()
  }, 90_000)

  it('every checkpoint carries a token that qiao audit verify checks against the configured root', async () => {
    const run = await verify(pristine, tsa.rootsFile)
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const counted = /(\d+) of (\d+) checkpoint\(s\) carry an RFC 3161 timestamp token/.exec(run.stdout)
    expect(counted?.[1]).toBe(counted?.[2])
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(5)
    expect(run.stdout).not.toContain('no timestamp token')
  })

  it('a token with one byte flipped in storage fails verification, naming the checkpoint', async () => {
    const dir = join(work, 'flipped')
    await cp(pristine, dir, { recursive: true })
    const file = join(dir, LOG_ID, TIMESTAMPS)
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n')
    const entry = JSON.parse(lines[1] as string) as { checkpoint: string; token: string }
    const token = Buffer.from(entry.token, 'base64')
    token[token.length - 10] = (token[token.length - 10] as number) ^ 0x01 // inside the CMS signature
    lines[1] = JSON.stringify({ ...entry, token: token.toString('base64') })
    await writeFile(file, `${lines.join('\n')}\n`)
    const run = await verify(dir, tsa.rootsFile)
    expect(run.code, run.stdout + run.stderr).toBe(1)
    expect(run.stdout).toMatch(/checkpoint of segment \d+ at size \d+ .*: timestamp token does not verify/)
    expect(run.stdout).toContain('\n1 problem(s):')
  })

  it('tokens from a TSA whose root is not configured fail', async () => {
    const run = await verify(pristine, otherTsa.rootsFile)
    expect(run.code, run.stdout + run.stderr).toBe(1)
    expect(run.stdout).toContain('TSA certificate not trusted')
  })

  it('a checkpoint without a token fails under refuse-after and is reported under continue', async () => {
    const dir = join(work, 'untimestamped')
    await cp(pristine, dir, { recursive: true })
    const file = join(dir, LOG_ID, TIMESTAMPS)
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n')
    await writeFile(file, `${lines.slice(1).join('\n')}\n`)
    const strict = await verify(dir, tsa.rootsFile)
    expect(strict.code).toBe(1)
    expect(strict.stdout).toContain(
      '1 checkpoint(s) have no timestamp token (QIAO_AUDIT_TSA_POLICY requires one on each)',
    )
    const lenient = await verify(dir, tsa.rootsFile, 'continue')
    expect(lenient.code, lenient.stdout).toBe(0)
    expect(lenient.stdout).toContain(
      '1 checkpoint(s) have no timestamp token (allowed under QIAO_AUDIT_TSA_POLICY=continue)',
    )
  })
})

describe('while the TSA is down', () => {
  it('refuse-after:1 — exchange answers 503 timestamping-unavailable after the window, and resumes once the backlog is timestamped', async () => {
    const { h, advance, call } = await gatewayWithTsa('refuse-after:1')
    try {
      expect(await call()).toBe(200)
      await until('the first checkpoints are timestamped', async () => {
        const ready = await h.get('/readyz')
        return (ready.json.audit as { timestamping: { backlog: number } }).timestamping.backlog === 0
      })
      tsa.setAvailable(false)
      expect(await call()).toBe(200) // within the window: served, its checkpoint waits
      await until('timestamping is behind', async () => {
        const ready = await h.get('/readyz')
        return (ready.json.audit as { timestamping: { state: string } }).timestamping.state === 'behind'
      })
      const behind = await h.get('/readyz')
      expect(behind.status).toBe(200)
      expect((behind.json.audit as { timestamping: { behindSince: string } }).timestamping.behindSince).toMatch(
        /^20\d\d-/,
      )

      advance(61_000)
      const token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
      const projectCode = h.sim.data.permits.find((p) => p.SJYXBS === '1')?.XMDM as string
      const refused = await h.query(PERMITS, { projectCode }, { token, matter: MATTER, caseId: 'TSA-refused' })
      expect(refused.status).toBe(503)
      expect(refused.json.code).toBe('timestamping-unavailable')
      expect(String(refused.json.detail)).not.toContain(tsa.url)
      const notReady = await h.get('/readyz')
      expect(notReady.status).toBe(503)
      expect(notReady.json.reasons).toContainEqual(expect.stringMatching(/^audit timestamping unavailable since /))
      expect((notReady.json.audit as { timestamping: { state: string } }).timestamping.state).toBe('refusing')

      tsa.setAvailable(true)
      await until('the backlog is timestamped', async () => {
        const ready = await h.get('/readyz')
        const { timestamping } = ready.json.audit as { timestamping: { state: string; backlog: number } }
        return ready.status === 200 && timestamping.state === 'ok' && timestamping.backlog === 0
      })
      expect(await call()).toBe(200)
    } finally {
      tsa.setAvailable(true)
      await h.close()
    }
  }, 60_000)

  it('continue — keeps serving while down, then catches the backlog up in order', async () => {
    const { h, advance, call } = await gatewayWithTsa('continue')
    try {
      await until('the start is timestamped', async () => {
        const ready = await h.get('/readyz')
        return (ready.json.audit as { timestamping: { backlog: number } }).timestamping.backlog === 0
      })
      const before = tsa.granted
      tsa.setAvailable(false)
      for (let i = 0; i < 3; i++) expect(await call()).toBe(200)
      advance(2 * 60_000)
      expect(await call()).toBe(200)
      // Checkpoints are signed just after their records: wait for the four calls' ones to be waiting.
      const backlogOf = async () =>
        ((await h.get('/readyz')).json.audit as { timestamping: { backlog: number } }).timestamping.backlog
      await until('the four checkpoints wait for their timestamps', async () => (await backlogOf()) >= 4)
      const down = await h.get('/readyz')
      expect(down.status).toBe(200)
      const timestamping = (down.json.audit as { timestamping: { state: string; backlog: number } }).timestamping
      expect(timestamping.state).toBe('behind')
      expect(timestamping.backlog).toBeGreaterThanOrEqual(4)
      expect(tsa.granted).toBe(before)
      // The timestamper retries in the background: wait for its first failed attempt rather than assume it came.
      const scrape = async () => (await fetch(`${h.gateway.metricsUrl}/metrics`)).text()
      const failedOf = (text: string) =>
        Number(/^qiao_audit_tsa_requests_total\{outcome="failed"\} (\d+)$/m.exec(text)?.[1] ?? 0)
      await until('a failed timestamp request is counted', async () => failedOf(await scrape()) > 0)
      const metrics = await scrape()
      // Nothing is granted while the TSA is down, so the backlog cannot shrink between /readyz and the scrape.
      expect(Number(/^qiao_audit_tsa_backlog (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(timestamping.backlog)
      expect(Number(/^qiao_audit_tsa_requests_total\{outcome="granted"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(
        0,
      )

      tsa.setAvailable(true)
      await until('the backlog is timestamped', async () => {
        const ready = await h.get('/readyz')
        return (ready.json.audit as { timestamping: { backlog: number } }).timestamping.backlog === 0
      })
      expect(tsa.granted - before).toBeGreaterThanOrEqual(4)
    } finally {
      tsa.setAvailable(true)
      await h.gateway.close()
    }
    const run = await verify(dirname(h.auditDir), tsa.rootsFile, 'continue')
    await h.close()
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).not.toContain('no timestamp token')
  }, 60_000)
})
