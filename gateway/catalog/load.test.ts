import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ConnectorDefinition } from '../../connectors/kit/types.js'
import { connectorDefinitions } from '../../connectors/registry.js'
import { loadCatalog, loadCatalogText } from './load.js'
import { type Catalog, formatIssue, grantKey } from './types.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = join(root, 'test/fixtures/catalogs')
const base = readFileSync(join(fixtures, 'base.yaml'), 'utf8')

function fakeDefinition(
  type: string,
  operations: Record<string, 'read' | 'write'>,
  optionsSchema: Record<string, unknown>,
): ConnectorDefinition<never> {
  return {
    type,
    system: `${type} (test double)`,
    operations: Object.fromEntries(
      Object.entries(operations).map(([name, kind]) => [name, { kind, description: name }]),
    ),
    optionsSchema,
    create: () => {
      throw new Error('not used by the loader')
    },
  }
}

const housingGongai = fakeDefinition(
  'housing-gongai',
  { constructionPermits: 'read', drawingReviews: 'read', completionFilings: 'read' },
  {
    type: 'object',
    properties: {
      baseUrl: { type: 'string', format: 'uri' },
      appKey: { type: 'string' },
      appSecret: { type: 'string' },
    },
    required: ['baseUrl', 'appKey', 'appSecret'],
    additionalProperties: false,
  },
)
const drcOnline = fakeDefinition(
  'drc-online',
  { projectInfo: 'read', pushFiling: 'write' },
  { type: 'object', additionalProperties: false },
)
const definitions = new Map([
  [housingGongai.type, housingGongai],
  [drcOnline.type, drcOnline],
])
const baseVars = { TEST_GONGAI_KEY: 'key-1' }

function load(text: string, vars: Record<string, string | undefined> = baseVars) {
  return loadCatalogText(text, { definitions, vars, file: 'test.yaml', baseDir: fixtures })
}

/** Every issue as `test.yaml:LINE:COL message`. */
function issuesOf(text: string, vars?: Record<string, string | undefined>): string[] {
  const result = load(text, vars)
  return result.ok ? [] : result.issues.map(formatIssue)
}

function loaded(text: string, vars?: Record<string, string | undefined>): Catalog {
  const result = load(text, vars)
  if (!result.ok) throw new Error(`expected the catalog to load:\n${result.issues.map(formatIssue).join('\n')}`)
  return result.catalog
}

/** base.yaml with each `from` (its first occurrence) replaced by `to`. */
function edit(...replacements: [from: string, to: string][]): string {
  let text = base
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`base.yaml has no ${JSON.stringify(from)}`)
    text = text.replace(from, to)
  }
  return text
}

/** `test.yaml:LINE:COL` of `needle` in `text` (the `nth` occurrence, 1-based), moved right by `shift` characters. */
function at(text: string, needle: string, { nth = 1, shift = 0 } = {}): string {
  let offset = -1
  for (let i = 0; i < nth; i++) {
    offset = text.indexOf(needle, offset + 1)
    if (offset < 0) throw new Error(`no ${JSON.stringify(needle)} #${nth} in the text`)
  }
  offset += shift
  const before = text.slice(0, offset).split('\n')
  return `test.yaml:${before.length}:${(before.at(-1) ?? '').length + 1}`
}

/** Line number of the first `needle` in `text`. */
function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split('\n').length
}

describe('the demo catalog', async () => {
  // The real registry: the demo catalog uses every registered connector type.
  const result = await loadCatalog(join(root, 'catalog.yaml'), { definitions: connectorDefinitions, vars: {} })
  const catalog = result.ok ? result.catalog : undefined

  it('loads without issues or warnings', () => {
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([])
    expect(result.ok && result.warnings).toEqual([])
  })

  it('has every entry', () => {
    if (!catalog) throw new Error('not loaded')
    expect(catalog.version).toBe('2026.11-demo.2')
    // The demo's own entries, first and in this order: \`qiao department add\` and \`qiao connector new\` append theirs.
    const first = (keys: Iterable<string>, count: number) => [...keys].slice(0, count)
    expect(first(catalog.departments.keys(), 6)).toEqual(['drc', 'housing', 'natres', 'market', 'urban', 'water'])
    expect(first(catalog.resources.keys(), 9)).toEqual([
      'housing.construction-permit',
      'housing.drawing-review',
      'housing.completion-filing',
      'housing.security-applicant',
      'drc.investment-project',
      'drc.company-projects',
      'drc.approval-result',
      'drc.permit-feedback',
      'market.enterprise-registration',
    ])
    expect(first(catalog.connectors.keys(), 3)).toEqual(['housing-gongai', 'drc-tzxm', 'market-qzk'])
    // Neither command adds a matter or a grant.
    expect(catalog.matters.size).toBe(7)
    expect(catalog.grants.size).toBe(17)
    expect(catalog.file).toBe(join(root, 'catalog.yaml'))
    expect(catalog.digest).toBe(
      createHash('sha256')
        .update(readFileSync(join(root, 'catalog.yaml')))
        .digest('hex'),
    )
    expect(catalog.usccExceptions.size).toBe(0)
  })

  it('finds grants by grantKey, with their released fields', () => {
    const grant = catalog?.grants.get(grantKey('QT00301001', 'housing.construction-permit', 'read', 'drc'))
    expect(grant?.masked).toEqual(['ownerLeadName', 'ownerLeadIdNo', 'ownerLeadPhone'])
    expect(grant?.fields).toContain('contractPriceWanYuan')
    expect(grant?.usage).toBe('业务协同')
    expect(catalog?.grants.get(grantKey('QT00301001', 'housing.construction-permit', 'read', 'urban'))).toBeUndefined()
    const open = catalog?.grants.get(grantKey('QT00301001', 'housing.drawing-review', 'read', 'drc'))
    expect(open?.approval).toBeUndefined()
    expect(open?.validFromMs).toBeUndefined()
  })

  it('turns approval dates into Asia/Shanghai day bounds, the end exclusive', () => {
    const grant = catalog?.grants.get(grantKey('XK00377001', 'housing.construction-permit', 'read', 'water'))
    expect(grant?.approval).toMatchObject({ validFrom: '2024-03-01', validTo: '2025-06-30' })
    expect(grant?.validFromMs).toBe(Date.parse('2024-03-01T00:00:00+08:00'))
    expect(grant?.validUntilMs).toBe(Date.parse('2025-07-01T00:00:00+08:00'))
    // 2028-02-29 is a leap day: the approval runs until midnight at the start of 1 March.
    const leap = catalog?.grants.get(grantKey('XK00208001', 'housing.construction-permit', 'read', 'urban'))
    expect(leap?.validUntilMs).toBe(Date.parse('2028-03-01T00:00:00+08:00'))
  })

  it('binds resources to connectors, operations and compiled schemas', () => {
    const permit = catalog?.resources.get('housing.construction-permit')
    expect(permit?.timeoutMs).toBe(5000)
    expect(permit?.read?.operation).toBe('constructionPermits')
    expect(permit?.read?.cardinality).toBe('many')
    expect(permit?.read?.request.path).toBe('schemas/resources/housing/construction-permit.request.json')
    expect(permit?.fieldsByKey.get('ownerLeadIdNo')).toMatchObject({
      sensitivity: 'sensitive-personal',
      mask: { rule: 'idcard' },
    })
    expect(permit?.read?.request.validate({ projectCode: '2401-320100-04-01-123456' })).toBe(true)
    expect(permit?.read?.request.validate({ projectCode: '2401-320100-04-01-123456', permitNo: '1' })).toBe(false)
    expect(permit?.read?.request.validate.errors?.length).toBeGreaterThan(0)
    const none = catalog?.resources.get('housing.security-applicant')
    expect(none?.connector).toBeUndefined()
    expect(none?.read).toBeUndefined()
    const connector = catalog?.connectors.get('housing-gongai')
    expect(connector?.definition).toBe(connectorDefinitions.get('housing-gongai'))
    expect(connector?.options).toEqual({
      baseUrl: 'http://127.0.0.1:9101',
      appKey: 'qiao-gateway',
      appSecret: 'demo-secret-change-me',
    })
  })

  it('is frozen all the way down', () => {
    if (!catalog) throw new Error('not loaded')
    const permit = catalog.resources.get('housing.construction-permit')
    const grant = catalog.grants.get(grantKey('QT00301001', 'housing.construction-permit', 'read', 'drc'))
    for (const value of [
      catalog,
      permit,
      permit?.sharing,
      permit?.fields,
      permit?.fields[10]?.mask,
      grant,
      grant?.fields,
    ]) {
      expect(Object.isFrozen(value)).toBe(true)
    }
    expect(Object.isFrozen(catalog.connectors.get('housing-gongai')?.options)).toBe(true)
    if (!grant) throw new Error('no grant')
    expect(() => {
      ;(grant.fields as string[]).push('ownerLeadIdNo')
    }).toThrow(TypeError)
    // The connector definition belongs to its module and is left alone.
    expect(Object.isFrozen(housingGongai)).toBe(false)
  })
})

describe('a test catalog', () => {
  it('loads, with defaults filled in', () => {
    const catalog = loaded(base)
    expect(catalog.resources.get('housing.review')?.timeoutMs).toBe(2000)
    expect(catalog.resources.get('housing.permit')?.fieldsByKey.get('leadIdNo')?.mask).toEqual({
      rule: 'idcard',
      keepStart: 6,
    })
    const write = catalog.grants.get(grantKey('QR00112001', 'drc.filing', 'write', 'housing'))
    expect(write).toMatchObject({ action: 'write', fields: [], masked: [] })
    expect(
      catalog.resources.get('drc.filing')?.write?.request.validate({ projectCode: '2401-320100-04-01-123456' }),
    ).toBe(true)
    expect(catalog.matters.get('QR00112001')?.scene).toBe('建设项目开工"一件事"')
  })

  it('reports three independent mistakes with their exact positions', async () => {
    const file = join(fixtures, 'three-mistakes.yaml')
    const result = await loadCatalog(file, { definitions, displayName: 'three-mistakes.yaml' })
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      'three-mistakes.yaml:15:16 resources[0].connector: unknown connector "gongai"',
      'three-mistakes.yaml:34:28 matters[0].grants[0].fields[1]: housing.review has no field "reviewDate"',
      'three-mistakes.yaml:35:30 matters[0].grants[0].approval: unknown property "approvdBy"',
    ])
  })

  it('reports a file that cannot be read at 1:1', async () => {
    const result = await loadCatalog(join(fixtures, 'no-such-catalog.yaml'), { definitions, displayName: 'x.yaml' })
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual(['x.yaml:1:1 cannot read the catalog (ENOENT)'])
  })
})

describe('YAML errors', () => {
  it('reports syntax errors where the parser found them', () => {
    const text = edit(['  - { code: natres, name: 规划和自然资源局, uscc: 1132010000249303XC }', '  - { code: natres'])
    expect(issuesOf(text)).toEqual([
      `${at(text, 'connectors:')} YAML: Flow map in block collection must be sufficiently indented and end with a }`,
    ])
  })

  it('reports a mis-indented entry', () => {
    const text = edit(['    department: housing\n    options:', '    department: housing\n   options:'])
    const issues = issuesOf(text)
    expect(issues.length).toBeGreaterThan(0)
    expect(issues[0]).toMatch(new RegExp(`^${at(text, '   options:')} YAML: `))
  })

  it('reports duplicate keys (here a connector id) and goes on checking', () => {
    const text = edit(['  online:\n', '  online:\n    type: drc-online\n    department: drc\n  online:\n'])
    expect(issuesOf(text)).toEqual([`${at(text, 'online:', { nth: 2 })} YAML: duplicate key "online"`])
    const both = edit(['version: test-1', 'version: test-1\nversion: 2'])
    expect(issuesOf(both)).toEqual([
      `${at(both, 'version: 2')} YAML: duplicate key "version"`,
      `${at(both, 'version: 2', { shift: 9 })} version must be a string`,
    ])
  })

  it('wants exactly one non-empty document', () => {
    expect(issuesOf('')).toEqual(['test.yaml:1:1 the catalog is empty'])
    expect(issuesOf(`${base}---\nversion: x\n`)).toEqual([
      `test.yaml:${base.split('\n').length}:1 YAML: the catalog must be a single YAML document (remove the second ---)`,
    ])
    expect(issuesOf('- just\n- a list\n')).toEqual(['test.yaml:1:1 catalog must be a mapping'])
  })
})

describe('schema errors', () => {
  it('names the path and the rule', () => {
    const text = edit(
      ['sharing: { type: unconditional }', 'sharing: { type: sometimes }'],
      ['timeoutMs: 2000', 'timeoutMs: fast'],
      ['updateCycle: realtime', 'updateCycle: hourly'],
      ['validFrom: 2026-01-01', 'validFrom: 2026-02-30'],
      ['mask: name }', 'mask: nickname }'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'hourly')} resources[0].updateCycle must be one of: realtime, daily, weekly, monthly, quarterly, half-yearly, yearly, irregular`,
      `${at(text, 'nickname')} resources[0].fields[1].mask must be one of: idcard, phone, landline, name, address, bankcard, email, keep, redact`,
      `${at(text, 'sometimes')} resources[1].sharing.type must be one of: unconditional, conditional, none`,
      `${at(text, 'fast')} resources[1].timeoutMs must be an integer`,
      `${at(text, '2026-02-30')} matters[0].grants[0].approval.validFrom must be a date YYYY-MM-DD`,
    ])
  })

  it('reports missing and unknown properties at the mapping and at the key', () => {
    const text = edit(
      ['version: test-1\n', 'versoin: test-1\n'],
      ['    summary: 施工图审查结论\n', ''],
      ['        usage: 数据校核\n', '        usage: 数据校核\n        feilds: [reviewNo]\n'],
    )
    expect(issuesOf(text)).toEqual([
      'test.yaml:2:1 catalog: missing required property "version"',
      'test.yaml:2:1 catalog: unknown property "versoin"',
      `${at(text, 'id: housing.review')} resources[1]: missing required property "summary"`,
      `${at(text, 'feilds')} matters[1].grants[0]: unknown property "feilds"`,
    ])
  })

  it('checks patterns, ranges and connector ids', () => {
    const text = edit(
      ['  - { code: natres,', '  - { code: N,'],
      ['  online:\n', '  Online_1:\n'],
      ['timeoutMs: 2000', 'timeoutMs: 50'],
      ['code: QR00112001', 'code: "QR:001"'],
    )
    // The bad codes themselves are reported once; their cross-references are checked against them as written.
    expect(issuesOf(text)).toEqual([
      `${at(text, 'N,')} departments[2].code must match ^[a-z][a-z0-9-]{1,31}$`,
      `${at(text, 'Online_1')} connectors: key "Online_1" must match ^[a-z][a-z0-9-]{1,63}$`,
      `${at(text, '50')} resources[1].timeoutMs must be >= 100`,
      `${at(text, 'connector: online', { shift: 11 })} resources[3].connector: unknown connector "online"`,
      `${at(text, '"QR:001"')} matters[1].code must match ^[A-Za-z0-9._-]{1,64}$`,
      `${at(text, 'owner: natres', { shift: 7 })} matters[1].owner: unknown department "natres"`,
      `${at(text, 'consumer: natres', { shift: 10 })} matters[1].grants[0].consumer: unknown department "natres"`,
    ])
  })

  it('removes values of the wrong type before the cross-reference checks', () => {
    const text = edit([
      '    provider: housing\n    sharing: { type: unconditional }',
      '    provider: [housing]\n    sharing: { type: unconditional }',
    ])
    expect(issuesOf(text)).toEqual([`${at(text, '[housing]')} resources[1].provider must be a string`])
  })
})

describe('connector options', () => {
  const gongaiOptions = (catalog: Catalog) => catalog.connectors.get('gongai')?.options

  it(`fills \${NAME} from the variables and \${NAME:-default} from its default when unset or empty`, () => {
    expect(gongaiOptions(loaded(base))).toEqual({
      baseUrl: 'http://127.0.0.1:9101',
      appKey: 'key-1',
      appSecret: 'not-a-real-secret',
    })
    expect(gongaiOptions(loaded(base, { ...baseVars, TEST_GONGAI_URL: '' }))?.baseUrl).toBe('http://127.0.0.1:9101')
    expect(gongaiOptions(loaded(base, { ...baseVars, TEST_GONGAI_URL: 'https://gongai.example' }))?.baseUrl).toBe(
      'https://gongai.example',
    )
    const embedded = edit(['appSecret: not-a-real-secret', `appSecret: pre-\${TEST_GONGAI_KEY}-\${NOPE:-x}-post`])
    expect(gongaiOptions(loaded(embedded))?.appSecret).toBe('pre-key-1-x-post')
  })

  it('reports a variable that is not set and has no default at its string', () => {
    expect(issuesOf(base, {})).toEqual([
      `${at(base, `\${TEST_GONGAI_KEY}`)} connectors.gongai.options.appKey: environment variable TEST_GONGAI_KEY is not set and has no default`,
    ])
  })

  it('validates options against the type, without echoing values', () => {
    const text = edit(['appSecret: not-a-real-secret', 'appScret: not-a-real-secret'])
    expect(issuesOf(text, { ...baseVars, TEST_GONGAI_URL: 'not a url secret' })).toEqual([
      `${at(text, 'baseUrl')} connectors.gongai.options: missing required property "appSecret"`,
      `${at(text, `\${TEST_GONGAI_URL`)} connectors.gongai.options.baseUrl must be a valid uri`,
      `${at(text, 'appScret')} connectors.gongai.options: unknown property "appScret"`,
    ])
  })

  it('checks the type and the department', () => {
    const text = edit(['type: drc-online', 'type: drc-offline'], ['department: housing', 'department: transport'])
    expect(issuesOf(text)).toEqual([
      `${at(text, 'transport')} connectors.gongai.department: unknown department "transport"`,
      `${at(text, 'drc-offline')} connectors.online.type: unknown connector type "drc-offline" (registered: housing-gongai, drc-online)`,
    ])
  })
})

describe('cross-references', () => {
  it('finds duplicate codes, ids and USCCs', () => {
    const text = edit(
      [
        'code: natres, name: 规划和自然资源局, uscc: 1132010000249303XC',
        'code: drc, name: 规划和自然资源局, uscc: 11320100002493021L',
      ],
      ['id: housing.review', 'id: housing.permit'],
      ['code: 3/05/001/000001/00010', 'code: 3/05/001/000001/00012'],
      ['code: QR00112001', 'code: QT00301001'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'drc,', { nth: 2 })} departments[2].code: duplicate department code "drc" (first at line 4)`,
      `${at(text, '11320100002493021L', { nth: 2 })} departments[2].uscc: duplicate department uscc "11320100002493021L" (first at line 5)`,
      `${at(text, 'housing.permit', { nth: 2 })} resources[1].id: duplicate resource id "housing.permit" (first at line ${lineOf(text, 'housing.permit')})`,
      `${at(text, '3/05/001/000001/00012', { nth: 2 })} resources[1].code: duplicate resource code "3/05/001/000001/00012" (first at line ${lineOf(text, '3/05/001/000001/00012')})`,
      // The second housing.permit is not registered, so grants on the renamed housing.review now miss it.
      `${at(text, 'resource: housing.review', { shift: 10 })} matters[0].grants[1].resource: unknown resource "housing.review"`,
      `${at(text, 'QT00301001', { nth: 2 })} matters[1].code: duplicate matter code "QT00301001" (first at line ${lineOf(text, 'QT00301001')})`,
      `${at(text, 'owner: natres', { shift: 7 })} matters[1].owner: unknown department "natres"`,
      `${at(text, 'consumer: natres', { shift: 10 })} matters[1].grants[0].consumer: unknown department "natres"`,
      `${at(text, 'resource: housing.review', { nth: 2, shift: 10 })} matters[1].grants[0].resource: unknown resource "housing.review"`,
    ])
  })

  it('checks the USCC check character, allowing listed exceptions', () => {
    const text = edit(['uscc: 1132010000249303XC', 'uscc: 11320100002493030C'])
    expect(issuesOf(text)).toEqual([
      `${at(text, '11320100002493030C')} departments[2].uscc: 11320100002493030C fails the GB 32100 check character (list real exceptions under identifiers.usccExceptions)`,
    ])
    expect(
      load(text.replace('version: test-1', 'version: test-1\nidentifiers: { usccExceptions: [11320100002493030C] }'))
        .ok,
    ).toBe(true)
  })

  it('checks providers, id prefixes and resource codes', () => {
    const text = edit(
      ['id: housing.review', 'id: review.drawings'],
      ['    provider: housing\n    sharing: { type: none', '    provider: land\n    sharing: { type: none'],
      ['code: 3/02/001/000001/00003', 'code: DRC-0003'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'review.drawings')} resources[1].id: the part before the dot must be the provider "housing", not "review"`,
      `${at(text, 'land')} resources[2].provider: unknown department "land"`,
      `${at(text, 'DRC-0003')} resources[3].code must match resourceCodePattern ^[0-9](/[0-9A-Za-z]+)+$`,
      `${at(text, 'resource: housing.review', { shift: 10 })} matters[0].grants[1].resource: unknown resource "housing.review"`,
      `${at(text, 'resource: housing.review', { nth: 2, shift: 10 })} matters[1].grants[0].resource: unknown resource "housing.review"`,
    ])
    const custom = text.replace('version: test-1', 'version: test-1\nresourceCodePattern: "^DRC-[0-9]{4}$"')
    expect(issuesOf(custom)).toContain(
      `${at(custom, '3/05/001/000001/00012')} resources[0].code must match resourceCodePattern ^DRC-[0-9]{4}$`,
    )
    const broken = base.replace('version: test-1', 'version: test-1\nresourceCodePattern: "^(["')
    expect(issuesOf(broken)[0]).toBe(
      'test.yaml:3:22 resourceCodePattern is not a valid regular expression (Unterminated character class)',
    )
  })

  it('checks connectors of resources and their operations', () => {
    const text = edit(
      ['    connector: online', '    connector: gongai'],
      ['operation: drawingReviews', 'operation: drawingReview'],
      ['    connector: gongai\n    timeoutMs: 2000\n', '    timeoutMs: 2000\n'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'read:', { nth: 2 })} resources[1]: read needs a connector`,
      `${at(text, 'connector: gongai', { nth: 2, shift: 11 })} resources[3].connector: connector "gongai" belongs to department "housing", not to the provider "drc"`,
      `${at(text, 'pushFiling')} resources[3].write.operation: connector type housing-gongai has no operation "pushFiling" (operations: constructionPermits, drawingReviews, completionFilings)`,
    ])
    const wrongKind = edit(['operation: pushFiling', 'operation: projectInfo'])
    expect(issuesOf(wrongKind)).toEqual([
      `${at(wrongKind, 'projectInfo')} resources[3].write.operation: operation "projectInfo" is a read operation`,
    ])
  })

  it('applies the sharing-type rules', () => {
    const text = edit(
      [
        'sharing: { type: conditional, condition: 仅限审批监管, legalBasis: 政务数据共享条例 }',
        'sharing: { type: conditional }',
      ],
      ['sharing: { type: none, legalBasis: 个人信息保护法 }', 'sharing: { type: none }'],
      [
        '    updateCycle: daily\n    fields:\n      - { key: applicantName',
        '    updateCycle: daily\n    write: { operation: pushFiling, request: schemas/filing.request.json }\n    fields:\n      - { key: applicantName',
      ],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, '{ type: conditional }')} resources[0].sharing: conditional sharing needs a condition`,
      `${at(text, '{ type: conditional }')} resources[0].sharing: conditional sharing needs a legalBasis`,
      `${at(text, '{ type: none }')} resources[2].sharing: sharing type none needs a legalBasis`,
      `${at(text, 'write: { operation: pushFiling')} resources[2]: a resource with sharing type none cannot have write`,
      `${at(text, 'write: { operation: pushFiling')} resources[2]: write needs a connector`,
    ])
  })
})

describe('resource schema files', () => {
  it('reports a missing, non-JSON or uncompilable file at the catalog line that names it', () => {
    // Kept out of the fixtures so that Biome, which checks every .json file in the repo, does not trip over it.
    const notJson = join(mkdtempSync(join(tmpdir(), 'qiao-catalog-')), 'not-json.json')
    writeFileSync(notJson, '{ "type": "object", }\n')
    const text = edit(
      ['request: schemas/permit.request.json', 'request: schemas/missing.json'],
      ['response: schemas/review.record.json', `response: ${notJson}`],
      ['request: schemas/filing.request.json', 'request: schemas/bad-compile.json'],
    )
    const issues = issuesOf(text)
    expect(issues).toHaveLength(3)
    expect(issues[0]).toBe(
      `${at(text, 'schemas/missing.json')} resources[0].read.request: schema file not found: schemas/missing.json`,
    )
    expect(issues[1]).toContain(`${at(text, notJson)} resources[1].read.response: ${notJson} is not valid JSON: `)
    expect(issues[2]).toBe(
      `${at(text, 'schemas/bad-compile.json')} resources[3].write.request: schemas/bad-compile.json does not compile: schema is invalid: data/properties/permitNo/type must be equal to one of the allowed values, data/properties/permitNo/type must be array, data/properties/permitNo/type must match a schema in anyOf`,
    )
  })

  it('compiles a file shared by two resources once, but refuses two files with one $id', () => {
    expect(load(base).ok).toBe(true) // permit.request.json serves housing.permit and housing.review
    const text = edit(['response: schemas/review.record.json', 'response: schemas/same-id.json'])
    expect(issuesOf(text)).toContain(
      `${at(text, 'schemas/same-id.json')} resources[1].read.response: schemas/same-id.json has $id "urn:qiao-test:permit:record", which schemas/permit.record.json already uses`,
    )
  })

  it('wants a closed object response schema whose properties are exactly the fields', () => {
    const open = edit(['response: schemas/review.record.json', 'response: schemas/open.record.json'])
    expect(issuesOf(open)).toEqual([
      `${at(open, 'schemas/open.record.json')} resources[1].read.response: schemas/open.record.json must be an object schema with properties and "additionalProperties": false`,
    ])
    const text = edit(
      [
        '      - { key: areaM2, name: 面积, sensitivity: public }\n',
        '      - { key: areaM3, name: 体积, sensitivity: public }\n',
      ],
      [
        '      - { key: result, name: 审查结论, sensitivity: public }\n',
        '      - { key: reviewNo, name: 编号, sensitivity: public }\n',
      ],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'fields:')} resources[0].fields: property "areaM2" of schemas/permit.record.json is not declared in fields`,
      `${at(text, 'areaM3')} resources[0].fields[3].key: "areaM3" is not a property of schemas/permit.record.json`,
      `${at(text, 'fields:', { nth: 2 })} resources[1].fields: property "result" of schemas/review.record.json is not declared in fields`,
      `${at(text, 'reviewNo, name: 编号')} resources[1].fields[1].key: duplicate field key "reviewNo" (first at line ${lineOf(text, 'key: reviewNo')})`,
      `${at(text, 'fields: [permitNo, areaM2]', { shift: 19 })} matters[0].grants[0].fields[1]: housing.permit has no field "areaM2"`,
      `${at(text, 'fields: [reviewNo, result]', { shift: 19 })} matters[0].grants[1].fields[1]: housing.review has no field "result"`,
    ])
  })

  it('puts masks on string properties only, and warns when the property has no type', () => {
    const text = edit([
      'key: areaM2, name: 面积, sensitivity: public',
      'key: areaM2, name: 面积, sensitivity: public, mask: keep',
    ])
    expect(issuesOf(text)).toEqual([
      `${at(text, 'mask: keep', { shift: 6 })} resources[0].fields[3].mask: a mask needs a string, but "areaM2" is number`,
    ])
    const untyped = edit([
      'key: result, name: 审查结论, sensitivity: public',
      'key: result, name: 审查结论, sensitivity: public, mask: redact',
    ])
    const result = load(untyped)
    expect(result.ok && result.warnings.map(formatIssue)).toEqual([
      `${at(untyped, 'redact')} resources[1].fields[1].mask: "result" has no type in schemas/review.record.json; masks apply to strings`,
    ])
  })
})

describe('matters and grants', () => {
  it('checks the owner, the consumer and the resource', () => {
    const text = edit(
      ['owner: drc', 'owner: ndrc'],
      ['consumer: natres', 'consumer: housing'],
      ['resource: drc.filing', 'resource: drc.filings'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'ndrc')} matters[0].owner: unknown department "ndrc"`,
      `${at(text, 'consumer: housing', { shift: 10 })} matters[1].grants[0].consumer: "housing" provides housing.review and cannot be granted it`,
      `${at(text, 'drc.filings')} matters[1].grants[1].resource: unknown resource "drc.filings"`,
    ])
  })

  it('needs the binding for the action and the approval for conditional resources', () => {
    const text = edit(
      [
        '        approval: { ref: 宁住建共享〔2026〕3号, approvedBy: housing, validFrom: 2026-01-01, validTo: 2027-12-31 }\n',
        '',
      ],
      [
        '        resource: housing.review\n        action: read\n        usage: 业务协同',
        '        resource: housing.review\n        action: write\n        usage: 业务协同',
      ],
      ['        resource: drc.filing\n        action: write', '        resource: drc.filing\n        action: read'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'consumer: drc')} matters[0].grants[0]: housing.permit is shared conditionally, so the grant needs an approval`,
      `${at(text, 'action: write', { shift: 8 })} matters[0].grants[1].action: housing.review cannot be written (no write binding)`,
      `${at(text, 'drc.filing\n        action: read', { shift: 27 })} matters[1].grants[1].action: drc.filing cannot be read (no read binding)`,
    ])
  })

  it('checks released fields', () => {
    const text = edit(
      ['fields: [permitNo, areaM2]', 'fields: [permitNo, areaM2, leadName, leadIdNo, nope]'],
      ['masked: [leadName, leadIdNo]', 'masked: [leadName, permitNo]'],
      ['        masked: []\n        fields: [reviewNo]\n', '        masked: []\n'],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'nope')} matters[0].grants[0].fields[4]: housing.permit has no field "nope"`,
      `${at(text, 'leadName, permitNo]')} matters[0].grants[0].masked[0]: "leadName" is listed under both fields and masked`,
      `${at(text, 'permitNo]')} matters[0].grants[0].masked[1]: "permitNo" is listed under both fields and masked`,
      `${at(text, 'permitNo]')} matters[0].grants[0].masked[1]: field "permitNo" has no mask rule, so it cannot be masked`,
      `${at(text, 'consumer: natres')} matters[1].grants[0]: the grant releases no fields (list them under fields or masked)`,
    ])
    // leadIdNo is sensitive-personal: allowed in clear because the grant has an approval; leadName only warns.
    const clear = edit(
      ['fields: [permitNo, areaM2]', 'fields: [permitNo, areaM2, leadName, leadIdNo]'],
      ['masked: [leadName, leadIdNo]', 'masked: []'],
    )
    const result = load(clear)
    expect(result.ok && result.warnings.map(formatIssue)).toEqual([
      `${at(clear, 'leadName, leadIdNo]')} matters[0].grants[0].fields[2]: personal field "leadName" is released in clear; consider masked`,
    ])
  })

  it('keeps sensitive personal fields masked without an approval', () => {
    const text = edit([
      '      - { key: result, name: 审查结论, sensitivity: public }',
      '      - { key: result, name: 审查结论, sensitivity: sensitive-personal }',
    ])
    expect(issuesOf(text)).toEqual([
      `${at(text, 'result]')} matters[0].grants[1].fields[1]: "result" is sensitive personal information; in clear it needs an approval`,
    ])
  })

  it('checks approvals, grants on unshared resources, write grants with fields and duplicates', () => {
    const text = edit(
      ['validFrom: 2026-01-01, validTo: 2027-12-31', 'validFrom: 2026-01-01, validTo: 2025-12-31'],
      [
        'resource: housing.review\n        action: read\n        usage: 业务协同',
        'resource: housing.applicant\n        action: read\n        usage: 业务协同',
      ],
      [
        '        masked: []\n        fields: [reviewNo]\n',
        '        masked: []\n        fields: [reviewNo]\n      - { consumer: natres, resource: housing.review, action: read, usage: 工作参考, fields: [result] }\n',
      ],
      [
        '        resource: drc.filing\n        action: write\n        usage: 业务协同\n',
        '        resource: drc.filing\n        action: write\n        usage: 业务协同\n        fields: [projectCode]\n',
      ],
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, '2025-12-31')} matters[0].grants[0].approval.validTo: must not be before validFrom`,
      `${at(text, 'housing.applicant', { nth: 2 })} matters[0].grants[1].resource: housing.applicant is not shared (sharing type none)`,
      `${at(text, '{ consumer: natres')} matters[1].grants[1]: duplicate grant (same matter, resource, action and consumer as matters[1].grants[0])`,
      `${at(text, 'fields: [projectCode]')} matters[1].grants[2]: fields applies to read grants only`,
    ])
  })
})

describe('evidence bundles (一件事)', () => {
  const withEvidence = (evidence: string) =>
    edit(['    scene: 建设项目开工"一件事"\n', `    scene: 建设项目开工"一件事"\n${evidence}`])

  it('reports every mistake of an evidence block at its line and column', () => {
    const text = withEvidence(
      [
        '    evidence:',
        '      inputs:',
        '        permit: { format: uscc }',
        '        spare: { format: investment-project-code }',
        '      items:',
        '        - { id: review, resource: housing.review, params: { permitNo: permit } }',
        '        - { id: review, resource: housing.reviews, params: { permitNo: permit } }',
        '        - { id: filing, resource: drc.filing, params: { projectCode: permit } }',
        '        - { id: other, resource: housing.permit, params: { permitNumber: permitt } }',
        '',
      ].join('\n'),
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'review, resource: housing.reviews')} matters[1].evidence.items[1].id: duplicate evidence item id "review" (first at line ${lineOf(text, 'id: review')})`,
      `${at(text, 'housing.reviews')} matters[1].evidence.items[1].resource: unknown resource "housing.reviews"`,
      `${at(text, 'drc.filing, params')} matters[1].evidence.items[2].resource: drc.filing cannot be read (no read binding), so it is no evidence`,
      `${at(text, '{ permitNumber')} matters[1].evidence.items[3].params: housing.permit requires parameter(s) permitNo: map each to an input`,
      `${at(text, 'permitNumber')} matters[1].evidence.items[3].params.permitNumber: housing.permit takes no parameter "permitNumber" (it takes: permitNo)`,
      `${at(text, 'permitt')} matters[1].evidence.items[3].params.permitNumber: input "permitt" is not declared under inputs`,
    ])
  })

  it('checks the shape with the schema: formats, item ids, a missing resource', () => {
    const text = withEvidence(
      [
        '    evidence:',
        '      inputs:',
        '        permit: { format: passport }',
        '      items:',
        '        - { id: Review, params: { permitNo: permit } }',
        '',
      ].join('\n'),
    )
    expect(issuesOf(text)).toEqual([
      `${at(text, 'passport')} matters[1].evidence.inputs.permit.format must be one of: uscc, org-code, cn-resident-id, investment-project-code, admin-division-code`,
      `${at(text, '{ id: Review')} matters[1].evidence.items[0]: missing required property "resource"`,
      `${at(text, 'Review, params')} matters[1].evidence.items[0].id must match ^[a-z][a-z0-9-]{0,31}$`,
    ])
  })

  it('loads a good block, warns about an input no item uses, and compiles its plan once', async () => {
    const text = withEvidence(
      [
        '    evidence:',
        '      inputs:',
        '        permit: { format: uscc }',
        '        spare: { format: uscc }',
        '      items:',
        '        - { id: review, resource: housing.review, params: { permitNo: permit }, required: false }',
        '',
      ].join('\n'),
    )
    const result = load(text)
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'))
    expect(result.warnings.map(formatIssue)).toEqual([
      `${at(text, 'spare')} matters[1].evidence.inputs.spare: input "spare" feeds no evidence item`,
    ])
    const { evidencePlansOf } = await import('../evidence/plan.js')
    const plan = evidencePlansOf(result.catalog).get('QR00112001')
    expect(plan?.items).toEqual([
      { id: 'review', resource: 'housing.review', params: [['permitNo', 'permit']], required: false },
    ])
    expect(plan?.inputs.validate({ permit: '91350200776049653A', spare: '91350500798359476R' })).toBe(true)
    expect(plan?.inputs.validate({ permit: '91350200776049653B', spare: '91350500798359476R' })).toBe(false)
    expect(plan?.inputs.validate({ permit: '91350200776049653A' })).toBe(false)
    expect(evidencePlansOf(result.catalog)).toBe(evidencePlansOf(result.catalog))
    expect(evidencePlansOf(result.catalog).has('QT00301001')).toBe(false)
  })
})
