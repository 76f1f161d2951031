import { getEventListeners } from 'node:events'
import { ConnectorError } from '../../connectors/kit/connector-error.js'
import { CLIENT_GONE } from '../resilience/upstream-guard.js'

/** Extra time past the deadline before the gateway stops waiting for a connector that ignores its signal. */
export const DEADLINE_GRACE_MS = 50

/**
 * One connector call's deadline. The connector gets `signal`, aborted at the deadline or when the caller goes away;
 * should it not honour it, the gateway stops waiting DEADLINE_GRACE_MS later anyway. Per call: one timer (the grace
 * timer only once the deadline has passed, each given this object rather than a closure) and one promise that the
 * answer or the give-up settles, instead of a `Promise.race` against a second promise. The controller comes from a
 * small pool (below), since creating an AbortSignal is the dearest part of all this.
 */
export class Deadline<T> {
  private readonly controller = takeController()
  private timer: NodeJS.Timeout | undefined
  private giveUp: ((err: Error) => void) | undefined
  /** Set by `end`: the controller may serve another call by then, so nothing here may abort it any more. */
  private ended = false

  constructor(timeoutMs: number) {
    this.timer = setTimeout(deadlineReached, timeoutMs, this)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** The caller went away: the connector is told (the abort reason is CLIENT_GONE). */
  readonly clientGone = (): void => {
    if (!this.ended) this.controller.abort(CLIENT_GONE)
  }

  /** The connector's answer, or the give-up once the grace period after the deadline has passed. */
  wait(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.giveUp = reject
      work.then(resolve, reject)
    })
  }

  /** At the deadline: abort, then give the connector DEADLINE_GRACE_MS to stop. */
  expire(): void {
    if (this.ended) return
    this.controller.abort()
    this.timer = setTimeout(graceOver, DEADLINE_GRACE_MS, this)
  }

  stopWaiting(): void {
    this.giveUp?.(new ConnectorError('timeout', 'connector did not stop at the deadline'))
  }

  /** The call is over: no timer left, and a controller that never aborted can serve another call. */
  end(): void {
    this.ended = true
    clearTimeout(this.timer)
    giveBack(this.controller)
  }
}

function deadlineReached(deadline: Deadline<unknown>): void {
  deadline.expire()
}

function graceOver(deadline: Deadline<unknown>): void {
  deadline.stopWaiting()
}

/**
 * Controllers of finished calls, oldest first. Node 20 makes every AbortSignal a transferable host object: about
 * 4 µs to create and more to collect, most of the cost of the deadline (measured). A controller comes back only if
 * its signal never aborted (an aborted one can never be used again), and goes out again only once nothing listens
 * on its signal any more — undici lets go of it when the answer's body closes, a moment after the call returns, and
 * one still listened to is left to its holder. The next call's signal is then as good as new: not aborted, aborted
 * only through that call's own Deadline; and whoever kept a reference from the call before can at most see it
 * abort for the next call, after its own call has ended and nobody waits for it.
 */
const idle: AbortController[] = []
const MAX_IDLE = 256

function takeController(): AbortController {
  for (let c = idle.shift(); c !== undefined; c = idle.shift()) {
    if (getEventListeners(c.signal, 'abort').length === 0) return c
  }
  return new AbortController()
}

function giveBack(controller: AbortController): void {
  if (!controller.signal.aborted && idle.length < MAX_IDLE) idle.push(controller)
}
