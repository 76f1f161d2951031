import { connectorDefinitions } from '../../connectors/registry.js'
import { loadCatalog } from './load.js'
import { formatIssue } from './types.js'

/**
 * `qiao catalog check [file]`: loads the catalog with the registered connector types and prints every problem as
 * `FILE:LINE:COL message` (stderr), or a one-line summary (stdout). Returns the exit code.
 */
export async function checkCatalogFile(
  file: string,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  vars: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const result = await loadCatalog(file, { definitions: connectorDefinitions, vars })
  if (!result.ok) {
    for (const issue of result.issues) io.stderr.write(`${formatIssue(issue)}\n`)
    io.stderr.write(`${count(result.issues.length, 'problem')} in ${file}\n`)
    return 1
  }
  for (const warning of result.warnings) {
    io.stderr.write(`${formatIssue({ ...warning, message: `warning: ${warning.message}` })}\n`)
  }
  const { catalog } = result
  const counts = [
    count(catalog.departments.size, 'department'),
    count(catalog.connectors.size, 'connector'),
    count(catalog.resources.size, 'resource'),
    count(catalog.matters.size, 'matter'),
    count(catalog.grants.size, 'grant'),
  ]
  io.stdout.write(`${file}: OK — ${counts.join(', ')} (catalog version ${catalog.version})\n`)
  return 0
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
