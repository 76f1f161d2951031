import { ConnectorError } from '../../connectors/kit/connector-error.js'
import type {
  CallContext,
  Connector,
  ConnectorLogger,
  ReadOperation,
  WriteOperation,
  WriteReceipt,
} from '../../connectors/kit/types.js'
import type { CanonicalRecord } from '../../kernel/records.js'
import type { Resource } from '../catalog/types.js'
import type { ProblemCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import { CLIENT_GONE, type UpstreamGuard } from '../resilience/upstream-guard.js'
import type { UpstreamObserver } from '../telemetry/exchange-observer.js'
import { tracingEnabled, withSpan } from '../telemetry/tracing.js'
import { Deadline } from './40-deadline.js'
import type { Authorized, AuthorizedRead, Charged, Reached, WithParameters } from './exchange.js'

const KIND_TO_PROBLEM: Record<ConnectorError['kind'], ProblemCode> = {
  timeout: 'upstream-timeout',
  unavailable: 'upstream-unavailable',
  'not-found': 'record-not-found',
  rejected: 'upstream-rejected',
  'bad-response': 'upstream-bad-response',
}

/**
 * What a consumer is told about a provider failure: the problem code, the provider's own code (`upstreamCode`)
 * and a detail that is the same for every connector. The connector's message names tables, columns, SQLSTATEs or
 * the gateway's credentials; it is for the operators (`internal`, the operational log) and never leaves.
 */
const GENERIC_DETAIL: Record<ConnectorError['kind'], string> = {
  timeout: 'the provider system did not answer in time',
  unavailable: 'the provider system could not be reached or is not serving',
  'not-found': 'the provider system holds no record for these parameters',
  rejected: 'the provider system refused the call; upstreamCode has its code when it sent one',
  'bad-response': 'the provider system answered something the gateway could not read',
}

export function toUpstreamProblem(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err
  if (err instanceof ConnectorError) {
    return new GatewayError(KIND_TO_PROBLEM[err.kind], {
      detail: GENERIC_DETAIL[err.kind],
      extensions: err.upstreamCode === undefined ? undefined : { upstreamCode: err.upstreamCode },
      internal: `connector: ${err.message}`,
      cause: err,
    })
  }
  // A connector that throws anything else broke its contract; treat it as a malformed answer, never leak it.
  return new GatewayError('upstream-bad-response', {
    detail: GENERIC_DETAIL['bad-response'],
    internal: `connector threw ${err instanceof Error ? err.name : typeof err}`,
    cause: err,
  })
}

export interface UpstreamCall {
  readonly connector: Connector
  readonly guard: UpstreamGuard
  /** Connector instance id (span and metric label). */
  readonly instance: string
  readonly resource: Resource
  readonly requestId: string
  readonly log: ConnectorLogger
  readonly now: () => number
  /** Registers a listener for the caller going away; returns the function that removes it. */
  readonly onClientGone?: (listener: () => void) => () => void
  readonly propagation?: Readonly<Record<string, string>>
}

/** The connector and guard of the resource's connector instance, as this call's snapshot has them. */
export function upstreamCallFor(
  call: Authorized,
  log: ConnectorLogger,
  now: () => number,
  onClientGone: UpstreamCall['onClientGone'],
): UpstreamCall {
  const instance = call.resource.connector
  const connector = instance === undefined ? undefined : call.snapshot.connectors.get(instance)
  const guard = instance === undefined ? undefined : call.snapshot.guards.get(instance)
  if (instance === undefined || !connector || !guard) {
    throw new GatewayError('upstream-unavailable', { internal: `connector ${instance} not running` })
  }
  return { connector, guard, instance, resource: call.resource, requestId: call.requestId, log, now, onClientGone }
}

/** The provider's own code, when its refusal carried one: audited with the call. */
export function noteUpstreamCode(call: Reached, err: unknown): void {
  if (err instanceof GatewayError && typeof err.extensions?.upstreamCode === 'string') {
    call.upstreamCode = err.extensions.upstreamCode
  }
}

/**
 * The read stage: the records the provider holds for the parameters, timed. They are not the call's until they
 * pass the response schema (50-validate-records.ts).
 */
export async function fetchRecords(
  call: WithParameters<Charged<AuthorizedRead>>,
  upstream: UpstreamCall,
  observer: UpstreamObserver,
): Promise<CanonicalRecord[]> {
  const reached: Reached = call
  const started = upstream.now()
  let records: CanonicalRecord[]
  try {
    records = await callRead(upstream, call.binding.operation, call.params)
  } catch (err) {
    reached.upstreamMs = upstream.now() - started
    observer.upstream(upstream.instance, started, err)
    noteUpstreamCode(reached, err)
    throw err
  }
  reached.upstreamMs = upstream.now() - started
  observer.upstream(upstream.instance, started)
  return records
}

/** Runs one connector operation under the resource's deadline (see 40-deadline.ts). */
async function withDeadline<T>(call: UpstreamCall, run: (ctx: CallContext) => Promise<T>): Promise<T> {
  const deadline = new Deadline<T>(call.resource.timeoutMs)
  const stopWatching = call.onClientGone?.(deadline.clientGone)
  const { signal } = deadline
  const ctx: CallContext = {
    signal,
    deadline: call.now() + call.resource.timeoutMs,
    requestId: call.requestId,
    log: call.log,
    propagation: call.propagation,
  }
  try {
    return await deadline.wait(run(ctx))
  } catch (err) {
    // The caller left: not the provider's fault, and nobody is waiting for the answer.
    if (signal.reason === CLIENT_GONE) {
      throw new GatewayError('client-gone', { internal: 'caller closed the connection during the upstream call' })
    }
    throw toUpstreamProblem(
      signal.aborted && !(err instanceof ConnectorError && err.kind !== 'timeout')
        ? new ConnectorError('timeout', 'deadline reached', { cause: err })
        : err,
    )
  } finally {
    stopWatching?.()
    deadline.end()
  }
}

/**
 * One connector operation as a span (when tracing is on): the HTTP client spans of undici nest under it. With
 * tracing off the span's name and attributes are not even built.
 */
function traced<T>(call: UpstreamCall, operation: string, run: (ctx: CallContext) => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return withDeadline(call, run)
  return withSpan(
    `connector ${call.instance}.${operation}`,
    { 'qiao.connector': call.instance, 'qiao.operation': operation, 'qiao.resource': call.resource.id },
    () => withDeadline(call, run),
  )
}

/** A read, through the upstream's guard: concurrency limit, circuit breaker, retries within the deadline. */
export function callRead(
  call: UpstreamCall,
  operation: string,
  params: Record<string, unknown>,
): Promise<CanonicalRecord[]> {
  const op = call.connector.operations[operation] as ReadOperation<Record<string, unknown>> | undefined
  if (op === undefined || op.kind !== 'read') throw new Error(`connector has no read operation ${operation}`)
  return traced(call, operation, (ctx) =>
    call.guard.read(
      async (signal) => {
        const records = await op.handle(params, signal === ctx.signal ? ctx : { ...ctx, signal })
        if (!Array.isArray(records)) throw new ConnectorError('bad-response', 'connector returned no record list')
        return records
      },
      ctx.signal,
      ctx.deadline,
    ),
  )
}

/** A write, through the guard but never retried: a second delivery could duplicate it at the provider. */
export function callWrite(call: UpstreamCall, operation: string, body: Record<string, unknown>): Promise<WriteReceipt> {
  const op = call.connector.operations[operation] as WriteOperation<Record<string, unknown>> | undefined
  if (op === undefined || op.kind !== 'write') throw new Error(`connector has no write operation ${operation}`)
  return traced(call, operation, (ctx) =>
    call.guard.write((signal) => op.handle(body, signal === ctx.signal ? ctx : { ...ctx, signal }), ctx.signal),
  )
}
