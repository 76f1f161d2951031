/**
 * When the primary restarts a worker that exited on its own (a crash, kill -9, an out-of-memory kill), and when it
 * gives up. A worker that ran for a while before it died is restarted at once (after `firstDelayMs`): that is the
 * rare crash a supervisor is for. A worker that dies early — before it was ready, or within `minUptimeMs` — is
 * restarted after a pause that doubles each time (up to `maxDelayMs`), and after `maxEarlyExits` such exits in a
 * row the primary stops the gateway with an error: a worker that cannot stay up (a catalog broken since the last
 * start, a damaged audit log, a full disk) will not come back by itself, and restarting it forever would hide that
 * behind a gateway that seems to run.
 */
export interface RestartPolicyOptions {
  readonly minUptimeMs: number
  readonly maxEarlyExits: number
  readonly firstDelayMs: number
  readonly maxDelayMs: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  minUptimeMs: 30_000,
  maxEarlyExits: 5,
  firstDelayMs: 100,
  maxDelayMs: 5_000,
}

export type RestartVerdict =
  | { readonly action: 'restart'; readonly delayMs: number; readonly earlyExits: number }
  | { readonly action: 'give-up'; readonly earlyExits: number }

/** One slot's exits; `exited` decides each one. */
export class SlotRestarts {
  #earlyExits = 0

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Early exits in a row so far. */
  get earlyExits(): number {
    return this.#earlyExits
  }

  /** A worker of this slot exited after `uptimeMs`; `wasReady`: it had reported its gateway listening. */
  exited(uptimeMs: number, wasReady: boolean): RestartVerdict {
    const { minUptimeMs, maxEarlyExits, firstDelayMs, maxDelayMs } = this.options
    if (wasReady && uptimeMs >= minUptimeMs) {
      this.#earlyExits = 0
      return { action: 'restart', delayMs: firstDelayMs, earlyExits: 0 }
    }
    this.#earlyExits++
    if (this.#earlyExits >= maxEarlyExits) return { action: 'give-up', earlyExits: this.#earlyExits }
    const delayMs = Math.min(firstDelayMs * 2 ** (this.#earlyExits - 1), maxDelayMs)
    return { action: 'restart', delayMs, earlyExits: this.#earlyExits }
  }
}
