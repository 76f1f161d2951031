import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { housingGongai } from '../../../connectors/housing-gongai/index.js'
import {
  DEFAULT_APP_KEY,
  DEFAULT_APP_SECRET,
  type RunningHousingSimulator,
  startHousingSimulator,
} from '../../../connectors/housing-gongai/simulator/index.js'
import { CapturingLogger } from '../../../connectors/kit/conformance/capturing-logger.js'
import type { Change, ChangesOperation } from '../../../connectors/kit/types.js'
import { STATE_MODULES } from '../../state/modules.js'
import { openSqliteState } from '../../state/sqlite.js'
import type { StateStore } from '../../state/store.js'
import { type FeedPoller, startFeedPoller } from './poller.js'

/**
 * The feed poller on the embedded state store (one instance), over the 住建 工改 simulator's permit change feed:
 * a restarted poller goes on from the saved cursor, a new permit shows up on a later round.
 */

const RESOURCE = 'housing.construction-permit'
const agent = new Agent()
let sim: RunningHousingSimulator
let dir: string

beforeAll(async () => {
  sim = await startHousingSimulator({ port: 0 })
  dir = await mkdtemp(join(tmpdir(), 'qiao-feed-'))
})
afterAll(async () => {
  await sim.close()
  await agent.close()
  await rm(dir, { recursive: true, force: true })
})

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function start(state: StateStore, received: Change[]): FeedPoller {
  const connector = housingGongai.create(
    { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET },
    { dispatcher: agent, log: new CapturingLogger(), clock: { now: Date.now } },
  )
  return startFeedPoller({
    resource: RESOURCE,
    operation: connector.operations.permitChanges as ChangesOperation,
    timeoutMs: 3_000,
    state,
    clock: { now: Date.now },
    log: new CapturingLogger(),
    intervalMs: 30,
    pageSize: 40,
    async onChanges(resource, changes) {
      expect(resource).toBe(RESOURCE)
      received.push(...changes)
    },
  })
}

describe('feed poller on SQLite', () => {
  it('hands every valid permit over once, goes on from the saved cursor after a restart, and picks up a new permit', async () => {
    const file = join(dir, 'state.sqlite')
    const validPermits = sim.data.permits.filter((p) => p.SJYXBS !== '0').length
    const first: Change[] = []
    let state = await openSqliteState({ file, modules: STATE_MODULES })
    let poller = start(state, first)
    await until('the feed is drained', () => first.length >= validPermits)
    await new Promise((r) => setTimeout(r, 150))
    expect(first).toHaveLength(validPermits)
    expect(new Set(first.map((c) => `${c.key}/${c.version}`)).size).toBe(validPermits)
    await poller.close()
    await state.close()

    // Another process life: the same store, a new poller.
    const second: Change[] = []
    state = await openSqliteState({ file, modules: STATE_MODULES })
    poller = start(state, second)
    await until('the poller leads', () => poller.leader)
    const issued = sim.issuePermit()
    await until('the new permit was handed over', () => second.length > 0)
    expect(second.map((c) => [c.key, c.version, c.record?.permitNo])).toEqual([
      [issued.SGXKZBH, issued.LSH, issued.SGXKZBH],
    ])
    await poller.close()
    await state.close()
  }, 30_000)
})
