import type { PeerId } from '../lib/peers.js'
import { runSectionSteps, type SectionFailure, type SectionProgress } from '../lib/section-runner.js'
import { runAudit } from './audit.js'
import { runAuditSearch } from './audit-search.js'
import { runCatalog } from './catalog.js'
import { runGrants } from './grants.js'
import { runMain } from './main.js'
import { runOffload } from './offload.js'
import { runPair } from './pair.js'
import { runPayload } from './payload.js'
import { runProfile } from './profile.js'
import { type BenchRun, log } from './shared.js'
import { runSoak } from './soak.js'
import { runTokens } from './tokens.js'
import { runWorkers } from './workers.js'

/** The sections of `npm run bench`, in the order they run (tokens reads main's saturation to size its pool). */
export const SECTIONS = [
  'main',
  'catalog',
  'tokens',
  'payload',
  'grants',
  'audit',
  'audit-search',
  'profile',
  'offload',
  'pair',
  'workers',
  'soak',
] as const
export type Section = (typeof SECTIONS)[number]

interface SectionRunner {
  /** Measures Qiao itself: skipped when neither P3 nor P3W is among the peers (--only). */
  readonly needsQiao: boolean
  readonly run: (bench: BenchRun) => Promise<void>
}

const RUNNERS: Record<Section, SectionRunner> = {
  main: { needsQiao: false, run: runMain },
  catalog: { needsQiao: true, run: runCatalog },
  tokens: { needsQiao: true, run: runTokens },
  payload: { needsQiao: true, run: runPayload },
  grants: { needsQiao: true, run: runGrants },
  audit: { needsQiao: false, run: runAudit },
  'audit-search': { needsQiao: false, run: runAuditSearch },
  profile: { needsQiao: true, run: runProfile },
  offload: { needsQiao: true, run: runOffload },
  pair: { needsQiao: true, run: runPair },
  workers: { needsQiao: true, run: runWorkers },
  soak: { needsQiao: true, run: runSoak },
}

/** The curve sections fill `curves`; it joins the results after them, where the results file has always had it. */
const CURVE_SECTIONS: readonly Section[] = ['catalog', 'tokens', 'payload']

/**
 * Runs the chosen sections; one that fails is recorded in `results.sectionFailures` and the others go on.
 * `afterSection` gets the progress after each, for the results so far to be written.
 */
export async function runSections(
  bench: BenchRun,
  chosen: ReadonlySet<Section>,
  peers: readonly PeerId[],
  afterSection?: (progress: SectionProgress) => void,
): Promise<SectionFailure[]> {
  const qiao = peers.includes('P3') || peers.includes('P3W')
  const steps = SECTIONS.filter((name) => chosen.has(name) && (!RUNNERS[name].needsQiao || qiao)).map((name) => ({
    name,
    run: () => RUNNERS[name].run(bench),
  }))
  return runSectionSteps(steps, {
    log,
    afterSection: (progress) => {
      bench.results.sectionFailures = [...progress.failures]
      // Once the curve sections are behind (done or not chosen), what they measured joins the results.
      const curvesDone = !progress.pending.some((name) => CURVE_SECTIONS.includes(name as Section))
      if (curvesDone && Object.keys(bench.curves).length > 0) bench.results.curves = bench.curves
      afterSection?.(progress)
    },
  })
}
