import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type LoadResult, runWrk } from '../lib/load.js'
import { measure, speedIndex } from '../lib/measure.js'
import { type PairResult, pairFileName, renderPair } from '../lib/pair-report.js'
import { nextRate, type PairRound, pairRatio, ratioStats, side, verdict } from '../lib/pair-stats.js'
import { type PeerHandle, QIAO_DEFAULT_LOG_LEVEL, startQiao } from '../lib/peers.js'
import { probePeer } from '../lib/probe.js'
import { treeCpuSeconds } from '../lib/procfs.js'
import { attempt, type BenchRun, log, type PairBuild, PEER_CORES, RESULTS, ROOT } from './shared.js'

/**
 * The paired method: two gateways on the same core at the same time, each loaded by its own wrk (both on the load
 * core) at the same fixed rate, CPU per call of each from /proc. Whatever the VM's core does during a round — run
 * slower, be shared with another VM — it does to both, so the ratio of their CPU per call cancels it; rounds repeat
 * it, and an A/A pair (build A twice) measured in the same rounds says how far apart two identical builds come out.
 *
 * Three instances run throughout: A, A′ (build A again) and B. Each round has an A/B phase and an A/A phase (their
 * order alternates), the A/B phase takes A and A′ in turn, and which wrk starts first alternates too. The idle
 * instance of a phase costs the shared core nothing measurable (health probes off, no traffic).
 */
export async function runPair(bench: BenchRun): Promise<void> {
  const { opts, profile, ctx, upstream, probeTokens, body, mainCatalog, spec, mo, check, results } = bench
  const self: PairBuild = { label: 'this tree', cli: join(ROOT, 'dist/gateway/cli.js') }
  const a = opts.pair?.a ?? self
  const b = opts.pair?.b ?? self
  const started = Date.now()
  log(
    `pair: ${a.label} (A) and ${b.label} (B) on core ${PEER_CORES}, ${profile.pairRounds} rounds of ${profile.pairSeconds} s`,
  )
  const start = (build: PairBuild, id: 'pair-a' | 'pair-b') =>
    startQiao(ctx, mainCatalog.file, [], { cli: build.cli, id, logLevel: QIAO_DEFAULT_LOG_LEVEL })
  const instances: PeerHandle[] = []
  try {
    const x1 = await start(a, 'pair-a')
    instances.push(x1)
    const x2 = await start(a, 'pair-a')
    instances.push(x2)
    const y = await start(b, 'pair-b')
    instances.push(y)
    for (const peer of instances) {
      await probePeer(peer, probeTokens, body, { negatives: false, expectRows: upstream.payloads['1k'].rows })
    }

    // Every instance gets the same warm-up (the JIT's, the caches'): a warm-up and a saturation run each, alone,
    // the other two idle.
    const saturation: number[] = []
    for (const [i, peer] of instances.entries()) {
      await attempt(`pair saturation ${['A', 'A′', 'B'][i]}`, async (stage) => {
        await measure(mo(0, peer), spec(peer, { seconds: profile.warmupSeconds }))
        const rps = check('pair saturation', await measure(mo(0, peer), spec(peer, {}))).load.rps
        stage(() => saturation.push(rps))
      })
    }
    log(
      `  alone at saturation: A ${saturation[0]?.toFixed(0)}, A′ ${saturation[1]?.toFixed(0)}, B ${saturation[2]?.toFixed(0)} req/s`,
    )

    const measurePhase = async (round: number, rate: number, x: PeerHandle, yy: PeerHandle, seconds: number) => {
      const firstStarted = round % 2 === 1 ? 'x' : 'y'
      const speed = speedIndex(Number(PEER_CORES))
      const load = (peer: PeerHandle) =>
        spec(peer, { rate, connections: profile.fixedConnections, seconds, timeoutSeconds: 10 })
      const xBefore = treeCpuSeconds(x.pids())
      const yBefore = treeCpuSeconds(yy.pids())
      const wall = performance.now()
      // Array elements are evaluated in order: the first runWrk is the first wrk started.
      const [lx, ly] =
        firstStarted === 'x'
          ? await bothWrk(runWrk(load(x)), runWrk(load(yy)))
          : await bothWrk(runWrk(load(yy)), runWrk(load(x))).then(([l2, l1]) => [l1, l2] as const)
      const wallSeconds = (performance.now() - wall) / 1000
      const xs = side(lx, treeCpuSeconds(x.pids()) - xBefore)
      const ys = side(ly, treeCpuSeconds(yy.pids()) - yBefore)
      for (const [what, s] of [
        ['x', xs],
        ['y', ys],
      ] as const) {
        const bad = s.requests === 0 || s.errors > Math.max(1, s.requests * 0.01)
        if (bad && profile.name === 'quick')
          throw new Error(`pair round ${round} ${what}: ${s.errors} errors in ${s.requests}`)
        if (bad) log(`WARNING pair round ${round} ${what}: ${s.errors} errors in ${s.requests} requests`)
      }
      const result: PairRound = {
        round,
        rate,
        busy: (xs.cpuSeconds + ys.cpuSeconds) / wallSeconds,
        firstStarted,
        x: xs,
        y: ys,
        ratio: pairRatio(xs, ys),
        speedIndex: speed,
      }
      return result
    }
    // A phase is measured again as a whole (both wrk runs, the CPU read around them) when either wrk run fails.
    const phase = async (
      what: string,
      round: number,
      rate: number,
      x: PeerHandle,
      yy: PeerHandle,
      seconds: number,
    ): Promise<PairRound> => {
      let measured: PairRound | undefined
      await attempt(`pair ${what}`, async (stage) => {
        const r = await measurePhase(round, rate, x, yy, seconds)
        stage(() => {
          measured = r
        })
      })
      return measured as PairRound
    }

    // The rate: given, or found so that the two loaded gateways together keep the core PAIR_BUSY busy — near
    // saturation, where a call costs what it costs at saturation, yet below it, so both get the load asked for.
    // The calibration phases (A with B, then A with A′) are the pair's warm-up too.
    let rate = opts.pairRate ?? nextRate((saturation[0] as number) * 0.3, 1, 1)
    for (let i = 0; i < profile.pairCalibrations; i++) {
      const ab = await phase(`calibration ${i + 1} B/A`, 0, rate, x1, y, profile.pairWarmupSeconds)
      const aa = await phase(`calibration ${i + 1} A′/A`, 0, rate, x1, x2, profile.pairWarmupSeconds)
      const busy = (ab.busy + aa.busy) / 2
      log(`  calibration ${i + 1}: ${rate} req/s each kept the core ${(100 * busy).toFixed(0)}% busy`)
      if (opts.pairRate === undefined) rate = nextRate(rate, busy, profile.pairBusy)
    }
    log(
      `  ${rate} req/s each${opts.pairRate === undefined ? ` (aiming at ${100 * profile.pairBusy}% of the core)` : ''}`,
    )

    const ab: PairRound[] = []
    const aa: PairRound[] = []
    for (let round = 1; round <= profile.pairRounds; round++) {
      const xa = round % 2 === 1 ? x1 : x2
      const runAb = async () => {
        const r = await phase(`round ${round} B/A`, round, rate, xa, y, profile.pairSeconds)
        ab.push(r)
        log(
          `  round ${round} B/A ${r.ratio.toFixed(3)} (${r.x.cpuUsPerRequest.toFixed(0)} → ${r.y.cpuUsPerRequest.toFixed(0)} µs/call, ${r.x.rps.toFixed(0)} / ${r.y.rps.toFixed(0)} req/s, core ${(100 * r.busy).toFixed(0)}%, speed ${r.speedIndex?.toFixed(0)})`,
        )
      }
      const runAa = async () => {
        const r = await phase(`round ${round} A′/A`, round, rate, x1, x2, profile.pairSeconds)
        aa.push(r)
        log(
          `  round ${round} A′/A ${r.ratio.toFixed(3)} (${r.x.cpuUsPerRequest.toFixed(0)} → ${r.y.cpuUsPerRequest.toFixed(0)} µs/call, core ${(100 * r.busy).toFixed(0)}%)`,
        )
      }
      if (round % 2 === 1) {
        await runAb()
        await runAa()
      } else {
        await runAa()
        await runAb()
      }
    }
    const abStats = ratioStats(ab.map((r) => r.ratio))
    const aaStats = ratioStats(aa.map((r) => r.ratio))
    const result: PairResult = {
      a,
      b,
      sameBuild: a.cli === b.cli,
      logLevel: QIAO_DEFAULT_LOG_LEVEL,
      core: PEER_CORES,
      rate,
      saturationRps: { a: saturation[0] as number, a2: saturation[1] as number, b: saturation[2] as number },
      ...(opts.pairRate === undefined ? { busyTarget: profile.pairBusy } : {}),
      seconds: profile.pairSeconds,
      connections: profile.fixedConnections,
      ab,
      aa,
      abStats,
      aaStats,
      verdict: verdict(abStats, aaStats),
    }
    results.pair = result
    const name = pairFileName(opts.out)
    const run = {
      name,
      command: `npm run bench${opts.argv.length ? ` -- ${opts.argv.join(' ')}` : ''}`,
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: results.machine,
      result,
    }
    writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(run, null, 2)}\n`)
    writeFileSync(join(RESULTS, `${name}.md`), renderPair(run))
    log(
      `  B/A ${abStats.median.toFixed(3)} (${abStats.min.toFixed(3)}–${abStats.max.toFixed(3)}), A/A ${aaStats.median.toFixed(3)} (${aaStats.min.toFixed(3)}–${aaStats.max.toFixed(3)}): ${result.verdict}; ${name}.md written`,
    )
  } finally {
    await Promise.all(instances.map((p) => p.stop()))
  }
}

/** Both wrk runs of a phase, settled: a retry must not start while the other run still loads the core. */
async function bothWrk(first: Promise<LoadResult>, second: Promise<LoadResult>): Promise<[LoadResult, LoadResult]> {
  const [a, b] = await Promise.allSettled([first, second])
  if (a.status === 'rejected') throw a.reason
  if (b.status === 'rejected') throw b.reason
  return [a.value, b.value]
}
