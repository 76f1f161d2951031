import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { AuditStoreResult } from './audit-store.js'
import { demoResourceCount, writeBenchCatalog } from './lib/catalog.js'
import { ensureTools } from './lib/install.js'
import type { LoadSpec } from './lib/load.js'
import { describeMachine } from './lib/machine.js'
import { cell, type MeasureOptions, measure, type Sample } from './lib/measure.js'
import {
  PEER_IDS,
  type PeerContext,
  type PeerHandle,
  type PeerId,
  QUERY_PATH,
  startFloor,
  startHaproxy,
  startNginx,
  startQiao,
  upstreamPeer,
} from './lib/peers.js'
import { type ProbeTokens, probePeer, requestHeaders } from './lib/probe.js'
import { killAllSync, run, sleep, startProcess, stopAll } from './lib/proc.js'
import { coreProcessSeconds, coreTimes, currentRss, loadAverage } from './lib/procfs.js'
import { summarizeProfile } from './lib/profile.js'
import {
  type AuditCell,
  type BenchResults,
  type CpuProfileResult,
  evaluateTargets,
  type Profile,
  type SoakResult,
  writeResults,
} from './lib/results.js'
import { stat } from './lib/stats.js'
import { benchClaims, benchKeys, checkToken, signOne, tamper, tokenPool } from './lib/tokens.js'
import { PAYLOADS, type Payload, type UpstreamInfo } from './upstream.js'

/**
 * `npm run bench`: Qiao side by side with what a department would otherwise put in front of a legacy system, on
 * loopback, peers in turn (A B A B …) over several rounds, medians reported. See README "Performance".
 *
 *   --quick            one short round of everything (checks the harness; < 2 minutes); writes results/quick.*
 *   --rounds N         rounds (default 3)
 *   --only P0,P3       peers of the side-by-side comparison (curves need P3)
 *   --sections a,b     main, catalog, tokens, payload, audit, profile (default: all); soak with --soak
 *   --soak             also: Qiao at saturation for 5 minutes, RSS every 10 s
 *   --soak-seconds N   soak length (default 300)
 *   --out NAME         results file name (default latest; quick for --quick; dev when peers/sections are limited)
 *   --render NAME      only rewrite results/NAME.md (and the targets in NAME.json) from NAME.json
 */

const ROOT = resolve(import.meta.dirname, '..')
const WORK = join(ROOT, 'bench/.work')
const RESULTS = join(ROOT, 'bench/results')
const SECTIONS = ['main', 'catalog', 'tokens', 'payload', 'audit', 'profile', 'soak'] as const
type Section = (typeof SECTIONS)[number]

/** Cores: the peer under test alone on one; upstream, load generator (and the audit bench's disk) on the other. */
const PEER_CORES = '1'
const LOAD_CORES = '0'

const FULL: Profile = {
  name: 'full',
  rounds: 3,
  warmupSeconds: 3,
  saturationSeconds: 10,
  fixedSeconds: 8,
  rates: [500, 1000, 2000],
  curveWarmupSeconds: 2,
  curveSeconds: 8,
  connections: 64,
  fixedConnections: 16,
  payloadConnections: 8,
  catalogSizes: [10, 1000, 10_000],
  auditAppenders: [64, 256],
  auditSeconds: 5,
  distinctTokens: 10_000,
  settleMs: 2000,
}

const QUICK: Profile = {
  ...FULL,
  name: 'quick',
  rounds: 1,
  warmupSeconds: 1,
  saturationSeconds: 2,
  fixedSeconds: 1,
  rates: [1000],
  curveWarmupSeconds: 1,
  curveSeconds: 1,
  catalogSizes: [10, 100],
  auditSeconds: 1,
  distinctTokens: 500,
  settleMs: 200,
}

const started = Date.now()
const log = (msg: string) => {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4)
  console.error(`[bench ${t}s] ${msg}`)
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      sections: { type: 'string' },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.error(
      'usage: npm run bench -- [--quick] [--rounds N] [--only P0,P1,P2,P3] [--sections main,catalog,tokens,payload,audit,profile] [--soak [--soak-seconds N]] [--out NAME] [--render NAME]',
    )
    process.exit(0)
  }
  const base = values.quick ? QUICK : FULL
  const profile: Profile = { ...base, rounds: values.rounds ? Math.max(1, Number(values.rounds)) : base.rounds }
  const peers = values.only ? (values.only.split(',').map((p) => p.trim().toUpperCase()) as PeerId[]) : [...PEER_IDS]
  for (const p of peers) if (!PEER_IDS.includes(p)) throw new Error(`--only: unknown peer ${p} (P0, P1, P2, P3)`)
  const sections = new Set<Section>(
    values.sections
      ? (values.sections.split(',').map((s) => s.trim()) as Section[])
      : SECTIONS.filter((s) => s !== 'soak'),
  )
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`--sections: unknown section ${s}`)
  if (values.soak) sections.add('soak')
  const soakSeconds = values['soak-seconds'] ? Number(values['soak-seconds']) : 300
  const partial = values.only !== undefined || values.sections !== undefined || values.rounds !== undefined
  const out = values.out ?? (values.quick ? 'quick' : partial ? 'dev' : 'latest')
  return { profile, peers, sections, soakSeconds, out, render: values.render, argv: process.argv.slice(2) }
}

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
  const opts = options()
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
  log('building the gateway (npm run build)')
  run('npm', ['run', 'build', '--silent'])

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
      case 'P3':
        return startQiao(ctx, catalogFile)
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

  // --- Side by side: P0 P1 P2 P3, P0 P1 P2 P3, … -------------------------------------------------------------------
  if (opts.sections.has('main')) {
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
            for (const rate of profile.rates) {
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
          Object.fromEntries(present.map((id) => [id, cell(fixed.get(`${rate}/${id}`) ?? [])])),
        ]),
      ),
    }
  }

  const p3 = opts.peers.includes('P3')
  const curves: NonNullable<BenchResults['curves']> = {}

  // --- Catalog size: 10 / 1,000 / 10,000 resources --------------------------------------------------------------------
  if (p3 && opts.sections.has('catalog')) {
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

  // --- Token mixes: one token, 10,000 distinct (round-robin), every token new ----------------------------------------
  if (p3 && opts.sections.has('tokens')) {
    const t1 = results.main?.saturation.P3?.rps.max
    const estimate = Math.ceil((t1 ?? 6000) * profile.curveSeconds * 1.15) + 1000
    // The distinct mix is measured with every one of its tokens already verified and cached: warm up long enough
    // to use each at least once.
    const fillSeconds = Math.min(
      120,
      Math.ceil((1.3 * distinct.count) / Math.max(100, results.main?.saturation.P3?.rps.min ?? 500)),
    )
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

  // --- Payload: 1 KB / 64 KB / 1 MB from the upstream, P0 and P3 -----------------------------------------------------
  if (p3 && opts.sections.has('payload')) {
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
  if (Object.keys(curves).length > 0) results.curves = curves

  // --- Audit store alone --------------------------------------------------------------------------------------------
  if (opts.sections.has('audit')) {
    const raw = new Map<number, AuditStoreResult[]>()
    for (let round = 1; round <= profile.rounds; round++) {
      for (const appenders of profile.auditAppenders) {
        log(`audit store round ${round}/${profile.rounds}: ${appenders} appenders`)
        await attempt(`audit round ${round} ${appenders}`, async (stage) => {
          const r = await runAuditStore(runDir, appenders, profile.auditSeconds)
          stage(() => append(raw, appenders, r))
          log(
            `  ${r.recordsPerSecond.toFixed(0)} records/s, ${r.syncsPerSecond.toFixed(0)} fsyncs/s, ${r.recordsPerSync.toFixed(0)} records/fsync, ${r.cpuUsPerRecord.toFixed(0)} µs CPU/record`,
          )
        })
        await sleep(profile.settleMs)
      }
    }
    results.audit = profile.auditAppenders.map((appenders): AuditCell => {
      const rs = raw.get(appenders) ?? []
      return {
        appenders,
        recordsPerSecond: stat(rs.map((r) => r.recordsPerSecond)),
        syncsPerSecond: stat(rs.map((r) => r.syncsPerSecond)),
        recordsPerSync: stat(rs.map((r) => r.recordsPerSync)),
        p50Ms: stat(rs.map((r) => r.latencyUs.p50 / 1000)),
        p99Ms: stat(rs.map((r) => r.latencyUs.p99 / 1000)),
        cpuUsPerRecord: stat(rs.map((r) => r.cpuUsPerRecord)),
        recordBytes: rs[0]?.recordBytes ?? 0,
        raw: rs,
      }
    })
  }

  // --- Where the time goes: CPU profiles of Qiao at saturation and of the audit store, beside the stack's floor ------
  if (p3 && opts.sections.has('profile')) {
    const floorSamples: Sample[] = []
    for (let round = 1; round <= profile.rounds; round++) {
      log(`profile round ${round}/${profile.rounds}: the stack's floor (Hono + node-server + undici, no pipeline)`)
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
    log('profile: Qiao at saturation under --cpu-prof')
    await attempt('profile qiao', async (stage) => {
      const spawnedAt = performance.now()
      const peer = await startQiao(ctx, mainCatalog.file, ['--cpu-prof', `--cpu-prof-dir=${join(profDir, 'qiao')}`])
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
      floor: cell(floorSamples),
      gateway,
      auditStore,
    }
  }

  // --- Soak: RSS of Qiao across a long saturation run ----------------------------------------------------------------
  if (p3 && opts.sections.has('soak')) {
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

  await upstreamProc.stop()
  rmSync(runDir, { recursive: true, force: true })

  const end = loadAverage()
  results.finishedAt = new Date().toISOString()
  results.durationSeconds = (Date.now() - started) / 1000
  results.loadAverageAtEnd = end
  results.notes.push(...standardNotes(results))
  results.targets = evaluateTargets(results)
  const files = writeResults(RESULTS, opts.out, results)
  log(`done in ${results.durationSeconds.toFixed(0)} s: ${files.join(', ')}`)
  for (const t of results.targets)
    log(`  target ${t.met === undefined ? 'n/a ' : t.met ? 'met ' : 'MISS'} ${t.title}: ${t.value}`)
}

const retried: string[] = []

/**
 * Runs one cell; its results are kept (the staged functions run) only if the whole cell succeeds. A failed cell is
 * tried once more after 5 s (a peer killed from outside, a port taken in between), and the retry is noted.
 */
/** One run of bench/audit-store.ts on the peer core; `nodeArgs` e.g. to profile it. */
async function runAuditStore(
  runDir: string,
  appenders: number,
  seconds: number,
  nodeArgs: readonly string[] = [],
): Promise<AuditStoreResult> {
  let line: string | undefined
  const proc = startProcess({
    name: 'audit-store',
    cores: PEER_CORES,
    command: process.execPath,
    args: [
      ...nodeArgs,
      '--import',
      'tsx',
      join(ROOT, 'bench/audit-store.ts'),
      join(runDir, 'audit-store'),
      String(appenders),
      String(seconds),
    ],
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    onLine: (l) => {
      if (l.startsWith('AUDIT_RESULT ')) line = l.slice('AUDIT_RESULT '.length)
    },
  })
  const code = await proc.exited
  if (code !== '0' || !line) throw new Error(`audit store bench failed (${code}):\n${proc.tail()}`)
  return JSON.parse(line) as AuditStoreResult
}

function newestProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const newest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  if (!newest) throw new Error(`no .cpuprofile in ${dir}`)
  return newest
}

async function attempt(what: string, body: (stage: (fn: () => void) => void) => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    const staged: Array<() => void> = []
    try {
      await body((fn) => staged.push(fn))
      for (const fn of staged) fn()
      return
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
      if (i >= 2) throw err
      retried.push(`${what}: ${msg}`)
      log(`WARNING ${what} failed (${msg}); retrying once`)
      await sleep(5000)
    }
  }
}

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
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
    'Qiao runs the built gateway (node dist/gateway/cli.js serve): RS256 tokens from a JWKS file, log level warn, file audit store with group commit in the run directory (ext4), metrics on their own loopback listener (QIAO_METRICS_PORT, scraped between runs), tracing off (no OTEL_* variables), health probe only at start.',
    'QIAO_TOKEN_CACHE_MAX defaults to 10,000: the 10,000-token mix fits the cache exactly. The probe and warm-up of that cell use tokens of the mix, because one extra token in a cyclic round-robin over an LRU of the same size makes every lookup miss.',
    'HAProxy (P2) verifies every token (no cache), so its cost does not depend on the token mix; it answers 403 to any refused token.',
  ]
  const load = r.machine.loadAverageAtStart[0] ?? 0
  notes.push(
    `Load average (1 min) at start ${load.toFixed(2)}, at end ${(r.loadAverageAtEnd?.[0] ?? Number.NaN).toFixed(2)} on ${r.machine.nproc} cores; other processes used ${r.otherWorkAtStartCores.toFixed(2)} cores just before the run. Every run records the share of each core used by processes outside the benchmark (foreignBusy in the JSON); cells where it exceeded 10% of a core are flagged in the tables.`,
  )
  if (retried.length > 0) {
    notes.push(
      `Cells that failed once and were measured again (the failed attempt is not counted): ${retried.join('; ')}.`,
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
