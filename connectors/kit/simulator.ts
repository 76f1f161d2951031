/**
 * Simulators stand in for legacy department systems in the demo and in tests: real HTTP (or database) servers
 * with deterministic seed data and knobs for latency and faults.
 */
export interface RunningSimulator {
  /** Base URL (or connection string) the connector's options should point at. */
  readonly url: string
  close(): Promise<void>
}

export interface SimulatorStartOptions {
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
}

/** Sample parameters of a resource that return data from the simulator's seed. */
export interface SimulatorExample {
  readonly resource: string
  readonly params: Readonly<Record<string, unknown>>
  /** One line, in Chinese, on what the example finds (the shared projects say they can be followed across departments). */
  readonly summary?: string
}

export interface SimulatorDefinition {
  /** Name used by the CLI: `qiao simulate <name>`. */
  readonly name: string
  readonly description: string
  readonly defaultPort: number
  /**
   * Environment variable the demo catalog reads the simulator's URL from (e.g. QIAO_HOUSING_URL), so the demo can
   * point the catalog at a simulator that had to take another port.
   */
  readonly urlVariable?: string
  /**
   * Parameters that find seed records, per resource id, several per resource: the demo prints a ready-to-run query
   * from the first and hands them all to the gateway (API docs, demo banner).
   */
  readonly examples?: ReadonlyArray<SimulatorExample>
  start(options: SimulatorStartOptions): Promise<RunningSimulator>
}
