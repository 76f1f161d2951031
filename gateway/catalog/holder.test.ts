import { describe, expect, it } from 'vitest'
import { SnapshotHolder } from './holder.js'
import type { CatalogSnapshot } from './snapshot.js'

function fake(name: string): CatalogSnapshot & { disposed: number; name: string } {
  const s = {
    name,
    disposed: 0,
    async dispose() {
      s.disposed++
    },
  }
  return s as unknown as CatalogSnapshot & { disposed: number; name: string }
}

describe('snapshot holder', () => {
  it('keeps a replaced snapshot until its last call ends, then disposes it once', () => {
    const a = fake('a')
    const b = fake('b')
    const holder = new SnapshotHolder(a)
    const inFlight = holder.acquire()
    expect(inFlight).toBe(a)
    holder.swap(b)
    expect(holder.get()).toBe(b)
    expect(a.disposed).toBe(0)
    expect(holder.acquire()).toBe(b)
    expect(holder.inFlight()).toBe(2)
    holder.release(inFlight)
    expect(a.disposed).toBe(1)
    holder.release(b)
    expect(b.disposed).toBe(0)
  })

  it('disposes a replaced snapshot at once when nothing runs on it', () => {
    const a = fake('a')
    const holder = new SnapshotHolder(a)
    holder.swap(fake('b'))
    expect(a.disposed).toBe(1)
  })
})
