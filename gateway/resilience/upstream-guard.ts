import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleType,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IHalfOpenAfterBackoffContext,
  IsolatedCircuitError,
  retry,
  TaskCancelledError,
} from 'cockatiel'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import type { Clock } from '../../kernel/clock.js'
import type { ResilienceSettings } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'

export type CircuitStateName = 'closed' | 'open' | 'half-open'

/**
 * Protects one upstream (connector instance) and the gateway from it, with cockatiel's policies:
 * - a bulkhead: at most `maxConcurrent` calls in flight, the excess fails at once (503, no queue);
 * - a circuit breaker: `breakerThreshold` consecutive failures open it; while open, calls fail fast with 503
 *   `upstream-circuit-open` and Retry-After; after `breakerHalfOpenAfterMs` one probe goes through and its outcome
 *   closes or re-opens the circuit;
 * - retries for idempotent reads only, only after a connect error, a reset or 502/503/504, with exponential
 *   backoff and decorrelated jitter, and only while the call's deadline leaves room. Writes are never retried.
 */
export interface UpstreamGuard {
  read<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, deadline: number): Promise<T>
  write<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T>
  readonly state: CircuitStateName
  /** When the circuit last opened (injected clock, epoch ms) while it is open or half-open; undefined when closed. */
  readonly openedAt: number | undefined
  /** Calls currently in flight towards the upstream. */
  readonly inFlight: number
  dispose(): void
}

/** Abort reason when the caller closed its connection (set by the connector stage). */
export const CLIENT_GONE: unique symbol = Symbol('qiao.client-gone')

class ClientGoneError extends Error {
  constructor() {
    super('caller went away')
    this.name = 'ClientGoneError'
  }
}

/** Upstream failures that say the upstream is unwell (they count towards opening the circuit). */
function isUpstreamFailure(err: Error): boolean {
  return err instanceof ConnectorError && (err.kind === 'unavailable' || err.kind === 'timeout')
}

const RETRYABLE_STATUS = new Set([502, 503, 504])

/** A read may be retried after a connect error or reset (no HTTP status) or a 502/503/504 — nothing else. */
export function isRetryableRead(err: Error): boolean {
  if (!(err instanceof ConnectorError) || err.kind !== 'unavailable') return false
  return err.upstreamStatus === undefined || RETRYABLE_STATUS.has(err.upstreamStatus)
}

/**
 * cockatiel times the open state with Date.now(): it lets the probe through once `Date.now() - openedAt` reaches
 * the backoff's `duration`. This backoff reads the injected clock instead — `duration` is -Infinity (probe now) once
 * `halfOpenAfterMs` has passed on the clock since the opening, +Infinity (stay open) before — so tests freeze time.
 * cockatiel asks for `next()` exactly when the circuit opens (from closed, or after a failed probe).
 */
function halfOpenOnClock(
  clock: Clock,
  halfOpenAfterMs: number,
  onOpen: (at: number) => void,
): IBackoffFactory<IHalfOpenAfterBackoffContext> {
  const opening = (): IBackoff<IHalfOpenAfterBackoffContext> => {
    const at = clock.now()
    onOpen(at)
    return {
      get duration() {
        return clock.now() - at >= halfOpenAfterMs ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
      },
      next: opening,
    }
  }
  return { next: opening }
}

/**
 * A read failure the retry policy may act on: retryable (isRetryableRead) with room left before the call's deadline.
 * The guard's one retry policy is shared by every call, so the per-call deadline cannot live in its filter; the
 * attempt decides and wraps, the policy handles only this type, and the original error is unwrapped after.
 */
class RetryableAttempt extends Error {
  constructor(readonly failure: Error) {
    super('retryable read failure')
    this.name = 'RetryableAttempt'
  }
}

function unwrapAttempt(err: unknown): unknown {
  return err instanceof RetryableAttempt ? err.failure : err
}

export function createUpstreamGuard(name: string, settings: ResilienceSettings, clock: Clock): UpstreamGuard {
  const limiter = bulkhead(settings.maxConcurrent, 0)
  // When the circuit last opened, on the injected clock: it decides when the probe may go and what Retry-After says.
  let openedAt = 0
  const breaker = circuitBreaker(handleWhen(isUpstreamFailure), {
    halfOpenAfter: halfOpenOnClock(clock, settings.breakerHalfOpenAfterMs, (at) => {
      openedAt = at
    }),
    breaker: new ConsecutiveBreaker(settings.breakerThreshold),
  })
  const maxRetryDelay = settings.retryBaseDelayMs * 8
  // Built once: cockatiel keeps each execution's backoff state in that execution, so calls can share the policy.
  const retries =
    settings.readRetries === 0
      ? undefined
      : retry(handleType(RetryableAttempt), {
          maxAttempts: settings.readRetries,
          backoff: new ExponentialBackoff({ initialDelay: settings.retryBaseDelayMs, maxDelay: maxRetryDelay }),
        })

  function rejection(err: unknown): never {
    if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
      const waitMs = Math.max(0, openedAt + settings.breakerHalfOpenAfterMs - clock.now())
      throw new GatewayError('upstream-circuit-open', {
        detail: `calls to the provider system are suspended after repeated failures; retry in ${Math.ceil(waitMs / 1000)} s`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
        internal: `circuit open for ${name}`,
      })
    }
    if (err instanceof BulkheadRejectedError) {
      throw new GatewayError('upstream-overloaded', {
        detail: 'too many calls to the provider system are in flight; retry shortly',
        headers: { 'retry-after': '1' },
        internal: `bulkhead full for ${name} (${settings.maxConcurrent})`,
      })
    }
    if (err instanceof TaskCancelledError) {
      throw new ConnectorError('timeout', 'deadline reached before the upstream answered', { cause: err })
    }
    throw err
  }

  /** One attempt: through the breaker, then the bulkhead (which hand the caller's signal through). */
  function guarded<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    return breaker.execute(
      ({ signal: s }) =>
        limiter.execute(async ({ signal: inner }) => {
          try {
            return await call(inner)
          } catch (err) {
            // A call aborted because the caller left says nothing about the upstream: keep it out of the breaker.
            if (signal.reason === CLIENT_GONE) throw new ClientGoneError()
            throw err
          }
        }, s),
      signal,
    )
  }

  /** A read attempt whose failure is marked for the retry policy when another attempt is allowed and fits. */
  async function attemptRead<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, deadline: number) {
    try {
      return await guarded(call, signal)
    } catch (err) {
      if (err instanceof Error && isRetryableRead(err) && deadline - clock.now() > maxRetryDelay) {
        throw new RetryableAttempt(err)
      }
      throw err
    }
  }

  return {
    get state(): CircuitStateName {
      switch (breaker.state) {
        case CircuitState.Closed:
          return 'closed'
        case CircuitState.HalfOpen:
          return 'half-open'
        default:
          return 'open'
      }
    },
    get openedAt() {
      return breaker.state === CircuitState.Closed ? undefined : openedAt
    },
    get inFlight() {
      return settings.maxConcurrent - limiter.executionSlots
    },
    async read(call, signal, deadline) {
      try {
        return retries === undefined
          ? await guarded(call, signal)
          : await retries.execute(({ signal: s }) => attemptRead(call, s, deadline), signal)
      } catch (err) {
        return rejection(unwrapAttempt(err))
      }
    },
    async write(call, signal) {
      try {
        return await guarded(call, signal)
      } catch (err) {
        return rejection(err)
      }
    },
    dispose() {
      // Nothing to release: the policies hold no timers or listeners of ours.
    },
  }
}
