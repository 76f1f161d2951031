import { mkdir, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { mountTmpfs, unmountFs } from './support/fs-faults.js'
import { REPO } from './support/gateway.js'
import {
  type GatewayProcess,
  PERMITS_READER,
  queryPermits,
  runQiao,
  serveFixture,
  startGatewayProcess,
  stopGatewayProcess,
} from './support/gateway-process.js'

/**
 * Issue 10: the audit directory on a REAL small file system (tmpfs) that fills up under concurrent calls. No call
 * is answered 2xx unless its record is complete on disk; /readyz is 503 once free space drops below
 * QIAO_AUDIT_MIN_FREE (so at the latest when the disk is full); when space is freed the same process serves again,
 * the log verifies, a restart succeeds, and every answered call's record is in the log.
 */
const MiB = 1024 * 1024
const world = serveFixture({ prefix: 'qiao-diskfull-', keyId: 'diskfull-key', simulator: startHousingSimulator })
let auditDir: string
let gateway: GatewayProcess | undefined
let mounted = false

beforeAll(async () => {
  const { dir } = world
  auditDir = join(dir, 'audit-fs')
  await mkdir(auditDir)
  mountTmpfs(auditDir, '16m')
  mounted = true
  // The demo catalog without 发改's 1,200-a-minute quota: this test makes tens of thousands of calls.
  const catalog = (await readFile(join(REPO, 'catalog.yaml'), 'utf8')).replaceAll(' schemas/', ` ${REPO}/schemas/`)
  const unlimited = catalog.replace(
    '{ id: drc-overall, department: drc, limit: 1200, per: minute }',
    '{ id: drc-overall, department: drc, limit: 100000000, per: minute }',
  )
  expect(unlimited).not.toBe(catalog)
  await writeFile(join(dir, 'catalog.yaml'), unlimited)
})
// afterAll hooks run in reverse order: this one (unmount) before the fixture's (simulator, directory).
afterAll(async () => {
  if (gateway) await stopGatewayProcess(gateway, 'SIGKILL')
  if (mounted) unmountFs(auditDir)
})

const env = () => ({
  QIAO_DATA_DIR: join(world.dir, 'data'),
  QIAO_CATALOG: join(world.dir, 'catalog.yaml'),
  QIAO_AUDIT_DIR: auditDir,
  QIAO_AUDIT_LOG_ID: 'diskfull-gw',
  QIAO_AUDIT_MIN_FREE: '2MiB',
  ...world.trust(),
  QIAO_HOUSING_URL: world.sim.url,
})

async function free(): Promise<number> {
  const s = await statfs(auditDir)
  return s.bavail * s.bsize
}

interface Answer {
  readonly status: number
  readonly code?: string
  readonly auditId?: string
}

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${url}/readyz`)
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

/** Every complete record line of the log's segment files, by record id; throws on a line that is not JSON. */
async function recordsOnDisk(): Promise<Set<string>> {
  const logDir = join(auditDir, 'diskfull-gw')
  const ids = new Set<string>()
  for (const f of (await readdir(logDir)).filter((n) => /^segment-\d+\.jsonl$/.test(n))) {
    const text = await readFile(join(logDir, f), 'utf8')
    // Every byte up to the end is complete lines: a partial record is never left behind.
    expect(text.length === 0 || text.endsWith('\n'), `${f} ends in a partial line`).toBe(true)
    for (const line of text.split('\n').filter((l) => l.length > 0)) {
      ids.add((JSON.parse(line) as { record: { id: string } }).record.id)
    }
  }
  return ids
}

describe('audit directory on a file system that fills up', () => {
  it('never acknowledges what is not on disk, is unready while full, and recovers without restart once freed', async () => {
    gateway = await startGatewayProcess(env())
    const url = gateway.url
    // Pad the file system so that about 1 MiB is left above QIAO_AUDIT_MIN_FREE (2 MiB).
    const filler = join(auditDir, 'filler')
    await writeFile(filler, Buffer.alloc((await free()) - 3 * MiB))
    await new Promise((r) => setTimeout(r, 1_100)) // past readyz's one-second free-space cache
    const initially = await readyz(url)
    expect(initially.status).toBe(200)
    expect(initially.body.audit).toMatchObject({ writable: true, broken: false, logId: 'diskfull-gw' })
    expect((initially.body.audit as { freeBytes: number }).freeBytes).toBeGreaterThan(2 * MiB)

    const token = await world.token(PERMITS_READER)
    const projectCode = world.sim.data.permits[0]?.XMDM as string
    const answers: Answer[] = []
    let phase: 'fill' | 'pause' | 'freed' | 'stop' = 'fill'
    let inFlight = 0
    const call = async (caseId: string): Promise<Answer> => {
      const { status, text, auditId } = await queryPermits(url, { token, caseId, projectCode })
      let code: string | undefined
      if (status >= 400) code = (JSON.parse(text) as { code?: string }).code
      const answer: Answer = { status, code, auditId }
      answers.push(answer)
      return answer
    }
    const clients = Array.from({ length: 32 }, async (_, n) => {
      for (let i = 0; phase !== 'stop'; i++) {
        if (phase === 'pause') {
          await new Promise((r) => setTimeout(r, 10))
          continue
        }
        inFlight++
        try {
          await call(`DF-${n}-${i}`)
        } catch {
          return // the gateway went away (a failed run's cleanup)
        } finally {
          inFlight--
        }
      }
    })
    // Readiness watched alongside: the first 503 and the first refused call, in the order they were seen.
    const events: string[] = []
    let watching = true
    const watcher = (async () => {
      while (watching) {
        const r = await readyz(url)
        if (r.status === 503 && !events.includes('unready')) {
          events.push('unready')
          expect((r.body.reasons as string[]).join(' ')).toMatch(/free space on the audit file system/)
        }
        await new Promise((res) => setTimeout(res, 20))
      }
    })()

    const deadline = Date.now() + 60_000
    const refused = () => answers.filter((a) => a.status === 503).length
    while (refused() < 50) {
      if (Date.now() > deadline) throw new Error(`the disk never filled: ${answers.length} answers`)
      if (refused() > 0 && !events.includes('full')) events.push('full')
      await new Promise((r) => setTimeout(r, 10))
    }
    if (!events.includes('full')) events.push('full')
    expect(answers.filter((a) => a.status === 503).every((a) => a.code === 'audit-unavailable')).toBe(true)
    // The disk is full now; readiness says so (within its one-second free-space cache at the latest).
    let full = await readyz(url)
    for (let i = 0; i < 30 && full.status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100))
      full = await readyz(url)
    }
    expect(full.status).toBe(503)
    expect((full.body.audit as { freeBytes: number }).freeBytes).toBeLessThan(2 * MiB)
    watching = false
    await watcher
    expect(events.indexOf('unready')).toBeGreaterThanOrEqual(0)

    // While full, with no call in flight: nothing partial is left on disk, and every 2xx so far has its record.
    phase = 'pause'
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 10))
    const answeredWhileFull = answers.filter((a) => a.status >= 200 && a.status < 300)
    const onDisk = await recordsOnDisk()
    expect(answeredWhileFull.filter((a) => !onDisk.has(a.auditId as string))).toEqual([])

    // Free the space: the same process serves again, without a restart.
    await rm(filler)
    phase = 'freed'
    const freedAt = answers.length
    while (answers.slice(freedAt).filter((a) => a.status === 200).length < 200) {
      if (Date.now() > deadline + 30_000)
        throw new Error(
          `the gateway did not serve again after space was freed (exit ${gateway.child.exitCode}, ${inFlight} in flight, ${answers.length - freedAt} answers since, free ${await free()}):\n${gateway.output().slice(-1500)}`,
        )
      await new Promise((r) => setTimeout(r, 10))
    }
    phase = 'stop'
    await Promise.all(clients)
    // Every call was answered 200, or 503 audit-unavailable while the disk was full: nothing else went wrong.
    expect(new Set(answers.map((a) => (a.status === 200 ? 'ok' : `${a.status} ${a.code}`)))).toEqual(
      new Set(['ok', '503 audit-unavailable']),
    )
    let ready = await readyz(url)
    for (let i = 0; i < 30 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100))
      ready = await readyz(url)
    }
    expect(ready.status).toBe(200)
    expect(gateway.child.exitCode).toBeNull() // the same process throughout

    await stopGatewayProcess(gateway)
    gateway = undefined
    const verified = await runQiao(['audit', 'verify', '--dir', auditDir], env())
    expect(verified.stdout).toMatch(/VERIFIED/)
    expect(verified.code).toBe(0)

    // A restart succeeds on the same log.
    gateway = await startGatewayProcess(env())
    expect((await readyz(gateway.url)).status).toBe(200)
    await stopGatewayProcess(gateway)
    gateway = undefined

    const logged = new Set<string>()
    for await (const e of createFileAuditBackend({ dir: auditDir, now: Date.now }).query({})) logged.add(e.record.id)
    const ok = answers.filter((a) => a.status >= 200 && a.status < 300)
    expect(ok.length).toBeGreaterThan(200)
    expect(ok.filter((a) => a.auditId === undefined || !logged.has(a.auditId))).toEqual([])
  }, 180_000)
})
