import type { SimulatorDefinition } from '../../kit/simulator.js'
import { type SeedSample, seedSample } from './seed.js'
import { startHousingSimulator } from './server.js'

export type { HousingDataset, SeedCompany, SeedPerson, SeedProject, SeedSample, SeedSubProject } from './seed.js'
export { DEFAULT_SEED, housingDataset, SEED_REFERENCE_DATE, seedSample } from './seed.js'
export type {
  HousingFault,
  HousingKnobs,
  HousingSimulatorOptions,
  RecordedRequest,
  RunningHousingSimulator,
} from './server.js'
export { DEFAULT_APP_KEY, DEFAULT_APP_SECRET, HOUSING_FAULTS, startHousingSimulator } from './server.js'

let examples: SimulatorDefinition['examples']

/** `qiao simulate housing`: the 住建 工改 data-sharing interface with 南京市 seed data. */
export const housingSimulator: SimulatorDefinition = {
  name: 'housing',
  description:
    '住建 工程建设项目审批管理系统（工改）数据共享接口模拟器：施工许可、施工图审查、竣工验收备案（南京市种子数据）/ ' +
    'MOHURD construction-project approval system (工改) data-sharing interface: construction permits, drawing ' +
    'reviews and completion filings for 南京市, with latency and fault knobs at /__sim/knobs',
  defaultPort: 9101,
  urlVariable: 'QIAO_HOUSING_URL',
  /** Computed on first use, so importing the registry does not generate the seed. */
  get examples() {
    examples ??= exampleQueries(seedSample())
    return examples
  },
  start: ({ host, port }) => startHousingSimulator({ host, port }),
}

function exampleQueries(sample: SeedSample): NonNullable<SimulatorDefinition['examples']> {
  return Object.freeze([
    { resource: 'housing.construction-permit', params: { projectCode: sample.projectCode } },
    { resource: 'housing.construction-permit', params: { permitNo: sample.permitNos[0] } },
    { resource: 'housing.drawing-review', params: { projectCode: sample.projectCode } },
    { resource: 'housing.completion-filing', params: { projectCode: sample.projectCode } },
  ])
}
