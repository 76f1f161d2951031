import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { AuditStoreResult } from '../audit-store.js'
import type { BenchCatalog } from '../lib/catalog.js'
import type { LoadSpec } from '../lib/load.js'
import type { MeasureOptions, Sample } from '../lib/measure.js'
import type { PeerContext, PeerHandle, PeerId } from '../lib/peers.js'
import type { ProbeTokens } from '../lib/probe.js'
import { sleep, startProcess } from '../lib/proc.js'
import type { BenchResults, Profile } from '../lib/results.js'
import type { BenchKeys, TokenPool } from '../lib/tokens.js'
import { exitAfterOutput, retryDecision } from '../lib/wrk-result.js'
import type { Payload, UpstreamInfo } from '../upstream.js'

/** What the sections of `npm run bench` share: the paths, the core split, the log, and one run's set-up. */

export const ROOT = resolve(import.meta.dirname, '../..')
export const WORK = join(ROOT, 'bench/.work')
export const RESULTS = join(ROOT, 'bench/results')

/** Cores: the peer under test alone on one; upstream, load generator (and the audit bench's disk) on the other. */
export const PEER_CORES = '1'
export const LOAD_CORES = '0'

export const started = Date.now()
export const log = (msg: string) => {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4)
  console.error(`[bench ${t}s] ${msg}`)
}

/** A build the paired method runs: its `gateway/cli.js` and a short name for the results. */
export interface PairBuild {
  readonly label: string
  readonly cli: string
}

export interface BenchOptions {
  readonly profile: Profile
  readonly peers: PeerId[]
  readonly soakSeconds: number
  readonly out: string
  readonly argv: string[]
  /** Cores the workers run may use (--cores, default os.availableParallelism()). */
  readonly cores: number
  /** --skip-build: measure dist/ as it is. */
  readonly skipBuild: boolean
  /** --pair A B; without it the pair section runs this tree against itself. */
  readonly pair?: { readonly a: PairBuild; readonly b: PairBuild }
  /** --pair-rate: req/s for each gateway of a pair; default a share of one instance's saturation. */
  readonly pairRate?: number
}

/** One run's set-up, made once by bench/run.ts and handed to every section. */
export interface BenchRun {
  readonly opts: BenchOptions
  readonly profile: Profile
  readonly runDir: string
  readonly ctx: PeerContext
  readonly upstream: UpstreamInfo
  readonly keys: BenchKeys
  readonly good: string
  readonly probeTokens: ProbeTokens
  /** The distinct-token mix (profile.distinctTokens tokens). */
  readonly distinct: TokenPool
  readonly body: string
  readonly mainSize: number
  readonly mainCatalog: BenchCatalog
  readonly catalogFor: (resources: number, payload?: Payload) => BenchCatalog
  readonly startPeer: (id: PeerId, catalogFile?: string) => Promise<PeerHandle>
  readonly spec: (peer: PeerHandle, extra: Partial<LoadSpec>) => LoadSpec
  readonly mo: (round: number, peer: PeerHandle) => MeasureOptions
  /** Too many errors: fatal in the quick run (it checks the harness), a warning otherwise. */
  readonly check: (what: string, s: Sample) => Sample
  readonly busy: (s: Sample) => string
  /** Filled in by the sections. */
  readonly results: BenchResults
  readonly curves: NonNullable<BenchResults['curves']>
}

export const retried: string[] = []

/**
 * Runs one cell; its results are kept (the staged functions run) only if the whole cell succeeds. A failed cell is
 * measured again after 5 s (a peer killed from outside, a port taken in between): once, or twice when wrk's report
 * got lost (retryDecision, bench/lib/wrk-result.ts); every retry is noted in the results.
 */
export async function attempt(what: string, body: (stage: (fn: () => void) => void) => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    const staged: Array<() => void> = []
    try {
      await body((fn) => staged.push(fn))
      for (const fn of staged) fn()
      return
    } catch (err) {
      const decision = retryDecision(err, i)
      if (!decision.retry) throw err
      retried.push(`${what}: ${decision.reason}`)
      log(`WARNING ${what} failed (${decision.reason}); measuring it again (attempt ${i + 1})`)
      await sleep(5000)
    }
  }
}

export function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/** One run of bench/audit-store.ts on the peer core; `nodeArgs` e.g. to profile it. */
export async function runAuditStore(
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
  const code = await exitAfterOutput(proc)
  if (code !== '0' || !line) throw new Error(`audit store bench failed (${code}):\n${proc.tail()}`)
  return JSON.parse(line) as AuditStoreResult
}

export function newestProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const newest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  if (!newest) throw new Error(`no .cpuprofile in ${dir}`)
  return newest
}
