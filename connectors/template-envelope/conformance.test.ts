import { knobbedSimulatorFixture } from '../kit/conformance/simulator-fixture.js'
import { testConnectorConformance } from '../kit/conformance/suite.js'
import { templateEnvelope } from './index.js'
import type { ConnectorOptions } from './options.js'
import { DEFAULT_APP_KEY, DEFAULT_APP_SECRET, seedSample, startSimulator } from './simulator/index.js'

const sample = seedSample()

testConnectorConformance<ConnectorOptions>({
  definition: templateEnvelope,
  catalogFile: 'connectors/template-envelope/conformance.catalog.yaml',
  instance: 'template-envelope',
  cases: {
    records: { ok: { recordNo: sample.recordNo }, missing: { recordNo: sample.unknownRecordNo } },
    changes: { ok: {} },
  },
  async fixture() {
    const sim = await startSimulator({ port: 0 })
    const options = { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET }
    // stall → fault hang, malformed → fault malformed, down → a closed port, refuse → a wrong appSecret.
    // makeChange → a new record registered at the simulator.
    return {
      ...knobbedSimulatorFixture(sim, options, { ...options, appSecret: 'not-the-secret' }),
      makeChange: async () => sim.addRecord().JLBH,
    }
  },
})
