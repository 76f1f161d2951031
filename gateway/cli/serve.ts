import cluster from 'node:cluster'
import type { Command } from 'commander'
import { type CatalogIssue, formatIssue } from '../catalog/types.js'
import { slotOfThisWorker } from '../cluster/worker-slot.js'
import type { Config } from '../config/settings.js'
import type { RunningGateway } from '../gateway.js'
import { configOrExit } from './config.js'
import { boundHeapGrowth } from './heap-growth.js'

// The gateway and its dependencies load only when a command needs them, so `qiao token`, `qiao catalog check` or
// `qiao audit verify` start in a fraction of the time.

/** Starts the gateway (or a listener of its own) or explains, line by line, why it cannot. */
export async function startOrExit<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof Error && err.name === 'CatalogInvalidError') {
      const { issues } = err as Error & { issues: readonly CatalogIssue[] }
      for (const issue of issues) console.error(formatIssue(issue))
      console.error(`${issues.length} problem(s) in the catalog; the gateway did not start`)
    } else if (err instanceof Error && err.name === 'WriterLockHeldError') {
      // Not a failure of this process: another one holds the audit log. The message names it and the ways out.
      console.error(`qiao: ${err.message}`)
    } else if (isAddressInUse(err)) {
      // The bare EADDRINUSE says nothing about what to change; name the setting whose port is taken.
      const setting = process.env.QIAO_METRICS_PORT === String(err.port) ? 'QIAO_METRICS_PORT' : 'QIAO_PORT'
      console.error(
        `qiao: cannot start: port ${err.port} on ${err.address} is already in use; stop what listens there or set ${setting} to a free port`,
      )
    } else {
      console.error(`qiao: cannot start: ${err instanceof Error ? err.message : String(err)}`)
    }
    process.exit(1)
  }
}

function isAddressInUse(err: unknown): err is NodeJS.ErrnoException & { port: number; address: string } {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
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

/**
 * SIGHUP reloads catalog.yaml; a rejected file leaves the running catalog in place (both outcomes audited).
 * Installed before the gateway has started (a SIGHUP's default action kills the process): a signal that arrives
 * during start-up reloads once the gateway is up.
 */
export function reloadOnSighup(starting: Promise<RunningGateway>): void {
  process.on('SIGHUP', () => {
    starting
      .then((gateway) => gateway.reload('system (SIGHUP)'))
      .then(
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

/**
 * The gateway in this process: `qiao serve`, or one worker of `qiao serve --workers N` (whose log lines then carry
 * `logBindings`, e.g. its slot). Resolves once it is up.
 */
export async function serveInThisProcess(
  config: Config,
  logBindings?: Readonly<Record<string, string | number>>,
): Promise<RunningGateway> {
  const [{ startGateway }, { startTracing }, { createLogger }] = await Promise.all([
    import('../gateway.js'),
    import('../telemetry/tracing.js'),
    import('../telemetry/logger.js'),
  ])
  // A gateway that serves keeps its heap's growth bounded (heap-growth.ts): RSS peaks under load, not only live size.
  boundHeapGrowth()
  const tracing = await startTracing(process.env)
  const logger = logBindings === undefined ? undefined : createLogger(config.logLevel).child(logBindings)
  // Signal handlers first: a SIGHUP or SIGTERM during start-up waits for the start, then acts.
  const starting = startOrExit(() => startGateway({ config, ...(logger === undefined ? {} : { logger }) }))
  reloadOnSighup(starting)
  stopOnSignals(async () => {
    const gateway = await starting
    await gateway.close({ drainMs: config.drainTimeoutMs })
    await tracing.shutdown()
  })
  return starting
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the gateway with the configuration from the environment (see README "Configuration")')
    .option(
      '--workers <n>',
      'processes sharing the port: a number, or `auto` for one per core (default: QIAO_WORKERS, else 1)',
    )
    .action(async (options: { workers?: string }) => {
      // The option is the setting QIAO_WORKERS: one parser, and the same check of every other setting with it.
      const env = options.workers === undefined ? process.env : { ...process.env, QIAO_WORKERS: options.workers }
      const config = configOrExit(env, { requireKeySource: true })
      const slot = cluster.isWorker ? slotOfThisWorker(process.env) : undefined
      if (slot !== undefined) {
        const { runWorker } = await import('../cluster/worker.js')
        await runWorker(config, (workerConfig) => serveInThisProcess(workerConfig, { worker: slot }))
      } else if (config.workers > 1) {
        const { runPrimary } = await import('../cluster/primary.js')
        await runPrimary(config, startOrExit)
      } else {
        await serveInThisProcess(config)
      }
    })
}
