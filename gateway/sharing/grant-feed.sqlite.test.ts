import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import type { StateStore } from '../state/store.js'
import { type GrantFeed, watchGrantEpoch } from './grant-feed.js'
import { openSharingStore } from './kysely-store.js'
import type { LiveGrant } from './model.js'

const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Two stores on one file, as two gateway processes on one host have. */
async function twoStores(): Promise<[StateStore, StateStore]> {
  const dir = await mkdtemp(join(tmpdir(), 'qiao-grant-feed-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'state.sqlite')
  const first = await openSqliteState({ file, modules: STATE_MODULES })
  cleanups.push(() => first.close())
  const second = await openSqliteState({ file, modules: STATE_MODULES })
  cleanups.push(() => second.close())
  return [first, second]
}

function grant(id: string): LiveGrant {
  return {
    id,
    version: 1,
    state: 'active',
    applicationId: `AP-${id}`,
    matter: 'XK00208001',
    consumer: 'natres',
    resource: 'housing.construction-permit',
    provider: 'housing',
    action: 'read',
    usage: '行政依据',
    fields: ['permitNo'],
    masked: [],
    validFrom: '2026-03-01',
    validTo: '2027-02-28',
    approvedBy: 'housing/reviewer-7',
    approvedAt: '2026-02-20T03:00:00.000Z',
    reminders: {},
  }
}

async function watch(state: StateStore, seen: number[]): Promise<GrantFeed> {
  const feed = await watchGrantEpoch(state, (epoch) => seen.push(epoch), { sharing: openSharingStore(state) })
  cleanups.push(() => feed.close())
  return feed
}

describe('grant feed on SQLite (polling the epoch)', () => {
  it('has no state listener: the epoch is polled', async () => {
    const [state] = await twoStores()
    expect(state.listen).toBeUndefined()
  })

  it("brings a grant committed through one store to the other store's handler within a second", async () => {
    const [writer, reader] = await twoStores()
    const seen: number[] = []
    await watch(reader, seen)
    const sharing = openSharingStore(writer)
    await sharing.transaction(async (tx) => {
      await tx.insertGrant(grant('GR-1'))
      await tx.bumpGrantEpoch()
    })
    await vi.waitFor(() => expect(seen).toEqual([1]), { timeout: 1_000, interval: 10 })
    // What the handler then reads (grant-sync) holds the change.
    expect((await openSharingStore(reader).liveGrants()).map((g) => g.id)).toEqual(['GR-1'])

    await sharing.transaction(async (tx) => {
      await tx.bumpGrantEpoch()
      await tx.bumpGrantEpoch()
    })
    await vi.waitFor(() => expect(seen).toEqual([1, 3]), { timeout: 1_000, interval: 10 })
  })

  it('takes the epoch at start as the baseline and reports only changes after it', async () => {
    const [writer, reader] = await twoStores()
    await openSharingStore(writer).transaction((tx) => tx.bumpGrantEpoch())
    const seen: number[] = []
    await watch(reader, seen)
    await openSharingStore(writer).transaction((tx) => tx.bumpGrantEpoch())
    await vi.waitFor(() => expect(seen).toEqual([2]), { timeout: 1_000, interval: 10 })
  })

  it('never counts a rolled-back change', async () => {
    const [writer, reader] = await twoStores()
    const seen: number[] = []
    await watch(reader, seen)
    const sharing = openSharingStore(writer)
    await expect(
      sharing.transaction(async (tx) => {
        await tx.bumpGrantEpoch()
        throw new Error('audit append failed')
      }),
    ).rejects.toThrow('audit append failed')
    await sharing.transaction((tx) => tx.bumpGrantEpoch())
    // Had the rolled-back bump counted, this one would be epoch 2.
    await vi.waitFor(() => expect(seen).toEqual([1]), { timeout: 1_000, interval: 10 })
  })
})
