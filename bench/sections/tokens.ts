import { cell, measure, type Sample } from '../lib/measure.js'
import { startQiao } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { tokenPool } from '../lib/tokens.js'
import { append, attempt, type BenchRun, log } from './shared.js'

/** Token mixes: one token, 10,000 distinct (round-robin), every token new. */
export async function runTokens(bench: BenchRun): Promise<void> {
  const {
    profile,
    ctx,
    upstream,
    probeTokens,
    keys,
    good,
    distinct,
    body,
    mainCatalog,
    spec,
    mo,
    check,
    results,
    curves,
  } = bench
  // The curves run Qiao at warn: P3W's throughput sizes the pools (P3, at info, is slower).
  const sideBySide = results.main?.saturation.P3W ?? results.main?.saturation.P3
  const t1 = sideBySide?.rps.max
  const estimate = Math.ceil((t1 ?? 6000) * profile.curveSeconds * 1.15) + 1000
  // The distinct mix is measured with every one of its tokens already verified and cached: warm up long enough
  // to use each at least once.
  const fillSeconds = Math.min(120, Math.ceil((1.3 * distinct.count) / Math.max(100, sideBySide?.rps.min ?? 500)))
  log(`token pool for "every token new": ${estimate} tokens`)
  const unique = await tokenPool(keys, 'unique', estimate)
  if (unique.mintedSeconds > 0) log(`  minted in ${unique.mintedSeconds.toFixed(1)} s`)
  const mixes = [
    { mix: 'one', distinct: 1, probe: good, warm: { token: good }, load: { token: good } },
    {
      mix: 'distinct',
      distinct: distinct.count,
      probe: distinct.first,
      warm: {
        token: undefined,
        tokensFile: distinct.file,
        seconds: Math.max(profile.curveWarmupSeconds, fillSeconds),
      },
      load: { token: undefined, tokensFile: distinct.file },
    },
    {
      mix: 'unique',
      distinct: unique.count,
      probe: good,
      warm: { token: good },
      load: { token: undefined, tokensFile: unique.file },
    },
  ] as const
  const samples = new Map<string, Sample[]>()
  for (let round = 1; round <= profile.rounds; round++) {
    for (const m of mixes) {
      log(`tokens round ${round}/${profile.rounds}: ${m.mix}`)
      await attempt(`tokens round ${round} ${m.mix}`, async (stage) => {
        const peer = await startQiao(ctx, mainCatalog.file)
        try {
          await probePeer(peer, { ...probeTokens, good: m.probe }, body, {
            negatives: false,
            expectRows: upstream.payloads['1k'].rows,
          })
          await measure(mo(round, peer), spec(peer, { seconds: profile.curveWarmupSeconds, ...m.warm }))
          if (m.mix === 'distinct') log(`  cache filled with ${m.distinct} tokens`)
          const s = check(
            `tokens ${m.mix}`,
            await measure(
              { ...mo(round, peer), calibrate: true },
              spec(peer, { seconds: profile.curveSeconds, ...m.load }),
            ),
          )
          stage(() => append(samples, m.mix, s))
          log(
            `  ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req, cache hits ${s.gateway ? s.gateway.tokenCacheHits : '?'} / misses ${s.gateway ? s.gateway.tokenCacheMisses : '?'}`,
          )
        } finally {
          await peer.stop()
        }
      })
      await sleep(profile.settleMs)
    }
  }
  curves.tokens = mixes.map((m) => ({ mix: m.mix, distinctTokens: m.distinct, ...cell(samples.get(m.mix) ?? []) }))
}
