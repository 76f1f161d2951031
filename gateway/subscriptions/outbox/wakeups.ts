/**
 * Fetches waiting for a subscription's events on this instance, woken when this instance publishes one (or
 * resumes the subscription); events published by other instances are found by the next look.
 */
export class Wakeups {
  readonly #waiting = new Map<string, Set<() => void>>()

  /** Resolves after `ms`, or sooner when `subscriptionId` is woken. */
  wait(subscriptionId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(subscriptionId) ?? new Set<() => void>()
      this.#waiting.set(subscriptionId, waiters)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(done)
        if (waiters.size === 0 && this.#waiting.get(subscriptionId) === waiters) this.#waiting.delete(subscriptionId)
        resolve()
      }
      const timer = setTimeout(done, ms)
      waiters.add(done)
    })
  }

  wake(subscriptionId: string): void {
    for (const done of [...(this.#waiting.get(subscriptionId) ?? [])]) done()
  }

  wakeAll(): void {
    for (const id of [...this.#waiting.keys()]) this.wake(id)
  }
}
