import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import { exchangeScope, type Principal } from '../auth/principal.js'
import { loadCatalog } from '../catalog/load.js'
import { buildSnapshot, type CatalogSnapshot } from '../catalog/snapshot.js'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import type { StateStore } from '../state/store.js'
import { createLogger } from '../telemetry/logger.js'
import type { SubscriptionEngine } from './engine.js'
import { openOutboxEngine } from './outbox/engine.js'
import { openSubscriptionRegistry, type SubscriptionRegistry } from './registry/store.js'
import { createSubscriptionService } from './service.js'

const PERMITS = 'housing.construction-permit'
const DRC_MATTER = 'QT00301001'
const NOW = Date.parse('2026-11-26T02:00:00Z')
const clock = { now: () => NOW }
const silent = createLogger('silent')

const drc: Principal = {
  sub: 'drc-officer-1',
  dept: 'drc',
  clientId: undefined,
  scopes: new Set([exchangeScope(DRC_MATTER, PERMITS, 'read')]),
  expiresAt: NOW + 3_600_000,
  tokenId: undefined,
  keyId: undefined,
}

let dir: string
let state: StateStore
let engine: SubscriptionEngine
let snapshot: CatalogSnapshot

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-subs-service-'))
  state = await openSqliteState({ file: join(dir, 'state.sqlite'), modules: STATE_MODULES })
  engine = await openOutboxEngine({ state, clock })
  const loaded = await loadCatalog(fileURLToPath(new URL('../../catalog.yaml', import.meta.url)), {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  snapshot = buildSnapshot(loaded.catalog, { log: silent, clock })
})

afterEach(async () => {
  await snapshot.dispose()
  await engine.close()
  await state.close()
  await rm(dir, { recursive: true, force: true })
})

/** The engine, noting the ids it was asked to create. */
function recording(inner: SubscriptionEngine): { engine: SubscriptionEngine; created: string[] } {
  const created: string[] = []
  return {
    created,
    engine: Object.assign(Object.create(inner) as SubscriptionEngine, {
      create: (id: string) => {
        created.push(id)
        return inner.create(id)
      },
    }),
  }
}

function serviceOver(registry: SubscriptionRegistry, over: SubscriptionEngine) {
  return createSubscriptionService({ registry, engine: over, snapshot: () => snapshot, clock, log: silent })
}

describe('subscription service: create', () => {
  it('removes the engine queue again when the registry insert fails: no orphaned queue', async () => {
    const registry = openSubscriptionRegistry(state)
    const failing: SubscriptionRegistry = {
      ...registry,
      insert: async () => {
        throw new Error('registry unavailable')
      },
    }
    const { engine: spied, created } = recording(engine)
    await expect(serviceOver(failing, spied).create(drc, { matter: DRC_MATTER, resource: PERMITS })).rejects.toThrow(
      'registry unavailable',
    )
    expect(created).toHaveLength(1)
    expect(await engine.status(created[0] as string)).toBeUndefined()
    expect(await registry.active()).toEqual([])
  })

  it('keeps the engine queue when the registry insert succeeds', async () => {
    const registry = openSubscriptionRegistry(state)
    const { engine: spied, created } = recording(engine)
    const { view } = await serviceOver(registry, spied).create(drc, { matter: DRC_MATTER, resource: PERMITS })
    expect(created).toEqual([view.id])
    expect(await engine.status(view.id)).toMatchObject({ id: view.id, state: 'active' })
    expect((await registry.active()).map((s) => s.id)).toEqual([view.id])
  })
})
