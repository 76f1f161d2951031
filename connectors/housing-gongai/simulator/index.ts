import { SHARED_PROJECTS, sharedProjectsOf, sharedSummary } from '../../kit/demo-universe.js'
import type { SimulatorDefinition, SimulatorExample } from '../../kit/simulator.js'
import { ROW_INVALID } from '../wire.js'
import { type HousingDataset, housingDataset, type SeedSample, seedSample } from './seed.js'
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
    examples ??= exampleQueries(housingDataset(), seedSample())
    return examples
  },
  start: ({ host, port }) => startHousingSimulator({ host, port }),
}

/**
 * The shared projects first (each resource, each project it has rows for), then a generated corner case: the
 * summaries count what the dataset really holds.
 */
function exampleQueries(data: HousingDataset, sample: SeedSample): readonly SimulatorExample[] {
  const valid = data.permits.filter((r) => r.SJYXBS !== ROW_INVALID)
  const of = <T extends { XMDM: string }>(rows: readonly T[], code: string) => rows.filter((r) => r.XMDM === code)
  const examples: SimulatorExample[] = []
  const [lead, ...others] = SHARED_PROJECTS
  if (lead) {
    const permits = of(valid, lead.code).length
    examples.push({
      resource: 'housing.construction-permit',
      params: { projectCode: lead.code },
      summary: sharedSummary(`${lead.name}的${permits}张施工许可`),
    })
  }
  for (const project of others) {
    const [permit] = of(valid, project.code)
    if (!permit) continue
    examples.push({
      resource: 'housing.construction-permit',
      params: { permitNo: permit.SGXKZBH },
      summary: sharedSummary(`按许可证编号查${project.name}（${project.stage}）`),
    })
  }
  if (lead) {
    const owner = lead.owner
    const permits = valid.filter((r) => r.JSDWDM === owner.uscc).length
    examples.push({
      resource: 'housing.construction-permit',
      params: { ownerUscc: owner.uscc },
      summary: sharedSummary(
        `按建设单位查${owner.name}${sharedProjectsOf(owner.uscc).length}个项目的${permits}张施工许可`,
      ),
    })
  }
  examples.push({
    resource: 'housing.construction-permit',
    params: { projectCode: sample.correctedProjectCode },
    summary: '一张施工许可曾因合同价格单位填报错误作废重报的项目：只返回有效记录',
  })
  for (const project of SHARED_PROJECTS) {
    const reviews = of(data.drawingReviews, project.code)
    if (reviews.length === 0) continue
    const failed = reviews.some((r) => r.SCJL !== '合格') ? '（含不合格后复审）' : ''
    examples.push({
      resource: 'housing.drawing-review',
      params: { projectCode: project.code },
      summary: sharedSummary(`${project.name}的${reviews.length}份施工图审查${failed}`),
    })
  }
  for (const project of SHARED_PROJECTS) {
    const filings = of(data.completionFilings, project.code).length
    if (filings === 0) continue
    examples.push({
      resource: 'housing.completion-filing',
      params: { projectCode: project.code },
      summary: sharedSummary(`${project.name}的${filings}份竣工验收备案`),
    })
  }
  return Object.freeze(examples)
}

/** How often the demo's 住建 issues a construction permit (`qiao demo` only): the subscription then has news. */
export const DEMO_PERMIT_EVERY_MS = 30_000

/**
 * `qiao demo` only: 住建 issues a permit every `everyMs` (issuePermit), so that the change feed and the demo's
 * subscription have something to show. Answers the function that stops it.
 */
export function startDemoPermits(sim: { issuePermit(): unknown }, everyMs = DEMO_PERMIT_EVERY_MS): () => void {
  const timer = setInterval(() => sim.issuePermit(), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
