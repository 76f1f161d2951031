import { SHARED_COMPANIES, SHARED_PROJECTS, sharedSummary } from '../../kit/demo-universe.js'
import type { SimulatorDefinition, SimulatorExample } from '../../kit/simulator.js'
import { type DrcDataset, drcDataset, type SeedSample, seedSample } from './seed.js'
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
    examples ??= exampleQueries(drcDataset(), seedSample())
    return examples
  },
  start: ({ host, port }) => startDrcSimulator({ host, port }),
}

/**
 * The shared projects and their owners first, then generated corner cases (a name outside the BMP, a legacy-layout
 * code): the summaries count what the dataset really holds.
 */
function exampleQueries(data: DrcDataset, sample: SeedSample): readonly SimulatorExample[] {
  const approvalsOf = (code: string) => data.approvals.filter((a) => a.项目代码 === code).length
  const projectsOf = (uscc: string) =>
    data.projects.filter((p) => p.项目单位.some((c) => c.统一社会信用代码 === uscc)).length
  return Object.freeze([
    ...SHARED_PROJECTS.map((p) => ({
      resource: 'drc.investment-project',
      params: { projectCode: p.code },
      summary: sharedSummary(`${p.name}的立项信息（${p.projectType}）`),
    })),
    {
      resource: 'drc.investment-project',
      params: { projectCode: sample.nonBmpProjectCode },
      summary: `项目单位名称含基本平面以外的汉字（${sample.nonBmpCompanyName}）：经 GB18030 原样送达`,
    },
    {
      resource: 'drc.investment-project',
      params: { projectCode: sample.legacyProjectCode },
      summary: '2016—2020年旧版格式项目代码（YYYY-AAAAAA-II-TT-NNNNNN）的项目',
    },
    ...SHARED_COMPANIES.map((c) => ({
      resource: 'drc.company-projects',
      params: { companyUscc: c.uscc },
      summary: sharedSummary(`${c.name}的${projectsOf(c.uscc)}个项目`),
    })),
    ...SHARED_PROJECTS.map((p) => ({
      resource: 'drc.approval-result',
      params: { projectCode: p.code },
      summary: sharedSummary(`${p.name}的${approvalsOf(p.code)}条审批结果`),
    })),
  ])
}
