import type { CanonicalRecord } from '../../kernel/records.js'
import type { Resource } from '../catalog/types.js'
import { keyFieldOf, keyText, type OpenObjection, type RecordValue } from './objections-model.js'

/** 异议标注 on an answer: this record's `field` is disputed since `since` (objection `id`). */
export interface ObjectionMarker {
  readonly recordKey: Readonly<Record<string, RecordValue>>
  readonly field: string
  readonly since: string
  readonly id: string
}

/**
 * The open objections of every resource, compiled for the exchange path: per resource, per record key. One
 * instance per gateway, shared by its snapshots (the snapshot carries it, as it carries the quota store); the
 * objection sync replaces its contents whenever any instance opens or closes an objection. A call reads it
 * without waiting and never reaches the database: a resource nobody objected to costs one map lookup.
 */
export class ObjectionBoard {
  private byResource: ReadonlyMap<string, ReadonlyMap<string, readonly OpenObjection[]>> = new Map()
  private count = 0

  /** Swaps in what the store holds open now. */
  replace(open: readonly OpenObjection[]): void {
    const next = new Map<string, Map<string, OpenObjection[]>>()
    for (const objection of open) {
      let keys = next.get(objection.resource)
      if (keys === undefined) {
        keys = new Map()
        next.set(objection.resource, keys)
      }
      const list = keys.get(objection.key)
      if (list === undefined) keys.set(objection.key, [objection])
      else list.push(objection)
    }
    this.byResource = next
    this.count = open.length
  }

  get size(): number {
    return this.count
  }

  /** Open objections per provider (the `qiao_objections_open` gauge). */
  openByProvider(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const keys of this.byResource.values()) {
      for (const list of keys.values()) {
        for (const o of list) counts.set(o.provider, (counts.get(o.provider) ?? 0) + 1)
      }
    }
    return counts
  }

  /**
   * The markers for the released records of `resource`: objections on a field this answer releases, of a record
   * whose key this answer releases in clear (so a marker never tells a consumer a key value it was not granted).
   * Undefined when there is none. Whoever raised it, every consumer is warned.
   */
  markersFor(
    resource: Resource,
    grant: { readonly fields: readonly string[]; readonly masked: readonly string[] },
    released: readonly CanonicalRecord[],
  ): ObjectionMarker[] | undefined {
    const keys = this.byResource.get(resource.id)
    if (keys === undefined) return undefined
    const keyField = keyFieldOf(resource)
    if (!grant.fields.includes(keyField) || grant.masked.includes(keyField)) return undefined
    const markers: ObjectionMarker[] = []
    for (const record of released) {
      const value = record[keyField] as RecordValue | undefined
      const open = keys.get(keyText(value))
      if (open === undefined) continue
      for (const o of open) {
        if (!grant.fields.includes(o.field)) continue
        markers.push({ recordKey: { [keyField]: value ?? null }, field: o.field, since: o.since, id: o.id })
      }
    }
    return markers.length === 0 ? undefined : markers
  }
}

/** The answer's `meta` member, or nothing: what pipeline/80-respond.ts spreads into a read's meta. */
export function objectionMeta(
  board: ObjectionBoard | undefined,
  resource: Resource,
  grant: { readonly fields: readonly string[]; readonly masked: readonly string[] },
  released: readonly CanonicalRecord[],
): { objections?: ObjectionMarker[] } {
  const objections = board?.markersFor(resource, grant, released)
  return objections === undefined ? {} : { objections }
}
