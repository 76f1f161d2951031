import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ConnectorDefinition } from '../../connectors/kit/types.js'
import { loadCatalogText, quotaWindowSeconds } from './load.js'
import { formatIssue } from './types.js'

/** The loader's checks of `quotas` (README "Quotas"), on the base fixture of load.test.ts. */

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = join(root, 'test/fixtures/catalogs')
const base = readFileSync(join(fixtures, 'base.yaml'), 'utf8')

function fake(type: string, operations: Record<string, 'read' | 'write'>): ConnectorDefinition<never> {
  return {
    type,
    system: type,
    operations: Object.fromEntries(
      Object.entries(operations).map(([name, kind]) => [name, { kind, description: name }]),
    ),
    optionsSchema: { type: 'object' },
    create: () => {
      throw new Error('not used by the loader')
    },
  }
}
const definitions = new Map([
  ['housing-gongai', fake('housing-gongai', { constructionPermits: 'read', drawingReviews: 'read' })],
  ['drc-online', fake('drc-online', { pushFiling: 'write' })],
])

function load(quotas: string) {
  const text = `${base}\nquotas:\n${quotas}`
  return {
    text,
    result: loadCatalogText(text, {
      definitions,
      vars: { TEST_GONGAI_KEY: 'k' },
      file: 'test.yaml',
      baseDir: fixtures,
    }),
  }
}

/** `test.yaml:LINE:COL` of the first `needle` after the `quotas:` line. */
function at(text: string, needle: string): string {
  const offset = text.indexOf(needle, text.indexOf('\nquotas:'))
  if (offset < 0) throw new Error(`no ${needle}`)
  const before = text.slice(0, offset).split('\n')
  return `test.yaml:${before.length}:${(before.at(-1) ?? '').length + 1}`
}

describe('catalog quotas', () => {
  it('loads quotas with their window in seconds and burst defaulting to limit', () => {
    const { result } = load(
      [
        '  - { id: drc-all, department: drc, limit: 20, per: second }',
        '  - { id: m1, matter: QT00301001, resource: housing.permit, limit: 100, per: 10s, burst: 50 }',
      ].join('\n'),
    )
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'))
    expect(result.warnings).toEqual([])
    expect(result.catalog.quotas).toEqual([
      { id: 'drc-all', department: 'drc', limit: 20, per: 'second', windowSeconds: 1, burst: 20 },
      {
        id: 'm1',
        matter: 'QT00301001',
        resource: 'housing.permit',
        limit: 100,
        per: '10s',
        windowSeconds: 10,
        burst: 50,
      },
    ])
    expect(Object.isFrozen(result.catalog.quotas[0])).toBe(true)
  })

  it('reports an unknown department, matter and resource at their line and column', () => {
    const { text, result } = load(
      [
        '  - id: q1',
        '    department: sewage',
        '    limit: 10',
        '    per: second',
        '  - { id: q2, matter: XX0000, limit: 10, per: minute }',
        '  - { id: q3, department: drc, resource: housing.nothing, limit: 10, per: hour }',
      ].join('\n'),
    )
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      `${at(text, 'sewage')} quotas[0].department: unknown department "sewage"`,
      `${at(text, 'XX0000')} quotas[1].matter: unknown matter "XX0000"`,
      `${at(text, 'housing.nothing')} quotas[2].resource: unknown resource "housing.nothing"`,
    ])
    expect(at(text, 'sewage')).toBe(`test.yaml:${base.split('\n').length + 3}:17`)
  })

  it('reports a duplicate id with the first one’s line, and a quota that names neither department nor matter', () => {
    const { text, result } = load(
      [
        '  - { id: q1, department: drc, limit: 10, per: day }',
        '  - { id: q1, department: natres, limit: 10, per: day }',
        '  - { id: q3, resource: housing.permit, limit: 10, per: day }',
      ].join('\n'),
    )
    const firstLine = Number(at(text, 'q1').split(':')[1])
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      `${at(text, 'q1, department: natres')} quotas[1].id: duplicate quota id "q1" (first at line ${firstLine})`,
      `${at(text, '{ id: q3')} quotas[2]: a quota needs a department, a matter or both`,
    ])
  })

  it('checks the shape: limit, per, burst, unknown keys', () => {
    const { text, result } = load(
      [
        '  - { id: q1, department: drc, limit: 0, per: fortnight }',
        '  - { id: q2, department: drc, limit: 10, per: 500ms, burst: 10 }',
        '  - { id: q3, department: drc, limit: 10, per: second, window: 5 }',
        '  - { id: "bad id", department: drc, limit: 10 }',
      ].join('\n'),
    )
    const issues = result.ok ? [] : result.issues.map(formatIssue)
    expect(issues).toEqual([
      `${at(text, '0, per')} quotas[0].limit must be >= 1`,
      `${at(text, 'fortnight')} quotas[0].per must match ^(second|minute|hour|day|[1-9][0-9]{0,5}[smhd])$`,
      `${at(text, '500ms')} quotas[1].per must match ^(second|minute|hour|day|[1-9][0-9]{0,5}[smhd])$`,
      `${at(text, 'window')} quotas[2]: unknown property "window"`,
      `${at(text, '{ id: "bad id"')} quotas[3]: missing required property "per"`,
      `${at(text, '"bad id"')} quotas[3].id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`,
    ])
  })

  it('wants a bucket that refills in whole seconds, within 7 days', () => {
    const { text, result } = load(
      [
        '  - { id: ok1, department: drc, limit: 20, per: second, burst: 40 }',
        '  - { id: ok2, department: drc, limit: 1000, per: hour, burst: 50 }',
        '  - { id: odd, department: drc, limit: 20, per: second, burst: 30 }',
        '  - { id: long, department: drc, limit: 1, per: 8d }',
        '  - { id: longer, department: drc, limit: 1, per: day, burst: 8 }',
      ].join('\n'),
    )
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      `${at(text, '30 }')} quotas[2].burst: an empty bucket of 30 refilled at 20 per second would fill in 1.5 s; counters work in whole seconds, so burst must be a multiple of 20`,
      `${at(text, '8d')} quotas[3].per: an empty bucket would take 691200 s to fill; at most 7 days (604800 s)`,
      `${at(text, '8 }')} quotas[4].burst: an empty bucket would take 691200 s to fill; at most 7 days (604800 s)`,
    ])
  })

  it('warns about a quota that no grant can reach', () => {
    const { text, result } = load('  - { id: q1, department: natres, matter: QT00301001, limit: 10, per: second }')
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'))
    expect(result.warnings.map(formatIssue)).toEqual([
      `${at(text, '{ id: q1')} quotas[0]: no grant matches this quota, so it never applies`,
    ])
  })

  it('reads per as second, minute, hour, day or a whole number of units', () => {
    expect(['second', 'minute', 'hour', 'day', '10s', '5m', '2h', '7d'].map(quotaWindowSeconds)).toEqual([
      1, 60, 3600, 86_400, 10, 300, 7200, 604_800,
    ])
    expect(quotaWindowSeconds('0s')).toBeUndefined()
    expect(quotaWindowSeconds('1.5s')).toBeUndefined()
  })
})
