import type { Command } from 'commander'

interface ConnectorNewFlags {
  department: string
  system?: string[]
  resource?: string
  resourceCode?: string
  catalog: string
  port?: string
  root: string
}

export function registerConnectorCommands(program: Command): void {
  const connector = program.command('connector').description('work with connectors')
  connector
    .command('new')
    .description(
      'generate an envelope-JSON connector for a new department system by copying connectors/template-envelope/ ' +
        'with the new names (connector, simulator, tests, README, resource schemas); the catalog entries; the registry lines',
    )
    .argument('<id>', 'connector type and instance id: lower-case words joined by dashes (e.g. water-drainage)')
    .requiredOption('--department <code>', 'code of the providing department in the catalog')
    .option('--system <words...>', 'the legacy system, in words (e.g. 水务 排水许可系统)')
    .option('--resource <name>', 'resource name (default: the id without the department prefix, plus -record)')
    .option('--resource-code <code>', '信息资源代码 (default: a placeholder 0/00/000/000000/NNNNN)')
    .option('--catalog <file>', 'catalog file, relative to --root', 'catalog.yaml')
    .option('--port <n>', 'simulator port (default: the lowest 91xx port no simulator uses)')
    .option('--root <dir>', 'repository root', process.cwd())
    .action(async (id: string, flags: ConnectorNewFlags) => {
      const port = flags.port === undefined ? undefined : Number(flags.port)
      if (port !== undefined && (!/^[0-9]+$/.test(flags.port ?? '') || port < 1024 || port > 65535)) {
        console.error('qiao connector new: --port must be an integer from 1024 to 65535')
        process.exit(1)
      }
      const { nextSteps, planConnector, ScaffoldError, writePlan } = await import('../scaffold/generate.js')
      let plan: Awaited<ReturnType<typeof planConnector>>
      try {
        plan = await planConnector({
          root: flags.root,
          id,
          department: flags.department,
          ...(flags.system === undefined ? {} : { system: flags.system.join(' ') }),
          ...(flags.resource === undefined ? {} : { resource: flags.resource }),
          ...(flags.resourceCode === undefined ? {} : { resourceCode: flags.resourceCode }),
          catalog: flags.catalog,
          ...(port === undefined ? {} : { port }),
        })
      } catch (err) {
        if (!(err instanceof ScaffoldError)) throw err
        for (const problem of err.problems) console.error(`qiao connector new: ${problem}`)
        console.error('Nothing was written.')
        process.exit(1)
      }
      await writePlan(flags.root, plan)
      const n = plan.names
      console.log(`Connector ${n.id} (${n.system}, department ${n.department}, resource ${n.resourceId}):`)
      for (const file of plan.files) console.log(`  ${file.action === 'create' ? 'created' : 'changed'}  ${file.path}`)
      console.log('')
      console.log('Next steps:')
      for (const line of nextSteps(plan)) console.log(`  ${line}`)
    })
}
