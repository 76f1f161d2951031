import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { cell, measure, type Sample } from '../lib/measure.js'
import { QIAO_DEFAULT_LOG_LEVEL, startFloor, startQiao } from '../lib/peers.js'
import { summarizeProfile } from '../lib/profile.js'
import type { CpuProfileResult } from '../lib/results.js'
import { attempt, type BenchRun, log, newestProfile, RESULTS, runAuditStore } from './shared.js'

/** Where the time goes: CPU profiles of Qiao at saturation and of the audit store, beside the stack's floor. */
export async function runProfile(bench: BenchRun): Promise<void> {
  const { opts, profile, runDir, ctx, mainCatalog, spec, mo, check, results } = bench
  // The Hono floor (N3): the side-by-side cell when main measured it, else measured here.
  const measuredFloor = results.main?.saturation.N3
  const floorSamples: Sample[] = []
  for (let round = 1; !measuredFloor && round <= profile.rounds; round++) {
    log(`profile round ${round}/${profile.rounds}: the Hono floor (N3: Hono + node-server + undici, no pipeline)`)
    await attempt(`profile floor round ${round}`, async (stage) => {
      const floor = await startFloor(ctx)
      try {
        await measure(mo(round, floor), spec(floor, { seconds: profile.warmupSeconds }))
        const s = check('floor saturation', await measure({ ...mo(round, floor), calibrate: true }, spec(floor, {})))
        stage(() => floorSamples.push(s))
        log(`  floor ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req`)
      } finally {
        await floor.stop()
      }
    })
  }
  const profDir = join(runDir, 'cpu-profiles')
  let gateway: CpuProfileResult['gateway']
  log(`profile: Qiao at saturation under --cpu-prof (log level ${QIAO_DEFAULT_LOG_LEVEL}, as P3)`)
  await attempt('profile qiao', async (stage) => {
    const spawnedAt = performance.now()
    const peer = await startQiao(ctx, mainCatalog.file, ['--cpu-prof', `--cpu-prof-dir=${join(profDir, 'qiao')}`], {
      logLevel: QIAO_DEFAULT_LOG_LEVEL,
    })
    let s: Sample
    let window: { fromMs: number; toMs: number }
    try {
      await measure(mo(1, peer), spec(peer, { seconds: profile.warmupSeconds }))
      const fromMs = performance.now() - spawnedAt
      s = check('profiled saturation', await measure(mo(1, peer), spec(peer, {})))
      window = { fromMs, toMs: performance.now() - spawnedAt }
    } finally {
      await peer.stop() // the profile is written on exit
    }
    const file = newestProfile(join(profDir, 'qiao'))
    const summary = summarizeProfile(file, { ...window, requests: s.load.requests })
    stage(() => {
      gateway = { summary, rps: s.load.rps, cpuUsPerRequest: s.cpuUsPerRequest }
      copyFileSync(file, join(RESULTS, `${opts.out}-qiao.cpuprofile`))
    })
    log(`  profiled: ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req`)
  })
  let auditStore: CpuProfileResult['auditStore']
  log('profile: the audit store alone (256 appenders) under --cpu-prof')
  await attempt('profile audit store', async (stage) => {
    const r = await runAuditStore(runDir, 256, profile.auditSeconds, [
      '--cpu-prof',
      `--cpu-prof-dir=${join(profDir, 'audit')}`,
    ])
    const file = newestProfile(join(profDir, 'audit'))
    const summary = summarizeProfile(file, { fromMs: r.measuredMs.from, toMs: r.measuredMs.to, requests: r.records })
    stage(() => {
      auditStore = { summary, recordsPerSecond: r.recordsPerSecond, cpuUsPerRecord: r.cpuUsPerRecord }
      copyFileSync(file, join(RESULTS, `${opts.out}-audit-store.cpuprofile`))
    })
  })
  results.cpuProfile = {
    floor: measuredFloor ?? cell(floorSamples),
    gateway,
    auditStore,
  }
}
