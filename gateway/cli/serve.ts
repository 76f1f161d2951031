import type { Command } from 'commander'
import { formatIssue } from '../catalog/types.js'
import { CatalogInvalidError, type RunningGateway, startGateway } from '../gateway.js'
import { configOrExit } from './config.js'

/** Starts the gateway or explains, line by line, why it cannot. */
export async function startOrExit(start: () => Promise<RunningGateway>): Promise<RunningGateway> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof CatalogInvalidError) {
      for (const issue of err.issues) console.error(formatIssue(issue))
      console.error(`${err.issues.length} problem(s) in the catalog; the gateway did not start`)
    } else {
      console.error(`qiao: cannot start: ${err instanceof Error ? err.message : String(err)}`)
    }
    process.exit(1)
  }
}

export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    console.error(`qiao: ${signal}, shutting down`)
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`qiao: shutdown failed: ${err instanceof Error ? err.message : String(err)}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the gateway with the configuration from the environment (see README "Configuration")')
    .action(async () => {
      const config = configOrExit()
      const gateway = await startOrExit(() => startGateway({ config }))
      stopOnSignals(() => gateway.close())
    })
}
