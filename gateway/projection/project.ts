import type { CanonicalRecord } from '../../kernel/records.js'
import type { Grant, Resource } from '../catalog/types.js'
import { compileMask, type Masker } from './masks.js'

/** Applies one grant to a record: only the granted fields, masked ones through their mask. */
export type Projector = (record: CanonicalRecord) => CanonicalRecord

interface FieldPlan {
  key: string
  mask: Masker | undefined
}

/**
 * Compiles a grant's projection once. Fields are copied in the catalog's field order; anything not granted
 * (including keys the schema would have rejected) is left behind — minimum necessary (最小必要).
 * Non-string values in masked fields are replaced wholesale, since a partial mask of a number means nothing.
 */
export function compileProjector(resource: Resource, grant: Grant): Projector {
  const masked = new Set(grant.masked)
  const released = new Set([...grant.fields, ...grant.masked])
  const plan: FieldPlan[] = []
  for (const field of resource.fields) {
    if (!released.has(field.key)) continue
    if (masked.has(field.key)) {
      if (!field.mask) throw new Error(`field ${field.key} of ${resource.id} is granted masked but has no mask rule`)
      plan.push({ key: field.key, mask: compileMask(field.mask) })
    } else {
      plan.push({ key: field.key, mask: undefined })
    }
  }
  return (record) => {
    const out: CanonicalRecord = {}
    for (const { key, mask } of plan) {
      const value = record[key]
      if (value === undefined) continue
      if (mask === undefined) out[key] = value
      else out[key] = typeof value === 'string' ? mask(value) : value === null ? null : '****'
    }
    return out
  }
}

/** Field keys a grant releases, clear then masked, in catalog order (for `meta.fields` and the audit record). */
export function releasedFields(resource: Resource, grant: Grant): { fields: string[]; masked: string[] } {
  const clear = new Set(grant.fields)
  const masked = new Set(grant.masked)
  return {
    fields: resource.fields.filter((f) => clear.has(f.key) || masked.has(f.key)).map((f) => f.key),
    masked: resource.fields.filter((f) => masked.has(f.key)).map((f) => f.key),
  }
}
