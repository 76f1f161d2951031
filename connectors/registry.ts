import { housingGongai } from './housing-gongai/index.js'
import { housingSimulator } from './housing-gongai/simulator/index.js'
import type { SimulatorDefinition } from './kit/simulator.js'
import type { ConnectorDefinition } from './kit/types.js'

/** Every connector type the gateway can instantiate, by `type:` as written in catalog.yaml. */
export const connectorDefinitions: ReadonlyMap<string, ConnectorDefinition<never>> = new Map<
  string,
  ConnectorDefinition<never>
>([[housingGongai.type, housingGongai]])

/** Simulators runnable with `qiao simulate <name>` and started by the demo. */
export const simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition> = new Map<string, SimulatorDefinition>([
  [housingSimulator.name, housingSimulator],
])
