import type { Command } from 'commander'
import { printableUrl } from './redact.js'
import { stopOnSignals } from './serve.js'

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('run a legacy-system simulator alone: housing (住建 工改), drc (发改 SOAP), market (市场监管 前置库)')
    .argument('<name>', 'simulator name')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (default: the simulator’s own)')
    .action(async (name: string, options: { host: string; port?: string }) => {
      const { simulatorDefinitions } = await import('../../connectors/simulators.js')
      const definition = simulatorDefinitions.get(name)
      if (!definition) {
        console.error(
          `qiao simulate: unknown simulator ${JSON.stringify(name)}; known: ${[...simulatorDefinitions.keys()].join(', ')}`,
        )
        process.exit(1)
      }
      const port = options.port === undefined ? definition.defaultPort : Number(options.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        console.error('qiao simulate: --port must be an integer from 0 to 65535')
        process.exit(1)
      }
      const running = await definition.start({ host: options.host, port })
      console.log(`${definition.name} simulator: ${definition.description}`)
      console.log(`listening at ${printableUrl(running.url)}`)
      stopOnSignals(() => running.close())
    })
}
