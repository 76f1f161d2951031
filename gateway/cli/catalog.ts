import type { Command } from 'commander'

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('work with catalog.yaml')
  catalog
    .command('check')
    .description(
      'validate a catalog: YAML, schema, cross-references; print every problem as file:line:col (and warn about ' +
        'catalog grants that live grants in the state store replace)',
    )
    .argument('[file]', 'catalog file', 'catalog.yaml')
    .action(async (file: string) => {
      const { checkCatalogFile } = await import('../catalog/check.js')
      process.exitCode = await checkCatalogFile(file, { stdout: process.stdout, stderr: process.stderr })
    })
}
