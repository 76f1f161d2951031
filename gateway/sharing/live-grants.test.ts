import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import { checkCatalogFile } from '../catalog/check.js'
import { loadCatalog } from '../catalog/load.js'
import { type Catalog, grantKey } from '../catalog/types.js'
import { openStateStore } from '../state/open.js'
import { openSharingStore } from './kysely-store.js'
import { liveQuotas, mergeGrants, toGrant } from './live-grants.js'
import type { LiveGrant } from './model.js'
import { grantOverlaps, overlapMessage, warnGrantOverlaps } from './overlaps.js'

const PERMITS = 'housing.construction-permit'
const INVEST = 'QT00301001' // grants drc read on the permits in the catalog (approval 宁住建共享〔2026〕3号)
const URBAN = 'XK00208001' // grants urban read on the permits, 2026-03-01 … 2028-02-29
const DRC_PERMITS = grantKey(INVEST, PERMITS, 'read', 'drc')

const CATALOG_FILE = fileURLToPath(new URL('../../catalog.yaml', import.meta.url))

let catalog: Catalog

beforeAll(async () => {
  const loaded = await loadCatalog(CATALOG_FILE, {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
})

function liveGrant(overrides: Partial<LiveGrant> = {}): LiveGrant {
  return {
    id: 'GR-2026-0001',
    version: 1,
    state: 'active',
    applicationId: 'AP-2026-0001',
    matter: INVEST,
    consumer: 'drc',
    resource: PERMITS,
    provider: 'housing',
    action: 'read',
    usage: '业务协同',
    fields: ['permitNo', 'projectName'],
    masked: ['ownerLeadName'],
    validFrom: '2026-03-01',
    validTo: '2028-02-29',
    approvedBy: 'housing/reviewer-7',
    approvedAt: '2026-02-20T03:00:00.000Z',
    reminders: {},
    ...overrides,
  }
}

const revoked = (overrides: Partial<LiveGrant> = {}) =>
  liveGrant({
    state: 'revoked',
    revokedAt: '2026-05-06T17:30:00.000Z',
    revokedBy: 'authority/admin-3',
    revokeReason: '申请单位超范围使用 张三 13912345678',
    ...overrides,
  })

describe('toGrant', () => {
  it('is a grant of the application with the grant id as approval reference', () => {
    expect(toGrant(liveGrant())).toMatchObject({
      source: 'application',
      grantId: 'GR-2026-0001',
      matter: INVEST,
      consumer: 'drc',
      resource: PERMITS,
      action: 'read',
      usage: '业务协同',
      fields: ['permitNo', 'projectName'],
      masked: ['ownerLeadName'],
      approval: {
        ref: 'GR-2026-0001',
        approvedBy: 'housing/reviewer-7',
        validFrom: '2026-03-01',
        validTo: '2028-02-29',
      },
      revoked: undefined,
    })
  })

  it('is valid over exactly the instants a catalog approval of the same days is (Asia/Shanghai day bounds)', () => {
    const fromFile = catalog.grants.get(grantKey(URBAN, PERMITS, 'read', 'urban'))
    expect(fromFile?.approval).toMatchObject({ validFrom: '2026-03-01', validTo: '2028-02-29' })
    const live = toGrant(liveGrant())
    expect(live.validFromMs).toBe(fromFile?.validFromMs)
    expect(live.validUntilMs).toBe(fromFile?.validUntilMs)
    expect(live.validUntilMs).toBe(Date.parse('2028-03-01T00:00:00+08:00'))
  })

  it('keeps of a revocation only when it happened: reason and officer never reach the exchange path', () => {
    const grant = toGrant(revoked())
    expect(grant.revoked).toEqual({ at: '2026-05-06T17:30:00.000Z' })
    expect(JSON.stringify(grant)).not.toContain('超范围')
    expect(JSON.stringify(grant)).not.toContain('admin-3')
  })
})

describe('mergeGrants', () => {
  it('returns the catalog itself when there are no live grants', () => {
    expect(mergeGrants(catalog, [])).toEqual({ catalog, skipped: [] })
  })

  it('adds a live grant under its key, and appends nothing else', () => {
    const live = liveGrant({ matter: URBAN, consumer: 'natres' })
    const { catalog: merged, skipped } = mergeGrants(catalog, [live])
    expect(skipped).toEqual([])
    expect(merged.grants.size).toBe(catalog.grants.size + 1)
    expect(merged.grants.get(grantKey(URBAN, PERMITS, 'read', 'natres'))).toMatchObject({ grantId: live.id })
    expect(merged.resources).toBe(catalog.resources)
    expect(merged.version).toBe(catalog.version)
  })

  it('lets a live grant replace the catalog grant with the same key, and leaves the file catalog as it was', () => {
    const { catalog: merged } = mergeGrants(catalog, [liveGrant()])
    expect(merged.grants.get(DRC_PERMITS)).toMatchObject({ source: 'application', grantId: 'GR-2026-0001' })
    expect(merged.grants.size).toBe(catalog.grants.size)
    expect(catalog.grants.get(DRC_PERMITS)).toMatchObject({
      source: 'catalog',
      approval: { ref: '宁住建共享〔2026〕3号' },
    })
  })

  it('lets a revocation win over the grant still written in the catalog', () => {
    const { catalog: merged } = mergeGrants(catalog, [revoked()])
    expect(merged.grants.get(DRC_PERMITS)).toMatchObject({ source: 'application', revoked: { at: expect.any(String) } })
  })

  it('leaves superseded grants out without a warning', () => {
    const { catalog: merged, skipped } = mergeGrants(catalog, [liveGrant({ state: 'superseded', supersededBy: 'X' })])
    expect(merged).toBe(catalog)
    expect(skipped).toEqual([])
  })

  it('skips, and lists with the reason, what the catalog can no longer carry', () => {
    const cases: Array<[Partial<LiveGrant>, RegExp]> = [
      [{ resource: 'housing.demolished' }, /resource housing\.demolished is no longer in the catalog/],
      [{ matter: 'XK09999001' }, /matter XK09999001 is no longer in the catalog/],
      [{ consumer: 'tourism' }, /department tourism is no longer in the catalog/],
      [{ action: 'write' }, /resource housing\.construction-permit no longer binds write/],
      [{ fields: ['permitNo', 'elevatorCount'] }, /no longer has field\(s\) elevatorCount/],
      [{ masked: ['permitNo'] }, /permitNo of housing\.construction-permit have no mask rule/],
      [{ quota: { limit: 100, per: 'fortnight' } }, /quota per "fortnight"/],
      [{ quota: { limit: 0, per: 'day' } }, /quota limit is not a positive integer/],
      [{ quota: { limit: 10, per: '30d' } }, /quota window is longer than 604800 s/],
    ]
    for (const [overrides, reason] of cases) {
      const grant = liveGrant({ matter: URBAN, consumer: 'natres', ...overrides })
      const { catalog: merged, skipped } = mergeGrants(catalog, [grant])
      expect(skipped).toEqual([{ grant, reason: expect.stringMatching(reason) }])
      expect(merged).toBe(catalog)
    }
  })

  it('keeps a revocation whose fields the resource lost since: it releases nothing anyway', () => {
    const { catalog: merged, skipped } = mergeGrants(catalog, [revoked({ fields: ['elevatorCount'] })])
    expect(skipped).toEqual([])
    expect(merged.grants.get(DRC_PERMITS)).toMatchObject({ revoked: {}, fields: [], masked: [] })
  })

  it('of two live grants with one key keeps the later decision, a revocation on a tie', () => {
    const older = liveGrant({ id: 'GR-1', approvedAt: '2026-02-01T00:00:00.000Z' })
    const newer = liveGrant({ id: 'GR-2', approvedAt: '2026-04-01T00:00:00.000Z' })
    const first = mergeGrants(catalog, [newer, older])
    expect(first.catalog.grants.get(DRC_PERMITS)?.grantId).toBe('GR-2')
    expect(first.skipped).toEqual([{ grant: older, reason: expect.stringContaining('GR-2') }])

    const revokedLater = revoked({ id: 'GR-1', approvedAt: '2026-02-01T00:00:00.000Z' })
    const second = mergeGrants(catalog, [newer, revokedLater])
    expect(second.catalog.grants.get(DRC_PERMITS)?.grantId).toBe('GR-1')

    const tie = revoked({ id: 'GR-0', revokedAt: newer.approvedAt })
    expect(mergeGrants(catalog, [newer, tie]).catalog.grants.get(DRC_PERMITS)?.grantId).toBe('GR-0')
  })
})

describe('live quotas', () => {
  it("become catalog quotas on the grant's department, matter and resource, after the catalog's own", () => {
    const live = liveGrant({ quota: { limit: 300, per: 'hour' } })
    const { catalog: merged } = mergeGrants(catalog, [live])
    expect(merged.quotas.slice(0, catalog.quotas.length)).toEqual(catalog.quotas)
    expect(merged.quotas.slice(catalog.quotas.length)).toEqual([
      {
        id: 'grant:GR-2026-0001',
        department: 'drc',
        matter: INVEST,
        resource: PERMITS,
        limit: 300,
        per: 'hour',
        windowSeconds: 3600,
        burst: 300,
      },
    ])
  })

  it('parse `per` as the catalog does, and leave out revoked grants and grants without a quota', () => {
    const quotas = liveQuotas([
      liveGrant({ id: 'A', quota: { limit: 5, per: '10s' } }),
      revoked({ id: 'B', quota: { limit: 5, per: 'minute' } }),
      liveGrant({ id: 'C' }),
    ])
    expect(quotas.map((q) => [q.id, q.windowSeconds])).toEqual([['grant:A', 10]])
  })
})

describe('grant overlaps', () => {
  it('are the keys with a catalog grant and a live grant not superseded, in catalog order', () => {
    const live = [
      liveGrant({ id: 'GR-1' }),
      revoked({ id: 'GR-2', matter: URBAN, consumer: 'urban' }),
      liveGrant({ id: 'GR-3', matter: URBAN, consumer: 'natres' }), // no catalog grant
      liveGrant({ id: 'GR-4', matter: URBAN, consumer: 'urban', state: 'superseded', supersededBy: 'GR-2' }),
    ]
    expect(grantOverlaps(catalog, live)).toEqual([
      { matter: INVEST, resource: PERMITS, action: 'read', consumer: 'drc', grantIds: ['GR-1'] },
      { matter: URBAN, resource: PERMITS, action: 'read', consumer: 'urban', grantIds: ['GR-2'] },
    ])
    expect(grantOverlaps(catalog, [])).toEqual([])
  })

  it('are found in the file catalog only: in the merged one the live grant took the place', () => {
    const live = [liveGrant()]
    expect(grantOverlaps(mergeGrants(catalog, live).catalog, live)).toEqual([])
  })

  it('say which grant applies and what to do, and are logged one warning each', () => {
    const [overlap] = grantOverlaps(catalog, [liveGrant()])
    expect(overlap && overlapMessage(overlap)).toBe(
      'read of housing.construction-permit for drc under matter QT00301001 is granted in the catalog and by live ' +
        "grant GR-2026-0001; the live grant applies, remove the catalog's",
    )
    const lines: Array<[object, string | undefined]> = []
    const logged = warnGrantOverlaps(
      { fileCatalog: catalog, liveGrants: [liveGrant()] },
      { warn: (obj, msg) => lines.push([obj, msg]) },
    )
    expect(logged).toHaveLength(1)
    expect(lines).toEqual([
      [expect.objectContaining({ grantIds: ['GR-2026-0001'] }), expect.stringMatching(/^read of/)],
    ])
  })
})

describe('qiao catalog check and the state store', () => {
  async function check(vars: Record<string, string>) {
    const [stdout, stderr] = [new PassThrough(), new PassThrough()]
    const text = (stream: PassThrough) => {
      stream.end()
      return String(stream.read() ?? '')
    }
    const code = await checkCatalogFile(CATALOG_FILE, { stdout, stderr }, vars)
    return { code, stdout: text(stdout), stderr: text(stderr) }
  }

  it('warns at each catalog grant a live grant replaces, and still exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'qiao-check-state-'))
    try {
      const state = await openStateStore({ url: undefined, dataDir })
      await openSharingStore(state).transaction(async (tx) => {
        await tx.insertGrant(liveGrant())
        await tx.insertGrant(liveGrant({ id: 'GR-OLD', state: 'superseded', supersededBy: 'GR-2026-0001' }))
        await tx.insertGrant(revoked({ id: 'GR-2026-0002', matter: URBAN, consumer: 'urban' }))
      })
      await state.close()
      const { code, stdout, stderr } = await check({ QIAO_DATA_DIR: dataDir })
      expect(code).toBe(0)
      expect(stdout).toMatch(/OK/)
      const lines = stderr.trimEnd().split('\n')
      expect(lines).toEqual([
        expect.stringMatching(
          /^.+:\d+:9 warning: matters\[0\]\.grants\[0\]: read of housing\.construction-permit for drc under matter QT00301001 is granted in the catalog and by live grant GR-2026-0001; the live grant applies, remove the catalog's$/,
        ),
        expect.stringMatching(
          /^.+:\d+:9 warning: matters\[1\]\.grants\[0\]: read of housing\.construction-permit for urban .* live grant GR-2026-0002;/,
        ),
      ])
      // Each points at its grant in the file.
      const text = (await readFile(CATALOG_FILE, 'utf8')).split('\n')
      const lineOf = (message: string) => text[Number(message.slice(CATALOG_FILE.length + 1).split(':')[0]) - 1]
      expect(lines.map(lineOf)).toEqual([
        expect.stringMatching(/- consumer: drc$/),
        expect.stringMatching(/- consumer: urban$/),
      ])
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('creates no state store where there is none, and says nothing of live grants', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'qiao-check-none-'))
    try {
      const { code, stderr } = await check({ QIAO_DATA_DIR: dataDir })
      expect(code).toBe(0)
      expect(stderr).toBe('')
      expect(existsSync(join(dataDir, 'state.sqlite'))).toBe(false)
      expect(await readdir(dataDir)).toEqual([])
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('warns, without failing, when the configured state store cannot be read', async () => {
    const { code, stderr } = await check({ QIAO_STATE_URL: 'postgres://postgres@127.0.0.1:1/test' })
    expect(code).toBe(0)
    expect(stderr).toMatch(/^.+:\d+:\d+ warning: live grants not checked, the state store cannot be read \(.+\)\n$/)
  })
})
