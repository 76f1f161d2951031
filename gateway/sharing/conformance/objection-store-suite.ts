import { afterEach, describe, expect, it } from 'vitest'
import type { StateStore } from '../../state/store.js'
import type { Objection } from '../objections-model.js'
import { openObjectionStore } from '../objections-store.js'
import type { SharingStoreSuiteOptions } from './store-suite.js'

const T0 = Date.parse('2026-11-26T02:00:00Z')

export function objection(n: number, overrides: Partial<Objection> = {}): Objection {
  const at = new Date(T0 + n * 60_000).toISOString()
  return {
    id: `obj-${String(n).padStart(4, '0')}`,
    version: 1,
    state: 'open',
    resource: 'housing.construction-permit',
    provider: 'housing',
    consumer: 'drc',
    auditId: '019a0000-0000-7000-8000-000000000001',
    matter: 'QT00301001',
    recordKey: { permitNo: `3201002026112600${n}` },
    field: 'constructionSite',
    claimedValue: '南京市江北新区浦滨路120号',
    evidence: { description: '现场核查记录', refs: ['宁发改核〔2026〕88号'] },
    raisedBy: 'drc/officer-1',
    raisedAt: at,
    updatedAt: at,
    due: {
      workingDays: 5,
      dueDate: '2026-12-03',
      dueAt: Date.parse('2026-12-03T23:59:59.999+08:00'),
      calendarCovered: true,
    },
    ...overrides,
  }
}

function resolved(o: Objection, outcome: 'accepted' | 'rejected' | 'withdrawn', workingDays: number): Objection {
  const at = new Date(Date.parse(o.raisedAt) + 3_600_000).toISOString()
  return {
    ...o,
    version: o.version + 1,
    state: outcome,
    updatedAt: at,
    resolution: { outcome, by: 'housing/r-1', at, workingDays },
  }
}

/** The objection cases of the sharing store conformance suite, on the same backends (store-suite.ts runs them). */
export function objectionStoreConformance(options: SharingStoreSuiteOptions): void {
  describe(`objection store conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })
    async function fresh() {
      const storage = await options.open()
      cleanups.push(() => storage.cleanup())
      cleanups.push(() => storage.state.close())
      return { store: openObjectionStore(storage.state), second: storage.second }
    }
    async function other(second: () => Promise<StateStore>) {
      const state = await second()
      cleanups.push(() => state.close())
      return openObjectionStore(state)
    }

    it('keeps an objection whole and updates it only from the version read; of two writers exactly one wins', async () => {
      const { store, second } = await fresh()
      const o = objection(1)
      await store.transaction((tx) => tx.insert(o))
      expect(await store.get(o.id)).toEqual(o)
      expect(await store.get('obj-none')).toBeUndefined()
      const otherStore = await other(second)
      const results = await Promise.all([
        store.transaction((tx) => tx.update(resolved(o, 'accepted', 1), 1)),
        otherStore.transaction((tx) => tx.update(resolved(o, 'withdrawn', 0), 1)),
      ])
      expect(results.filter(Boolean)).toHaveLength(1)
      const stored = (await store.get(o.id)) as Objection
      expect(stored.version).toBe(2)
      expect(await store.transaction((tx) => tx.update(resolved(stored, 'rejected', 2), 1))).toBe(false)
      expect((await store.get(o.id))?.state).toBe(stored.state)
    })

    it('rolls a transaction back whole, epoch included', async () => {
      const { store } = await fresh()
      await expect(
        store.transaction(async (tx) => {
          await tx.insert(objection(1))
          await tx.bumpEpoch()
          throw new Error('audit refused')
        }),
      ).rejects.toThrow('audit refused')
      expect(await store.get('obj-0001')).toBeUndefined()
      expect(await store.epoch()).toBe(0)
    })

    it('lists the open ones for compiling, bumps the epoch, and pages inboxes newest first', async () => {
      const { store, second } = await fresh()
      const numeric = objection(3, {
        resource: 'market.enterprise-registration',
        provider: 'market',
        recordKey: { uscc: 7 },
      })
      await store.transaction(async (tx) => {
        await tx.insert(objection(1))
        await tx.insert(objection(2, { consumer: 'urban', field: 'ownerName' }))
        await tx.insert(numeric)
        await tx.bumpEpoch()
      })
      expect(await (await other(second)).epoch()).toBe(1)
      await store.transaction(async (tx) => {
        await tx.update(resolved(objection(2, { consumer: 'urban', field: 'ownerName' }), 'rejected', 3), 1)
        await tx.bumpEpoch()
      })
      expect(await store.epoch()).toBe(2)
      expect(await store.open()).toEqual([
        {
          id: 'obj-0001',
          resource: 'housing.construction-permit',
          provider: 'housing',
          key: '"32010020261126001"',
          field: 'constructionSite',
          since: objection(1).raisedAt,
        },
        {
          id: 'obj-0003',
          resource: 'market.enterprise-registration',
          provider: 'market',
          key: '7',
          field: 'constructionSite',
          since: numeric.raisedAt,
        },
      ])
      const housing = await store.list({ provider: 'housing', limit: 1 })
      expect(housing.items.map((o) => o.id)).toEqual(['obj-0002'])
      const next = await store.list({ provider: 'housing', limit: 1, cursor: housing.next })
      expect(next.items.map((o) => o.id)).toEqual(['obj-0001'])
      expect(next.next).toBeUndefined()
      expect((await store.list({ consumer: 'drc', limit: 10 })).items.map((o) => o.id)).toEqual([
        'obj-0003',
        'obj-0001',
      ])
      expect((await store.list({ state: 'rejected', limit: 10 })).items.map((o) => o.id)).toEqual(['obj-0002'])
    })

    it('counts by provider, resource and state, with the working days of each resolved one', async () => {
      const { store } = await fresh()
      await store.transaction(async (tx) => {
        for (const n of [1, 2, 3, 4]) await tx.insert(objection(n))
        await tx.update(resolved(objection(1), 'accepted', 2), 1)
        await tx.update(resolved(objection(2), 'rejected', 4), 1)
        await tx.update(resolved(objection(3), 'withdrawn', 1), 1)
      })
      const figures = await store.figures()
      const counts = Object.fromEntries(figures.counts.map((c) => [c.state, c.n]))
      expect(counts).toEqual({ open: 1, accepted: 1, rejected: 1, withdrawn: 1 })
      expect(figures.resolutions.map((r) => r.days).sort()).toEqual([2, 4])
    })
  })
}
