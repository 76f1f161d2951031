import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { catalogAddition, connectorFiles, planConnector, writePlan } from './generate.js'
import { mdTable, realignTables } from './markdown.js'
import { scaffoldNames } from './names.js'
import { readTemplate, substituteNames, TEMPLATE_CATALOG, TEMPLATE_DIR, TEMPLATE_NAMES } from './template-copy.js'

const REPO = resolve(import.meta.dirname, '../..')

const names = (id: string, system: string) =>
  scaffoldNames({
    id,
    department: 'water',
    departmentName: '南京市水务局',
    system,
    resourceCode: '0/00/000/000000/00001',
    port: 9123,
    region: '320100',
    catalogFile: 'catalog.yaml',
  })

let dirs: string[] = []
beforeEach(() => {
  dirs = []
})
afterEach(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/** A repository root with the demo catalog, the registries and a copy of the template. */
async function repoCopy(): Promise<string> {
  const root = await tempDir('qiao-template-root-')
  for (const file of ['catalog.yaml', 'connectors/registry.ts', 'connectors/simulators.ts']) {
    await mkdir(dirname(join(root, file)), { recursive: true })
    await cp(join(REPO, file), join(root, file))
  }
  await cp(join(REPO, TEMPLATE_DIR), join(root, TEMPLATE_DIR), { recursive: true })
  return root
}

/** Generates `water-drainage` into a fresh root from the template under `templateRoot`; answers signing.ts. */
async function generatedSigning(templateRoot: string): Promise<string> {
  const root = await repoCopy()
  const plan = await planConnector({ root, id: 'water-drainage', department: 'water', templateRoot })
  await writePlan(root, plan)
  return readFile(join(root, 'connectors/water-drainage/signing.ts'), 'utf8')
}

describe('the template connector', () => {
  it('is what connector new copies: a change to its signing changes the generated signing', async () => {
    const original = await readFile(join(REPO, TEMPLATE_DIR, 'signing.ts'), 'utf8')
    // Generated from the template as it is: the same code, byte for byte (signing.ts holds no names).
    expect(await generatedSigning(REPO)).toBe(original)

    // The same template with another sign algorithm (SHA-256 instead of MD5).
    const changedRoot = await tempDir('qiao-template-changed-')
    await cp(join(REPO, TEMPLATE_DIR), join(changedRoot, TEMPLATE_DIR), { recursive: true })
    const changed = original.replace("createHash('md5')", "createHash('sha256')")
    expect(changed).not.toBe(original)
    await writeFile(join(changedRoot, TEMPLATE_DIR, 'signing.ts'), changed)
    expect(await generatedSigning(changedRoot)).toBe(changed)
  })

  it('leaves none of its own names in a generated connector', async () => {
    const template = await readTemplate(REPO)
    const t = TEMPLATE_NAMES
    const leftovers = new RegExp(
      [t.id, t.camel, t.pascal, t.envPrefix, t.departmentName, t.system, t.resource, `\`${t.department}\``].join('|'),
    )
    for (const n of [names('water-drainage', '水务 排水许可系统'), names('ab-c', '水务')]) {
      const files = connectorFiles(template, n)
      expect(files.map((f) => f.path).filter((p) => !p.startsWith(`${n.connectorDir}/`))).toEqual([
        `${n.schemaDir}/${n.resource}.record.json`,
        `${n.schemaDir}/${n.resource}.request.json`,
      ])
      for (const file of files) {
        expect(leftovers.exec(file.content)?.[0], file.path).toBeUndefined()
        expect(file.content, file.path).not.toMatch(/\b9100\b|\b110000\b|\bTE[0-9<']|template-only/)
      }
      const conformance = files.find((f) => f.path.endsWith('/conformance.test.ts'))?.content ?? ''
      expect(conformance).toContain(`catalogFile: '${n.catalogFile}',`)
      expect(conformance).toContain(`instance: '${n.id}',`)
    }
  })

  it('replaces whole names only, and never a replacement again', () => {
    const n = names('template-envelope-two', '模板系统二')
    expect(substituteNames("'template-envelope' templateEnvelope 模板系统 TEMPLATE 9100x TE2026", n)).toBe(
      "'template-envelope-two' templateEnvelopeTwo 模板系统二 TEMPLATE 9100x TET2026",
    )
  })

  it('runs its conformance test against the entries connector new writes into a catalog', async () => {
    const catalog = parse(await readFile(join(REPO, TEMPLATE_CATALOG), 'utf8'), { schema: 'core' })
    const addition = catalogAddition(TEMPLATE_NAMES)
    expect(catalog.connectors[addition.connectorId]).toEqual(addition.connector)
    const resource = catalog.resources.find((r: { id: string }) => r.id === addition.resource.id)
    // The same entry; only the schema paths point at the template's own folder.
    expect({ ...resource, read: { ...resource.read, request: 'r', response: 'r' } }).toEqual({
      ...addition.resource,
      read: { ...addition.resource.read, request: 'r', response: 'r' },
    })
    expect(resource.read.request).toBe(`schemas/${TEMPLATE_NAMES.resource}.request.json`)
    expect(catalog.departments.map((d: { code: string }) => d.code)).toEqual([TEMPLATE_NAMES.department])
  })
})

describe('realignTables', () => {
  it('pads the columns of every table again and leaves other lines alone', () => {
    const table = mdTable([
      ['Key', 'Value'],
      ['`a`', '长的值'],
    ])
    const squashed = 'text | not a table\n\n| Key | Value |\n| - | - |\n| `a` | 长的值 |\n\nafter'
    expect(realignTables(squashed)).toBe(`text | not a table\n\n${table}\n\nafter`)
    expect(table).toBe('| Key | Value  |\n| --- | ------ |\n| `a` | 长的值 |')
  })
})
