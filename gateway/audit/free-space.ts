import type { AuditBackend } from './backend.js'

const FREE_SPACE_CACHE_MS = 1_000

/** Free bytes on the backend's file system, from one statfs a second at most; undefined for stores without one. */
export function cachedFreeBytes(backend: Pick<AuditBackend, 'freeBytes'>): () => Promise<number | undefined> {
  let freeCache: { at: number; value: Promise<number | undefined> } | undefined
  return () => {
    if (!backend.freeBytes) return Promise.resolve(undefined)
    const at = performance.now()
    if (!freeCache || at - freeCache.at >= FREE_SPACE_CACHE_MS) {
      freeCache = { at, value: backend.freeBytes().catch(() => undefined) }
    }
    return freeCache.value
  }
}
