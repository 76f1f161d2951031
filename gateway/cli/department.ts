import type { Command } from 'commander'

interface DepartmentAddFlags {
  name: string
  shortName?: string
  uscc: string
  catalog: string
  root: string
}

export function registerDepartmentCommands(program: Command): void {
  const department = program.command('department').description('work with the catalog departments')
  department
    .command('add')
    .description(
      'add a department to the catalog (comments and order kept; the USCC check character computed or verified)',
    )
    .argument('<code>', 'department code: lower-case letters, digits and dashes (e.g. sewage)')
    .requiredOption('--name <名称>', 'full name (e.g. 南京市排水管理处)')
    .option('--short-name <简称>', 'short name (e.g. 排水)')
    .requiredOption(
      '--uscc <code>',
      '统一社会信用代码: 18 characters, or the first 17 to have the check character computed',
    )
    .option('--catalog <file>', 'catalog file, relative to --root', 'catalog.yaml')
    .option('--root <dir>', 'repository root', process.cwd())
    .action(async (code: string, flags: DepartmentAddFlags) => {
      const { ScaffoldError, writePlan } = await import('../scaffold/generate.js')
      const { departmentNextSteps, planDepartment } = await import('../scaffold/department.js')
      let plan: Awaited<ReturnType<typeof planDepartment>>
      try {
        plan = await planDepartment({
          root: flags.root,
          code,
          name: flags.name,
          ...(flags.shortName === undefined ? {} : { shortName: flags.shortName }),
          uscc: flags.uscc,
          catalog: flags.catalog,
        })
      } catch (err) {
        if (!(err instanceof ScaffoldError)) throw err
        for (const problem of err.problems) console.error(`qiao department add: ${problem}`)
        console.error('Nothing was written.')
        process.exit(1)
      }
      await writePlan(flags.root, plan)
      const d = plan.department
      const check = plan.computedCheck ? ' (check character computed)' : ''
      console.log(`Department ${d.code} (${d.name}, USCC ${d.uscc}${check}) added to ${flags.catalog}.`)
      console.log('')
      console.log('Next steps:')
      for (const line of departmentNextSteps(plan, flags.catalog)) console.log(`  ${line}`)
    })
}
