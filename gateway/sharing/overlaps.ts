import type { CatalogSnapshot } from '../catalog/snapshot.js'
import { type Action, type Catalog, grantKey } from '../catalog/types.js'
import type { LiveGrant } from './model.js'

/**
 * A grant written in catalog.yaml that a live grant (an approved application) also gives. The live grant applies
 * (a later approval, or a revocation, must win over the file), so the file's grant is dead text that reads as if it
 * still decided something: the operator should remove it, and both `qiao catalog check` and the gateway say so.
 */
export interface GrantOverlap {
  readonly matter: string
  readonly resource: string
  readonly action: Action
  readonly consumer: string
  /** The live grants (not superseded) with the same key; normally one. */
  readonly grantIds: readonly string[]
}

/**
 * The (matter, resource, action, consumer) keys with both a catalog grant and a live grant that is not superseded,
 * in the catalog's order. `fileCatalog` is the catalog as loaded from the file (a snapshot's `fileCatalog`): in the
 * merged one the live grant has already taken the catalog grant's place.
 */
export function grantOverlaps(fileCatalog: Catalog, live: readonly LiveGrant[]): GrantOverlap[] {
  const liveByKey = new Map<string, string[]>()
  for (const grant of live) {
    if (grant.state === 'superseded') continue
    const key = grantKey(grant.matter, grant.resource, grant.action, grant.consumer)
    const ids = liveByKey.get(key)
    if (ids === undefined) liveByKey.set(key, [grant.id])
    else ids.push(grant.id)
  }
  if (liveByKey.size === 0) return []
  const overlaps: GrantOverlap[] = []
  for (const [key, grant] of fileCatalog.grants) {
    const grantIds = liveByKey.get(key)
    if (grantIds === undefined || grant.source !== 'catalog') continue
    const { matter, resource, action, consumer } = grant
    overlaps.push({ matter, resource, action, consumer, grantIds })
  }
  return overlaps
}

/** One line per overlap, for `warning: …` (CLI) and the operational log. */
export function overlapMessage(overlap: GrantOverlap): string {
  const ids = overlap.grantIds.join(', ')
  return (
    `${overlap.action} of ${overlap.resource} for ${overlap.consumer} under matter ${overlap.matter} is granted ` +
    `in the catalog and by live grant ${ids}; the live grant applies, remove the catalog's`
  )
}

/** Logs each overlap of a snapshot as a warning: at start and after every grant sync (the gateway calls it). */
export function warnGrantOverlaps(
  snapshot: Pick<CatalogSnapshot, 'fileCatalog' | 'liveGrants'>,
  log: { warn(obj: object, msg?: string): void },
): GrantOverlap[] {
  const overlaps = grantOverlaps(snapshot.fileCatalog, snapshot.liveGrants)
  for (const overlap of overlaps) {
    const { matter, resource, action, consumer, grantIds } = overlap
    log.warn({ matter, resource, action, consumer, grantIds }, overlapMessage(overlap))
  }
  return overlaps
}
