import { describe, expect, it } from 'vitest'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import { DEFAULT_RESILIENCE, type ResilienceSettings } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { CLIENT_GONE, createUpstreamGuard, isRetryableRead, type UpstreamGuard } from './upstream-guard.js'

const NOW = Date.parse('2026-11-26T02:00:00Z')

/** A frozen clock the test moves by hand: no test here waits for wall time to pass. */
function frozenClock() {
  let now = NOW
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

function guardWith(overrides: Partial<ResilienceSettings>) {
  const clock = frozenClock()
  // 1 ms base delay: the retry backoff's own sleeps stay negligible, and nothing asserts on them.
  const settings: ResilienceSettings = { ...DEFAULT_RESILIENCE, retryBaseDelayMs: 1, ...overrides }
  return { guard: createUpstreamGuard('test-upstream', settings, clock), clock }
}

const unavailable = (upstreamStatus?: number) =>
  new ConnectorError('unavailable', 'upstream unavailable', upstreamStatus === undefined ? {} : { upstreamStatus })

/** An upstream call that counts its invocations and fails with `failures[i]` on the i-th call, then succeeds. */
function upstream(failures: Error[] = []) {
  let calls = 0
  const call = async () => {
    const failure = failures[calls++]
    if (failure) throw failure
    return 'answer'
  }
  return {
    call,
    get calls() {
      return calls
    },
  }
}

const never = new AbortController().signal
const FAR = NOW + 60_000

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

async function failTimes(guard: UpstreamGuard, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await expect(guard.read(upstream([unavailable(503)]).call, never, FAR)).rejects.toBeInstanceOf(ConnectorError)
  }
}

describe('bulkhead', () => {
  it('a call beyond maxConcurrent fails at once with upstream-overloaded and never reaches the upstream', async () => {
    const { guard } = guardWith({ maxConcurrent: 2, readRetries: 0 })
    const releases: Array<() => void> = []
    const held = () => new Promise<string>((resolve) => releases.push(() => resolve('held')))
    const inFlight = [guard.read(held, never, FAR), guard.read(held, never, FAR)]
    await expect.poll(() => releases.length).toBe(2)
    expect(guard.inFlight).toBe(2)

    const excess = upstream()
    const err = await rejectionOf(guard.read(excess.call, never, FAR))
    expect(err).toBeInstanceOf(GatewayError)
    expect(err).toMatchObject({ code: 'upstream-overloaded', headers: { 'retry-after': '1' } })
    expect(excess.calls).toBe(0)
    await expect(rejectionOf(guard.write(excess.call, never))).resolves.toMatchObject({ code: 'upstream-overloaded' })
    expect(excess.calls).toBe(0)

    for (const release of releases) release()
    await expect(Promise.all(inFlight)).resolves.toEqual(['held', 'held'])
    expect(guard.inFlight).toBe(0)
    await expect(guard.read(excess.call, never, FAR)).resolves.toBe('answer')
    expect(guard.state).toBe('closed') // a full bulkhead says nothing about the upstream's health
  })
})

describe('circuit breaker', () => {
  it('opens after exactly breakerThreshold consecutive upstream failures, then fails fast with Retry-After', async () => {
    const { guard } = guardWith({ readRetries: 0, breakerThreshold: 3, breakerHalfOpenAfterMs: 10_000 })
    await failTimes(guard, 2)
    expect(guard.state).toBe('closed')
    await failTimes(guard, 1)
    expect(guard.state).toBe('open')

    const blocked = upstream()
    const err = await rejectionOf(guard.read(blocked.call, never, FAR))
    expect(err).toMatchObject({ code: 'upstream-circuit-open', headers: { 'retry-after': '10' } })
    await expect(rejectionOf(guard.write(blocked.call, never))).resolves.toMatchObject({
      code: 'upstream-circuit-open',
    })
    expect(blocked.calls).toBe(0)
  })

  it('a success in between resets the count, and answers that are not upstream failures never count', async () => {
    const { guard } = guardWith({ readRetries: 0, breakerThreshold: 2 })
    await failTimes(guard, 1)
    await guard.read(upstream().call, never, FAR)
    await failTimes(guard, 1)
    expect(guard.state).toBe('closed')
    for (const kind of ['rejected', 'not-found', 'bad-response'] as const) {
      for (let i = 0; i < 3; i++) {
        const failing = upstream([new ConnectorError(kind, kind)])
        await expect(guard.read(failing.call, never, FAR)).rejects.toMatchObject({ kind })
      }
    }
    expect(guard.state).toBe('closed')
    await failTimes(guard, 1)
    expect(guard.state).toBe('open') // a timeout or unavailable right after still counts from where it was
  })

  it('Retry-After counts down on the injected clock', async () => {
    const { guard, clock } = guardWith({ readRetries: 0, breakerThreshold: 1, breakerHalfOpenAfterMs: 10_000 })
    await failTimes(guard, 1)
    clock.advance(4_000)
    await expect(rejectionOf(guard.read(upstream().call, never, FAR))).resolves.toMatchObject({
      headers: { 'retry-after': '6' },
    })
    clock.advance(5_999)
    await expect(rejectionOf(guard.read(upstream().call, never, FAR))).resolves.toMatchObject({
      headers: { 'retry-after': '1' },
    })
  })

  it('after breakerHalfOpenAfterMs on the clock one probe goes through, and its success closes the circuit', async () => {
    const { guard, clock } = guardWith({ readRetries: 0, breakerThreshold: 2, breakerHalfOpenAfterMs: 1_000 })
    await failTimes(guard, 2)
    const recovered = upstream()
    clock.advance(999)
    await expect(rejectionOf(guard.read(recovered.call, never, FAR))).resolves.toMatchObject({
      code: 'upstream-circuit-open',
    })
    expect(recovered.calls).toBe(0)

    clock.advance(1)
    await expect(guard.read(recovered.call, never, FAR)).resolves.toBe('answer')
    expect(recovered.calls).toBe(1)
    expect(guard.state).toBe('closed')
    await expect(guard.read(recovered.call, never, FAR)).resolves.toBe('answer')
    expect(recovered.calls).toBe(2)
  })

  it('a failed probe re-opens the circuit for another full half-open delay', async () => {
    const { guard, clock } = guardWith({ readRetries: 0, breakerThreshold: 2, breakerHalfOpenAfterMs: 1_000 })
    await failTimes(guard, 2)
    clock.advance(1_000)
    const probe = upstream([unavailable()])
    await expect(guard.read(probe.call, never, FAR)).rejects.toMatchObject({ kind: 'unavailable' })
    expect(probe.calls).toBe(1)
    expect(guard.state).toBe('open')

    const blocked = upstream()
    clock.advance(999)
    await expect(rejectionOf(guard.read(blocked.call, never, FAR))).resolves.toMatchObject({
      code: 'upstream-circuit-open',
      headers: { 'retry-after': '1' },
    })
    expect(blocked.calls).toBe(0)
    clock.advance(1)
    await expect(guard.read(blocked.call, never, FAR)).resolves.toBe('answer')
    expect(guard.state).toBe('closed')
  })
})

describe('retries', () => {
  it('a read is retried after a connect error or reset and after 502/503/504, up to readRetries more attempts', async () => {
    for (const status of [undefined, 502, 503, 504]) {
      const { guard } = guardWith({ readRetries: 2, breakerThreshold: 50 })
      const twice = upstream([unavailable(status), unavailable(status)])
      await expect(guard.read(twice.call, never, FAR)).resolves.toBe('answer')
      expect(twice.calls).toBe(3)

      const always = upstream(Array.from({ length: 10 }, () => unavailable(status)))
      await expect(guard.read(always.call, never, FAR)).rejects.toMatchObject({ kind: 'unavailable' })
      expect(always.calls).toBe(3) // 1 + 2 retries
    }
  })

  it('never retries a 500, a rejection, a bad response, a miss or a timeout', async () => {
    const { guard } = guardWith({ readRetries: 2, breakerThreshold: 50 })
    const once = [
      unavailable(500),
      new ConnectorError('rejected', 'envelope code 99'),
      new ConnectorError('bad-response', 'missing field'),
      new ConnectorError('not-found', 'no record'),
      new ConnectorError('timeout', 'deadline'),
    ]
    for (const failure of once) {
      const failing = upstream([failure, failure, failure])
      await expect(guard.read(failing.call, never, FAR)).rejects.toBe(failure)
      expect(failing.calls).toBe(1)
    }
    expect(isRetryableRead(new Error('plain'))).toBe(false)
  })

  it('retries only while the deadline leaves room for the longest backoff (8 × retryBaseDelayMs)', async () => {
    const { guard, clock } = guardWith({ readRetries: 2, retryBaseDelayMs: 1, breakerThreshold: 50 })
    const tight = upstream([unavailable(), unavailable()])
    await expect(guard.read(tight.call, never, clock.now() + 8)).rejects.toMatchObject({ kind: 'unavailable' })
    expect(tight.calls).toBe(1)

    const roomy = upstream([unavailable(), unavailable()])
    await expect(guard.read(roomy.call, never, clock.now() + 9)).resolves.toBe('answer')
    expect(roomy.calls).toBe(3)
  })

  it('a deadline that the clock passes between attempts stops further retries', async () => {
    const { guard, clock } = guardWith({ readRetries: 5, retryBaseDelayMs: 1, breakerThreshold: 50 })
    const deadline = clock.now() + 1_000
    let calls = 0
    const slow = async () => {
      calls++
      clock.advance(600) // each attempt uses 600 ms of the caller's deadline
      throw unavailable()
    }
    await expect(guard.read(slow, never, deadline)).rejects.toMatchObject({ kind: 'unavailable' })
    expect(calls).toBe(2) // after the second attempt the deadline has passed
  })

  it('writes are never retried, whatever the failure', async () => {
    const { guard } = guardWith({ readRetries: 5, breakerThreshold: 50 })
    for (const failure of [unavailable(), unavailable(503), new ConnectorError('timeout', 'deadline')]) {
      const failing = upstream([failure, failure])
      await expect(guard.write(failing.call, never)).rejects.toBe(failure)
      expect(failing.calls).toBe(1)
    }
  })

  it('readRetries: 0 sends a read once', async () => {
    const { guard } = guardWith({ readRetries: 0, breakerThreshold: 50 })
    const failing = upstream([unavailable(), unavailable()])
    await expect(guard.read(failing.call, never, FAR)).rejects.toMatchObject({ kind: 'unavailable' })
    expect(failing.calls).toBe(1)
  })
})

describe('callers that leave', () => {
  /** A call that fails the way a transport does when its signal is aborted, after the caller aborted it. */
  async function abandoned(guard: UpstreamGuard, reason: unknown, via: 'read' | 'write'): Promise<number> {
    const controller = new AbortController()
    let calls = 0
    const call = async () => {
      calls++
      controller.abort(reason)
      throw unavailable()
    }
    const run = via === 'read' ? guard.read(call, controller.signal, FAR) : guard.write(call, controller.signal)
    await expect(run).rejects.toThrow()
    return calls
  }

  it('a call aborted because the caller went away does not count towards opening the circuit', async () => {
    const { guard } = guardWith({ readRetries: 2, breakerThreshold: 1 })
    for (let i = 0; i < 3; i++) {
      expect(await abandoned(guard, CLIENT_GONE, 'read')).toBe(1) // and is not retried
      expect(await abandoned(guard, CLIENT_GONE, 'write')).toBe(1)
    }
    expect(guard.state).toBe('closed')
    await expect(guard.read(upstream().call, never, FAR)).resolves.toBe('answer')
  })

  it('the same failure under any other abort reason does count', async () => {
    const { guard } = guardWith({ readRetries: 0, breakerThreshold: 1 })
    await abandoned(guard, new Error('deadline'), 'write')
    expect(guard.state).toBe('open')
  })
})
