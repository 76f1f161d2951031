import { existsSync } from 'node:fs'
import { isAbsolute, relative } from 'node:path'
import type { Command } from 'commander'
import type { RunningSimulator, SimulatorDefinition, SimulatorExample } from '../../connectors/kit/simulator.js'
import { exchangeScope } from '../auth/principal.js'
import type { Config } from '../config/settings.js'
import type { RunningGateway } from '../gateway.js'
import {
  auditLockOptions,
  auditWriterLockFile,
  inspectWriterLock,
  type LockHolder,
  refusal,
  WriterLockHeldError,
} from '../storage/writer-lock.js'
import { configOrExit } from './config.js'
import { printableUrl } from './redact.js'
import { reloadOnSighup, startOrExit, stopOnSignals } from './serve.js'

async function startSimulator(definition: SimulatorDefinition, host: string): Promise<RunningSimulator> {
  try {
    return await definition.start({ host, port: definition.defaultPort })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    // The usual port is taken (a second demo?): take any free one; the catalog follows through its URL variable.
    return definition.start({ host, port: 0 })
  }
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`
}

/** A ready-to-paste query: the first active grant whose resource a simulator has example parameters for. */
async function exampleQuery(
  gateway: RunningGateway,
  config: Config,
  simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition>,
): Promise<string[]> {
  const { loadOrCreateDevKey, mintDevToken } = await import('../auth/dev-keys.js')
  const catalog = gateway.deps.snapshot().catalog
  const now = Date.now()
  for (const simulator of simulatorDefinitions.values()) {
    for (const example of simulator.examples ?? []) {
      const grant = [...catalog.grants.values()].find(
        (g) =>
          g.resource === example.resource &&
          g.action === 'read' &&
          (g.validFromMs ?? 0) <= now &&
          now < (g.validUntilMs ?? Number.POSITIVE_INFINITY),
      )
      if (!grant || !config.demoMode) continue
      const scope = exchangeScope(grant.matter, grant.resource, 'read')
      const token = await mintDevToken(await loadOrCreateDevKey(config.dataDir), {
        issuer: config.issuer as string,
        audience: config.audience,
        dept: grant.consumer,
        sub: 'demo-officer-001',
        scope,
        ttlSeconds: 8 * 3600,
        clientId: 'qiao-demo',
      })
      return [
        'Mint a token (demo mode signs with the dev key in the data directory):',
        `  node dist/gateway/cli.js token --dept ${grant.consumer} --sub officer-001 --scope ${shellQuote(scope)}`,
        '',
        `A real query (${grant.consumer} reads ${grant.resource} for matter ${grant.matter}; token valid 8 h):`,
        `  curl -sS ${gateway.url}/v1/resources/${grant.resource}/query \\`,
        `    -H ${shellQuote(`Authorization: Bearer ${token}`)} \\`,
        `    -H 'Qiao-Matter: ${grant.matter}' -H 'Qiao-Case: DEMO-2026-000001' \\`,
        `    -H 'Content-Type: application/json' -d ${shellQuote(JSON.stringify(example.params))}`,
        '',
        `The catalog as that officer sees it:  curl -sS ${gateway.url}/v1/catalog -H 'Authorization: Bearer …'`,
      ]
    }
  }
  return ['No example query: no simulator example matches an active grant of this catalog.']
}

/**
 * The sandbox: one example per resource of the catalog (the simulators list the shared cross-department projects
 * first), with the department and matter a token needs for it, and where the API docs list them all.
 */
function sampleParameters(
  gateway: RunningGateway,
  simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition>,
): string[] {
  const { catalog } = gateway.deps.snapshot()
  const now = Date.now()
  const first = new Map<string, SimulatorExample>()
  for (const simulator of simulatorDefinitions.values()) {
    for (const example of simulator.examples ?? []) {
      if (catalog.resources.has(example.resource) && !first.has(example.resource)) first.set(example.resource, example)
    }
  }
  if (first.size === 0) return []
  const width = Math.max(...[...first.keys()].map((id) => id.length))
  const lines = [
    'Sample parameters (sandbox), one per resource, with the department and matter a token needs for it;',
    `all of them, and the API reference: ${gateway.url}/docs`,
  ]
  for (const [resource, example] of first) {
    const grant = [...catalog.grants.values()].find(
      (g) =>
        g.resource === resource &&
        g.action === 'read' &&
        (g.validFromMs ?? 0) <= now &&
        now < (g.validUntilMs ?? Number.POSITIVE_INFINITY),
    )
    const who = grant ? `${grant.consumer} · ${grant.matter}` : 'no active grant'
    lines.push(`  ${resource.padEnd(width)}  ${who.padEnd(20)}  ${JSON.stringify(example.params)}`)
    if (example.summary) lines.push(`      ${example.summary}`)
  }
  return lines
}

/** Resources whose provider system did not answer the start-up health check, said plainly. */
function unavailableResources(gateway: RunningGateway): string[] {
  const { catalog } = gateway.deps.snapshot()
  const lines: string[] = []
  for (const resource of catalog.resources.values()) {
    if (resource.connector === undefined) continue
    const status = gateway.deps.health.status(resource.connector)
    if (status.status !== 'up') {
      lines.push(
        `  resource ${resource.id}: UNAVAILABLE — ${status.detail ?? status.status} (calls answer 503 until it recovers)`,
      )
    }
  }
  return lines
}

/** `./.qiao` for a directory under the working directory, else the absolute path. */
function shownPath(dir: string): string {
  const rel = relative(process.cwd(), dir)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? dir : `./${rel}`
}

/** Another demo holds this data directory: who, where, and the command for a second one beside it. */
function anotherDemo(config: Config, holder: LockHolder): string {
  let n = 2
  while (existsSync(`${config.dataDir}-${n}`)) n++
  const since = new Date(holder.since)
  const at = Number.isNaN(since.getTime())
    ? holder.since
    : `${String(since.getHours()).padStart(2, '0')}:${String(since.getMinutes()).padStart(2, '0')}`
  const port = config.port === 0 ? '' : ` QIAO_PORT=${(holder.port ?? config.port) + 1}`
  return [
    `qiao: another Qiao gateway (pid ${holder.pid}, since ${at}) is running with data directory ${shownPath(config.dataDir)}${holder.url ? ` on ${holder.url}` : ''}.`,
    'Two gateways must not write one audit log. Stop it (Ctrl-C in its terminal), or start a second one with its own directory:',
    `  QIAO_DATA_DIR=${shownPath(`${config.dataDir}-${n}`)}${port} npm start`,
  ].join('\n')
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the gateway with catalog.yaml and every legacy-system simulator, on 127.0.0.1')
    .action(async () => {
      const config = configOrExit(process.env, { demo: true })
      const [{ simulatorDefinitions }, { startGateway }] = await Promise.all([
        import('../../connectors/simulators.js'),
        import('../gateway.js'),
      ])
      // Before any simulator takes a port: a data directory in use by another demo is never shared.
      if (config.auditUrl === undefined) {
        const lockFile = auditWriterLockFile(config)
        const verdict = await inspectWriterLock(lockFile)
        if (verdict.state === 'held') {
          console.error(anotherDemo(config, verdict.holder))
          process.exit(1)
        }
        const refused = refusal(lockFile, verdict, auditLockOptions(config))
        if (refused) {
          console.error(`qiao: ${refused.message}`)
          process.exit(1)
        }
      }
      const simulators: Array<{ definition: SimulatorDefinition; running: RunningSimulator }> = []
      const notStarted: string[] = []
      const vars: Record<string, string | undefined> = { ...process.env }
      for (const definition of simulatorDefinitions.values()) {
        try {
          const running = await startSimulator(definition, '127.0.0.1')
          simulators.push({ definition, running })
          if (definition.urlVariable) vars[definition.urlVariable] = running.url
        } catch (err) {
          // The demo goes on without it; the gateway reports the resources behind it as unavailable.
          notStarted.push(
            `  simulator ${definition.name}: NOT STARTED — ${err instanceof Error ? err.message : String(err)}`,
          )
        }
      }
      const gateway = await startOrExit(async () => {
        try {
          const examples = [...simulatorDefinitions.values()].flatMap((d) => d.examples ?? [])
          return await startGateway({ config, vars, examples })
        } catch (err) {
          // Nothing may be left behind: the simulators go before the message (another demo may have won a race).
          await Promise.allSettled(simulators.map(({ running }) => running.close()))
          if (err instanceof WriterLockHeldError && err.reason === 'held' && err.holder) {
            console.error(anotherDemo(config, err.holder))
            process.exit(1)
          }
          throw err
        }
      })
      const catalog = gateway.deps.snapshot().catalog
      const samples = sampleParameters(gateway, simulatorDefinitions)
      const { startDemoSubscription } = await import('./demo-subscription.js')
      const housing = simulators.find(({ definition }) => definition.name === 'housing')?.running
      const subscription = await startDemoSubscription(gateway, config, housing)
      const lines = [
        '',
        `Qiao demo gateway: ${gateway.url}  (catalog ${catalog.version}: ${catalog.departments.size} departments, ${catalog.resources.size} resources, ${catalog.matters.size} matters)`,
        ...simulators.map(({ definition, running }) => `  simulator ${definition.name}: ${printableUrl(running.url)}`),
        ...notStarted,
        ...unavailableResources(gateway),
        `  audit log: ${config.auditDir}`,
        config.demoMode
          ? '  DEMO MODE: tokens are signed by a dev key in the data directory. Never use this in production.'
          : '  tokens come from the configured issuer (QIAO_JWKS_URL / QIAO_JWKS_FILE)',
        '',
        ...(await exampleQuery(gateway, config, simulatorDefinitions)),
        '',
        ...samples,
        ...(samples.length > 0 ? [''] : []),
        ...subscription.lines,
        ...(subscription.lines.length > 0 ? [''] : []),
        'Ctrl-C stops the gateway and the simulators.',
        '',
      ]
      console.log(lines.join('\n'))
      reloadOnSighup(Promise.resolve(gateway))
      stopOnSignals(async () => {
        subscription.stop()
        await gateway.close({ drainMs: config.drainTimeoutMs })
        await Promise.allSettled(simulators.map(({ running }) => running.close()))
      })
    })
}
