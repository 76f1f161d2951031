import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startHousingSimulator } from '../connectors/housing-gongai/simulator/index.js'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { openSegmentFile } from './support/fs-faults.js'
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
 * Issue 10: at start, a torn tail (the unacknowledged last write of a crashed process) is repaired and reported,
 * while damage in the middle of the open segment is refused with the segment, the line and the command that moves
 * the segment aside; after `qiao audit set-aside` the gateway starts, and `qiao audit verify` reports the set-aside
 * segment. Real processes throughout.
 */
const world = serveFixture({ prefix: 'qiao-recovery-', keyId: 'recovery-key', simulator: startHousingSimulator })
const running: GatewayProcess[] = []

// afterAll hooks run in reverse order: this one before the fixture's (simulator, directory).
afterAll(async () => {
  for (const g of running) await stopGatewayProcess(g, 'SIGKILL')
})

const env = (logId: string) => ({
  QIAO_DATA_DIR: join(world.dir, 'data'),
  QIAO_AUDIT_LOG_ID: logId,
  // No timed checkpoint: the records of these runs stay unsigned until the clean stop.
  QIAO_AUDIT_CHECKPOINT_INTERVAL: '1h',
  ...world.trust(),
  QIAO_HOUSING_URL: world.sim.url,
})
const auditDir = () => join(world.dir, 'data', 'audit')

async function start(logId: string): Promise<GatewayProcess> {
  const g = await startGatewayProcess(env(logId))
  running.push(g)
  return g
}

async function crash(g: GatewayProcess): Promise<void> {
  await stopGatewayProcess(g, 'SIGKILL')
}

async function calls(g: GatewayProcess, n: number): Promise<string[]> {
  const token = await world.token(PERMITS_READER)
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await queryPermits(g.url, { token, caseId: `RC-${i}`, projectCode: world.sim.data.permits[0]?.XMDM })
    expect(res.status).toBe(200)
    ids.push(res.auditId as string)
  }
  return ids
}

/** Starts `qiao serve` expecting it to refuse; resolves with what it printed. */
async function refusal(logId: string): Promise<string> {
  const err = await startGatewayProcess(env(logId)).then(
    (g) => {
      running.push(g)
      throw new Error('the gateway started on a damaged log')
    },
    (e: Error) => e,
  )
  return err.message
}

async function adminActions(logId: string): Promise<string[]> {
  const out: string[] = []
  for await (const e of createFileAuditBackend({ dir: auditDir(), now: Date.now }).query({ logId, kind: 'admin' })) {
    if (e.record.kind === 'admin') out.push(e.record.action)
  }
  return out
}

describe('audit log at start: torn tail or damage', () => {
  it('repairs and reports a torn tail of an unacknowledged write', async () => {
    const first = await start('torn-gw')
    await calls(first, 5)
    await crash(first)
    const segment = await openSegmentFile(join(auditDir(), 'torn-gw'))
    await appendFile(segment, '{"logId":"torn-gw","seq":9,"segm')

    const second = await start('torn-gw')
    expect(second.output()).toMatch(/torn last record after a crash \(\d+ bytes after seq \d+\) cut back/)
    await calls(second, 1)
    await stopGatewayProcess(second)
    expect(await adminActions('torn-gw')).toContain('audit.torn-tail-repaired')
    const verified = await runQiao(['audit', 'verify', '--dir', auditDir()], env('torn-gw'))
    expect(verified.stdout).toMatch(/log torn-gw: .* OK/)
    expect(verified.code).toBe(0)
  }, 120_000)

  it('refuses damage in the middle, naming segment, line and `qiao audit set-aside`; after it, starts and verify reports it', async () => {
    const first = await start('damage-gw')
    const answered = await calls(first, 6)
    await crash(first)
    const logDir = join(auditDir(), 'damage-gw')
    const segment = await openSegmentFile(logDir)
    const lines = (await readFile(segment, 'utf8')).trimEnd().split('\n')
    expect(lines.length).toBeGreaterThan(6)
    lines[3] = `${lines[3]?.slice(0, 40)}#damaged`
    await writeFile(segment, `${lines.join('\n')}\n`)

    const message = await refusal('damage-gw')
    expect(message).toMatch(/audit log damage-gw damaged: segment 1 \(segment-000001\.jsonl\) line 4: not JSON/)
    expect(message).toContain('qiao audit set-aside --log damage-gw')

    const setAside = await runQiao(['audit', 'set-aside', '--log', 'damage-gw'], env('damage-gw'))
    expect(setAside.stderr).toBe('')
    expect(setAside.code).toBe(0)
    expect(setAside.stdout).toMatch(/segment 1 set aside as segment-000001\.set-aside\.jsonl/)
    // Kept, never deleted: every byte of the damaged file is still there under its new name.
    const files = await readdir(logDir)
    expect(files).toContain('segment-000001.set-aside.jsonl')
    expect(await readFile(join(logDir, 'segment-000001.set-aside.jsonl'), 'utf8')).toBe(`${lines.join('\n')}\n`)

    const after = await start('damage-gw')
    const later = await calls(after, 2)
    await stopGatewayProcess(after)

    const verified = await runQiao(['audit', 'verify', '--dir', auditDir()], env('damage-gw'))
    expect(verified.stdout).toMatch(
      /SET ASIDE: log damage-gw segment 1 \(segment-000001\.set-aside\.jsonl, set aside [^)]+\): damaged from line 4 \(not JSON\)/,
    )
    expect(verified.stdout).toMatch(/its first 3 record\(s\) verify and are sealed/)
    expect(verified.stdout).toMatch(/VERIFIED: .* 1 damaged segment\(s\) SET ASIDE/)
    expect(verified.code).toBe(0)
    const json = await runQiao(['audit', 'verify', '--dir', auditDir(), '--json'], env('damage-gw'))
    const result = JSON.parse(json.stdout) as { setAside: unknown[]; problems: unknown[] }
    expect(result.setAside).toMatchObject([{ logId: 'damage-gw', segment: 1, records: 3, line: 4 }])

    // The log goes on: the calls after the set-aside are in segment 2, chained from the seal of the 3 kept.
    const entries = []
    for await (const e of createFileAuditBackend({ dir: auditDir(), now: Date.now }).query({ logId: 'damage-gw' })) {
      entries.push(e)
    }
    expect(entries.slice(0, 3).map((e) => [e.segment, e.seq])).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
    ])
    expect(entries.slice(3).every((e) => e.segment === 2)).toBe(true)
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i))
    const ids = new Set(entries.map((e) => e.record.id))
    for (const id of later) expect(ids.has(id)).toBe(true)
    // What came after the damage is not in the verified log (it stays in the set-aside file).
    expect(answered.filter((id) => ids.has(id)).length).toBeLessThan(answered.length)
  }, 120_000)
})
