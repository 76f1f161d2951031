import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path'
import { addToCatalog, CatalogEditError, type CatalogFacts, readCatalogFacts } from './catalog-edit.js'
import {
  connectorIdProblems,
  nextFreePort,
  resourceNameProblems,
  type ScaffoldNames,
  scaffoldNames,
  systemProblems,
} from './names.js'
import { addToRegistry, REGISTRY_FILE, registryProblems, SIMULATORS_FILE } from './registry-edit.js'
import { readTemplate, substituteNames, TEMPLATE_DIR, type TemplateFile, targetPath } from './template-copy.js'

/**
 * `qiao connector new`: plans every file of a new envelope-JSON connector (a copy of the template connector
 * connectors/template-envelope/ with the new names, its resource schemas, the catalog entries and the registry
 * lines), refuses with every problem at once if anything is in the
 * way, and only then writes.
 */

export interface ConnectorNewOptions {
  /** Repository root; every other path is relative to it. */
  readonly root: string
  readonly id: string
  readonly department: string
  readonly system?: string
  readonly resource?: string
  /** 信息资源代码; default: the first free placeholder `0/00/000/000000/NNNNN`. */
  readonly resourceCode?: string
  /** @default 'catalog.yaml' */
  readonly catalog?: string
  /** Simulator default port; default: the lowest 91xx port no simulator uses. */
  readonly port?: number
  /** Where the template connector is read from (`<templateRoot>/connectors/template-envelope`); default: the root. */
  readonly templateRoot?: string
}

export interface PlannedFile {
  /** Relative to the root, forward slashes. */
  readonly path: string
  readonly content: string
  readonly action: 'create' | 'change'
  /** For changes: the text the plan was made from (the write refuses if the file changed since). */
  readonly original?: string
}

export interface ConnectorPlan {
  readonly names: ScaffoldNames
  readonly files: readonly PlannedFile[]
}

export class ScaffoldError extends Error {
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(problems.join('\n'))
    this.name = 'ScaffoldError'
    this.problems = problems
  }
}

/** The canonical fields of the generated resource; the template's record schema declares the same properties. */
export const RECORD_FIELDS = Object.freeze([
  { key: 'recordNo', name: '记录编号', sensitivity: 'public' },
  { key: 'name', name: '名称', sensitivity: 'public' },
  { key: 'uscc', name: '统一社会信用代码', sensitivity: 'public' },
  { key: 'status', name: '状态', sensitivity: 'public' },
  { key: 'updatedAt', name: '更新时间', sensitivity: 'internal' },
] as const)

const DEFAULT_RESOURCE_CODE_PATTERN = '^[0-9](/[0-9A-Za-z]+)+$'
const DEFAULT_PORT_PATTERN = /\bdefaultPort\s*:\s*([0-9]{2,5})\b/g

/** Reads the root, checks everything and returns the files to write. Throws ScaffoldError listing every problem. */
export async function planConnector(options: ConnectorNewOptions): Promise<ConnectorPlan> {
  const root = resolve(options.root)
  const problems: string[] = [...connectorIdProblems(options.id)]
  if (options.resource !== undefined) problems.push(...resourceNameProblems(options.resource))
  if (options.system !== undefined) problems.push(...systemProblems(options.system))

  const catalogFile = toRootPath(root, options.catalog ?? 'catalog.yaml')
  if (catalogFile === undefined) {
    problems.push(`--catalog must be a file inside ${root}`)
  } else if (!/^[A-Za-z0-9._/-]{1,100}$/.test(catalogFile)) {
    problems.push('--catalog must be a path of at most 100 letters, digits and . _ - /')
  }
  const catalogText = catalogFile === undefined ? undefined : await readText(join(root, catalogFile))
  if (catalogFile !== undefined && catalogText === undefined) problems.push(`cannot read ${catalogFile}`)
  let facts: CatalogFacts | undefined
  try {
    if (catalogText !== undefined) facts = readCatalogFacts(catalogText)
  } catch (err) {
    problems.push(`${catalogFile}: ${(err as Error).message}`)
  }
  const registryText = await readText(join(root, REGISTRY_FILE))
  if (registryText === undefined) problems.push(`cannot read ${REGISTRY_FILE}`)
  const simulatorsText = await readText(join(root, SIMULATORS_FILE))
  if (simulatorsText === undefined) problems.push(`cannot read ${SIMULATORS_FILE}`)
  const template = await readTemplate(resolve(options.templateRoot ?? root)).catch(() => undefined)
  if (template === undefined) problems.push(`cannot read the template connector ${TEMPLATE_DIR}`)

  const department = facts?.departments.get(options.department)
  if (facts && !department) {
    const known = [...facts.departments.keys()].join(', ') || 'none'
    problems.push(`unknown department "${options.department}" in ${catalogFile} (departments: ${known})`)
  }
  if (
    problems.length > 0 ||
    !facts ||
    !department ||
    catalogFile === undefined ||
    catalogText === undefined ||
    registryText === undefined ||
    simulatorsText === undefined ||
    template === undefined
  ) {
    throw new ScaffoldError(problems)
  }

  const usedPorts = [...(await simulatorPorts(join(root, 'connectors'))), ...facts.ports]
  let port = options.port
  if (port === undefined) {
    port = nextFreePort(usedPorts)
    if (port === undefined) problems.push('every port from 9101 to 9199 is taken; pass --port')
  } else if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    problems.push('--port must be an integer from 1024 to 65535')
  } else if (usedPorts.includes(port)) {
    problems.push(`port ${port} is already used by another simulator or connector default`)
  }
  const resourceCode = options.resourceCode ?? placeholderCode(facts.resourceCodes)
  const codePattern = facts.resourceCodePattern ?? DEFAULT_RESOURCE_CODE_PATTERN
  if (!safeRegExp(codePattern)?.test(resourceCode)) {
    problems.push(
      `resource code ${resourceCode} does not match resourceCodePattern ${codePattern}; pass --resource-code`,
    )
  } else if (facts.resourceCodes.has(resourceCode)) {
    problems.push(`resource code ${resourceCode} is already used in ${catalogFile}`)
  }

  const names = scaffoldNames({
    id: options.id,
    department: department.code,
    departmentName: department.name,
    ...(department.shortName === undefined ? {} : { departmentShortName: department.shortName }),
    ...(options.system === undefined ? {} : { system: options.system.trim() }),
    ...(options.resource === undefined ? {} : { resource: options.resource }),
    resourceCode,
    port: port ?? 0,
    ...(facts.region === undefined ? {} : { region: facts.region }),
    catalogFile,
  })
  if (options.resource === undefined) problems.push(...resourceNameProblems(names.resource))

  const created = connectorFiles(template, names)
  if (existsSync(join(root, names.connectorDir))) problems.push(`${names.connectorDir} already exists`)
  for (const file of created) {
    if (!file.path.startsWith(`${names.connectorDir}/`) && existsSync(join(root, file.path))) {
      problems.push(`${file.path} already exists`)
    }
  }
  if (facts.connectors.has(names.id)) problems.push(`${catalogFile} already has a connector "${names.id}"`)
  if (facts.resources.has(names.resourceId)) {
    problems.push(`${catalogFile} already has a resource "${names.resourceId}"`)
  }
  const registryAddition = {
    definition: names.camel,
    definitionSource: `./${names.id}/index.js`,
    simulator: `${names.camel}Simulator`,
    simulatorSource: `./${names.id}/simulator/index.js`,
  }
  problems.push(...registryProblems(registryText, registryAddition))
  problems.push(...registryProblems(simulatorsText, registryAddition, SIMULATORS_FILE))
  if (problems.length > 0) throw new ScaffoldError(problems)

  let catalogNext: string
  try {
    catalogNext = addToCatalog(catalogText, catalogAddition(names))
  } catch (err) {
    if (err instanceof CatalogEditError) throw new ScaffoldError([`${catalogFile}: ${err.message}`])
    throw err
  }
  return {
    names,
    files: [
      ...created,
      { path: catalogFile, content: catalogNext, action: 'change', original: catalogText },
      {
        path: REGISTRY_FILE,
        content: addToRegistry(registryText, registryAddition),
        action: 'change',
        original: registryText,
      },
      {
        path: SIMULATORS_FILE,
        content: addToRegistry(simulatorsText, registryAddition, SIMULATORS_FILE),
        action: 'change',
        original: simulatorsText,
      },
    ],
  }
}

/** The generated files: the template's, with the new names (pure). */
export function connectorFiles(template: readonly TemplateFile[], n: ScaffoldNames): PlannedFile[] {
  return template.map((file) => ({
    path: targetPath(file.path, n),
    content: substituteNames(file.text, n, file.path),
    action: 'create',
  }))
}

/** The connector instance and resource added to the catalog. Schema paths are relative to the catalog's folder. */
export function catalogAddition(n: ScaffoldNames) {
  const schema = (kind: string) =>
    posix.relative(posix.dirname(n.catalogFile), `${n.schemaDir}/${n.resource}.${kind}.json`)
  return {
    connectorId: n.id,
    connector: {
      type: n.id,
      department: n.department,
      options: {
        baseUrl: `\${${n.envPrefix}_URL:-http://127.0.0.1:${n.port}}`,
        appKey: `\${${n.envPrefix}_APP_KEY:-qiao-gateway}`,
        appSecret: `\${${n.envPrefix}_APP_SECRET:-demo-secret-change-me}`,
      },
    },
    resource: {
      id: n.resourceId,
      code: n.resourceCode,
      name: n.resourceName,
      summary: `${n.system}中的业务记录：记录编号、名称、统一社会信用代码、状态和更新时间；按记录编号查询。`,
      provider: n.department,
      sharing: { type: 'unconditional', mode: '接口' },
      updateCycle: 'realtime',
      connector: n.id,
      read: { operation: 'records', request: schema('request'), response: schema('record'), cardinality: 'one' },
      changes: { operation: 'changes' },
      fields: RECORD_FIELDS.map((f) => ({ ...f })),
    },
    resourceComment: `Generated by qiao connector new (${n.id}): replace the placeholder code, the name, summary and fields with the real 目录 entry.`,
  }
}

/**
 * Writes a plan: new files are created exclusively (never overwritten), changed files only if they still hold what
 * the plan was made from. On any failure everything written so far is undone.
 */
export async function writePlan(root: string, plan: { readonly files: readonly PlannedFile[] }): Promise<void> {
  const base = resolve(root)
  const createdFiles: string[] = []
  const createdDirs: string[] = []
  const restored: { file: string; text: string }[] = []
  try {
    for (const file of plan.files) {
      const target = join(base, file.path)
      if (file.action === 'create') {
        const first = await mkdir(dirname(target), { recursive: true })
        if (first !== undefined) createdDirs.push(first)
        await writeFile(target, file.content, { flag: 'wx' })
        createdFiles.push(target)
      } else {
        const current = await readFile(target, 'utf8')
        if (current !== file.original) throw new Error(`${file.path} changed while the connector was being generated`)
        restored.push({ file: target, text: current })
        await writeFile(target, file.content)
      }
    }
  } catch (err) {
    for (const { file, text } of restored) await writeFile(file, text).catch(() => {})
    for (const file of createdFiles.reverse()) await rm(file, { force: true }).catch(() => {})
    for (const dir of createdDirs.reverse()) await rm(dir, { recursive: true, force: true }).catch(() => {})
    throw err
  }
}

/** What to do next, as lines for the terminal. */
export function nextSteps(plan: ConnectorPlan): string[] {
  const n = plan.names
  const keys = RECORD_FIELDS.map((f) => f.key).join(', ')
  return [
    `1. Run the generated tests (the conformance kit against the simulator):`,
    `     npx vitest run ${n.connectorDir}`,
    `2. Check the catalog:`,
    `     npx tsx gateway/cli.ts catalog check ${n.catalogFile}     (qiao catalog check)`,
    `3. Work through the checklist in ${n.connectorDir}/README.md: wire names, sign algorithm, field mapping, seed,`,
    `   schemas, and the catalog entry (its code ${n.resourceCode} is a placeholder).`,
    `4. No department may read ${n.resourceId} yet. To let one, add a matter with a grant to ${n.catalogFile}:`,
    `     matters:`,
    `       - code: <实施编码>`,
    `         name: <事项名称>`,
    `         owner: <consuming department>`,
    `         legalBasis: <设定依据>`,
    `         grants:`,
    `           - consumer: <consuming department, not ${n.department}>`,
    `             resource: ${n.resourceId}`,
    `             action: read`,
    `             usage: 业务协同`,
    `             fields: [${keys}]`,
    `   then run the catalog check again. \`qiao simulate ${n.id}\` serves the seed on port ${n.port}.`,
    `5. A running gateway does not load new connector code: rebuild and restart it (\`npm run build\`, then restart`,
    `   \`qiao serve\`; with Docker \`docker compose up -d --build\`). Later changes to ${n.catalogFile} alone (a grant,`,
    `   a field) need no restart: send SIGHUP or POST /v1/admin/catalog/reload.`,
  ]
}

/** Default ports of the simulators under `dir` (registered or not), read from their sources. */
export async function simulatorPorts(dir: string): Promise<number[]> {
  const ports: number[] = []
  let entries: string[]
  try {
    entries = (await readdir(dir, { recursive: true })).map(String)
  } catch {
    return ports
  }
  for (const entry of entries) {
    if (!entry.endsWith('.ts') || entry.endsWith('.test.ts') || entry.split(sep).includes('node_modules')) continue
    const text = await readText(join(dir, entry))
    for (const m of text?.matchAll(DEFAULT_PORT_PATTERN) ?? []) ports.push(Number(m[1]))
  }
  return ports
}

function placeholderCode(used: ReadonlySet<string>): string {
  for (let serial = 1; ; serial++) {
    const code = `0/00/000/000000/${String(serial).padStart(5, '0')}`
    if (!used.has(code)) return code
  }
}

/** `file` relative to the root with forward slashes, or undefined when it lies outside. */
function toRootPath(root: string, file: string): string | undefined {
  const path = relative(root, resolve(root, file))
  if (path === '' || path.startsWith('..') || isAbsolute(path)) return undefined
  return path.split(sep).join('/')
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch {
    return undefined
  }
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source, 'u')
  } catch {
    return undefined
  }
}
