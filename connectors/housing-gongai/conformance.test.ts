import { closedPort } from '../kit/conformance/ports.js'
import { testConnectorConformance } from '../kit/conformance/suite.js'
import { housingGongai } from './index.js'
import type { HousingGongaiOptions } from './options.js'
import { DEFAULT_APP_KEY, DEFAULT_APP_SECRET, seedSample, startHousingSimulator } from './simulator/index.js'

const sample = seedSample()
const noop = async () => {}

testConnectorConformance<HousingGongaiOptions>({
  definition: housingGongai,
  catalogFile: 'catalog.yaml',
  instance: 'housing-gongai',
  cases: {
    constructionPermits: {
      ok: { projectCode: sample.projectCode },
      missing: { projectCode: sample.unknownProjectCode },
    },
    drawingReviews: { ok: { projectCode: sample.projectCode }, missing: { projectCode: sample.unknownProjectCode } },
    completionFilings: { ok: { projectCode: sample.projectCode }, missing: { projectCode: sample.unknownProjectCode } },
  },
  async fixture() {
    const sim = await startHousingSimulator({ port: 0 })
    const options = { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET }
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
            return { options: { ...options, appSecret: 'not-the-secret' }, undo: noop }
        }
      },
      close: () => sim.close(),
    }
  },
})
