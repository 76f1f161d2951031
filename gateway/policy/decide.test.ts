import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import { AUDIT_READ_SCOPE, exchangeScope, type Principal } from '../auth/principal.js'
import { loadCatalog } from '../catalog/load.js'
import type { Catalog, Grant, Resource } from '../catalog/types.js'
import { decide } from './decide.js'

const MATTER = 'QT00301001'
const PERMITS = 'housing.construction-permit'
const NOW = Date.parse('2026-11-26T02:00:00Z')

let catalog: Catalog
let lookup: ReadonlyMap<string, { readonly grant: Grant }>
let permits: Resource

beforeAll(async () => {
  const loaded = await loadCatalog(fileURLToPath(new URL('../../catalog.yaml', import.meta.url)), {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
  // The decision looks grants up as the snapshot holds them (each with its `grant`).
  lookup = new Map([...catalog.grants].map(([key, grant]) => [key, { grant }]))
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
    expect(decide(catalog, lookup, principal('drc', [exchange]), purpose, permits, 'read', NOW).allow).toBe(true)
  })

  it('refuses an auditor token, even one that also carries the exchange scope', () => {
    for (const scopes of [[AUDIT_READ_SCOPE], [exchange, AUDIT_READ_SCOPE]]) {
      const decision = decide(catalog, lookup, principal('drc', scopes), purpose, permits, 'read', NOW)
      expect(decision).toMatchObject({ allow: false, code: 'role-separation' })
    }
  })

  it('checks the role before anything else (an auditor of an unknown department is still refused for its role)', () => {
    const decision = decide(catalog, lookup, principal('nobody', [AUDIT_READ_SCOPE]), purpose, permits, 'write', NOW)
    expect(decision).toMatchObject({ allow: false, code: 'role-separation' })
  })
})

describe('decide: every branch, in order', () => {
  const URBAN_MATTER = 'XK00208001' // urban's approval takes effect on 2026-03-01
  const WATER_MATTER = 'XK00377001' // water's pilot approval ended on 2025-06-30
  const purpose = (matter: string) => ({ matter, caseId: 'NJ-2026-1' })
  const scoped = (dept: string, matter: string, resource = PERMITS, action: 'read' | 'write' = 'read') =>
    principal(dept, [exchangeScope(matter, resource, action)])

  it('allows, and hands back the grant that allowed it', () => {
    const decision = decide(catalog, lookup, scoped('drc', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(decision).toMatchObject({
      allow: true,
      grant: { grant: { matter: MATTER, consumer: 'drc', resource: PERMITS } },
    })
    // The very entry of the lookup (the snapshot's compiled grant, with its projector and binding), not a copy.
    if (decision.allow) expect(decision.grant).toBe(lookup.get(`${MATTER}\u0000${PERMITS}\u0000read\u0000drc`))
  })

  it('department-unknown: the token names a department the catalog does not have', () => {
    const decision = decide(catalog, lookup, scoped('nobody', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(decision).toMatchObject({ allow: false, code: 'department-unknown' })
  })

  it('resource-not-shared: a 不予共享 resource is refused even to a token that carries its scope', () => {
    const secret = catalog.resources.get('housing.security-applicant') as Resource
    expect(secret.sharing.type).toBe('none')
    const decision = decide(catalog, lookup, scoped('drc', MATTER, secret.id), purpose(MATTER), secret, 'read', NOW)
    expect(decision).toMatchObject({ allow: false, code: 'resource-not-shared' })
  })

  it('insufficient-scope: the matter covers the call, the token lacks its scope; the answer says which scope', () => {
    const cases: string[][] = [
      [],
      [exchangeScope(URBAN_MATTER, PERMITS, 'read')], // another matter
      [exchangeScope(MATTER, 'housing.drawing-review', 'read')], // another resource
      [exchangeScope(MATTER, PERMITS, 'write')], // another action
    ]
    for (const scopes of cases) {
      const decision = decide(catalog, lookup, principal('drc', scopes), purpose(MATTER), permits, 'read', NOW)
      expect(decision).toEqual({
        allow: false,
        code: 'insufficient-scope',
        detail: expect.any(String),
        requiredScope: exchangeScope(MATTER, PERMITS, 'read'),
        matters: [{ code: MATTER, name: catalog.matters.get(MATTER)?.name }],
      })
    }
  })

  it('matter-unknown: checked before the scope, so it never asks for a scope that cannot exist', () => {
    for (const scopes of [
      [],
      [exchangeScope('QT99999999', PERMITS, 'read')],
      [exchangeScope(MATTER, PERMITS, 'read')],
    ]) {
      const decision = decide(catalog, lookup, principal('drc', scopes), purpose('QT99999999'), permits, 'read', NOW)
      expect(decision).toMatchObject({ allow: false, code: 'matter-unknown', matters: [{ code: MATTER }] })
      expect(decision).not.toHaveProperty('requiredScope')
      if (!decision.allow) expect(decision.detail).toContain('not in the catalog')
    }
  })

  it('grant-missing: the matter exists but does not cover the call; the matters that do are named', () => {
    // 发改 under 城管's matter, with or without its scope: 发改's own matter covers the call.
    for (const scopes of [[], [exchangeScope(URBAN_MATTER, PERMITS, 'read')]]) {
      const decision = decide(catalog, lookup, principal('drc', scopes), purpose(URBAN_MATTER), permits, 'read', NOW)
      expect(decision).toEqual({
        allow: false,
        code: 'grant-missing',
        detail: `the declared matter does not cover this call; the matter that grants read on this resource to the calling department: ${MATTER}`,
        matters: [{ code: MATTER, name: '投资项目在线审批监管（施工许可、图审和竣工验收信息回传）' }],
      })
    }
  })

  it('grant-missing: no matter covers the call, so the list is empty and the detail points at applying', () => {
    const otherDept = decide(catalog, lookup, scoped('market', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(otherDept).toEqual({
      allow: false,
      code: 'grant-missing',
      detail:
        'the declared matter does not cover this call; no matter grants read on this resource to the calling department: apply for one with POST /v1/applications',
      matters: [],
    })
    const otherAction = decide(
      catalog,
      lookup,
      scoped('drc', MATTER, PERMITS, 'write'),
      purpose(MATTER),
      permits,
      'write',
      NOW,
    )
    expect(otherAction).toMatchObject({ allow: false, code: 'grant-missing', matters: [] })
  })

  it('names only matters whose grant is in force: not a revoked one, nor one outside its approval', () => {
    const key = `${URBAN_MATTER}\u0000${PERMITS}\u0000read\u0000urban`
    const urbanGrant = catalog.grants.get(key) as Grant
    const from = urbanGrant.validFromMs as number
    // 城管 under 发改's matter: its own matter covers the call from the day its approval takes effect.
    const asUrban = (lookupOf: typeof lookup, at: number) =>
      decide(catalog, lookupOf, scoped('urban', MATTER), purpose(MATTER), permits, 'read', at)
    expect(asUrban(lookup, from - 1)).toMatchObject({ code: 'grant-missing', matters: [] })
    expect(asUrban(lookup, from)).toMatchObject({ code: 'grant-missing', matters: [{ code: URBAN_MATTER }] })
    const revoked: Grant = { ...urbanGrant, source: 'application', revoked: { at: '2026-05-06T17:30:00.000Z' } }
    const revokedLookup = new Map([...lookup, [key, { grant: revoked }]])
    expect(asUrban(revokedLookup, from)).toMatchObject({ code: 'grant-missing', matters: [] })
    // 水务's only grant has expired.
    const asWater = decide(catalog, lookup, scoped('water', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(asWater).toMatchObject({ code: 'grant-missing', matters: [] })
  })

  it('names every matter that covers the call, and a department calling its own resource is not sent to apply', () => {
    const natres = decide(catalog, lookup, scoped('natres', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(natres).toMatchObject({ code: 'grant-missing', matters: [{ code: 'QR00112001', name: '建设工程规划核实' }] })
    const own = decide(catalog, lookup, scoped('housing', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(own).toMatchObject({ code: 'grant-missing', matters: [] })
    if (!own.allow) expect(own.detail).not.toContain('/v1/applications')
  })

  it('grant-not-yet-valid: refused until the first instant of the approval (Asia/Shanghai day), allowed from it', () => {
    const grant = catalog.grants.get(`${URBAN_MATTER}\u0000${PERMITS}\u0000read\u0000urban`)
    expect(grant?.validFromMs).toBe(Date.parse('2026-03-01T00:00:00+08:00'))
    const from = grant?.validFromMs as number
    const before = decide(
      catalog,
      lookup,
      scoped('urban', URBAN_MATTER),
      purpose(URBAN_MATTER),
      permits,
      'read',
      from - 1,
    )
    expect(before).toEqual({
      allow: false,
      code: 'grant-not-yet-valid',
      detail: 'the approval takes effect on 2026-03-01',
    })
    const at = decide(catalog, lookup, scoped('urban', URBAN_MATTER), purpose(URBAN_MATTER), permits, 'read', from)
    expect(at.allow).toBe(true)
  })

  it('grant-expired: allowed up to the last instant of the approval, refused from the day after', () => {
    const expired = decide(catalog, lookup, scoped('water', WATER_MATTER), purpose(WATER_MATTER), permits, 'read', NOW)
    expect(expired).toEqual({ allow: false, code: 'grant-expired', detail: 'the approval ended on 2025-06-30' })

    const grant = catalog.grants.get(`${WATER_MATTER}\u0000${PERMITS}\u0000read\u0000water`)
    expect(grant?.validUntilMs).toBe(Date.parse('2025-07-01T00:00:00+08:00'))
    const until = grant?.validUntilMs as number
    const lastInstant = decide(
      catalog,
      lookup,
      scoped('water', WATER_MATTER),
      purpose(WATER_MATTER),
      permits,
      'read',
      until - 1,
    )
    expect(lastInstant.allow).toBe(true)
    const atEnd = decide(catalog, lookup, scoped('water', WATER_MATTER), purpose(WATER_MATTER), permits, 'read', until)
    expect(atEnd).toMatchObject({ allow: false, code: 'grant-expired' })
  })

  it('grant-revoked: a revoked live grant refuses, naming its approval and the day, and hands back the grant', () => {
    const key = `${WATER_MATTER}\u0000${PERMITS}\u0000read\u0000water`
    const expired = catalog.grants.get(key) as Grant
    // Revoked even though its approval also ended: the revocation is what the caller must act on.
    const revoked: Grant = {
      ...expired,
      source: 'application',
      grantId: 'GR-2026-0042',
      approval: { ref: 'GR-2026-0042', approvedBy: 'housing', validFrom: '2024-03-01', validTo: '2025-06-30' },
      revoked: { at: '2026-05-06T17:30:00.000Z' },
    }
    const entry = { grant: revoked }
    const revokedLookup = new Map([...lookup, [key, entry]])
    for (const at of [NOW, (expired.validFromMs as number) - 1]) {
      const decision = decide(
        catalog,
        revokedLookup,
        scoped('water', WATER_MATTER),
        purpose(WATER_MATTER),
        permits,
        'read',
        at,
      )
      expect(decision).toEqual({
        allow: false,
        code: 'grant-revoked',
        // 17:30 UTC is 01:30 the next day in Shanghai.
        detail: 'the grant behind this call (approval GR-2026-0042) was revoked on 2026-05-07',
        grant: entry,
      })
      if (!decision.allow) expect(decision.grant).toBe(entry)
    }
    // The same grant not revoked is refused for its validity, and without a grant attached.
    const { revoked: _, ...unrevoked } = revoked
    const plain = decide(
      catalog,
      new Map([...lookup, [key, { grant: unrevoked }]]),
      scoped('water', WATER_MATTER),
      purpose(WATER_MATTER),
      permits,
      'read',
      NOW,
    )
    expect(plain).toEqual({ allow: false, code: 'grant-expired', detail: 'the approval ended on 2025-06-30' })
  })

  it('names a live grant’s matter from the lookup it decides on, each lookup (snapshot) with its own index', () => {
    const asMarket = (lookupOf: typeof lookup) =>
      decide(catalog, lookupOf, scoped('market', MATTER), purpose(MATTER), permits, 'read', NOW)
    expect(asMarket(lookup)).toMatchObject({ code: 'grant-missing', matters: [] })
    // A sharing application approved for 市场监管 under 城管's matter: the next snapshot's lookup carries it.
    const approved: Grant = {
      ...(catalog.grants.get(`${URBAN_MATTER}\u0000${PERMITS}\u0000read\u0000urban`) as Grant),
      source: 'application',
      grantId: 'GR-2026-0077',
      consumer: 'market',
      validFromMs: undefined,
      validUntilMs: undefined,
    }
    const next = new Map([...lookup, [`${URBAN_MATTER}\u0000${PERMITS}\u0000read\u0000market`, { grant: approved }]])
    expect(asMarket(next)).toMatchObject({
      code: 'grant-missing',
      matters: [{ code: URBAN_MATTER, name: '城市建筑垃圾处置核准' }],
    })
    // The earlier lookup keeps its own answer.
    expect(asMarket(lookup)).toMatchObject({ code: 'grant-missing', matters: [] })
  })

  it('reports the first failing check: department, sharing, matter, grant, then scope', () => {
    const secret = catalog.resources.get('housing.security-applicant') as Resource
    expect(decide(catalog, lookup, principal('nobody', []), purpose('QT99999999'), secret, 'read', NOW)).toMatchObject({
      code: 'department-unknown',
    })
    expect(decide(catalog, lookup, principal('drc', []), purpose('QT99999999'), secret, 'read', NOW)).toMatchObject({
      code: 'resource-not-shared',
    })
    expect(decide(catalog, lookup, principal('drc', []), purpose('QT99999999'), permits, 'read', NOW)).toMatchObject({
      code: 'matter-unknown',
    })
    expect(decide(catalog, lookup, principal('market', []), purpose(MATTER), permits, 'read', NOW)).toMatchObject({
      code: 'grant-missing',
    })
    expect(decide(catalog, lookup, principal('drc', []), purpose(MATTER), permits, 'read', NOW)).toMatchObject({
      code: 'insufficient-scope',
    })
  })
})
