import { afterEach, describe, expect, it } from 'vitest'
import type { StateStore } from '../../state/store.js'
import { isCursor, openSharingStore } from '../kysely-store.js'
import type { Application, LiveGrant, SharingEvent } from '../model.js'
import { objectionStoreConformance } from './objection-store-suite.js'

/**
 * One suite for the sharing store on every state store backend (embedded SQLite, PostgreSQL): documents round-trip,
 * optimistic updates let exactly one of two writers win, transactions roll back whole, listing pages and filters,
 * and the grant epoch and reminders that instances coordinate on.
 */
export interface SharingStoreSuiteOptions {
  readonly name: string
  /** A new connection to one fresh, migrated database each call within a test (as a second instance would open). */
  readonly open: () => Promise<{ state: StateStore; second: () => Promise<StateStore>; cleanup(): Promise<void> }>
}

const T0 = Date.parse('2026-11-26T02:00:00Z')

export function application(n: number, overrides: Partial<Application> = {}): Application {
  const at = new Date(T0 + n * 60_000).toISOString()
  return {
    id: `app-${String(n).padStart(4, '0')}`,
    version: 1,
    state: 'conformity-check',
    request: {
      resource: 'housing.construction-permit',
      matter: 'QT00301001',
      mode: 'query',
      usage: '业务协同',
      fields: ['permitNo'],
      masked: [],
      legalBasis: '《政务数据共享条例》',
      scene: '建设项目开工"一件事"',
      scopeOfUse: '本部门审批',
      validTo: '2027-12-31',
      contact: { name: '王工', phone: '025-12345678' },
    },
    action: 'read',
    consumer: 'drc',
    provider: 'housing',
    sharingType: 'conditional',
    applicant: 'officer-1',
    submittedAt: at,
    updatedAt: at,
    clock: {
      stage: 'conformity',
      budgetDays: 2,
      usedDays: 0,
      runStartedOn: '2026-11-26',
      dueDate: '2026-11-30',
      dueAt: Date.parse('2026-11-30T23:59:59.999+08:00'),
      paused: false,
      calendarCovered: true,
    },
    notices: [],
    ...overrides,
  }
}

export function event(app: Application, seq: number, overrides: Partial<SharingEvent> = {}): SharingEvent {
  return {
    applicationId: app.id,
    seq,
    at: app.updatedAt,
    actor: 'drc/officer-1',
    transition: 'apply',
    from: null,
    to: app.state,
    details: { note: '申请' },
    ...overrides,
  }
}

export function grant(n: number, overrides: Partial<LiveGrant> = {}): LiveGrant {
  return {
    id: `grant-${String(n).padStart(4, '0')}`,
    version: 1,
    state: 'active',
    applicationId: `app-${String(n).padStart(4, '0')}`,
    matter: 'QT00301001',
    consumer: 'drc',
    resource: 'housing.construction-permit',
    provider: 'housing',
    action: 'read',
    usage: '业务协同',
    fields: ['permitNo'],
    masked: [],
    validFrom: '2026-11-26',
    validTo: '2027-12-31',
    approvedBy: 'housing',
    approvedAt: new Date(T0 + n * 60_000).toISOString(),
    reminders: {},
    ...overrides,
  }
}

export function sharingStoreConformance(options: SharingStoreSuiteOptions): void {
  objectionStoreConformance(options)
  describe(`sharing store conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })
    async function fresh() {
      const storage = await options.open()
      cleanups.push(() => storage.cleanup())
      cleanups.push(() => storage.state.close())
      return { store: openSharingStore(storage.state), state: storage.state, second: storage.second }
    }

    it('keeps an application and its history whole (Chinese text, nested documents)', async () => {
      const { store } = await fresh()
      const app = application(1)
      await store.transaction((tx) => tx.insertApplication(app, event(app, 1)))
      expect(await store.getApplication(app.id)).toEqual(app)
      expect(await store.getApplication('app-none')).toBeUndefined()
      expect(await store.history(app.id)).toEqual([event(app, 1)])
    })

    it('updates only from the version read: a stale writer gets false and changes nothing', async () => {
      const { store } = await fresh()
      const app = application(1)
      await store.transaction((tx) => tx.insertApplication(app, event(app, 1)))
      const moved = { ...app, version: 2, state: 'provider-review' as const }
      const ok = await store.transaction((tx) =>
        tx.updateApplication(moved, 1, event(moved, 2, { transition: 'conformity-pass', from: app.state })),
      )
      expect(ok).toBe(true)
      const stale = { ...app, version: 2, state: 'refused' as const }
      const lost = await store.transaction((tx) =>
        tx.updateApplication(stale, 1, event(stale, 3, { transition: 'conformity-refuse' })),
      )
      expect(lost).toBe(false)
      expect((await store.getApplication(app.id))?.state).toBe('provider-review')
      expect((await store.history(app.id)).map((e) => e.seq)).toEqual([1, 2])
    })

    it('of two connections updating one version at once, exactly one wins', async () => {
      const { store, second } = await fresh()
      const other = await second()
      cleanups.push(() => other.close())
      const otherStore = openSharingStore(other)
      const app = application(1)
      await store.transaction((tx) => tx.insertApplication(app, event(app, 1)))
      const next = (state: Application['state']) => ({ ...app, version: 2, state })
      const results = await Promise.all([
        store.transaction(
          async (tx) =>
            (await tx.nextSeq(app.id)) > 0 && tx.updateApplication(next('approved'), 1, event(next('approved'), 2)),
        ),
        otherStore.transaction(
          async (tx) =>
            (await tx.nextSeq(app.id)) > 0 && tx.updateApplication(next('refused'), 1, event(next('refused'), 2)),
        ),
      ])
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await store.history(app.id)).toHaveLength(2)
    })

    it('rolls a transaction back whole when its work throws', async () => {
      const { store } = await fresh()
      const app = application(1)
      await expect(
        store.transaction(async (tx) => {
          await tx.insertApplication(app, event(app, 1))
          await tx.insertGrant(grant(1))
          await tx.bumpGrantEpoch()
          throw new Error('audit append failed')
        }),
      ).rejects.toThrow('audit append failed')
      expect(await store.getApplication(app.id)).toBeUndefined()
      expect(await store.getGrant('grant-0001')).toBeUndefined()
      expect(await store.grantEpoch()).toBe(0)
    })

    it('lists newest first in pages, with filters and department visibility', async () => {
      const { store } = await fresh()
      for (let n = 1; n <= 7; n++) {
        const app = application(n, n % 2 === 0 ? { consumer: 'urban', state: 'provider-review' } : {})
        await store.transaction((tx) => tx.insertApplication(app, event(app, 1)))
      }
      const first = await store.listApplications({ limit: 3 }, T0)
      expect(first.items.map((a) => a.id)).toEqual(['app-0007', 'app-0006', 'app-0005'])
      expect(first.next !== undefined && isCursor(first.next)).toBe(true)
      const second = await store.listApplications({ limit: 3, cursor: first.next }, T0)
      expect(second.items.map((a) => a.id)).toEqual(['app-0004', 'app-0003', 'app-0002'])
      const last = await store.listApplications({ limit: 3, cursor: second.next }, T0)
      expect(last.items.map((a) => a.id)).toEqual(['app-0001'])
      expect(last.next).toBeUndefined()
      const urban = await store.listApplications({ limit: 50 }, T0, { consumer: 'urban' })
      expect(urban.items.map((a) => a.id)).toEqual(['app-0006', 'app-0004', 'app-0002'])
      const reviewing = await store.listApplications({ limit: 50, state: 'provider-review' }, T0, {
        provider: 'housing',
      })
      expect(reviewing.items).toHaveLength(3)
      expect((await store.listApplications({ limit: 50 }, T0, { provider: 'market' })).items).toEqual([])
      expect((await store.listApplications({ limit: 50 }, T0, {})).items).toEqual([])
    })

    it('knows which running checks are overdue; a paused clock is never overdue', async () => {
      const { store } = await fresh()
      const due = application(1)
      const paused = application(2, {
        state: 'awaiting-applicant',
        clock: { ...(application(2).clock as NonNullable<Application['clock']>), paused: true },
      })
      const review = application(3, {
        state: 'provider-review',
        clock: { ...(application(3).clock as NonNullable<Application['clock']>), stage: 'review' },
      })
      for (const app of [due, paused, review]) await store.transaction((tx) => tx.insertApplication(app, event(app, 1)))
      const before = Date.parse('2026-11-30T23:00:00+08:00')
      const after = Date.parse('2026-12-01T00:00:00+08:00')
      expect(await store.countOverdue(before)).toEqual({ conformity: 0, review: 0 })
      expect(await store.countOverdue(after)).toEqual({ conformity: 1, review: 1 })
      expect((await store.overdueUnescalated(after)).map((a) => a.id).sort()).toEqual(['app-0001', 'app-0003'])
      const overdue = await store.listApplications({ limit: 50, overdue: true }, after)
      expect(overdue.items.map((a) => a.id)).toEqual(['app-0003', 'app-0001'])
      const onTime = await store.listApplications({ limit: 50, overdue: false }, after)
      expect(onTime.items.map((a) => a.id)).toEqual(['app-0002'])
      const escalated = { ...due, version: 2, escalatedAt: new Date(after).toISOString() }
      await store.transaction((tx) =>
        tx.updateApplication(escalated, 1, event(escalated, 2, { transition: 'escalate' })),
      )
      expect((await store.overdueUnescalated(after)).map((a) => a.id)).toEqual(['app-0003'])
    })

    it('keeps grants, lists the live ones (not superseded) and bumps the epoch', async () => {
      const { store } = await fresh()
      await store.transaction(async (tx) => {
        await tx.insertGrant(grant(1))
        await tx.insertGrant(grant(2, { consumer: 'urban', validTo: '2026-12-20' }))
        await tx.bumpGrantEpoch()
      })
      expect(await store.grantEpoch()).toBe(1)
      expect(await store.getGrant('grant-0001')).toEqual(grant(1))
      const superseded = { ...grant(1), version: 2, state: 'superseded' as const, supersededBy: 'grant-0003' }
      const updated = await store.transaction(async (tx) => {
        const found = await tx.grantsFor('QT00301001', 'housing.construction-permit', 'read', 'drc')
        expect(found.map((g) => g.id)).toEqual(['grant-0001'])
        const ok = await tx.updateGrant(superseded, 1)
        await tx.insertGrant(grant(3))
        await tx.bumpGrantEpoch()
        return ok
      })
      expect(updated).toBe(true)
      expect(await store.transaction((tx) => tx.updateGrant({ ...superseded, version: 3 }, 1))).toBe(false)
      expect(await store.grantEpoch()).toBe(2)
      expect((await store.liveGrants()).map((g) => g.id).sort()).toEqual(['grant-0002', 'grant-0003'])
      const urban = await store.listGrants({ limit: 10 }, '2026-11-26', { consumer: 'urban' })
      expect(urban.items.map((g) => g.id)).toEqual(['grant-0002'])
      const expiring = await store.listGrants({ limit: 10, expiringWithinDays: 30 }, '2026-11-26')
      expect(expiring.items.map((g) => g.id)).toEqual(['grant-0002'])
      const page1 = await store.listGrants({ limit: 2 }, '2026-11-26')
      expect(page1.items.map((g) => g.id)).toEqual(['grant-0003', 'grant-0002'])
      const page2 = await store.listGrants({ limit: 2, cursor: page1.next }, '2026-11-26')
      expect(page2.items.map((g) => g.id)).toEqual(['grant-0001'])
    })

    it('gives each expiry reminder once, even to two connections at once', async () => {
      const { store, second } = await fresh()
      const otherState = await second()
      cleanups.push(() => otherState.close())
      const other = openSharingStore(otherState)
      await store.transaction((tx) => tx.insertGrant(grant(1, { validTo: '2026-12-20' })))
      expect((await store.grantsDueForReminder(30, '2026-11-26', '2026-12-26')).map((g) => g.id)).toEqual([
        'grant-0001',
      ])
      expect(await store.grantsDueForReminder(7, '2026-11-26', '2026-12-03')).toEqual([])
      // Already expired: no reminder (and not returned again and again).
      expect(await store.grantsDueForReminder(30, '2026-12-21', '2027-01-20')).toEqual([])
      const at = new Date(T0).toISOString()
      const claims = await Promise.all([
        store.transaction((tx) => tx.markReminded('grant-0001', 30, at)),
        other.transaction((tx) => tx.markReminded('grant-0001', 30, at)),
      ])
      expect(claims.filter(Boolean)).toHaveLength(1)
      expect(await store.grantsDueForReminder(30, '2026-11-26', '2026-12-26')).toEqual([])
      expect((await store.getGrant('grant-0001'))?.reminders).toEqual({ '30': at })
    })
  })
}
