import { drcTzxm } from './drc-tzxm/index.js'
import { drcSimulator } from './drc-tzxm/simulator/index.js'
import { housingGongai } from './housing-gongai/index.js'
import { housingSimulator } from './housing-gongai/simulator/index.js'
import type { SimulatorDefinition } from './kit/simulator.js'
import type { ConnectorDefinition } from './kit/types.js'
import { marketQzk } from './market-qzk/index.js'
import { marketSimulator } from './market-qzk/simulator/index.js'

/** Every connector type the gateway can instantiate, by `type:` as written in catalog.yaml. */
export const connectorDefinitions: ReadonlyMap<string, ConnectorDefinition<never>> = new Map<
  string,
  ConnectorDefinition<never>
>([
  [housingGongai.type, housingGongai],
  [drcTzxm.type, drcTzxm],
  [marketQzk.type, marketQzk],
])

/** Simulators runnable with `qiao simulate <name>` and started by the demo. */
export const simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition> = new Map<string, SimulatorDefinition>([
  [housingSimulator.name, housingSimulator],
  [drcSimulator.name, drcSimulator],
  [marketSimulator.name, marketSimulator],
])
