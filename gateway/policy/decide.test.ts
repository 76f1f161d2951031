import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import { AUDIT_READ_SCOPE, exchangeScope, type Principal } from '../auth/principal.js'
import { loadCatalog } from '../catalog/load.js'
import type { Catalog, Resource } from '../catalog/types.js'
import { decide } from './decide.js'

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const NOW = Date.parse('2026-11-26T02:00:00Z')

let catalog: Catalog
let permits: Resource

beforeAll(async () => {
  const loaded = await loadCatalog(fileURLToPath(new URL('../../catalog.yaml', import.meta.url)), {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
  permits = catalog.resources.get(PERMITS) as Resource
})

function principal(dept: string, scopes: string[]): Principal {
  return {
    sub: 'officer-001',
    dept,
    clientId: undefined,
    scopes: new Set(scopes),
    expiresAt: NOW + 3_600_000,
    tokenId: undefined,
    keyId: undefined,
  }
}

describe('decide: role separation (GB/T 39477)', () => {
  const purpose = { matter: MATTER, caseId: 'NJ-2026-1' }
  const exchange = exchangeScope(MATTER, PERMITS, 'read')

  it('allows the exchange scope alone', () => {
    expect(decide(catalog, principal('drc', [exchange]), purpose, permits, 'read', NOW).allow).toBe(true)
  })

  it('refuses an auditor token, even one that also carries the exchange scope', () => {
    for (const scopes of [[AUDIT_READ_SCOPE], [exchange, AUDIT_READ_SCOPE]]) {
      const decision = decide(catalog, principal('drc', scopes), purpose, permits, 'read', NOW)
      expect(decision).toMatchObject({ allow: false, code: 'role-separation' })
    }
  })

  it('checks the role before anything else (an auditor of an unknown department is still refused for its role)', () => {
    const decision = decide(catalog, principal('nobody', [AUDIT_READ_SCOPE]), purpose, permits, 'write', NOW)
    expect(decision).toMatchObject({ allow: false, code: 'role-separation' })
  })
})
