import { knobbedSimulatorFixture } from '../kit/conformance/simulator-fixture.js'
import { testConnectorConformance } from '../kit/conformance/suite.js'
import { drcTzxm } from './index.js'
import type { DrcTzxmOptions } from './options.js'
import { DEFAULT_VALIDATE_DATA, seedSample, startDrcSimulator } from './simulator/index.js'

const sample = seedSample()

testConnectorConformance<DrcTzxmOptions>({
  definition: drcTzxm,
  catalogFile: 'connectors/drc-tzxm/conformance.catalog.yaml',
  instance: 'drc-tzxm',
  cases: {
    projectInfo: { ok: { projectCode: sample.projectCode }, missing: { projectCode: sample.unknownProjectCode } },
    companyProjects: { ok: { companyUscc: sample.companyUscc }, missing: { companyUscc: sample.unknownCompanyUscc } },
    approvalResults: { ok: { projectCode: sample.projectCode }, missing: { projectCode: sample.unknownProjectCode } },
    pushConstructionPermit: { ok: { ...sample.permitFeedback } },
  },
  async fixture() {
    const sim = await startDrcSimulator({ port: 0 })
    const options = { baseUrl: sim.url, validateData: DEFAULT_VALIDATE_DATA }
    return knobbedSimulatorFixture(sim, options, { ...options, validateData: 'not-the-token' })
  },
})
