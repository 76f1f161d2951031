import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connectorDefinitions } from '../../connectors/registry.js'
import { SETTINGS } from '../config/settings.js'
import type { LiveGrant } from '../sharing/model.js'
import { grantOverlaps, overlapMessage } from '../sharing/overlaps.js'
import { loadCatalog } from './load.js'
import { formatPath, Reporter } from './loader/report.js'
import { type Catalog, type CatalogIssue, formatIssue } from './types.js'

/**
 * `qiao catalog check [file]`: loads the catalog with the registered connector types and prints every problem as
 * `FILE:LINE:COL message` (stderr), or a one-line summary (stdout). Returns the exit code. When the state store the
 * gateway would use exists (QIAO_STATE_URL, or `<QIAO_DATA_DIR>/state.sqlite`), catalog grants that a live grant
 * replaces are warned about too; the exit code does not change.
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
  for (const warning of await liveGrantWarnings(file, catalog, vars)) {
    io.stderr.write(`${formatIssue({ ...warning, message: `warning: ${warning.message}` })}\n`)
  }
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

/** Overlaps with live grants, at the catalog grants they concern; nothing when there is no state store to read. */
async function liveGrantWarnings(
  file: string,
  catalog: Catalog,
  vars: Readonly<Record<string, string | undefined>>,
): Promise<CatalogIssue[]> {
  const read = await readLiveGrants(vars)
  if (read === undefined) return []
  const report = new Reporter(file, await readFile(file, 'utf8'))
  if ('error' in read) {
    report.warn([], `live grants not checked, the state store cannot be read (${read.error})`)
    return report.sortedWarnings()
  }
  const matters = [...catalog.matters.values()]
  for (const overlap of grantOverlaps(catalog, read.live)) {
    const m = matters.findIndex((matter) => matter.code === overlap.matter)
    const g = matters[m]?.grants.findIndex(
      (grant) =>
        grant.resource === overlap.resource && grant.action === overlap.action && grant.consumer === overlap.consumer,
    )
    const path = ['matters', m, 'grants', g ?? 0]
    report.warn(path, `${formatPath(path)}: ${overlapMessage(overlap)}`)
  }
  return report.sortedWarnings()
}

/**
 * The live grants of the state store the gateway would open, read without creating one: PostgreSQL when
 * QIAO_STATE_URL is set, else `<QIAO_DATA_DIR>/state.sqlite` only if it exists.
 */
async function readLiveGrants(
  vars: Readonly<Record<string, string | undefined>>,
): Promise<{ live: LiveGrant[] } | { error: string } | undefined> {
  const url = vars.QIAO_STATE_URL === '' ? undefined : vars.QIAO_STATE_URL
  const dataDir = vars.QIAO_DATA_DIR || SETTINGS.dataDir.defaultValue
  if (url === undefined && !existsSync(join(dataDir, 'state.sqlite'))) return undefined
  const { openStateStore } = await import('../state/open.js')
  const { openSharingStore } = await import('../sharing/kysely-store.js')
  let state: Awaited<ReturnType<typeof openStateStore>> | undefined
  try {
    state = await openStateStore({ url, dataDir })
    return { live: await openSharingStore(state).liveGrants() }
  } catch (err) {
    return { error: (err as Error).message }
  } finally {
    await state?.close()
  }
}
