import { Agent, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CapturingLogger } from '../kit/conformance/capturing-logger.js'
import { ConnectorError } from '../kit/connector-error.js'
import {
  type CallContext,
  type CanonicalRecord,
  type ChangesOperation,
  INVALID_CURSOR,
  type ReadOperation,
} from '../kit/types.js'
import type { RecordParams } from './index.js'
import { templateEnvelope } from './index.js'
import { parseLegacyDateTime } from './mapping.js'
import {
  DEFAULT_APP_KEY,
  DEFAULT_APP_SECRET,
  type RunningSimulatorServer,
  seedRows,
  seedSample,
  startSimulator,
} from './simulator/index.js'

const sample = seedSample()
const agent = new Agent({ connect: { timeout: 1_000 } })
const log = new CapturingLogger()
let sim: RunningSimulatorServer

beforeAll(async () => {
  sim = await startSimulator({ port: 0 })
})
afterAll(async () => {
  await sim.close()
  await agent.close()
})
beforeEach(() => {
  sim.setKnobs({ fault: 'none', latencyMs: 0 })
})

function records(): ReadOperation<RecordParams> {
  const connector = templateEnvelope.create(
    { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET },
    { dispatcher: agent, log, clock: { now: Date.now } },
  )
  return connector.operations.records as ReadOperation<RecordParams>
}

function ctx(propagation?: Record<string, string>): CallContext {
  return { signal: AbortSignal.timeout(5_000), deadline: Date.now() + 5_000, requestId: 'test', log, propagation }
}

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ConnectorError)
  return err as ConnectorError
}

describe('template-envelope connector', () => {
  it('returns the canonical record for a seed record number, with trace headers passed on', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const answer: CanonicalRecord[] = await records().handle({ recordNo: sample.recordNo }, ctx({ traceparent }))
    const row = seedRows().find((r) => r.JLBH === sample.recordNo)
    expect(answer).toEqual([
      {
        recordNo: sample.recordNo,
        name: row?.MC.trim(),
        uscc: row?.TYSHXYDM,
        status: 'active',
        updatedAt: parseLegacyDateTime(row?.GXSJ ?? ''),
      },
    ])
    expect(sim.requests.at(-1)?.headers.traceparent).toBe(traceparent)
  })

  it('turns 查询无结果 into not-found', async () => {
    const err = await failure(records().handle({ recordNo: sample.unknownRecordNo }, ctx()))
    expect(err.kind).toBe('not-found')
    expect(err.upstreamCode).toBe('01')
  })

  it('turns envelope code 99 (set through POST /__sim/knobs) into rejected, without parameter values', async () => {
    const res = await request(`${sim.url}/__sim/knobs`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fault: 'envelope-99' }),
    })
    expect(res.statusCode).toBe(200)
    await res.body.dump()
    const err = await failure(records().handle({ recordNo: sample.recordNo }, ctx()))
    expect(err.kind).toBe('rejected')
    expect(err.upstreamCode).toBe('99')
    expect(err.message).not.toContain(sample.recordNo)
  })
})

describe('mapping', () => {
  it('reads legacy times as Asia/Shanghai and refuses impossible ones', () => {
    expect(parseLegacyDateTime('20260115093000')).toBe('2026-01-15T09:30:00+08:00')
    expect(parseLegacyDateTime('2026-01-15 09:30:00')).toBe('2026-01-15T09:30:00+08:00')
    expect(parseLegacyDateTime('20260230093000')).toBeUndefined()
    expect(parseLegacyDateTime('20260115250000')).toBeUndefined()
  })
})

describe('template-envelope change feed', () => {
  const changes = () => {
    const connector = templateEnvelope.create(
      { baseUrl: sim.url, appKey: DEFAULT_APP_KEY, appSecret: DEFAULT_APP_SECRET },
      { dispatcher: agent, log, clock: { now: Date.now } },
    )
    return connector.operations.changes as ChangesOperation
  }

  it('pages records in (GXSJ, JLBH) order without skipping or repeating one updated in the same second', async () => {
    const feed = changes()
    // Two records registered in the same second: the keyset cursor tells them apart.
    const [first, second] = [sim.addRecord(), sim.addRecord()]
    const seen: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await feed.handle({ after, limit: 1 }, ctx())
      seen.push(...page.changes.map((c) => c.key))
      after = page.next
      if (!page.more) break
    }
    expect(seen).toHaveLength(seedRows().length + 2)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.slice(-2).sort()).toEqual([first.JLBH, second.JLBH].sort())
  })

  it('refuses a cursor it did not issue as rejected invalid-cursor, without asking the interface', async () => {
    const before = sim.requests.length
    const err = await failure(changes().handle({ after: 'W10', limit: 10 }, ctx()))
    expect(err.kind).toBe('rejected')
    expect(err.upstreamCode).toBe(INVALID_CURSOR)
    expect(sim.requests.length).toBe(before)
  })
})
