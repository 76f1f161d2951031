import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import type { CallContext, Connector } from '../../connectors/kit/types.js'
import type { Resource } from '../catalog/types.js'
import { DEFAULT_RESILIENCE } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { CLIENT_GONE, createUpstreamGuard } from '../resilience/upstream-guard.js'
import { callRead, type UpstreamCall } from './40-call-connector.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }

/** A read operation whose behaviour the test picks; it records the context it was called with. */
function connectorThat(handle: (ctx: CallContext) => Promise<unknown>) {
  const seen: CallContext[] = []
  const connector = {
    operations: {
      find: {
        kind: 'read',
        handle: (_params: unknown, ctx: CallContext) => {
          seen.push(ctx)
          return handle(ctx)
        },
      },
    },
  } as unknown as Connector
  return { connector, seen }
}

/** A response that closes when the test says the caller went away (what clientGoneWatcher watches). */
function caller() {
  const outgoing = Object.assign(new EventEmitter(), { writableFinished: false })
  const onClientGone = (listener: () => void) => {
    const onClose = () => {
      if (!outgoing.writableFinished) listener()
    }
    outgoing.once('close', onClose)
    return () => outgoing.off('close', onClose)
  }
  return { leave: () => outgoing.emit('close'), onClientGone, listeners: () => outgoing.listenerCount('close') }
}

function upstreamCall(connector: Connector, timeoutMs: number, onClientGone?: UpstreamCall['onClientGone']) {
  const guard = createUpstreamGuard('test', { ...DEFAULT_RESILIENCE, readRetries: 0, breakerThreshold: 1 }, Date)
  const call: UpstreamCall = {
    connector,
    guard,
    instance: 'test',
    resource: { id: 'test.resource', timeoutMs } as Resource,
    requestId: 'req-1',
    log: silent,
    now: Date.now,
    onClientGone,
  }
  return { call, guard }
}

async function problemOf(run: Promise<unknown>): Promise<GatewayError> {
  try {
    await run
  } catch (err) {
    if (err instanceof GatewayError) return err
    throw err
  }
  throw new Error('expected the call to fail')
}

/** Resolves once the signal aborts (never otherwise): how a connector that honours its signal behaves. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(new ConnectorError('timeout', 'aborted')), { once: true })
  })

describe('the deadline of a connector call', () => {
  it('answers with the records, the signal never aborted, and stops watching the caller', async () => {
    const { connector, seen } = connectorThat(async () => [{ id: 1 }])
    const client = caller()
    const { call } = upstreamCall(connector, 5_000, client.onClientGone)
    await expect(callRead(call, 'find', {})).resolves.toEqual([{ id: 1 }])
    expect(seen[0]?.signal.aborted).toBe(false)
    expect(seen[0]?.requestId).toBe('req-1')
    expect(client.listeners()).toBe(0)
  })

  it('aborts the signal at the deadline: a connector that honours it ends the call as upstream-timeout', async () => {
    const { connector, seen } = connectorThat((ctx) => untilAborted(ctx.signal))
    const { call } = upstreamCall(connector, 100)
    expect((await problemOf(callRead(call, 'find', {}))).code).toBe('upstream-timeout')
    expect(seen[0]?.signal.aborted).toBe(true)
    expect(seen[0]?.signal.reason).not.toBe(CLIENT_GONE)
  })

  it('stops waiting for a connector that ignores its signal, shortly after the deadline', async () => {
    const { connector, seen } = connectorThat(() => new Promise(() => {}))
    const { call } = upstreamCall(connector, 100)
    const problem = await problemOf(callRead(call, 'find', {}))
    expect(problem.code).toBe('upstream-timeout')
    expect(seen[0]?.signal.aborted).toBe(true)
  })

  it('aborts the signal when the caller leaves: client-gone, and the breaker does not count it', async () => {
    const client = caller()
    const { connector, seen } = connectorThat((ctx) => {
      setImmediate(client.leave)
      return untilAborted(ctx.signal)
    })
    const { call, guard } = upstreamCall(connector, 5_000, client.onClientGone)
    expect((await problemOf(callRead(call, 'find', {}))).code).toBe('client-gone')
    expect(seen[0]?.signal.reason).toBe(CLIENT_GONE)
    expect(guard.state).toBe('closed') // breakerThreshold 1: one counted failure would have opened it
    expect(client.listeners()).toBe(0)
  })

  it('a connector answering something other than a record list is a bad response', async () => {
    const { connector } = connectorThat(async () => ({ not: 'a list' }))
    const { call } = upstreamCall(connector, 5_000)
    expect((await problemOf(callRead(call, 'find', {}))).code).toBe('upstream-bad-response')
  })

  /*
   * Controllers of finished calls serve later calls (40-deadline.ts): what must never leak from one call to the next.
   */
  it('a later call never gets a signal aborted for an earlier one', async () => {
    const { connector, seen } = connectorThat(async (ctx) => (seen.length === 1 ? untilAborted(ctx.signal) : []))
    const { call } = upstreamCall(connector, 100)
    expect((await problemOf(callRead(call, 'find', {}))).code).toBe('upstream-timeout')
    // Another guard: the timeout opened this one's circuit (breakerThreshold 1).
    await expect(callRead(upstreamCall(connector, 5_000).call, 'find', {})).resolves.toEqual([])
    expect(seen[0]?.signal.aborted).toBe(true)
    expect(seen[1]?.signal.aborted).toBe(false)
  })

  it('a signal still listened to after its call is not handed to another', async () => {
    const { connector, seen } = connectorThat(async (ctx) => {
      if (seen.length === 1) ctx.signal.addEventListener('abort', () => {}) // a connector that forgets to remove it
      return []
    })
    const { call } = upstreamCall(connector, 5_000)
    await callRead(call, 'find', {})
    await callRead(call, 'find', {})
    expect(seen[1]?.signal).not.toBe(seen[0]?.signal)
  })

  it('a caller of a finished call going away late cannot abort a later call', async () => {
    let leaveEarlier = () => {}
    // A watcher that is never removed: its listener outlives the call.
    const leaky: UpstreamCall['onClientGone'] = (listener) => {
      leaveEarlier = listener
      return () => {}
    }
    let answer: (records: unknown[]) => void = () => {}
    const { connector, seen } = connectorThat(async () =>
      seen.length === 1 ? [] : new Promise<unknown[]>((resolve) => (answer = resolve)),
    )
    const first = upstreamCall(connector, 5_000, leaky)
    await callRead(first.call, 'find', {})
    const later = callRead(upstreamCall(connector, 5_000).call, 'find', {})
    await new Promise((resolve) => setImmediate(resolve))
    leaveEarlier()
    expect(seen[1]?.signal.aborted).toBe(false)
    answer([{ id: 2 }])
    await expect(later).resolves.toEqual([{ id: 2 }])
  })
})
