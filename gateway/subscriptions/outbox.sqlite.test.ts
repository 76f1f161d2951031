import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import type { StateStore } from '../state/store.js'
import { testSubscriptionEngine } from './conformance/suite.js'
import type { EngineOptions, SubscriptionEngine } from './engine.js'
import { type OutboxEngine, openOutboxEngine } from './outbox/engine.js'

/** An engine that owns its own connection to the file, as another process (or the same after a restart) would. */
async function engineOn(file: string, options: EngineOptions & { retentionMs?: number }): Promise<OutboxEngine> {
  const state = await openSqliteState({ file, modules: STATE_MODULES })
  const engine = await openOutboxEngine({ ...options, state, purgeIntervalMs: 0, pollIntervalMs: 20 })
  return { ...engine, close: closeBoth(engine, state) }
}

const closeBoth = (engine: SubscriptionEngine, state: StateStore) => async () => {
  await engine.close()
  await state.close()
}

testSubscriptionEngine({
  name: 'outbox on SQLite (embedded)',
  async storage() {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-subs-'))
    return {
      time: 'injected',
      open: (options) => engineOn(join(dir, 'state.sqlite'), options),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    }
  },
})

describe('outbox on SQLite', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('migrates its tables as the subscriptions module of the state store', async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-subs-'))
    const state = await openSqliteState({ file: join(dir, 'state.sqlite'), modules: STATE_MODULES })
    expect(state.applied).toContain('subscriptions/0001-outbox')
    await state.close()
  })

  it('deletes events past their retention, delivered or not; the rest stay replayable and deliverable', async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-subs-'))
    let now = Date.parse('2026-12-01T02:00:00Z')
    const engine = await engineOn(join(dir, 'state.sqlite'), { clock: { now: () => now }, retentionMs: 60_000 })
    try {
      await engine.create('s1', { maxInFlight: 5 })
      await engine.publish('s1', { id: 'old-acked', payload: 1 })
      await engine.publish('s1', { id: 'old-pending', payload: 2 })
      const [acked] = await engine.fetch('s1')
      await engine.ack(acked as NonNullable<typeof acked>)
      now += 30_000
      await engine.publish('s1', { id: 'young', payload: 3 })
      now += 30_000
      expect(await engine.purgeExpired()).toBe(2)
      expect((await engine.replay('s1', undefined, 10)).events.map((e) => e.eventId)).toEqual(['young'])
      expect((await engine.fetch('s1', { max: 5 })).map((d) => d.eventId)).toEqual(['young'])
      // Past its retention an event id is new again: the de-duplication horizon is the retention.
      expect((await engine.publish('s1', { id: 'old-acked', payload: 1 })).outcome).toBe('stored')
    } finally {
      await engine.close()
    }
  })
})
