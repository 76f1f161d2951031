import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  catalogAddition,
  connectorFiles,
  nextSteps,
  planConnector,
  RECORD_FIELDS,
  ScaffoldError,
  writePlan,
} from './generate.js'
import { scaffoldNames } from './names.js'
import { readTemplate, TEMPLATE_DIR } from './template-copy.js'

const REPO = resolve(import.meta.dirname, '../..')

const CATALOG = `# A small catalog.
version: "1"
region: "320100"
departments:
  - { code: housing, name: 南京市住房和城乡建设局, shortName: 住建, uscc: 11320100002493021L }
  - { code: water, name: 南京市水务局, shortName: 水务, uscc: "113201000024930642" }

connectors:
  housing-gongai:
    type: housing-gongai
    department: housing
    options:
      baseUrl: \${QIAO_HOUSING_URL:-http://127.0.0.1:9101}

resources:
  - id: housing.permit
    code: 0/00/000/000000/00001
    name: 许可
    summary: 许可。
    provider: housing
    sharing: { type: none, legalBasis: 法 }
    updateCycle: daily
    fields:
      - { key: permitNo, name: 编号, sensitivity: public }
`

const REGISTRY = `import { housingGongai } from './housing-gongai/index.js'
import type { ConnectorDefinition } from './kit/types.js'

export const connectorDefinitions: ReadonlyMap<string, ConnectorDefinition<never>> = new Map<
  string,
  ConnectorDefinition<never>
>([[housingGongai.type, housingGongai]])
`

const SIMULATORS = `import { housingSimulator } from './housing-gongai/simulator/index.js'
import type { SimulatorDefinition } from './kit/simulator.js'

export const simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition> = new Map<string, SimulatorDefinition>([
  [housingSimulator.name, housingSimulator],
])
`

let root: string

async function put(path: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true })
  await writeFile(join(root, path), text)
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'qiao-scaffold-'))
  await put('catalog.yaml', CATALOG)
  await put('connectors/registry.ts', REGISTRY)
  await put('connectors/simulators.ts', SIMULATORS)
  await put('connectors/housing-gongai/simulator/index.ts', 'export const s = { defaultPort: 9101 }\n')
  await put('connectors/drc-tzxm/simulator/index.ts', 'export const s = { name: "drc", defaultPort: 9102 }\n')
  await cp(join(REPO, TEMPLATE_DIR), join(root, TEMPLATE_DIR), { recursive: true })
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(ScaffoldError)
    return (err as ScaffoldError).problems
  }
  throw new Error('expected a ScaffoldError')
}

describe('planConnector', () => {
  it('plans the connector folder, the schemas and the changes to the catalog and the registry', async () => {
    const plan = await planConnector({ root, id: 'water-drainage', department: 'water', system: '水务 排水许可系统' })
    expect(plan.names).toMatchObject({ port: 9103, resource: 'drainage-record', resourceCode: '0/00/000/000000/00002' })
    expect(plan.files.map((f) => `${f.action} ${f.path}`)).toEqual([
      'create connectors/water-drainage/README.md',
      'create connectors/water-drainage/conformance.test.ts',
      'create connectors/water-drainage/connector.test.ts',
      'create connectors/water-drainage/connector.ts',
      'create connectors/water-drainage/index.ts',
      'create connectors/water-drainage/mapping.ts',
      'create connectors/water-drainage/options.ts',
      'create schemas/resources/water/drainage-record.record.json',
      'create schemas/resources/water/drainage-record.request.json',
      'create connectors/water-drainage/signing.ts',
      'create connectors/water-drainage/simulator/index.ts',
      'create connectors/water-drainage/simulator/seed.ts',
      'create connectors/water-drainage/simulator/server.ts',
      'create connectors/water-drainage/wire.ts',
      'change catalog.yaml',
      'change connectors/registry.ts',
      'change connectors/simulators.ts',
    ])
    const catalog = parse(plan.files.find((f) => f.path === 'catalog.yaml')?.content ?? '')
    expect(catalog.connectors['water-drainage'].options.baseUrl).toBe(
      `\${QIAO_WATER_DRAINAGE_URL:-http://127.0.0.1:9103}`,
    )
    expect(catalog.resources.at(-1)).toMatchObject({
      id: 'water.drainage-record',
      provider: 'water',
      sharing: { type: 'unconditional' },
      updateCycle: 'realtime',
      read: { operation: 'records', request: 'schemas/resources/water/drainage-record.request.json' },
    })
    expect(nextSteps(plan).join('\n')).toContain('npx vitest run connectors/water-drainage')
    // Nothing is written by planning.
    expect(existsSync(join(root, 'connectors/water-drainage'))).toBe(false)
    expect(await readFile(join(root, 'catalog.yaml'), 'utf8')).toBe(CATALOG)
  })

  it('lists every problem at once: existing files, catalog entries, a port in use', async () => {
    await put('schemas/resources/water/drainage-record.record.json', '{}')
    await put('connectors/water-drainage/README.md', 'mine')
    const problems = await problemsOf(planConnector({ root, id: 'water-drainage', department: 'water', port: 9101 }))
    expect(problems).toEqual([
      'port 9101 is already used by another simulator or connector default',
      'connectors/water-drainage already exists',
      'schemas/resources/water/drainage-record.record.json already exists',
    ])
  })

  it('refuses a malformed id, an unknown department, a catalog outside the root', async () => {
    expect(await problemsOf(planConnector({ root, id: 'Water', department: 'water' }))).toEqual([
      'connector id "Water" must be lower-case words joined by dashes, at least two (e.g. water-drainage)',
    ])
    expect(await problemsOf(planConnector({ root, id: 'water-drainage', department: 'nope' }))).toEqual([
      'unknown department "nope" in catalog.yaml (departments: housing, water)',
    ])
    expect(
      (await problemsOf(planConnector({ root, id: 'a-b', department: 'water', catalog: '../x.yaml' })))[0],
    ).toMatch(/^--catalog must be a file inside/)
  })

  it('refuses an id the catalog or the registry already has', async () => {
    const problems = await problemsOf(planConnector({ root, id: 'housing-gongai', department: 'housing' }))
    expect(problems).toContain('catalog.yaml already has a connector "housing-gongai"')
    expect(problems).toContain('connectors/registry.ts already imports ./housing-gongai/index.js')
    expect(problems).toContain('connectors/simulators.ts already imports ./housing-gongai/simulator/index.js')
  })
})

describe('writePlan', () => {
  it('writes the plan; a second run is refused', async () => {
    const plan = await planConnector({ root, id: 'water-drainage', department: 'water' })
    await writePlan(root, plan)
    for (const file of plan.files) expect(await readFile(join(root, file.path), 'utf8')).toBe(file.content)
    const problems = await problemsOf(planConnector({ root, id: 'water-drainage', department: 'water' }))
    expect(problems).toContain('connectors/water-drainage already exists')
  })

  it('undoes everything when a file changed since the plan was made', async () => {
    const plan = await planConnector({ root, id: 'water-drainage', department: 'water' })
    await put('connectors/registry.ts', `${REGISTRY}// edited meanwhile\n`)
    await expect(writePlan(root, plan)).rejects.toThrow('connectors/registry.ts changed')
    expect(existsSync(join(root, 'connectors/water-drainage'))).toBe(false)
    expect(existsSync(join(root, 'schemas'))).toBe(false)
    expect(await readFile(join(root, 'catalog.yaml'), 'utf8')).toBe(CATALOG)
  })
})

describe('templates', () => {
  it('declare the same record fields in the catalog entry and the record schema', async () => {
    const n = names('water-drainage', '水务 排水许可系统')
    const schema = JSON.parse(
      connectorFiles(await readTemplate(REPO), n).find((f) => f.path.endsWith('.record.json'))?.content ?? '{}',
    )
    expect(Object.keys(schema.properties)).toEqual(RECORD_FIELDS.map((f) => f.key))
    expect(schema.required).toEqual(RECORD_FIELDS.map((f) => f.key))
    expect(catalogAddition(n).resource.fields.map((f) => f.key)).toEqual(RECORD_FIELDS.map((f) => f.key))
  })

  it('write a README with the sections of the reference connector, a checklist and aligned tables', async () => {
    const readme = connectorFiles(await readTemplate(REPO), names('water-drainage', '水务 排水许可系统')).find((f) =>
      f.path.endsWith('README.md'),
    )
    const headings = (readme?.content ?? '').split('\n').filter((l) => l.startsWith('## '))
    const reference = (await readFile(join(REPO, 'connectors/housing-gongai/README.md'), 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('## '))
    expect(headings).toEqual([...reference, '## Checklist'])
    const width = (line: string) => [...line].reduce((w, c) => w + (/[\u3000-\u9fff\uff00-\uff60]/u.test(c) ? 2 : 1), 0)
    const tables = (readme?.content ?? '').split('\n\n').filter((block) => block.startsWith('|'))
    expect(tables.length).toBeGreaterThan(4)
    for (const table of tables) expect(new Set(table.split('\n').map(width)).size, table).toBe(1)
  })

  it('generate code that passes biome ci as written, for short and long names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-templates-'))
    try {
      const variants = [
        names('ab-c', '水务'),
        names(`market-enterprise-credit-registry`, '市场监督管理局企业信用信息公示系统（国家企业信用信息公示系统）'),
      ]
      for (const n of variants) {
        for (const file of connectorFiles(await readTemplate(REPO), n)) {
          await mkdir(dirname(join(dir, file.path)), { recursive: true })
          await writeFile(join(dir, file.path), file.content)
        }
      }
      const run = spawnSync(
        join(REPO, 'node_modules', '.bin', 'biome'),
        ['ci', '--colors=off', '--vcs-enabled=false', `--config-path=${join(REPO, 'biome.json')}`, dir],
        { encoding: 'utf8' },
      )
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

function names(id: string, system: string) {
  return scaffoldNames({
    id,
    department: 'water',
    departmentName: '南京市水务局',
    system,
    resourceCode: '0/00/000/000000/00001',
    port: 9199,
    region: '320100',
    catalogFile: 'catalog.yaml',
  })
}
