import { type Command, Option } from 'commander'

interface OpenApiCommandOptions {
  readonly dept?: string
  readonly lang: 'zh' | 'en'
  readonly server?: string
  readonly catalog?: string
  readonly at?: string
}

/**
 * `qiao openapi [--dept D] [--lang en] [--server URL]`: the document GET /v1/openapi.json answers, from the catalog
 * file alone, for generating clients without a running gateway. Only the catalog is loaded (as `catalog check`
 * does): no connector is created and nothing is connected, so it runs anywhere the file does. Its grants are the
 * file's; live grants (approved applications) are run-time state, shown by the gateway's own document.
 */
export function registerOpenApiCommand(program: Command): void {
  program
    .command('openapi')
    .description(
      "print the OpenAPI 3.1 document of the exchange for a catalog file: the public view, or a department's " +
        '(its grants in catalog.yaml); nothing is started or connected',
    )
    .option('--dept <code>', "a department's view: the operations its grants allow, answers cut to the fields granted")
    .addOption(new Option('--lang <lang>', 'language of the texts').choices(['zh', 'en']).default('zh'))
    .option('--server <url>', 'the gateway URL for `servers` (default `/`, relative to where the document is served)')
    .option('--catalog <file>', 'catalog file (default QIAO_CATALOG, else catalog.yaml)')
    .option('--at <time>', 'grants in force at this ISO 8601 time, e.g. 2026-03-01T00:00:00+08:00 (default now)')
    .action(async (options: OpenApiCommandOptions) => {
      if (options.server !== undefined && !URL.canParse(options.server)) {
        console.error(`qiao openapi: --server must be an absolute URL, e.g. https://qiao.example.gov.cn`)
        process.exit(1)
      }
      const at = options.at === undefined ? Date.now() : Date.parse(options.at)
      if (Number.isNaN(at)) {
        console.error('qiao openapi: --at must be an ISO 8601 time, e.g. 2026-03-01T00:00:00+08:00')
        process.exit(1)
      }
      const [{ loadCatalog }, { connectorDefinitions }, { formatIssue }, { buildOpenApi }] = await Promise.all([
        import('../catalog/load.js'),
        import('../../connectors/registry.js'),
        import('../catalog/types.js'),
        import('../openapi/build.js'),
      ])
      const file = options.catalog ?? (process.env.QIAO_CATALOG || 'catalog.yaml')
      const result = await loadCatalog(file, { definitions: connectorDefinitions, vars: process.env })
      if (!result.ok) {
        for (const issue of result.issues) console.error(formatIssue(issue))
        console.error(`qiao openapi: ${file} has problems (see \`qiao catalog check\`)`)
        process.exit(1)
      }
      const { catalog } = result
      if (options.dept !== undefined && !catalog.departments.has(options.dept)) {
        console.error(
          `qiao openapi: no department ${JSON.stringify(options.dept)} in ${file} (departments: ${[...catalog.departments.keys()].join(', ')})`,
        )
        process.exit(1)
      }
      const document = buildOpenApi({ catalog }, options.dept === undefined ? 'public' : { dept: options.dept }, {
        lang: options.lang,
        serverUrl: options.server,
        now: at,
      })
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`)
    })
}
