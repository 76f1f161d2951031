import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startCluster } from './support/cluster-process.js'
import { REPO } from './support/gateway.js'
import {
  type QiaoEnv,
  type QiaoProcess,
  SERVE_DEFAULTS,
  serveFixture,
  spawnQiao,
  stopGatewayProcess,
} from './support/gateway-process.js'

/**
 * Issue 16: what `qiao serve --workers N` refuses, and when it gives up: a configuration the workers cannot share
 * is refused before any worker starts, with every problem listed; a worker that cannot start while the gateway
 * starts stops it; a worker that keeps dying after a restart stops it too, instead of being restarted forever.
 */
const world = serveFixture({ prefix: 'qiao-workers-fail-', keyId: 'workers-fail-key' })
const running: QiaoProcess[] = []

afterEach(async () => {
  for (const run of running.splice(0)) await stopGatewayProcess(run, 'SIGKILL')
})

/** The demo catalog with absolute schema paths, as a file of the test's own (to break). */
async function catalogCopy(name: string): Promise<string> {
  const file = join(world.dir, `${name}.yaml`)
  await writeFile(
    file,
    (await readFile(join(REPO, 'catalog.yaml'), 'utf8')).replaceAll(' schemas/', ` ${REPO}/schemas/`),
  )
  return file
}

function serveWorkers(env: QiaoEnv): QiaoProcess {
  const run = spawnQiao(['serve', '--workers', '2'], { ...SERVE_DEFAULTS, ...world.trust(), ...env })
  running.push(run)
  return run
}

describe('qiao serve --workers 2 refuses or stops', () => {
  it('refuses a configuration that cannot be shared, listing every problem, before any worker starts', async () => {
    const dataDir = join(world.dir, 'refused')
    const run = serveWorkers({
      QIAO_DATA_DIR: dataDir,
      QIAO_AUDIT_LOG_ID: 'x'.repeat(63),
      QIAO_CONSOLE_OIDC_ISSUER: 'https://idp.example.gov.cn/realms/zwfw',
      QIAO_CONSOLE_OIDC_CLIENT_ID: 'qiao-console',
      QIAO_CONSOLE_URL: 'https://qiao.example.gov.cn',
    })
    expect(await run.exit).toBe(1)
    const lines = run.output().trim().split('\n')
    expect(lines.filter((l) => l.startsWith('configuration: ')).map((l) => l.split(':')[1]?.trim())).toEqual([
      'QIAO_AUDIT_LOG_ID',
      'QIAO_CONSOLE_OIDC_ISSUER',
    ])
    expect(lines.at(-1)).toBe(
      '2 problem(s) with QIAO_WORKERS=2: This configuration cannot be shared by several worker processes; the gateway did not start.',
    )
    expect(run.output()).not.toContain('qiao worker started')
    expect(existsSync(dataDir)).toBe(false)
  }, 30_000)

  it('stops when a worker cannot start while the gateway starts, with the worker’s own reason', async () => {
    const catalog = await catalogCopy('invalid-at-start')
    await writeFile(catalog, 'version: 1\nresources: [')
    const run = serveWorkers({
      QIAO_DATA_DIR: join(world.dir, 'start-fails'),
      QIAO_CATALOG: catalog,
      QIAO_AUDIT_LOG_ID: 'start-fails',
    })
    expect(await run.exit).toBe(1)
    const out = run.output()
    expect(out).toContain('problem(s) in the catalog; the gateway did not start')
    expect(out).toContain('qiao: worker 1 (audit log start-fails-w1) exited with code 1 before it was ready')
    // Slot 1 starts alone: nothing else was forked.
    expect(out.match(/"msg":"qiao worker started"/g)).toHaveLength(1)
  }, 60_000)

  it('stops the gateway when a restarted worker keeps exiting, and drains the worker still running', async () => {
    const catalog = await catalogCopy('broken-later')
    const cluster = await startCluster({
      ...world.trust(),
      QIAO_DATA_DIR: join(world.dir, 'crash-loop'),
      QIAO_CATALOG: catalog,
      QIAO_AUDIT_LOG_ID: 'crash-loop',
      QIAO_DRAIN_PRESTOP: '0',
    })
    running.push(cluster)
    // From now on no worker can start: the catalog it would load is broken.
    await writeFile(catalog, 'version: 1\nresources: [')
    const victim = cluster.readyWorkers().find((w) => w.slot === 2)
    process.kill(victim?.pid as number, 'SIGKILL')
    expect(await cluster.exit).toBe(1)
    const out = cluster.output()
    expect(out).toContain('qiao: A worker kept exiting soon after it was started')
    expect(out).toMatch(/qiao: worker 2 \(audit log crash-loop-w2\) exited 5 times in a row/)
    // Restarted after the kill and after each failed start but the last (the kill itself counts when it came
    // within 30 s of the worker's start); then given up.
    expect(out.match(/"msg":"qiao worker exited: restarting it"/g)?.length).toBeGreaterThanOrEqual(4)
    expect(out.match(/problem\(s\) in the catalog; the gateway did not start/g)?.length).toBeGreaterThanOrEqual(4)
    expect(out).toContain('"msg":"qiao worker keeps exiting: stopping the gateway"')
    // Worker 1 was drained: it stopped cleanly.
    expect(out).not.toContain('while stopping')
    expect(out).toContain('qiao: SIGTERM, shutting down')
  }, 240_000)
})
