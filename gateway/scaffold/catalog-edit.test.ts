import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { addToCatalog, type CatalogAddition, CatalogEditError, readCatalogFacts } from './catalog-edit.js'

// Not an id test/connector-new.e2e.test.ts generates: the real catalog may already hold that one.
const addition: CatalogAddition = {
  connectorId: 'water-sample',
  connector: {
    type: 'water-sample',
    department: 'water',
    options: { baseUrl: `\${QIAO_WATER_SAMPLE_URL:-http://127.0.0.1:9103}`, appKey: 'k', appSecret: 's' },
  },
  resource: {
    id: 'water.sample-record',
    code: '0/00/000/000000/00001',
    name: '排水许可记录',
    summary: '按记录编号查询。',
    provider: 'water',
    sharing: { type: 'unconditional', mode: '接口' },
    updateCycle: 'realtime',
    connector: 'water-sample',
    read: { operation: 'records', request: 'a.json', response: 'b.json', cardinality: 'one' },
    fields: [{ key: 'recordNo', name: '记录编号', sensitivity: 'public' }],
  },
  resourceComment: 'Generated: replace the placeholder code.',
}

/** True when every line of `original` appears in `result`, in order: the edit only inserted lines. */
function onlyInserted(original: string, result: string): boolean {
  const lines = result.split('\n')
  let at = 0
  for (const line of original.split('\n')) {
    while (at < lines.length && lines[at] !== line) at++
    if (at === lines.length) return false
    at++
  }
  return true
}

describe('addToCatalog', () => {
  it('adds the connector and the resource to the real catalog, leaving every existing line as it was', () => {
    const original = readFileSync('catalog.yaml', 'utf8')
    const result = addToCatalog(original, addition)
    expect(onlyInserted(original, result)).toBe(true)
    const data = parse(result, { schema: 'core' })
    expect(data.connectors['water-sample']).toEqual(addition.connector)
    expect(data.resources.at(-1)).toEqual(addition.resource)
    expect(result).toContain(
      [
        '  water-sample:',
        '    type: water-sample',
        '    department: water',
        '    options:',
        `      baseUrl: \${QIAO_WATER_SAMPLE_URL:-http://127.0.0.1:9103}`,
      ].join('\n'),
    )
    expect(result).toContain(
      [
        '',
        '  # Generated: replace the placeholder code.',
        '  - id: water.sample-record',
        '    code: 0/00/000/000000/00001',
      ].join('\n'),
    )
    expect(result).toContain('    sharing: { type: unconditional, mode: 接口 }\n')
    expect(result).toContain('      - { key: recordNo, name: 记录编号, sensitivity: public }\n')
    // Comments and the quoted region survive.
    expect(result).toContain('# Schema paths are relative to this file.')
    expect(result).toContain('region: "320100"')
  })

  it('adds the sections when the catalog has none, before matters', () => {
    const original =
      'version: "1"\ndepartments:\n  - { code: water, name: 水务局, uscc: "113201000024930642" }\n\nmatters: []\n'
    const result = addToCatalog(original, addition)
    expect(onlyInserted(original, result)).toBe(true)
    const data = parse(result)
    expect(Object.keys(data)).toEqual(['version', 'departments', 'connectors', 'resources', 'matters'])
    expect(data.resources).toHaveLength(1)
  })

  it('falls back to the Document API for empty or flow sections, keeping comments', () => {
    const original = '# keep me\nversion: "1"\ndepartments: []\nconnectors: {}\nresources:\n'
    const data = parse(addToCatalog(original, addition))
    expect(Object.keys(data.connectors)).toEqual(['water-sample'])
    expect(data.resources).toHaveLength(1)
    expect(addToCatalog(original, addition)).toContain('# keep me')
  })

  it('refuses a catalog that is not valid YAML', () => {
    expect(() => addToCatalog('version: [', addition)).toThrow(CatalogEditError)
  })
})

describe('readCatalogFacts', () => {
  it('lists departments, ids, codes, region and loopback ports', () => {
    const facts = readCatalogFacts(readFileSync('catalog.yaml', 'utf8'))
    expect(facts.departments.get('water')).toMatchObject({ code: 'water', name: '南京市水务局', shortName: '水务' })
    expect(facts.connectors.has('housing-gongai')).toBe(true)
    expect(facts.resources.has('housing.construction-permit')).toBe(true)
    expect(facts.resourceCodes.has('3/05/001/000001/00012')).toBe(true)
    expect(facts.region).toBe('320100')
    expect(facts.ports).toContain(9101)
  })
})
