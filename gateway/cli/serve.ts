import type { Command } from 'commander'
import { type CatalogIssue, formatIssue } from '../catalog/types.js'
import type { RunningGateway } from '../gateway.js'
import { configOrExit } from './config.js'

// The gateway and its dependencies load only when a command needs them, so `qiao token`, `qiao catalog check` or
// `qiao audit verify` start in a fraction of the time.

/** Starts the gateway or explains, line by line, why it cannot. */
export async function startOrExit(start: () => Promise<RunningGateway>): Promise<RunningGateway> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof Error && err.name === 'CatalogInvalidError') {
      const { issues } = err as Error & { issues: readonly CatalogIssue[] }
      for (const issue of issues) console.error(formatIssue(issue))
      console.error(`${issues.length} problem(s) in the catalog; the gateway did not start`)
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

/** SIGHUP reloads catalog.yaml; a rejected file leaves the running catalog in place (both outcomes audited). */
export function reloadOnSighup(gateway: RunningGateway): void {
  process.on('SIGHUP', () => {
    gateway.reload('system (SIGHUP)').then(
      (result) => {
        if (result.ok) console.error(`qiao: catalog reloaded (version ${result.catalog.version})`)
        else {
          for (const issue of result.issues) console.error(formatIssue(issue))
          console.error(
            `qiao: catalog reload rejected (${result.issues.length} problem(s)); still serving the previous one`,
          )
        }
      },
      (err: unknown) =>
        console.error(`qiao: catalog reload failed: ${err instanceof Error ? err.message : String(err)}`),
    )
  })
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the gateway with the configuration from the environment (see README "Configuration")')
    .action(async () => {
      const config = configOrExit()
      const [{ startGateway }, { startTracing }] = await Promise.all([
        import('../gateway.js'),
        import('../telemetry/tracing.js'),
      ])
      const tracing = await startTracing(process.env)
      const gateway = await startOrExit(() => startGateway({ config }))
      reloadOnSighup(gateway)
      stopOnSignals(async () => {
        await gateway.close({ drainMs: config.drainTimeoutMs })
        await tracing.shutdown()
      })
    })
}
