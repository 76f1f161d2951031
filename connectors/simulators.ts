import { drcSimulator } from './drc-tzxm/simulator/index.js'
import { housingSimulator } from './housing-gongai/simulator/index.js'
import type { SimulatorDefinition } from './kit/simulator.js'
import { marketSimulator } from './market-qzk/simulator/index.js'

/**
 * Simulators runnable with `qiao simulate <name>` and started by the demo. Imported dynamically by those two commands
 * only: `serve` must not load simulators and their seed generators (test/boundaries.test.ts).
 */
export const simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition> = new Map<string, SimulatorDefinition>([
  [housingSimulator.name, housingSimulator],
  [drcSimulator.name, drcSimulator],
  [marketSimulator.name, marketSimulator],
])
