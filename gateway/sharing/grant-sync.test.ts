import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { Principal } from '../auth/principal.js'
import { exchangeScope } from '../auth/principal.js'
import { SnapshotHolder } from '../catalog/holder.js'
import { loadCatalog } from '../catalog/load.js'
import { changeSnapshot, reloadCatalog } from '../catalog/reload.js'
import { buildSnapshot, type CatalogSnapshot } from '../catalog/snapshot.js'
import { type Catalog, grantKey } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { HealthMonitor } from '../health/connector-health.js'
import { authorizeCall } from '../pipeline/30-authorize.js'
import { auditRecordOf } from '../pipeline/70-write-audit.js'
import { createLogger } from '../telemetry/logger.js'
import type { GrantFeed } from './grant-feed.js'
import { startGrantSync } from './grant-sync.js'
import type { LiveGrant } from './model.js'

const CATALOG_FILE = fileURLToPath(new URL('../../catalog.yaml', import.meta.url))
const PERMITS = 'housing.construction-permit'
const MATTER = 'XK00208001'
const NOW = Date.parse('2026-11-26T02:00:00Z')
const clock = { now: () => NOW }
const silent = createLogger('silent')

let catalog: Catalog
const snapshots: CatalogSnapshot[] = []

beforeAll(async () => {
  const loaded = await loadCatalog(CATALOG_FILE, { definitions: connectorDefinitions, vars: {} })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
})

afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(snapshots.splice(0).map((s) => s.dispose()))
})

function liveGrant(id: string, overrides: Partial<LiveGrant> = {}): LiveGrant {
  return {
    id,
    version: 1,
    state: 'active',
    applicationId: `AP-${id}`,
    matter: MATTER,
    consumer: 'natres',
    resource: PERMITS,
    provider: 'housing',
    action: 'read',
    usage: '行政依据',
    fields: ['permitNo', 'projectName'],
    masked: ['ownerLeadPhone'],
    validFrom: '2026-03-01',
    validTo: '2027-02-28',
    approvedBy: 'housing/reviewer-7',
    approvedAt: '2026-02-20T03:00:00.000Z',
    reminders: {},
    ...overrides,
  }
}

const NATRES_KEY = grantKey(MATTER, PERMITS, 'read', 'natres')

function build(live: readonly LiveGrant[], previous?: CatalogSnapshot, fileCatalog = catalog): CatalogSnapshot {
  const snapshot = buildSnapshot(fileCatalog, { log: silent, clock }, previous, live)
  snapshots.push(snapshot)
  return snapshot
}

function principal(dept: string, scopes: string[]): Principal {
  const base = { sub: 'officer-001', clientId: undefined, tokenId: undefined, keyId: undefined }
  return { ...base, dept, scopes: new Set(scopes), expiresAt: NOW + 3_600_000 }
}

describe('buildSnapshot with live grants', () => {
  it('compiles them beside the catalog grants and keeps what it was built from', () => {
    const live = [liveGrant('GR-1', { quota: { limit: 100, per: 'hour' } })]
    const snapshot = build(live)
    expect(snapshot.fileCatalog).toBe(catalog)
    expect(snapshot.liveGrants).toBe(live)
    expect(snapshot.catalog.grants.get(NATRES_KEY)).toMatchObject({ source: 'application', grantId: 'GR-1' })
    const compiled = snapshot.grants.read.get(NATRES_KEY)
    expect(compiled).toMatchObject({
      fields: ['permitNo', 'projectName', 'ownerLeadPhone'],
      masked: ['ownerLeadPhone'],
    })
    expect(compiled?.project({ permitNo: 'P-1', ownerLeadPhone: '13912345678', ownerName: 'X' })).toEqual({
      permitNo: 'P-1',
      ownerLeadPhone: '139****5678',
    })
    expect(snapshot.quotas.quotas.map((q) => q.id)).toContain('grant:GR-1')
  })

  it('logs a warning for each live grant it skips and builds the rest', () => {
    const lines: string[] = []
    const log = Object.assign(Object.create(silent), { warn: (_: object, msg: string) => lines.push(msg) })
    const gone = liveGrant('GR-2', { resource: 'housing.demolished' })
    const snapshot = buildSnapshot(catalog, { log, clock }, undefined, [gone, liveGrant('GR-1')])
    snapshots.push(snapshot)
    expect(snapshot.skippedGrants).toEqual([{ grant: gone, reason: expect.any(String) }])
    expect(lines).toEqual(['live grant skipped: resource housing.demolished is no longer in the catalog'])
    expect(snapshot.grants.read.has(NATRES_KEY)).toBe(true)
  })

  it('takes the compiled catalog grants over from a snapshot of the same file, recompiling only live grants', () => {
    const first = build([liveGrant('GR-1')])
    const second = build([liveGrant('GR-1', { fields: ['permitNo'] })], first)
    const catalogKey = grantKey('QT00301001', PERMITS, 'read', 'drc')
    expect(second.grants.read.get(catalogKey)).toBe(first.grants.read.get(catalogKey))
    expect(second.grants.read.get(NATRES_KEY)?.fields).toEqual(['permitNo', 'ownerLeadPhone'])
    const otherFile = build([], second, { ...catalog })
    expect(otherFile.grants.read.get(catalogKey)).not.toBe(first.grants.read.get(catalogKey))
  })

  it('refuses a call under a revoked grant with grant-revoked, and its audit record names the approval', () => {
    const snapshot = build([liveGrant('GR-9', { state: 'revoked', revokedAt: '2026-11-20T02:00:00.000Z' })])
    const call = {
      requestId: 'req-1',
      auditId: 'aud-1',
      startedAt: NOW,
      snapshot,
      resourceId: PERMITS,
      action: 'read' as const,
      principal: principal('natres', [exchangeScope(MATTER, PERMITS, 'read')]),
    }
    let refused: unknown
    try {
      authorizeCall(call, MATTER, 'NJ-2026-1', NOW)
    } catch (err) {
      refused = err
    }
    expect(refused).toBeInstanceOf(GatewayError)
    const error = refused as GatewayError
    expect(error).toMatchObject({ code: 'grant-revoked', status: 403, extensions: { approvalRef: 'GR-9' } })
    expect(error.detail).toBe('the grant behind this call (approval GR-9) was revoked on 2026-11-20')
    const record = auditRecordOf(call, error, 403, NOW, () => 'digest')
    expect(record).toMatchObject({ decision: 'deny', reason: 'grant-revoked', approvalRef: 'GR-9', fields: [] })
  })
})

/** A sharing store whose reads the test answers one by one. */
function controlledStore() {
  const pending: Array<{ resolve(grants: LiveGrant[]): void; reject(err: Error): void }> = []
  return {
    reads: () => pending.length,
    answer(n: number, grants: LiveGrant[]) {
      pending[n]?.resolve(grants)
    },
    fail(n: number, err: Error) {
      pending[n]?.reject(err)
    },
    store: {
      liveGrants: () => new Promise<LiveGrant[]>((resolve, reject) => pending.push({ resolve, reject })),
    },
  }
}

function fakeFeed() {
  const feed = { onChange: (_: number) => {}, closed: false }
  const start = async (onChange: (epoch: number) => void): Promise<GrantFeed> => {
    feed.onChange = onChange
    return {
      async close() {
        feed.closed = true
      },
    }
  }
  return { feed, start }
}

function recordingLog() {
  const lines: Array<{ level: 'info' | 'error'; obj: object; msg?: string }> = []
  return {
    lines,
    info: (obj: object, msg?: string) => lines.push({ level: 'info', obj, msg }),
    error: (obj: object, msg?: string) => lines.push({ level: 'error', obj, msg }),
  }
}

/** Starts a sync over a holder of the demo catalog; the first read is answered with `initial`. */
async function started(initial: LiveGrant[], options: { retryMs?: number } = {}) {
  const control = controlledStore()
  const { feed, start } = fakeFeed()
  const holder = new SnapshotHolder(build([]))
  const log = recordingLog()
  const synced: CatalogSnapshot[] = []
  const starting = startGrantSync({
    store: control.store,
    holder,
    rebuild: (file, live, previous) => build(live, previous, file),
    log,
    feed: start,
    onSynced: (s) => synced.push(s),
    ...options,
  })
  await vi.waitFor(() => expect(control.reads()).toBe(1))
  control.answer(0, initial)
  const sync = await starting
  return { control, feed, holder, log, synced, sync }
}

describe('startGrantSync', () => {
  it('compiles the live grants on start and again on every epoch change', async () => {
    const { control, feed, holder, synced, sync } = await started([liveGrant('GR-1')])
    expect(holder.get().liveGrants.map((g) => g.id)).toEqual(['GR-1'])
    expect(holder.get().grants.read.get(NATRES_KEY)?.grant.grantId).toBe('GR-1')

    feed.onChange(2)
    await vi.waitFor(() => expect(control.reads()).toBe(2))
    control.answer(1, [liveGrant('GR-1', { state: 'revoked', revokedAt: '2026-11-20T02:00:00.000Z' })])
    await vi.waitFor(() => expect(sync.stats.syncs).toBe(2))
    expect(holder.get().grants.read.get(NATRES_KEY)?.grant.revoked).toEqual({ at: '2026-11-20T02:00:00.000Z' })
    expect(synced).toHaveLength(2)
    expect(sync.stats).toEqual({ syncs: 2, failures: 0 })
    await sync.close()
    expect(feed.closed).toBe(true)
  })

  it('coalesces a burst: one sync runs, one more follows, and every request is served by those two', async () => {
    const { control, feed, holder, sync } = await started([])
    const waiting = [sync.refresh(), sync.refresh()]
    for (let epoch = 2; epoch < 12; epoch++) feed.onChange(epoch)
    waiting.push(sync.refresh())
    expect(control.reads()).toBe(2) // the start's read and the running one; the queued one has not begun
    control.answer(1, [liveGrant('GR-1')])
    await vi.waitFor(() => expect(control.reads()).toBe(3))
    control.answer(2, [liveGrant('GR-1'), liveGrant('GR-2', { consumer: 'urban', matter: 'QR00112001' })])
    await Promise.all(waiting)
    expect(control.reads()).toBe(3)
    expect(holder.get().liveGrants.map((g) => g.id)).toEqual(['GR-1', 'GR-2'])
    expect(sync.stats.syncs).toBe(3)
    await sync.close()
  })

  it('keeps the current snapshot when the grants cannot be read, logs an error, counts it and retries', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { control, holder, log, sync } = await started([liveGrant('GR-1')], { retryMs: 5_000 })
    const before = holder.get()
    const refreshing = sync.refresh()
    control.fail(1, new Error('connection refused'))
    await refreshing
    expect(holder.get()).toBe(before)
    expect(holder.get().grants.read.has(NATRES_KEY)).toBe(true)
    expect(sync.stats).toEqual({ syncs: 1, failures: 1 })
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        obj: { err: 'connection refused', failures: 1 },
        msg: 'live grants not synced; the snapshot keeps the grants compiled before',
      },
    ])
    await vi.advanceTimersByTimeAsync(5_000)
    expect(control.reads()).toBe(3)
    control.answer(2, [])
    await vi.waitFor(() => expect(sync.stats.syncs).toBe(2))
    expect(holder.get().liveGrants).toEqual([])
    await sync.close()
  })

  it('refreshes nothing once closed', async () => {
    const { control, sync } = await started([])
    await sync.close()
    await sync.refresh()
    expect(control.reads()).toBe(1)
  })
})

describe('catalog reload and grant sync', () => {
  const reloadContext = (holder: SnapshotHolder) => ({
    file: CATALOG_FILE,
    definitions: connectorDefinitions,
    vars: {},
    holder,
    audit: { append: async () => {} } as unknown as AuditLog,
    health: { check: async () => {} } as unknown as HealthMonitor,
    log: silent,
    clock,
  })

  it('a reload builds the new file catalog with the live grants of the current snapshot', async () => {
    const live = [liveGrant('GR-1')]
    const holder = new SnapshotHolder(build(live))
    const result = await reloadCatalog(reloadContext(holder), 'test')
    expect(result.ok).toBe(true)
    const next = holder.get()
    snapshots.push(next)
    expect(next.fileCatalog).not.toBe(catalog)
    expect(next.liveGrants).toBe(live)
    expect(next.grants.read.get(NATRES_KEY)?.grant.grantId).toBe('GR-1')
  })

  it('share one chain of changes: a sync waits for a reload under way, then builds on its result', async () => {
    const { control, holder, sync } = await started([])
    // The reload holds its place in the chain while its audit record is written: a sync that swapped meanwhile
    // would be overwritten by the reload's snapshot, built with the grants of before.
    let auditWritten = () => {}
    let auditing = false
    const audit = {
      append: () =>
        new Promise<void>((resolve) => {
          auditing = true
          auditWritten = resolve
        }),
    } as unknown as AuditLog
    const reloading = reloadCatalog({ ...reloadContext(holder), audit }, 'test')
    await vi.waitFor(() => expect(auditing).toBe(true))
    const before = holder.get()
    const syncing = sync.refresh()
    await vi.waitFor(() => expect(control.reads()).toBe(2))
    control.answer(1, [liveGrant('GR-7')])
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(holder.get()).toBe(before)
    auditWritten()
    await Promise.all([reloading, syncing])
    snapshots.push(holder.get())
    expect(holder.get().fileCatalog).not.toBe(catalog)
    expect(holder.get().liveGrants.map((g) => g.id)).toEqual(['GR-7'])
    expect(sync.stats.syncs).toBe(2)
    await sync.close()
  })

  it('changeSnapshot runs changes of one holder one after another, and goes on after a failed one', async () => {
    const holder = new SnapshotHolder(build([]))
    const order: string[] = []
    let release = () => {}
    const first = changeSnapshot(holder, () => new Promise<void>((resolve) => (release = resolve)))
    const failing = changeSnapshot(holder, async () => {
      order.push('failing')
      throw new Error('no')
    })
    const third = changeSnapshot(holder, async () => order.push('third'))
    const otherHolder = changeSnapshot(new SnapshotHolder(build([])), async () => order.push('other holder'))
    await otherHolder
    expect(order).toEqual(['other holder'])
    release()
    await first
    await expect(failing).rejects.toThrow('no')
    await third
    expect(order).toEqual(['other holder', 'failing', 'third'])
  })
})
