import type { SimulatorDefinition } from '../../kit/simulator.js'
import { seedSample } from './seed.js'
import { startSimulator } from './server.js'

export type { SeedSample } from './seed.js'
export { DEFAULT_SEED, RECORD_NO_PREFIX, SEED_RECORD_COUNT, seedRows, seedSample } from './seed.js'
export type {
  RecordedRequest,
  RunningSimulatorServer,
  SimulatorFault,
  SimulatorKnobs,
  SimulatorOptions,
} from './server.js'
export { checkKnobs, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, SIMULATOR_FAULTS, startSimulator } from './server.js'

const SYSTEM = '模板系统'
const RESOURCE = 'template.envelope-record'
let examples: SimulatorDefinition['examples']

/** `qiao simulate template-envelope`: the 模板系统 data-sharing interface with synthetic seed records. */
export const templateEnvelopeSimulator: SimulatorDefinition = {
  name: 'template-envelope',
  description: `${SYSTEM} data-sharing interface simulator (envelope JSON, synthetic records, knobs at /__sim/knobs)`,
  defaultPort: 9100,
  urlVariable: 'QIAO_TEMPLATE_ENVELOPE_URL',
  /** Computed on first use, so importing the registry does not generate the seed. */
  get examples() {
    examples ??= Object.freeze([{ resource: RESOURCE, params: { recordNo: seedSample().recordNo } }])
    return examples
  },
  start: ({ host, port }) => startSimulator({ host, port }),
}
