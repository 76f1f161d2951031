import { closedPort } from '../kit/conformance/ports.js'
import { testConnectorConformance } from '../kit/conformance/suite.js'
import { drcTzxm } from './index.js'
import type { DrcTzxmOptions } from './options.js'
import { DEFAULT_VALIDATE_DATA, seedSample, startDrcSimulator } from './simulator/index.js'

const sample = seedSample()
const noop = async () => {}

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
    return {
      options,
      async inject(fault) {
        switch (fault) {
          case 'stall':
            sim.setKnobs({ fault: 'hang' })
            return { undo: async () => void sim.setKnobs({ fault: 'none' }) }
          case 'malformed':
            sim.setKnobs({ fault: 'malformed' })
            return { undo: async () => void sim.setKnobs({ fault: 'none' }) }
          case 'down':
            return { options: { ...options, baseUrl: `http://127.0.0.1:${await closedPort()}` }, undo: noop }
          case 'refuse':
            return { options: { ...options, validateData: 'not-the-token' }, undo: noop }
        }
      },
      close: () => sim.close(),
    }
  },
})
