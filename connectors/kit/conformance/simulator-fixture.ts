import type { RunningSimulator } from '../simulator.js'
import type { KnobbedSimulator } from '../simulator-knobs.js'
import { closedPort } from './ports.js'
import type { ConformanceFixture, InjectedFault, UpstreamFault } from './suite.js'

const noop = async () => {}

/**
 * The conformance fixture of a connector over an HTTP simulator with the kit's knobs (simulator-knobs.ts), the
 * faults injected as such a simulator fails: `stall` sets the fault `hang` and `malformed` the fault `malformed`
 * (the simulator must have both), `down` points `baseUrl` at a port nothing listens on, and `refuse` creates the
 * connector with `refused` (the options with a wrong credential). `close` closes the simulator.
 *
 * @example
 * async fixture() {
 *   const sim = await startSimulator({ port: 0 })
 *   const options = { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET }
 *   return knobbedSimulatorFixture(sim, options, { ...options, appSecret: 'not-the-secret' })
 * }
 */
export function knobbedSimulatorFixture<O extends { readonly baseUrl: string }>(
  sim: RunningSimulator & KnobbedSimulator,
  options: O,
  refused: O,
): ConformanceFixture<O> {
  const knobFault = (fault: string): InjectedFault<O> => {
    sim.setKnobs({ fault })
    return { undo: async () => void sim.setKnobs({ fault: 'none' }) }
  }
  return {
    options,
    async inject(fault: UpstreamFault): Promise<InjectedFault<O>> {
      switch (fault) {
        case 'stall':
          return knobFault('hang')
        case 'malformed':
          return knobFault('malformed')
        case 'down':
          return { options: { ...options, baseUrl: `http://127.0.0.1:${await closedPort()}` }, undo: noop }
        case 'refuse':
          return { options: refused, undo: noop }
      }
    },
    close: () => sim.close(),
  }
}
