import type { SimulatorDefinition } from '../../kit/simulator.js'
import { type SeedSample, seedSample } from './seed.js'
import { startDrcSimulator } from './server.js'

export type { DrcDataset, SeedCompany, SeedSample } from './seed.js'
export {
  DEFAULT_SEED,
  drcDataset,
  NON_BMP_COMPANY_NAME,
  SEED_PROJECT_COUNT,
  SEED_REFERENCE_DATE,
  seedSample,
} from './seed.js'
export type {
  DrcFault,
  DrcKnobs,
  DrcSimulatorOptions,
  ReceivedPermit,
  RecordedRequest,
  RunningDrcSimulator,
} from './server.js'
export { DEFAULT_VALIDATE_DATA, DRC_FAULTS, startDrcSimulator } from './server.js'

let examples: SimulatorDefinition['examples']

/** `qiao simulate drc`: the 投资在线平台 SOAP data-exchange service with 南京市 seed data. */
export const drcSimulator: SimulatorDefinition = {
  name: 'drc',
  description:
    '发改 全国投资项目在线审批监管平台 数据交换服务模拟器（SOAP 1.1，GBK）：项目基本信息、项目单位的项目、审批结果，' +
    '施工许可结果回传（南京市种子数据）/ NDRC investment-project platform SOAP (.asmx, GBK) exchange service: ' +
    'project info, projects by company, approval results and construction-permit push-back for 南京市, with latency ' +
    'and fault knobs at /__sim/knobs',
  defaultPort: 9102,
  urlVariable: 'QIAO_DRC_URL',
  /** Computed on first use, so importing the registry does not generate the seed. */
  get examples() {
    examples ??= exampleQueries(seedSample())
    return examples
  },
  start: ({ host, port }) => startDrcSimulator({ host, port }),
}

function exampleQueries(sample: SeedSample): NonNullable<SimulatorDefinition['examples']> {
  return Object.freeze([
    { resource: 'drc.investment-project', params: { projectCode: sample.projectCode } },
    { resource: 'drc.investment-project', params: { projectCode: sample.nonBmpProjectCode } },
    { resource: 'drc.company-projects', params: { companyUscc: sample.companyUscc } },
    { resource: 'drc.approval-result', params: { projectCode: sample.projectCode } },
  ])
}
