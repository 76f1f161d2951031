import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import type { Connector, WriteReceipt } from '../../connectors/kit/types.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import type { BeginOutcome, IdempotencyScope, IdempotencyStore, StoredAnswer } from '../idempotency/store.js'
import type { UpstreamGuard } from '../resilience/upstream-guard.js'
import { claimWrite, fingerprintOf, IN_FLIGHT_MARGIN_MS } from './38-claim-idempotency.js'
import type { UpstreamCall } from './40-call-connector.js'
import { deliverWrite, deliveryOutcome, keepAnswer } from './45-deliver-write.js'
import { renderExchangeProblem, renderWriteSuccess } from './80-respond.js'
import type { Claimed, Delivered, Keyed, Reached, WithParameters } from './exchange.js'

/**
 * The write flow (claim the key → deliver once → release, mark unknown or keep the answer) against a fake
 * IdempotencyStore that records what it is asked; the real stores pass their own conformance suite (gateway/state/).
 */

const NOW = Date.UTC(2026, 2, 1, 9, 30)
const TIMEOUT_MS = 4000
const SCOPE: IdempotencyScope = { dept: 'natres', resource: 'housing.filing', key: 'key-1' }
const RECEIPT: WriteReceipt = { receiptId: 'HZ-0001', acceptedAt: '2026-03-01T09:30:00Z' }

type StoreCall =
  | { op: 'begin'; scope: IdempotencyScope; fingerprint: string; now: number; inFlightUntil: number }
  | { op: 'complete'; scope: IdempotencyScope; answer: StoredAnswer }
  | { op: 'release' | 'markUnknown'; scope: IdempotencyScope }

function fakeStore(begin: BeginOutcome | Error = { kind: 'new' }, failing: 'settle' | 'complete' | 'none' = 'none') {
  const calls: StoreCall[] = []
  const store: IdempotencyStore = {
    async begin(scope, fingerprint, now, inFlightUntil) {
      calls.push({ op: 'begin', scope, fingerprint, now, inFlightUntil })
      if (begin instanceof Error) throw begin
      return begin
    },
    async complete(scope, answer) {
      calls.push({ op: 'complete', scope, answer })
      if (failing === 'complete') throw new Error('store down')
    },
    async release(scope) {
      calls.push({ op: 'release', scope })
      if (failing === 'settle') throw new Error('store down')
    },
    async markUnknown(scope) {
      calls.push({ op: 'markUnknown', scope })
      if (failing === 'settle') throw new Error('store down')
    },
    async purge() {
      return 0
    },
    async close() {},
  }
  return { store, calls }
}

function fakeLog() {
  const lines: { obj: object; msg: string }[] = []
  return { lines, error: (obj: object, msg: string) => lines.push({ obj, msg }) }
}

const observer = { upstream() {} }

/** A write call with a valid body, as 35-read-parameters.ts hands it on. */
function writeCall(): WithParameters<Keyed> {
  const call = {
    requestId: 'req-1',
    auditId: '01950000-0000-7000-8000-000000000001',
    startedAt: NOW,
    snapshot: {},
    resourceId: SCOPE.resource,
    action: 'write',
    principal: { dept: SCOPE.dept, clientId: 'natres-app', sub: 'natres-app', scopes: new Set<string>() },
    purpose: { matter: 'M-001', caseId: '宁建-2026-001' },
    resource: { id: SCOPE.resource, provider: 'housing', connector: 'housing', timeoutMs: TIMEOUT_MS },
    grant: {},
    binding: { operation: 'submitFiling' },
    quota: undefined,
    idempotencyKey: SCOPE.key,
    params: { projectCode: '2026-320100-47-01-000001', opinion: '同意' },
  }
  return call as unknown as WithParameters<Keyed>
}

/** The connector call: the write operation does `deliver` once, through a guard that passes it straight on. */
function upstream(deliver: () => Promise<WriteReceipt>) {
  let deliveries = 0
  const connector = {
    operations: {
      submitFiling: {
        kind: 'write',
        handle: () => {
          deliveries++
          return deliver()
        },
      },
    },
  } as unknown as Connector
  const guard = { write: (run: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal) => run(signal) }
  const call: UpstreamCall = {
    connector,
    guard: guard as unknown as UpstreamGuard,
    instance: 'housing',
    resource: writeCall().resource,
    requestId: 'req-1',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    now: () => NOW,
  }
  return { call, deliveries: () => deliveries }
}

async function claimed(store: IdempotencyStore): Promise<Claimed> {
  const result = await claimWrite(writeCall(), store, NOW)
  if (result.replay !== undefined) throw new Error('expected a first delivery')
  return result
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise
  } catch (err) {
    return toGatewayError(err)
  }
  throw new Error('expected the call to fail')
}

describe('claimWrite (38): the outcome of claiming the key', () => {
  it('new: the call is Claimed for its department, resource and key, in flight until deadline + margin', async () => {
    const { store, calls } = fakeStore({ kind: 'new' })
    const call = await claimWrite(writeCall(), store, NOW)
    expect(call.replay).toBeUndefined()
    expect((call as Claimed).claim).toEqual(SCOPE)
    expect(calls).toEqual([
      {
        op: 'begin',
        scope: SCOPE,
        fingerprint: fingerprintOf(writeCall().purpose, writeCall().params),
        now: NOW,
        inFlightUntil: NOW + TIMEOUT_MS + IN_FLIGHT_MARGIN_MS,
      },
    ])
  })

  it('replay: the call is Replayed with the first answer and holds no claim', async () => {
    const answer: StoredAnswer = { status: 201, contentType: 'application/json', body: '{"data":1}', auditId: 'a-0' }
    const { store } = fakeStore({ kind: 'replay', answer })
    const call = (await claimWrite(writeCall(), store, NOW)) as Reached
    expect(call.replay).toEqual(answer)
    expect(call.claim).toBeUndefined()
  })

  it.each([
    [{ kind: 'conflict' } as const, 'idempotency-conflict', 409],
    [{ kind: 'in-flight' } as const, 'idempotency-in-flight', 409],
    [{ kind: 'unknown' } as const, 'idempotency-outcome-unknown', 409],
  ])('%o: refused with %s', async (outcome, code, status) => {
    const { store } = fakeStore(outcome)
    const call = writeCall()
    const err = await failure(claimWrite(call, store, NOW))
    expect([err.code, err.status]).toEqual([code, status])
    expect((call as Reached).claim).toBeUndefined()
  })

  it('in-flight asks the caller to retry in a second', async () => {
    const err = await failure(claimWrite(writeCall(), fakeStore({ kind: 'in-flight' }).store, NOW))
    expect(err.headers).toEqual({ 'retry-after': '1' })
  })

  it('answer-not-kept: refused, naming the first status and audit id', async () => {
    const { store } = fakeStore({ kind: 'answer-not-kept', status: 201, auditId: 'a-first' })
    const err = await failure(claimWrite(writeCall(), store, NOW))
    expect(err.code).toBe('idempotency-answer-not-kept')
    expect(err.extensions).toEqual({ firstStatus: 201, firstAuditId: 'a-first' })
  })

  it('a store that cannot claim fails the call (internal): nothing is delivered without a durable claim', async () => {
    const { store } = fakeStore(new Error('connection refused'))
    const call = writeCall()
    const err = await failure(claimWrite(call, store, NOW))
    expect(err.code).toBe('internal')
    expect((call as Reached).claim).toBeUndefined()
  })

  it('fingerprints matter, case and body as RFC 8785 does (canonicalize as the oracle)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), fc.string(), (body, matter, caseId) => {
        const expected = createHash('sha256')
          .update(canonicalize({ matter, case: caseId, body }) ?? '')
          .digest('hex')
        expect(fingerprintOf({ matter, caseId }, body)).toBe(expected)
      }),
    )
  })
})

describe('deliveryOutcome (45): may this write be sent again?', () => {
  const unavailable = (options: ConstructorParameters<typeof ConnectorError>[2]) =>
    toUpstream(new ConnectorError('unavailable', 'upstream down', options))
  const toUpstream = (cause: ConnectorError) => new GatewayError('upstream-unavailable', { cause })

  it.each<[string, ReturnType<typeof deliveryOutcome>, GatewayError]>([
    ['circuit open', 'not-delivered', new GatewayError('upstream-circuit-open')],
    ['bulkhead full', 'not-delivered', new GatewayError('upstream-overloaded')],
    ['provider answered 503', 'not-delivered', unavailable({ upstreamStatus: 503 })],
    [
      'connection refused',
      'not-delivered',
      unavailable({ cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }),
    ],
    [
      'name not resolved',
      'not-delivered',
      unavailable({ cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }),
    ],
    [
      'connect timeout',
      'not-delivered',
      unavailable({ cause: Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) }),
    ],
    [
      'connection reset mid-call',
      'unknown',
      unavailable({ cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
    ],
    ['provider answered 502', 'unknown', unavailable({ upstreamStatus: 502 })],
    ['rejected', 'refused', toUpstream(new ConnectorError('rejected', 'code 40'))],
    ['not found', 'refused', toUpstream(new ConnectorError('not-found', 'no project'))],
    ['timeout', 'unknown', toUpstream(new ConnectorError('timeout', 'deadline'))],
    ['bad response', 'unknown', toUpstream(new ConnectorError('bad-response', 'no envelope'))],
    ['caller went away', 'unknown', new GatewayError('client-gone')],
    ['anything else', 'unknown', new GatewayError('internal', { cause: new Error('boom') })],
  ])('%s → %s', (_name, outcome, error) => {
    expect(deliveryOutcome(error)).toBe(outcome)
  })
})

describe('deliverWrite (45) and keepAnswer: the key after the delivery', () => {
  it('delivered: the call is Delivered, the key is left to be completed with the 201', async () => {
    const { store, calls } = fakeStore()
    const call = await claimed(store)
    const up = upstream(async () => RECEIPT)
    const delivered = await deliverWrite(call, up.call, store, observer, fakeLog())
    expect([delivered.receipt, delivered.upstreamMs, up.deliveries()]).toEqual([RECEIPT, 0, 1])
    expect(calls.map((c) => c.op)).toEqual(['begin'])

    const response = renderWriteSuccess(delivered, NOW)
    await keepAnswer(store, fakeLog(), delivered, undefined, response, NOW)
    expect(calls.slice(1)).toEqual([
      {
        op: 'complete',
        scope: SCOPE,
        answer: {
          status: 201,
          contentType: response.headers['content-type'],
          body: response.body,
          auditId: call.auditId,
        },
      },
    ])
    expect(JSON.parse(response.body).data).toEqual(RECEIPT)
  })

  it.each([
    [
      'refused connection',
      () =>
        new ConnectorError('unavailable', 'refused', {
          cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
        }),
    ],
    ['open circuit', () => new GatewayError('upstream-circuit-open')],
  ])('not delivered (%s): the key is released so a retry may deliver', async (_name, thrown) => {
    const { store, calls } = fakeStore()
    const call = await claimed(store)
    const err = await failure(
      deliverWrite(call, upstream(async () => Promise.reject(thrown())).call, store, observer, fakeLog()),
    )
    expect(deliveryOutcome(err)).toBe('not-delivered')
    expect(calls.slice(1)).toEqual([{ op: 'release', scope: SCOPE }])
    await keepAnswer(store, fakeLog(), call, err, renderExchangeProblem(call, err, true), NOW)
    expect(calls.slice(1).map((c) => c.op)).toEqual(['release'])
  })

  it('refused: the key is kept, then completed with the refusal, which retries get instead of a delivery', async () => {
    const { store, calls } = fakeStore()
    const call = await claimed(store)
    const refusal = new ConnectorError('rejected', 'envelope code 40', { upstreamCode: '40' })
    const err = await failure(
      deliverWrite(call, upstream(async () => Promise.reject(refusal)).call, store, observer, fakeLog()),
    )
    expect([err.code, (call as Reached).upstreamCode]).toEqual(['upstream-rejected', '40'])
    expect(calls.map((c) => c.op)).toEqual(['begin'])

    const response = renderExchangeProblem(call, err, true)
    await keepAnswer(store, fakeLog(), call, err, response, NOW)
    expect(calls.slice(1)).toEqual([
      {
        op: 'complete',
        scope: SCOPE,
        answer: {
          status: 502,
          contentType: response.headers['content-type'],
          body: response.body,
          auditId: call.auditId,
        },
      },
    ])
  })

  it('unknown (timeout): the key is marked unknown and never completed: never delivered twice', async () => {
    const { store, calls } = fakeStore()
    const call = await claimed(store)
    const timeout = new ConnectorError('timeout', 'deadline reached')
    const err = await failure(
      deliverWrite(call, upstream(async () => Promise.reject(timeout)).call, store, observer, fakeLog()),
    )
    expect(err.code).toBe('upstream-timeout')
    expect(calls.slice(1)).toEqual([{ op: 'markUnknown', scope: SCOPE }])
    await keepAnswer(store, fakeLog(), call, err, renderExchangeProblem(call, err, true), NOW)
    expect(calls.slice(1).map((c) => c.op)).toEqual(['markUnknown'])
  })

  it('a store that fails while settling the key is logged; the call still fails with the provider problem', async () => {
    const { store, calls } = fakeStore({ kind: 'new' }, 'settle')
    const call = await claimed(store)
    const log = fakeLog()
    const err = await failure(
      deliverWrite(
        call,
        upstream(async () => Promise.reject(new ConnectorError('timeout', 'x'))).call,
        store,
        observer,
        log,
      ),
    )
    expect(err.code).toBe('upstream-timeout')
    expect(calls.slice(1).map((c) => c.op)).toEqual(['markUnknown'])
    expect(log.lines).toEqual([{ obj: { requestId: 'req-1', err: 'store down' }, msg: 'idempotency key not updated' }])
  })

  it('audit failed after the delivery: the caller gets the 503, retries get the delivery', async () => {
    const { store, calls } = fakeStore()
    const delivered: Delivered = await deliverWrite(
      await claimed(store),
      upstream(async () => RECEIPT).call,
      store,
      observer,
      fakeLog(),
    )
    const auditFailed = new GatewayError('audit-unavailable', { detail: 'the call could not be audited' })
    const response = renderExchangeProblem(delivered, auditFailed, false)
    await keepAnswer(store, fakeLog(), delivered, auditFailed, response, NOW)
    const completed = calls[1] as Extract<StoreCall, { op: 'complete' }>
    expect(completed.op).toBe('complete')
    expect(completed.answer.status).toBe(201)
    expect(completed.answer.body).toBe(renderWriteSuccess(delivered, NOW).body)
    expect(response.status).toBe(503)
  })

  it('a replay and a call refused before its claim keep nothing', async () => {
    const answer: StoredAnswer = { status: 201, contentType: 'application/json', body: '{}', auditId: 'a-0' }
    const replayed = fakeStore({ kind: 'replay', answer })
    const call = await claimWrite(writeCall(), replayed.store, NOW)
    await keepAnswer(replayed.store, fakeLog(), call, undefined, { status: 201, headers: {}, body: '{}' }, NOW)
    const conflict = fakeStore({ kind: 'conflict' })
    const refusedCall = writeCall()
    const err = await failure(claimWrite(refusedCall, conflict.store, NOW))
    await keepAnswer(conflict.store, fakeLog(), refusedCall, err, renderExchangeProblem(refusedCall, err, true), NOW)
    expect([...replayed.calls, ...conflict.calls].map((c) => c.op)).toEqual(['begin', 'begin'])
  })

  it('an answer the store cannot keep is logged, not thrown: the caller still gets it', async () => {
    const { store } = fakeStore({ kind: 'new' }, 'complete')
    const delivered = await deliverWrite(
      await claimed(store),
      upstream(async () => RECEIPT).call,
      store,
      observer,
      fakeLog(),
    )
    const log = fakeLog()
    await keepAnswer(store, log, delivered, undefined, renderWriteSuccess(delivered, NOW), NOW)
    expect(log.lines).toEqual([
      { obj: { requestId: 'req-1', err: 'store down' }, msg: 'idempotency answer not stored' },
    ])
  })
})
