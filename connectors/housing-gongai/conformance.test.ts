import { knobbedSimulatorFixture } from '../kit/conformance/simulator-fixture.js'
import { testConnectorConformance } from '../kit/conformance/suite.js'
import { housingGongai } from './index.js'
import type { HousingGongaiOptions } from './options.js'
import { DEFAULT_APP_KEY, DEFAULT_APP_SECRET, seedSample, startHousingSimulator } from './simulator/index.js'

const sample = seedSample()

testConnectorConformance<HousingGongaiOptions>({
  definition: housingGongai,
  catalogFile: 'connectors/housing-gongai/conformance.catalog.yaml',
  instance: 'housing-gongai',
  cases: {
    constructionPermits: {
      ok: { projectCode: sample.projectCode },
      missing: { projectCode: sample.unknownProjectCode },
    },
    drawingReviews: { ok: { projectCode: sample.projectCode }, missing: { projectCode: sample.unknownProjectCode } },
    completionFilings: { ok: { projectCode: sample.projectCode }, missing: { projectCode: sample.unknownProjectCode } },
    permitChanges: { ok: {} },
  },
  async fixture() {
    const sim = await startHousingSimulator({ port: 0 })
    const options = { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET }
    return {
      ...knobbedSimulatorFixture(sim, options, { ...options, appSecret: 'not-the-secret' }),
      // 住建 issues a new permit.
      makeChange: async () => sim.issuePermit().SGXKZBH,
    }
  },
})
