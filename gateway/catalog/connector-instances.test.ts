import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Connector, ConnectorDefinition } from '../../connectors/kit/types.js'
import { createLogger } from '../telemetry/logger.js'
import { connectorFingerprint, instanceChanges } from './connector-instances.js'
import { SnapshotHolder } from './holder.js'
import { loadCatalogText } from './load.js'
import { buildSnapshot, type CatalogSnapshot } from './snapshot.js'
import { type Catalog, type ConnectorInstance, DEFAULT_HTTP_POOL, DEFAULT_RESILIENCE } from './types.js'

/** Connector instances shared between catalog snapshots: kept when unchanged, closed when the last user is done. */

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = join(root, 'test/fixtures/catalogs')
const base = readFileSync(join(fixtures, 'base.yaml'), 'utf8')

/** A second 住建 instance, bound to no resource, that tests add and remove. */
const MIRROR = `  mirror:
    type: housing-gongai
    department: housing
    options: { baseUrl: 'http://127.0.0.1:9109', appKey: m, appSecret: mirror-secret }
`
const withMirror = base.replace('\nresources:\n', `${MIRROR}\nresources:\n`)

interface FakeConnector extends Connector {
  readonly options: Record<string, unknown>
  disposed: number
}

/** Connector types whose instances count how often they were created and disposed. */
function fakeDefinitions() {
  const created: FakeConnector[] = []
  const define = (
    type: string,
    operations: Record<string, 'read' | 'write' | 'changes'>,
  ): ConnectorDefinition<never> => ({
    type,
    system: type,
    operations: Object.fromEntries(Object.entries(operations).map(([n, kind]) => [n, { kind, description: n }])),
    optionsSchema: { type: 'object' },
    create: (options) => {
      if ((options as Record<string, unknown>).appSecret === 'fails-to-create') throw new Error('cannot create')
      const connector: FakeConnector = {
        options: options as Record<string, unknown>,
        operations: {},
        disposed: 0,
        health: async () => ({ status: 'up' }),
        async dispose() {
          connector.disposed++
        },
      }
      created.push(connector)
      return connector
    },
  })
  const definitions = new Map([
    [
      'housing-gongai',
      define('housing-gongai', { constructionPermits: 'read', drawingReviews: 'read', permitChanges: 'changes' }),
    ],
    ['drc-online', define('drc-online', { pushFiling: 'write' })],
  ])
  return { definitions, created }
}

const log = createLogger('silent')
const clock = { now: () => Date.parse('2026-11-26T02:00:00Z') }

function load(
  text: string,
  definitions: ReadonlyMap<string, ConnectorDefinition<never>>,
  vars: Record<string, string> = {},
): Catalog {
  const result = loadCatalogText(text, {
    definitions,
    vars: { TEST_GONGAI_KEY: 'k', ...vars },
    file: 'test.yaml',
    baseDir: fixtures,
  })
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'))
  return result.catalog
}

function snapshotOf(catalog: Catalog, previous?: CatalogSnapshot): CatalogSnapshot {
  return buildSnapshot(catalog, { log, clock }, previous)
}

describe('connector fingerprint', () => {
  const { definitions } = fakeDefinitions()
  const fingerprint = (text: string, vars?: Record<string, string>) =>
    connectorFingerprint(load(text, definitions, vars).connectors.get('gongai') as never)

  it('is equal for the same configuration however it is written, and changes with any part of it', () => {
    const same = fingerprint(base)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${NAME} syntax
    const keyLine = '      appKey: ${TEST_GONGAI_KEY}\n'
    const secretLine = '      appSecret: not-a-real-secret\n'
    const reordered = base.replace(keyLine + secretLine, secretLine + keyLine)
    expect(reordered).not.toBe(base)
    expect(fingerprint(reordered)).toBe(same)
    // A matter's name is not part of a connector's configuration.
    expect(fingerprint(base.replace('name: 建设工程规划核实', 'name: 规划核实'))).toBe(same)

    // Options after interpolation: the same text with another environment is another configuration.
    expect(fingerprint(base, { TEST_GONGAI_URL: 'http://127.0.0.1:9201' })).not.toBe(same)
    expect(fingerprint(base, { TEST_GONGAI_KEY: 'other' })).not.toBe(same)
    const http = base.replace('    department: housing\n', '    department: housing\n    http: { connections: 8 }\n')
    expect(fingerprint(http)).not.toBe(same)
    const resilience = base.replace(
      '    department: housing\n',
      '    department: housing\n    resilience: { breakerThreshold: 9 }\n',
    )
    expect(fingerprint(resilience)).not.toBe(same)
    // Writing the defaults out is the same configuration as leaving them out.
    const defaults = base.replace(
      '    department: housing\n',
      '    department: housing\n    resilience: { breakerThreshold: 5, maxConcurrent: 128 }\n',
    )
    expect(fingerprint(defaults)).toBe(same)
  })

  it('does not depend on key order, and tells apart options that differ (generated options)', () => {
    const reversed = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reversed)
      if (typeof value !== 'object' || value === null) return value
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reversed(v)]),
      )
    }
    const instanceWith = (options: Record<string, unknown>): ConnectorInstance => ({
      id: 'gen',
      type: 'housing-gongai',
      department: 'housing',
      options,
      http: DEFAULT_HTTP_POOL,
      resilience: DEFAULT_RESILIENCE,
      definition: definitions.get('housing-gongai') as ConnectorDefinition<never>,
    })
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (options, extra) => {
        const same = connectorFingerprint(instanceWith(options))
        expect(connectorFingerprint(instanceWith(reversed(options) as Record<string, unknown>))).toBe(same)
        const changed = { ...options, [`${extra}-changed`]: Object.hasOwn(options, `${extra}-changed`) ? null : 1 }
        if (JSON.stringify(changed) !== JSON.stringify(options)) {
          expect(connectorFingerprint(instanceWith(changed))).not.toBe(same)
        }
      }),
    )
  })

  it('holds no option value in clear', () => {
    const value = fingerprint(base, { TEST_GONGAI_KEY: 'key-in-clear' })
    expect(value).toMatch(/^[0-9a-f]{64}$/)
    expect(value).not.toContain('key-in-clear')
  })
})

describe('connector instances across snapshots', () => {
  it('a reload that changes no connector keeps every instance: connector, guard and state', () => {
    const { definitions, created } = fakeDefinitions()
    const first = snapshotOf(load(base, definitions))
    expect(created).toHaveLength(2)
    const second = snapshotOf(load(base.replace('name: 建设工程规划核实', 'name: 规划核实'), definitions), first)
    expect(created).toHaveLength(2)
    for (const id of ['gongai', 'online']) {
      expect(second.connectors.get(id)).toBe(first.connectors.get(id))
      expect(second.guards.get(id)).toBe(first.guards.get(id))
      expect(second.instances.get(id)?.references).toBe(2)
    }
    expect(instanceChanges(first.instances, second.instances)).toEqual({
      kept: ['gongai', 'online'],
      rebuilt: [],
      added: [],
      removed: [],
    })
    // Grants are the new catalog's own.
    expect(second.grants).not.toBe(first.grants)
  })

  it('a changed instance is rebuilt with its new options; the old one closes with the last snapshot using it', async () => {
    const { definitions, created } = fakeDefinitions()
    const first = snapshotOf(load(base, definitions))
    const oldGongai = first.connectors.get('gongai') as FakeConnector
    const holder = new SnapshotHolder(first)
    const inFlight = holder.acquire()

    const second = snapshotOf(load(base, definitions, { TEST_GONGAI_URL: 'http://127.0.0.1:9201' }), first)
    holder.swap(second)
    const newGongai = second.connectors.get('gongai') as FakeConnector
    expect(newGongai).not.toBe(oldGongai)
    expect(newGongai.options.baseUrl).toBe('http://127.0.0.1:9201')
    expect(second.guards.get('gongai')).not.toBe(first.guards.get('gongai'))
    expect(second.connectors.get('online')).toBe(first.connectors.get('online'))
    expect(created).toHaveLength(3)
    expect(instanceChanges(first.instances, second.instances)).toMatchObject({ kept: ['online'], rebuilt: ['gongai'] })

    // The call on the first snapshot is still running: nothing may close under it.
    expect(oldGongai.disposed).toBe(0)
    holder.release(inFlight)
    await first.dispose()
    expect(oldGongai.disposed).toBe(1)
    expect(first.instances.get('gongai')?.disposed).toBe(true)
    expect((second.connectors.get('online') as FakeConnector).disposed).toBe(0)
    expect(newGongai.disposed).toBe(0)
    await holder.disposeAll()
    expect(created.map((c) => c.disposed)).toEqual([1, 1, 1])
  })

  it('added and removed instances: a removed one closes once no snapshot holds it', async () => {
    const { definitions } = fakeDefinitions()
    const first = snapshotOf(load(base, definitions))
    const second = snapshotOf(load(withMirror, definitions), first)
    expect(instanceChanges(first.instances, second.instances)).toEqual({
      kept: ['gongai', 'online'],
      rebuilt: [],
      added: ['mirror'],
      removed: [],
    })
    const holder = new SnapshotHolder(second)
    await first.dispose()
    const mirror = second.connectors.get('mirror') as FakeConnector
    const inFlight = holder.acquire()

    const third = snapshotOf(load(base, definitions), second)
    expect(instanceChanges(second.instances, third.instances)).toEqual({
      kept: ['gongai', 'online'],
      rebuilt: [],
      added: [],
      removed: ['mirror'],
    })
    holder.swap(third)
    expect(mirror.disposed).toBe(0)
    holder.release(inFlight)
    await second.dispose()
    expect(mirror.disposed).toBe(1)
    expect((third.connectors.get('gongai') as FakeConnector).disposed).toBe(0)
    await holder.disposeAll()
  })

  it('an instance is closed once however many snapshots held it', async () => {
    const { definitions, created } = fakeDefinitions()
    const a = snapshotOf(load(base, definitions))
    const b = snapshotOf(load(base, definitions), a)
    const c = snapshotOf(load(base, definitions), b)
    expect(c.instances.get('gongai')?.references).toBe(3)
    await Promise.all([a.dispose(), a.dispose(), b.dispose()])
    expect(created.map((x) => x.disposed)).toEqual([0, 0])
    expect(c.instances.get('gongai')?.references).toBe(1)
    await c.dispose()
    await c.dispose()
    expect(created.map((x) => x.disposed)).toEqual([1, 1])
  })

  it('a closed instance is never taken over: the next snapshot builds a new one', async () => {
    const { definitions, created } = fakeDefinitions()
    const first = snapshotOf(load(base, definitions))
    await first.dispose()
    const second = snapshotOf(load(base, definitions), first)
    expect(second.connectors.get('gongai')).not.toBe(first.connectors.get('gongai'))
    expect(created).toHaveLength(4)
    await second.dispose()
  })

  it('a snapshot that cannot be built gives back what it took: kept instances stay open, new ones close', async () => {
    const { definitions, created } = fakeDefinitions()
    const first = snapshotOf(load(base, definitions))
    const broken = load(withMirror.replace('appSecret: mirror-secret', 'appSecret: fails-to-create'), definitions)
    expect(() => snapshotOf(broken, first)).toThrow('cannot create')
    expect(created).toHaveLength(2)
    for (const id of ['gongai', 'online']) {
      expect(first.instances.get(id)?.references).toBe(1)
      expect(first.instances.get(id)?.disposed).toBe(false)
    }
    // Instances created before the failing one are closed again; the kept one is given back.
    const later = load(withMirror, definitions, { TEST_GONGAI_KEY: 'rotated' })
    const instance = (id: string): ConnectorInstance => {
      const found = later.connectors.get(id)
      if (!found) throw new Error(`no connector ${id}`)
      return found
    }
    const connectors = new Map<string, ConnectorInstance>([
      ['mirror', instance('mirror')],
      ['gongai', instance('gongai')],
      ['online', instance('online')],
      ['last', { ...instance('online'), id: 'last', options: { appSecret: 'fails-to-create' } }],
    ])
    expect(() => snapshotOf({ ...later, connectors } as Catalog, first)).toThrow('cannot create')
    expect(created).toHaveLength(4)
    expect(created.slice(2).map((c) => c.disposed)).toEqual([1, 1])
    expect(first.instances.get('online')?.references).toBe(1)
    expect(created.slice(0, 2).map((c) => c.disposed)).toEqual([0, 0])
    await first.dispose()
  })
})

describe('change feed binding', () => {
  const { definitions } = fakeDefinitions()
  const readLine = '    read:\n      operation: constructionPermits\n'
  const withChanges = (operation: string) =>
    base.replace(readLine, `    changes: { operation: ${operation} }\n${readLine}`)
  const issues = (text: string) => {
    const result = loadCatalogText(text, {
      definitions,
      vars: { TEST_GONGAI_KEY: 'k' },
      file: 'test.yaml',
      baseDir: fixtures,
    })
    return result.ok ? [] : result.issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.message}`)
  }

  it("binds a resource's changes to a changes operation of its connector", () => {
    expect(base).toContain(readLine)
    const catalog = load(withChanges('permitChanges'), definitions)
    expect(catalog.resources.get('housing.permit')?.changes).toEqual({ operation: 'permitChanges' })
    expect(catalog.resources.get('housing.review')?.changes).toBeUndefined()
  })

  it('refuses a changes binding to a read operation or to an unknown one, at its line and column', () => {
    const line =
      withChanges('x')
        .split('\n')
        .findIndex((l) => l.startsWith('    changes:')) + 1
    expect(issues(withChanges('constructionPermits'))).toEqual([
      `test.yaml:${line}:27 resources[0].changes.operation: operation "constructionPermits" is a read operation`,
    ])
    expect(issues(withChanges('nothing'))).toEqual([
      `test.yaml:${line}:27 resources[0].changes.operation: connector type housing-gongai has no operation "nothing" (operations: constructionPermits, drawingReviews, permitChanges)`,
    ])
  })

  it('refuses a read binding to a changes operation', () => {
    const text = base.replace('operation: constructionPermits', 'operation: permitChanges')
    expect(issues(text).join('\n')).toContain('operation "permitChanges" is a changes operation')
  })
})
