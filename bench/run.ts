import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { demoResourceCount, writeBenchCatalog } from './lib/catalog.js'
import { ensureTools } from './lib/install.js'
import type { LoadSpec } from './lib/load.js'
import { describeMachine } from './lib/machine.js'
import type { MeasureOptions, Sample } from './lib/measure.js'
import { parseOptions } from './lib/options.js'
import {
  type PeerContext,
  type PeerHandle,
  type PeerId,
  QIAO_DEFAULT_LOG_LEVEL,
  QUERY_PATH,
  startBareProxy,
  startFloor,
  startHaproxy,
  startNginx,
  startQiao,
  upstreamPeer,
} from './lib/peers.js'
import { type ProbeTokens, requestHeaders } from './lib/probe.js'
import { killAllSync, run, sleep, startProcess, stopAll } from './lib/proc.js'
import { coreProcessSeconds, coreTimes, loadAverage } from './lib/procfs.js'
import { type BenchResults, writeResults } from './lib/results.js'
import type { SectionProgress } from './lib/section-runner.js'
import { evaluateTargets } from './lib/targets.js'
import { benchClaims, benchKeys, checkToken, signOne, tamper, tokenPool } from './lib/tokens.js'
import { runSections } from './sections/index.js'
import { type BenchRun, LOAD_CORES, log, PEER_CORES, RESULTS, ROOT, retried, started, WORK } from './sections/shared.js'
import { PAYLOADS, type Payload, type UpstreamInfo } from './upstream.js'

/**
 * `npm run bench`: Qiao side by side with what a department would otherwise put in front of a legacy system, and
 * with the floors of a Node gateway, on loopback, peers in turn (A B A B …) over several rounds, medians reported;
 * the paired method (two builds on one core at once) and the workers run. See README "Performance" and
 * `npm run bench -- --help` (bench/lib/options.ts). This file sets the run up (tools, build, keys, upstream,
 * catalogs) and writes the results; each section measures in its own module under bench/sections/.
 */

async function startUpstream(runDir: string): Promise<{ info: UpstreamInfo; proc: ReturnType<typeof startProcess> }> {
  let info: UpstreamInfo | undefined
  const proc = startProcess({
    name: 'upstream',
    cores: LOAD_CORES,
    command: process.execPath,
    args: ['--import', 'tsx', join(ROOT, 'bench/upstream.ts'), '0', '0', '0'],
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    logFile: join(runDir, 'upstream.log'),
    onLine: (line) => {
      if (line.startsWith('UPSTREAM_READY ')) info = JSON.parse(line.slice('UPSTREAM_READY '.length)) as UpstreamInfo
    },
  })
  const deadline = Date.now() + 60_000
  while (!info) {
    if (Date.now() > deadline) throw new Error(`upstream did not start:\n${proc.tail()}`)
    if (proc.child.exitCode !== null) throw new Error(`upstream exited:\n${proc.tail()}`)
    await sleep(50)
  }
  return { info, proc }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2))
  if (opts.render) {
    // Re-render a results file (targets and Markdown) without measuring anything.
    const results = JSON.parse(readFileSync(join(RESULTS, `${opts.render}.json`), 'utf8')) as BenchResults
    results.targets = evaluateTargets(results)
    log(`rendered ${writeResults(RESULTS, opts.render, results).join(', ')}`)
    return
  }
  const { profile } = opts
  log(
    `profile ${profile.name}, ${profile.rounds} round(s), peers ${opts.peers.join(' ')}, sections ${[...opts.sections].join(' ')}`,
  )

  const installed = ensureTools(log)
  // A paired run of two trees built elsewhere needs nothing of this one built.
  const ownDist = join(ROOT, 'dist')
  const needsOwnBuild = !opts.pair || [opts.pair.a.cli, opts.pair.b.cli].some((cli) => cli.startsWith(`${ownDist}/`))
  if (needsOwnBuild && opts.skipBuild) {
    log('WARNING --skip-build: measuring dist/ as it is, which may not match the commit the results name')
  } else if (needsOwnBuild) {
    log('building the gateway (npm run build)')
    run('npm', ['run', 'build', '--silent'])
  }

  mkdirSync(WORK, { recursive: true })
  mkdirSync(RESULTS, { recursive: true })
  const runDir = join(WORK, `run-${process.pid}`)
  rmSync(runDir, { recursive: true, force: true })
  mkdirSync(runDir, { recursive: true })
  const machine = describeMachine(ROOT, runDir)
  log(`machine: ${machine.nproc} × ${machine.cpuModel}, load ${machine.loadAverageAtStart.join(' ')}`)
  const otherLoad = await otherWork(profile.name === 'quick' ? 1000 : 2000)
  if (otherLoad > 0.2)
    log(`WARNING: other processes use ${otherLoad.toFixed(2)} cores right now; results will be noisy`)

  // Issuer key, JWKS, PEM and the token mixes.
  const keys = await benchKeys(WORK)
  const nowSec = Math.floor(Date.now() / 1000)
  const good = await signOne(keys, benchClaims(0, nowSec))
  await checkToken(keys, good)
  const probeTokens: ProbeTokens = {
    good,
    forged: tamper(good),
    expired: await signOne(keys, benchClaims(1, nowSec - 7200, { exp: nowSec - 3600 })),
    wrongScope: await signOne(keys, benchClaims(2, nowSec, { scope: 'XK00208001:housing.construction-permit:read' })),
  }
  const distinct = await tokenPool(keys, `distinct-${profile.distinctTokens}`, profile.distinctTokens)
  if (distinct.mintedSeconds > 0) log(`minted ${distinct.count} tokens in ${distinct.mintedSeconds.toFixed(1)} s`)

  const { info: upstream, proc: upstreamProc } = await startUpstream(runDir)
  log(
    `upstream ready: ${Object.entries(upstream.payloads)
      .map(([k, v]) => `${k} ${v.bytes} B/${v.rows} rows`)
      .join(', ')}`,
  )
  const ctx: PeerContext = { root: ROOT, runDir, keys, upstream, upstreamProc, peerCores: PEER_CORES }
  const body = JSON.stringify({ projectCode: upstream.projectCode })
  const headers = requestHeaders()

  // Catalogs: the main one (10 resources), one per catalog size, one per payload size.
  const demoCatalog = join(ROOT, 'catalog.yaml')
  const upstreamUrl = (p: Payload) => `http://127.0.0.1:${upstream.payloads[p].port}`
  const catalogFor = (resources: number, payload: Payload = '1k') =>
    writeBenchCatalog({
      demoFile: demoCatalog,
      outFile: join(runDir, `catalog-${resources}-${payload}.yaml`),
      upstreamUrl: upstreamUrl(payload),
      resources,
    })
  const mainSize = Math.max(10, demoResourceCount(demoCatalog))
  const mainCatalog = catalogFor(mainSize)

  const startPeer = async (id: PeerId, catalogFile = mainCatalog.file): Promise<PeerHandle> => {
    switch (id) {
      case 'P0':
        return upstreamPeer(ctx)
      case 'P1':
        return startNginx(ctx)
      case 'P2':
        return startHaproxy(ctx)
      case 'N1':
        return startBareProxy(ctx, 'bytes')
      case 'N2':
        return startBareProxy(ctx, 'json')
      case 'N3':
        return startFloor(ctx)
      case 'P3W':
        return startQiao(ctx, catalogFile, [], { logLevel: 'warn' })
      case 'P3':
        return startQiao(ctx, catalogFile, [], { logLevel: QIAO_DEFAULT_LOG_LEVEL })
    }
  }
  const spec = (peer: PeerHandle, extra: Partial<LoadSpec>): LoadSpec => ({
    url: `${peer.baseUrl}${QUERY_PATH}`,
    body,
    headers,
    token: good,
    connections: profile.connections,
    seconds: profile.saturationSeconds,
    cores: LOAD_CORES,
    ...extra,
  })
  const mo = (round: number, peer: PeerHandle): MeasureOptions => ({
    round,
    pids: peer.pids,
    peerCore: Number(peer.id === 'P0' ? LOAD_CORES : PEER_CORES),
    loadCorePids: [upstreamProc.pid],
    loadCore: Number(LOAD_CORES),
    metricsUrl: peer.metricsUrl,
  })
  const strict = profile.name === 'quick'
  const busy = (s: Sample) =>
    `cores busy ${s.coreBusy.map((b) => `${Math.round(100 * b)}%`).join('/')}, other work ${s.foreignBusy.map((b) => `${Math.round(100 * b)}%`).join('/')}`
  const check = (what: string, s: Sample) => {
    const bad = s.load.errorCount > Math.max(1, s.load.requests * 0.01) || s.load.requests === 0
    if (bad) {
      const msg = `${what}: ${s.load.errorCount} errors in ${s.load.requests} requests ${JSON.stringify(s.load.errors)}`
      if (strict) throw new Error(msg)
      log(`WARNING ${msg}`)
    }
    return s
  }

  const results: BenchResults = {
    schema: 'qiao-bench/1',
    mode: profile.name,
    command: `npm run bench${opts.argv.length ? ` -- ${opts.argv.join(' ')}` : ''}`,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    machine,
    installedPackages: installed,
    profile,
    upstream: {
      projectCode: upstream.projectCode,
      payloads: Object.fromEntries(
        PAYLOADS.map((p) => [p, { bytes: upstream.payloads[p].bytes, rows: upstream.payloads[p].rows }]),
      ) as BenchResults['upstream']['payloads'],
    },
    peers: opts.peers,
    catalog: { main: { resources: mainCatalog.resources, matters: mainCatalog.matters, grants: mainCatalog.grants } },
    otherWorkAtStartCores: otherLoad,
    notes: [],
    targets: [],
  }

  const bench: BenchRun = {
    opts,
    profile,
    runDir,
    ctx,
    upstream,
    keys,
    good,
    probeTokens,
    distinct,
    body,
    mainSize,
    mainCatalog,
    catalogFor,
    startPeer,
    spec,
    mo,
    check,
    busy,
    results,
    curves: {},
  }
  // After every section the results so far go to <out>.partial.*, so a run stopped half-way keeps what it measured;
  // the final write replaces them. --pair writes only the pair files its section writes.
  const partialName = `${opts.out}.partial`
  const failures = await runSections(bench, opts.sections, opts.peers, (progress) => {
    if (opts.pair) return
    const files = writeResults(RESULTS, partialName, resultsSoFar(results, bench.curves, progress))
    log(`results so far (${progress.completed.length} section(s)): ${files.join(', ')}`)
  })

  await upstreamProc.stop()
  rmSync(runDir, { recursive: true, force: true })

  const end = loadAverage()
  results.finishedAt = new Date().toISOString()
  results.durationSeconds = (Date.now() - started) / 1000
  results.loadAverageAtEnd = end
  results.notes.push(...standardNotes(results))
  results.targets = evaluateTargets(results)
  if (opts.pair) {
    // --pair A B measures the two builds only: its results are the pair files the section wrote.
    log(`done in ${results.durationSeconds.toFixed(0)} s`)
  } else {
    const files = writeResults(RESULTS, opts.out, results)
    for (const ext of ['json', 'md']) rmSync(join(RESULTS, `${partialName}.${ext}`), { force: true })
    log(`done in ${results.durationSeconds.toFixed(0)} s: ${files.join(', ')}`)
    for (const t of results.targets)
      log(`  target ${t.met === undefined ? 'n/a ' : t.met ? 'met ' : 'MISS'} ${t.title}: ${t.value}`)
  }
  if (failures.length > 0) {
    for (const f of failures) log(`FAILED section ${f.section}: ${f.reason} — its figures are missing`)
    process.exitCode = 1
  }
}

/** The results as they stand after a section: notes and targets as the final write makes them, marked partial. */
function resultsSoFar(
  r: BenchResults,
  curves: NonNullable<BenchResults['curves']>,
  progress: SectionProgress,
): BenchResults {
  const soFar: BenchResults = {
    ...r,
    ...(r.curves === undefined && Object.keys(curves).length > 0 ? { curves } : {}),
    finishedAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    loadAverageAtEnd: loadAverage(),
    partial: { completed: [...progress.completed], pending: [...progress.pending] },
    notes: [...r.notes],
  }
  soFar.notes.push(...standardNotes(soFar))
  soFar.targets = evaluateTargets(soFar)
  return soFar
}

/** CPU (in cores) used by processes other than this one over a short window. */
async function otherWork(ms: number): Promise<number> {
  const before = coreTimes()
  const self = process.cpuUsage()
  await sleep(ms)
  const used = coreProcessSeconds(before, coreTimes()).reduce((a, b) => a + b, 0)
  const own = (process.cpuUsage(self).user + process.cpuUsage(self).system) / 1e6
  return Math.max(0, (used - own) / (ms / 1000))
}

function standardNotes(r: BenchResults): string[] {
  const notes = [
    'Everything on loopback over plain HTTP/1.1 (no TLS); published gateway numbers quoted elsewhere (Kong) are HTTPS.',
    `Cores: the peer under test alone on core ${PEER_CORES} (taskset, all its threads); the upstream (node:http) and wrk (1 thread) share core ${LOAD_CORES}. P0 is the upstream itself, so its row measures core ${LOAD_CORES} running both the upstream and the load generator: it is the ceiling of this topology, not of the upstream alone.`,
    'Saturation: wrk closed loop (latencies under saturation suffer coordinated omission and are shown for information only). Fixed rates: wrk paced by a wall-clock schedule in its Lua script (bench/lib/bench.lua), microsecond latency histogram; "added" = peer minus P0 at the same rate, medians over rounds.',
    'CPU per request: Δ(utime+stime) of the peer’s processes from /proc/<pid>/stat (10 ms ticks) ÷ requests completed in the same run. Peak RSS: VmHWM of the peer’s processes at the end of the run.',
    'The bench catalog is the demo catalog with the housing connector pointed at the bench upstream and the `quotas:` block removed (发改’s overall quota of 1,200 calls/min would refuse a benchmark).',
    'wrk closes its connections with calls still in flight at the end of every run; Qiao audits those calls as client-gone (499) and does not count them against the housing connector’s circuit breaker, so the bench catalog keeps the default breaker settings.',
    'Qiao runs the built gateway (node dist/gateway/cli.js serve): RS256 tokens from a JWKS file, file audit store with group commit in the run directory (ext4), metrics on their own loopback listener (QIAO_METRICS_PORT, scraped just before and after each run), tracing off (no OTEL_* variables), health probe only at start, its stdout and stderr written straight to a file. Log level: info (README’s default, one line per call) for P3, the CPU profile, the paired method and the workers run; warn for P3W and for the curves, live grants and soak, which compare Qiao with itself.',
    'The Node floors (N1 node:http + undici passing bytes, N2 the same + JSON, N3 the Hono floor of bench/floor.ts) run under tsx like the upstream (the loader costs start-up, not calls), with the same undici pool size (64) as Qiao’s connector.',
    'QIAO_TOKEN_CACHE_MAX defaults to 10,000: the 10,000-token mix fits the cache exactly. The probe and warm-up of that cell use tokens of the mix, because one extra token in a cyclic round-robin over an LRU of the same size makes every lookup miss.',
    'HAProxy (P2) verifies every token (no cache), so its cost does not depend on the token mix; it answers 403 to any refused token.',
  ]
  const load = r.machine.loadAverageAtStart[0] ?? 0
  notes.push(
    `Load average (1 min) at start ${load.toFixed(2)}, at end ${(r.loadAverageAtEnd?.[0] ?? Number.NaN).toFixed(2)} on ${r.machine.nproc} cores; other processes used ${r.otherWorkAtStartCores.toFixed(2)} cores just before the run. Every run records the share of each core used by processes outside the benchmark (foreignBusy in the JSON); cells where it exceeded 10% of a core are flagged in the tables.`,
  )
  if (retried.length > 0) {
    notes.push(
      `Cells that failed and were measured again, one entry per retry (failed attempts are not counted): ${retried.join('; ')}.`,
    )
  }
  if ((r.machine.git.uncommittedGatewayFiles ?? 0) > 0) {
    notes.push(
      `The measured gateway had ${r.machine.git.uncommittedGatewayFiles} uncommitted file(s) under gateway/ or connectors/ on top of commit ${r.machine.git.commit}.`,
    )
  }
  return notes
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAllSync()
    process.exit(130)
  })
}
// A closed pipe on stderr (e.g. `| head`) must not kill the run half-way and leave processes behind.
process.stderr.on('error', () => {})
process.on('exit', () => killAllSync())

main().catch(async (err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  await stopAll()
  process.exit(1)
})
