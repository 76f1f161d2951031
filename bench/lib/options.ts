import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SECTIONS, type Section } from '../sections/index.js'
import type { BenchOptions, PairBuild } from '../sections/shared.js'
import { PEER_IDS, type PeerId } from './peers.js'
import type { Profile } from './results.js'

/** The command line of `npm run bench` and the two profiles (full, quick). */

export const USAGE = `usage: npm run bench -- [options]

  --quick            one short round of everything (checks the harness); writes results/quick.*
  --rounds N         rounds (default 3)
  --only P0,P3       peers of the side-by-side comparison: ${PEER_IDS.join(', ')} (curves need P3 or P3W)
  --sections a,b     ${SECTIONS.filter((s) => s !== 'soak').join(', ')} (default: all); soak with --soak.
                     audit-search writes results/audit-search.*, pair results/pair-<out>.*
  --soak             also: Qiao at saturation for 5 minutes, RSS every 10 s
  --soak-seconds N   soak length (default 300)
  --out NAME         results file name (default latest; quick for --quick; dev when peers/sections are limited)
  --render NAME      only rewrite results/NAME.md (and the targets in NAME.json) from NAME.json
  --skip-build       measure dist/ as it is, without \`npm run build\` first (the results name the commit, not dist/)

  --pair A B         the paired method only: two builds on the same core at the same time, each loaded by its own
                     wrk at the same fixed rate, CPU per call from /proc, alternating rounds, ratio B/A per round,
                     beside an A/A run (build A twice). A and B are built trees: a checkout after \`npm run build\`
                     (dist/gateway/cli.js, schemas/, node_modules) or its dist directory. For a git revision:
                       mkdir /tmp/rev && git archive REV | tar -x -C /tmp/rev && ln -s "$PWD/node_modules" /tmp/rev/
                       (cd /tmp/rev && npx tsc -p tsconfig.build.json)        then pass /tmp/rev
                     Writes results/pair-<out>.* (default out: <A's name>-vs-<B's name>), nothing else. Without
                     --pair, the pair section runs this tree against itself (A = B): the A/A noise of this run.
  --pair-rounds N    rounds of the paired method (default 6; 2 with --quick)
  --pair-seconds N   seconds per phase of a round (default 10; 2 with --quick)
  --pair-rate N      req/s for each gateway (default: found in a few steps so that both keep the core 85% busy)
  --cores N          cores the workers run may use (default: os.availableParallelism(), here ${availableParallelism()});
                     split into gateway cores and load cores (bench/lib/cores.ts)`

export const FULL: Profile = {
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
  // 1 and 8: what a batch costs when it holds one or a few records, as at the gateway's paced rates.
  auditAppenders: [1, 8, 64, 256],
  auditSeconds: 5,
  distinctTokens: 10_000,
  settleMs: 2000,
  pairRounds: 6,
  pairSeconds: 10,
  pairCalibrations: 3,
  pairWarmupSeconds: 3,
  pairBusy: 0.85,
}

export const QUICK: Profile = {
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
  pairRounds: 2,
  pairSeconds: 2,
  pairCalibrations: 1,
  pairWarmupSeconds: 1,
}

/**
 * A build for --pair: a tree with dist/gateway/cli.js, or a dist directory with gateway/cli.js. The tree must hold
 * schemas/catalog.schema.json too (the catalog loader looks for it above itself), as a checkout does.
 */
export function pairBuild(path: string): PairBuild {
  const dir = resolve(path)
  for (const [tree, cli] of [
    [dir, join(dir, 'dist/gateway/cli.js')],
    [dirname(dir), join(dir, 'gateway/cli.js')],
  ] as const) {
    if (!existsSync(cli)) continue
    if (!existsSync(join(tree, 'schemas/catalog.schema.json'))) {
      throw new Error(
        `--pair: ${tree} has no schemas/catalog.schema.json beside its dist/ (the gateway cannot load a catalog): copy the checkout's schemas/ there`,
      )
    }
    // Named after the tree (a dist directory after the tree that holds it).
    return { label: basename(tree).replace(/[^A-Za-z0-9._-]/g, '-'), cli }
  }
  throw new Error(`--pair: ${path} holds neither dist/gateway/cli.js nor gateway/cli.js (build it first)`)
}

const positiveInt = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: a positive whole number, not ${value}`)
  return n
}

export type ParsedOptions = BenchOptions & { sections: Set<Section>; render: string | undefined }

export function parseOptions(argv: readonly string[]): ParsedOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      sections: { type: 'string' },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
      pair: { type: 'string' },
      'pair-rounds': { type: 'string' },
      'pair-seconds': { type: 'string' },
      'pair-rate': { type: 'string' },
      cores: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  if (values.help) {
    console.error(USAGE)
    process.exit(0)
  }
  // `--pair A B`: B is the one positional argument.
  if (positionals.length > (values.pair === undefined ? 0 : 1) || (values.pair !== undefined && !positionals[0])) {
    throw new Error(
      values.pair === undefined ? `unexpected argument ${positionals[0]}` : '--pair needs two builds: --pair A B',
    )
  }
  const base = values.quick ? QUICK : FULL
  const rounds = positiveInt('--rounds', values.rounds)
  const profile: Profile = {
    ...base,
    rounds: rounds ?? base.rounds,
    pairRounds: positiveInt('--pair-rounds', values['pair-rounds']) ?? base.pairRounds,
    pairSeconds: positiveInt('--pair-seconds', values['pair-seconds']) ?? base.pairSeconds,
  }
  const peers = values.only ? (values.only.split(',').map((p) => p.trim().toUpperCase()) as PeerId[]) : [...PEER_IDS]
  for (const p of peers)
    if (!PEER_IDS.includes(p)) throw new Error(`--only: unknown peer ${p} (${PEER_IDS.join(', ')})`)
  const pair =
    values.pair === undefined ? undefined : { a: pairBuild(values.pair), b: pairBuild(positionals[0] as string) }
  const sections = new Set<Section>(
    values.sections
      ? (values.sections.split(',').map((s) => s.trim()) as Section[])
      : pair
        ? ['pair']
        : SECTIONS.filter((s) => s !== 'soak'),
  )
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`--sections: unknown section ${s}`)
  if (values.soak) sections.add('soak')
  const soakSeconds = values['soak-seconds'] ? Number(values['soak-seconds']) : 300
  const partial = values.only !== undefined || values.sections !== undefined || values.rounds !== undefined
  const out =
    values.out ?? (values.quick ? 'quick' : pair ? `${pair.a.label}-vs-${pair.b.label}` : partial ? 'dev' : 'latest')
  const cores = positiveInt('--cores', values.cores) ?? availableParallelism()
  if (cores > availableParallelism()) {
    throw new Error(`--cores ${cores}: this machine has ${availableParallelism()}`)
  }
  return {
    profile,
    peers,
    sections,
    soakSeconds,
    out,
    render: values.render,
    argv: [...argv],
    cores,
    skipBuild: values['skip-build'],
    ...(pair ? { pair } : {}),
    ...(values['pair-rate'] ? { pairRate: positiveInt('--pair-rate', values['pair-rate']) as number } : {}),
  }
}
