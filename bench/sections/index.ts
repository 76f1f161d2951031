import type { PeerId } from '../lib/peers.js'
import { runAudit } from './audit.js'
import { runAuditSearch } from './audit-search.js'
import { runCatalog } from './catalog.js'
import { runGrants } from './grants.js'
import { runMain } from './main.js'
import { runPair } from './pair.js'
import { runPayload } from './payload.js'
import { runProfile } from './profile.js'
import type { BenchRun } from './shared.js'
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
  pair: { needsQiao: true, run: runPair },
  workers: { needsQiao: true, run: runWorkers },
  soak: { needsQiao: true, run: runSoak },
}

/** The curve sections fill `curves`; it joins the results after them, where the results file has always had it. */
const LAST_CURVE_SECTION: Section = 'payload'

export async function runSections(bench: BenchRun, chosen: ReadonlySet<Section>, peers: readonly PeerId[]) {
  for (const name of SECTIONS) {
    const section = RUNNERS[name]
    const qiao = peers.includes('P3') || peers.includes('P3W')
    if (chosen.has(name) && (!section.needsQiao || qiao)) await section.run(bench)
    if (name === LAST_CURVE_SECTION && Object.keys(bench.curves).length > 0) bench.results.curves = bench.curves
  }
}
