import { cell, measure, type Sample } from '../lib/measure.js'
import { FLOOR_IDS, type PeerId } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { sleep } from '../lib/proc.js'
import { stat } from '../lib/stats.js'
import { TARGET_RATE } from '../lib/targets.js'
import { append, attempt, type BenchRun, log } from './shared.js'

/** Side by side: every peer in turn (P0 P1 P2 N1 N2 N3 P3W P3, P0 P1 …), round after round. */
export async function runMain(bench: BenchRun): Promise<void> {
  const { opts, profile, upstream, probeTokens, body, startPeer, spec, mo, check, busy, results } = bench
  const sat = new Map<PeerId, Sample[]>()
  const fixed = new Map<string, Sample[]>()
  const startup = new Map<PeerId, number[]>()
  for (let round = 1; round <= profile.rounds; round++) {
    for (const id of opts.peers) {
      log(`main round ${round}/${profile.rounds}: ${id}`)
      await attempt(`main round ${round} ${id}`, async (stage) => {
        const peer = await startPeer(id)
        try {
          stage(() => append(startup, id, peer.startupSeconds))
          await probePeer(peer, probeTokens, body, {
            negatives: round === 1,
            expectRows: upstream.payloads['1k'].rows,
          })
          await measure(mo(round, peer), spec(peer, { seconds: profile.warmupSeconds }))
          const s = check(`${id} saturation`, await measure({ ...mo(round, peer), calibrate: true }, spec(peer, {})))
          stage(() => append(sat, id, s))
          log(
            `  ${id} saturation ${s.load.rps.toFixed(0)} req/s, ${s.cpuUsPerRequest.toFixed(0)} µs CPU/req, ${busy(s)}, speed ${s.speedIndex?.toFixed(0)}`,
          )
          // The floors exist to be compared with: saturation and the latency target's rate are enough.
          const rates = FLOOR_IDS.includes(id) ? profile.rates.filter((r) => r === TARGET_RATE) : profile.rates
          for (const rate of rates) {
            const f = check(
              `${id} at ${rate} req/s`,
              await measure(
                mo(round, peer),
                spec(peer, { rate, connections: profile.fixedConnections, seconds: profile.fixedSeconds }),
              ),
            )
            stage(() => append(fixed, `${rate}/${id}`, f))
            log(
              `  ${id} at ${rate}/s: p50 ${(f.load.latencyUs.p50 / 1000).toFixed(2)} ms, p99 ${(f.load.latencyUs.p99 / 1000).toFixed(2)} ms (${f.load.rps.toFixed(0)} req/s)`,
            )
          }
        } finally {
          await peer.stop()
        }
      })
      await sleep(profile.settleMs)
    }
  }
  const present = opts.peers.filter((id) => sat.has(id))
  results.main = {
    saturation: Object.fromEntries(
      present.map((id) => [id, { ...cell(sat.get(id) ?? []), startupSeconds: stat(startup.get(id) ?? []) }]),
    ),
    fixedRate: Object.fromEntries(
      profile.rates.map((rate) => [
        String(rate),
        Object.fromEntries(
          present.filter((id) => fixed.has(`${rate}/${id}`)).map((id) => [id, cell(fixed.get(`${rate}/${id}`) ?? [])]),
        ),
      ]),
    ),
  }
}
