import { measure } from '../lib/measure.js'
import { startQiao } from '../lib/peers.js'
import { sleep } from '../lib/proc.js'
import { currentRss } from '../lib/procfs.js'
import type { SoakResult } from '../lib/results.js'
import { type BenchRun, log } from './shared.js'

/** Soak: RSS of Qiao across a long saturation run. */
export async function runSoak(bench: BenchRun): Promise<void> {
  const { opts, profile, ctx, distinct, mainCatalog, spec, mo, check, results } = bench
  log(`soak: Qiao at saturation for ${opts.soakSeconds} s (${distinct.count} distinct tokens), RSS every 10 s`)
  const peer = await startQiao(ctx, mainCatalog.file)
  try {
    await measure(
      mo(0, peer),
      spec(peer, { seconds: profile.warmupSeconds, token: undefined, tokensFile: distinct.file }),
    )
    const series: SoakResult['series'] = []
    const t0 = Date.now()
    const running = measure(
      mo(0, peer),
      spec(peer, { seconds: opts.soakSeconds, token: undefined, tokensFile: distinct.file }),
    )
    let finished = false
    void running.finally(() => {
      finished = true
    })
    while (!finished) {
      series.push({ seconds: Math.round((Date.now() - t0) / 1000), rssMB: currentRss(peer.pids()) / 1e6 })
      for (let i = 0; i < 100 && !finished; i++) await sleep(100)
    }
    const s = check('soak', await running)
    series.push({ seconds: Math.round((Date.now() - t0) / 1000), rssMB: currentRss(peer.pids()) / 1e6 })
    const after60 = series.find((p) => p.seconds >= 60) ?? series[0]
    const last = series.at(-1)
    const growthMB = (last?.rssMB ?? 0) - (after60?.rssMB ?? 0)
    results.soak = {
      seconds: opts.soakSeconds,
      rps: s.load.rps,
      requests: s.load.requests,
      errors: s.load.errorCount,
      peakRssMB: s.peakRssMB,
      rssAt60sMB: after60?.rssMB ?? Number.NaN,
      rssEndMB: last?.rssMB ?? Number.NaN,
      growthMB,
      growthPct: after60?.rssMB ? (100 * growthMB) / after60.rssMB : Number.NaN,
      series,
    }
    log(
      `  ${s.load.rps.toFixed(0)} req/s; RSS ${results.soak.rssAt60sMB.toFixed(0)} → ${results.soak.rssEndMB.toFixed(0)} MB, peak ${s.peakRssMB.toFixed(0)} MB`,
    )
  } finally {
    await peer.stop()
  }
}
