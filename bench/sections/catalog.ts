import { cell, measure, type Sample } from '../lib/measure.js'
import { startQiao } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { stat } from '../lib/stats.js'
import { append, attempt, type BenchRun, log } from './shared.js'

/** Catalog size: 10 / 1,000 / 10,000 resources. */
export async function runCatalog(bench: BenchRun): Promise<void> {
  const { profile, ctx, upstream, probeTokens, body, catalogFor, spec, mo, check, curves } = bench
  const catalogs = profile.catalogSizes.map((n) => catalogFor(n))
  const samples = new Map<number, Sample[]>()
  const startups = new Map<number, number[]>()
  for (let round = 1; round <= profile.rounds; round++) {
    for (const cat of catalogs) {
      log(`catalog round ${round}/${profile.rounds}: ${cat.resources} resources`)
      await attempt(`catalog round ${round} ${cat.resources}`, async (stage) => {
        const peer = await startQiao(ctx, cat.file)
        try {
          stage(() => append(startups, cat.resources, peer.startupSeconds))
          log(`  started in ${peer.startupSeconds.toFixed(1)} s`)
          await probePeer(peer, probeTokens, body, { negatives: false, expectRows: upstream.payloads['1k'].rows })
          await measure(mo(round, peer), spec(peer, { seconds: profile.curveWarmupSeconds }))
          const s = check(
            `catalog ${cat.resources}`,
            await measure({ ...mo(round, peer), calibrate: true }, spec(peer, { seconds: profile.curveSeconds })),
          )
          stage(() => append(samples, cat.resources, s))
          log(`  ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req`)
        } finally {
          await peer.stop()
        }
      })
      await sleep(profile.settleMs)
    }
  }
  curves.catalog = catalogs.map((cat) => ({
    resources: cat.resources,
    matters: cat.matters,
    grants: cat.grants,
    startupSeconds: stat(startups.get(cat.resources) ?? []),
    ...cell(samples.get(cat.resources) ?? []),
  }))
}
