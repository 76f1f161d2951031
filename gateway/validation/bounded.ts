import type { ErrorObject, ValidateFunction } from 'ajv'
import { type BoundedViolations, boundedViolations, MAX_VIOLATIONS } from './ajv.js'
import { hotValidator } from './hot-path.js'

/**
 * Top-level keywords whose outcome on an object with extra unknown keys is known without looking at those keys:
 * each unknown key is one `additionalProperties` error and changes nothing else, except the key count
 * (min/maxProperties), which is checked separately. Any other keyword (patternProperties, propertyNames,
 * dependentRequired, unevaluatedProperties, allOf, …) makes the shortcut unsafe.
 */
const SHORTCUT_KEYWORDS = new Set([
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'examples',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
])

interface Shape {
  readonly declared: ReadonlySet<string>
  readonly minProperties?: number
  readonly maxProperties?: number
}

const shapes = new WeakMap<object, Shape | null>()

function shapeOf(schema: unknown): Shape | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined
  let shape = shapes.get(schema)
  if (shape === undefined) {
    const s = schema as Record<string, unknown>
    const ok =
      s.additionalProperties === false &&
      typeof s.properties === 'object' &&
      s.properties !== null &&
      Object.keys(s).every((k) => SHORTCUT_KEYWORDS.has(k))
    shape = ok
      ? {
          declared: new Set(Object.keys(s.properties as object)),
          minProperties: typeof s.minProperties === 'number' ? s.minProperties : undefined,
          maxProperties: typeof s.maxProperties === 'number' ? s.maxProperties : undefined,
        }
      : null
    shapes.set(schema, shape)
  }
  return shape ?? undefined
}

export type BoundedResult =
  | { readonly valid: true }
  | ({ readonly valid: false; readonly errors: readonly ErrorObject[] } & BoundedViolations)

/**
 * Validates an untrusted object, describing at most `max` violations, with the exact total. Ajv's allErrors mode
 * makes one error object per unknown key, so 1 MiB of unknown keys costs ~100 000 of them; when the schema's
 * top level allows it, the unknown keys beyond the first `max + 1` are only counted, and ajv sees the rest.
 */
export function validateBounded(
  validate: ValidateFunction,
  schema: unknown,
  data: Record<string, unknown>,
  max: number = MAX_VIOLATIONS,
): BoundedResult {
  const shape = shapeOf(schema)
  const keys = Object.keys(data)
  if (shape !== undefined && keys.length > shape.declared.size + max + 1) {
    const kept: Record<string, unknown> = {}
    let keptUnknown = 0
    let skipped = 0
    let keptCount = 0
    for (const key of keys) {
      if (shape.declared.has(key) || keptUnknown++ <= max) {
        kept[key] = data[key]
        keptCount++
      } else skipped++
    }
    // The key count decides min/maxProperties: the shortcut holds only where kept and whole agree on them.
    const agrees = (limit: number | undefined, fails: (n: number) => boolean) =>
      limit === undefined || fails(keptCount) === fails(keys.length)
    if (
      skipped > 0 &&
      agrees(shape.maxProperties, (n) => n > (shape.maxProperties as number)) &&
      agrees(shape.minProperties, (n) => n < (shape.minProperties as number))
    ) {
      validate(kept)
      const errors = validate.errors ?? []
      const described = boundedViolations(errors, max)
      const total = errors.length + skipped
      return { valid: false, errors, violations: described.violations, total, truncated: total > max }
    }
  }
  // Valid documents (nearly all) take the hot validator only; a failing one is described by `validate` in full.
  if (hotValidator(validate)(data)) return { valid: true }
  validate(data)
  const errors = validate.errors ?? []
  return { valid: false, errors, ...boundedViolations(errors, max) }
}
