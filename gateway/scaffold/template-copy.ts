import { readdir, readFile } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { realignTables } from './markdown.js'
import { type ScaffoldNames, scaffoldNames } from './names.js'

/**
 * The connector `qiao connector new` copies: connectors/template-envelope/, a real connector tested with the others.
 * Every file is copied with the template's names replaced by the new connector's, in one pass (a replacement is
 * never replaced again), so a fix to the template reaches every connector generated afterwards.
 */

export const TEMPLATE_DIR = 'connectors/template-envelope'
/** The template's own catalog for its conformance test: not copied (the generator edits the target catalog). */
export const TEMPLATE_CATALOG = `${TEMPLATE_DIR}/conformance.catalog.yaml`
/** The template's resource schemas; copied to the department's schema folder. */
const TEMPLATE_SCHEMA_DIR = 'schemas'
const NOT_COPIED = new Set(['conformance.catalog.yaml'])
/** README text only about the template itself. */
const TEMPLATE_ONLY = /<!-- template-only -->[\s\S]*?<!-- \/template-only -->\n\n?/g

/** The names the template is written with (keep them in sync with its files: they are what gets replaced). */
export const TEMPLATE_NAMES: ScaffoldNames = scaffoldNames({
  id: 'template-envelope',
  department: 'template',
  departmentName: '模板局',
  system: '模板系统',
  resourceCode: '0/00/000/000000/00001',
  port: 9100,
  region: '110000',
  catalogFile: TEMPLATE_CATALOG,
})

export interface TemplateFile {
  /** Relative to TEMPLATE_DIR, forward slashes. */
  readonly path: string
  readonly text: string
}

/** Every file of the template under `root`, sorted by path. Throws when the folder cannot be read. */
export async function readTemplate(root: string): Promise<TemplateFile[]> {
  const dir = join(root, TEMPLATE_DIR)
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files: TemplateFile[] = []
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
      .slice(dir.length + 1)
      .split(sep)
      .join('/')
    if (NOT_COPIED.has(path) || path.split('/').includes('node_modules')) continue
    files.push({ path, text: await readFile(join(dir, path), 'utf8') })
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Where a template file goes for the new connector, relative to the repository root. */
export function targetPath(path: string, n: ScaffoldNames): string {
  const t = TEMPLATE_NAMES
  const schema = new RegExp(`^${TEMPLATE_SCHEMA_DIR}/${literal(t.resource)}\\.([a-z]+)\\.json$`).exec(path)
  if (schema) return `${n.schemaDir}/${n.resource}.${schema[1]}.json`
  return `${n.connectorDir}/${path}`
}

/** A template file's text with the template's names replaced by `n`'s. */
export function substituteNames(text: string, n: ScaffoldNames, path = ''): string {
  const t = TEMPLATE_NAMES
  // Most specific first: at any position the first alternative that matches wins.
  const rules: ReadonlyArray<readonly [string, string]> = [
    [literal(`'${t.catalogFile}'`), `'${n.catalogFile}'`],
    [literal(`${t.connectorDir}/${TEMPLATE_SCHEMA_DIR}/${t.resource}`), `${n.schemaDir}/${n.resource}`],
    [literal(t.resourceId), n.resourceId],
    [literal(t.envPrefix), n.envPrefix],
    [literal(t.id), n.id],
    [literal(t.camel), n.camel],
    [literal(t.pascal), n.pascal],
    [literal(`\`${t.department}\``), `\`${n.department}\``],
    [`(?<=department: )${literal(t.department)}$`, n.department],
    [literal(t.departmentName), n.departmentName],
    [literal(t.system), n.system],
    [literal(t.resource), n.resource],
    [`\\b${t.port}\\b`, String(n.port)],
    [`\\b${t.region}\\b`, n.region],
    // Record numbers: the prefix before the year, a quote or `<year>`.
    [`\\b${t.recordNoPrefix}(?=[0-9'<])`, n.recordNoPrefix],
  ]
  const pattern = new RegExp(rules.map(([source]) => `(${source})`).join('|'), 'gmu')
  let next = text.replace(pattern, (...groups: unknown[]) => {
    const index = groups.slice(1, rules.length + 1).findIndex((g) => g !== undefined)
    return rules[index]?.[1] ?? String(groups[0])
  })
  if (path.endsWith('.md')) next = realignTables(next.replace(TEMPLATE_ONLY, ''))
  return next
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
