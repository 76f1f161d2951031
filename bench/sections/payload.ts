import { cell, measure, type Sample } from '../lib/measure.js'
import { startQiao, upstreamPeer } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { PAYLOADS, type Payload } from '../upstream.js'
import { append, attempt, type BenchRun, log } from './shared.js'

/** Payload: 1 KB / 64 KB / 1 MB from the upstream, P0 and P3. */
export async function runPayload(bench: BenchRun): Promise<void> {
  const { profile, ctx, upstream, probeTokens, body, mainSize, catalogFor, spec, mo, check, curves } = bench
  const catalogs = Object.fromEntries(PAYLOADS.map((p) => [p, catalogFor(mainSize, p)])) as Record<
    Payload,
    ReturnType<typeof catalogFor>
  >
  const samples = new Map<string, Sample[]>()
  const add = (key: string, s: Sample) => append(samples, key, s)
  for (let round = 1; round <= profile.rounds; round++) {
    for (const payload of PAYLOADS) {
      log(`payload round ${round}/${profile.rounds}: ${payload}`)
      await attempt(`payload round ${round} ${payload}`, async (stage) => {
        const p0 = upstreamPeer(ctx, payload)
        const base = { connections: profile.payloadConnections, timeoutSeconds: 30 }
        if (profile.name !== 'quick')
          await measure(mo(round, p0), spec(p0, { ...base, seconds: profile.curveWarmupSeconds }))
        const s0 = check(
          `P0 ${payload}`,
          await measure(mo(round, p0), spec(p0, { ...base, seconds: profile.curveSeconds })),
        )
        stage(() => add(`P0-${payload}`, s0))
        const peer = await startQiao(ctx, catalogs[payload].file)
        try {
          await probePeer(peer, probeTokens, body, { negatives: false, expectRows: upstream.payloads[payload].rows })
          await measure(mo(round, peer), spec(peer, { ...base, seconds: profile.curveWarmupSeconds }))
          const s = check(
            `P3 ${payload}`,
            await measure(
              { ...mo(round, peer), calibrate: true },
              spec(peer, { ...base, seconds: profile.curveSeconds }),
            ),
          )
          stage(() => add(`P3-${payload}`, s))
          log(
            `  P3 ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req, peak RSS ${s.peakRssMB.toFixed(0)} MB`,
          )
        } finally {
          await peer.stop()
        }
      })
      await sleep(profile.settleMs)
    }
  }
  curves.payload = PAYLOADS.map((payload) => ({
    payload,
    upstreamBytes: upstream.payloads[payload].bytes,
    rows: upstream.payloads[payload].rows,
    P0: cell(samples.get(`P0-${payload}`) ?? []),
    P3: cell(samples.get(`P3-${payload}`) ?? []),
  }))
}
