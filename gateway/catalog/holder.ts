import type { CatalogSnapshot } from './snapshot.js'

/**
 * The catalog version new calls run under, swapped atomically on reload. A call acquires the snapshot when it
 * starts and releases it when it ends, so it finishes under the rules it started with; a replaced snapshot is
 * disposed only once its last call has ended. Disposing gives back its references on the connector instances: one
 * the new snapshot kept stays open, a changed or removed one closes (connector-instances.ts).
 */
export class SnapshotHolder {
  private current: CatalogSnapshot
  private readonly users = new Map<CatalogSnapshot, number>()
  private readonly retired = new Set<CatalogSnapshot>()

  constructor(initial: CatalogSnapshot) {
    this.current = initial
  }

  /** The snapshot for new work, without taking a reference (metrics, health, catalog view). */
  get(): CatalogSnapshot {
    return this.current
  }

  acquire(): CatalogSnapshot {
    const snapshot = this.current
    this.users.set(snapshot, (this.users.get(snapshot) ?? 0) + 1)
    return snapshot
  }

  release(snapshot: CatalogSnapshot): void {
    const left = (this.users.get(snapshot) ?? 1) - 1
    if (left > 0) {
      this.users.set(snapshot, left)
      return
    }
    this.users.delete(snapshot)
    if (this.retired.delete(snapshot)) void snapshot.dispose()
  }

  /** Makes `next` current; the previous one is disposed when its calls are done (now, if there are none). */
  swap(next: CatalogSnapshot): CatalogSnapshot {
    const previous = this.current
    this.current = next
    if (this.users.has(previous)) this.retired.add(previous)
    else void previous.dispose()
    return previous
  }

  /** Calls in flight under any snapshot. */
  inFlight(): number {
    let n = 0
    for (const count of this.users.values()) n += count
    return n
  }

  async disposeAll(): Promise<void> {
    await Promise.allSettled([this.current, ...this.retired].map((s) => s.dispose()))
    this.retired.clear()
  }
}
