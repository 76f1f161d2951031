import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createAjv, MAX_VIOLATIONS, toViolations } from './ajv.js'
import { validateBounded } from './bounded.js'

const SCHEMAS = {
  // The shape of the catalog's request schemas: the shortcut applies.
  permits: {
    type: 'object',
    properties: {
      projectCode: { type: 'string', pattern: '^[0-9]{4}$' },
      permitNo: { type: 'string', pattern: '^[0-9]{18}$' },
    },
    minProperties: 1,
    maxProperties: 1,
    additionalProperties: false,
  },
  required: {
    type: 'object',
    properties: { a: { type: 'integer' }, b: { type: 'string' } },
    required: ['a', 'b'],
    maxProperties: 40,
    additionalProperties: false,
  },
  // A keyword the shortcut does not understand: always the full validation.
  patterned: {
    type: 'object',
    properties: { a: { type: 'integer' } },
    patternProperties: { '^x': { type: 'integer' } },
    additionalProperties: false,
  },
} as const

const value = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null))
const body = fc
  .tuple(
    fc.dictionary(fc.constantFrom('a', 'b', 'projectCode', 'permitNo', 'x1', 'x2'), value),
    fc.integer({ min: 0, max: 120 }),
  )
  .map(([known, unknownCount]) => {
    const out: Record<string, unknown> = { ...known }
    for (let i = 0; i < unknownCount; i++) out[`u${i}`] = i
    return out
  })

describe('validateBounded', () => {
  it('agrees with ajv describing everything: same validity, exact total, the same first violations', () => {
    const ajv = createAjv()
    const compiled = Object.entries(SCHEMAS).map(([name, schema]) => ({ name, schema, validate: ajv.compile(schema) }))
    fc.assert(
      fc.property(fc.constantFrom(...compiled), body, ({ name, schema, validate }, data) => {
        const full = validate(data)
        const fullErrors = [...(validate.errors ?? [])]
        const bounded = validateBounded(validate, schema, data)
        expect(bounded.valid, name).toBe(full)
        if (!bounded.valid) {
          expect(bounded.total, name).toBe(fullErrors.length)
          expect(bounded.truncated).toBe(fullErrors.length > MAX_VIOLATIONS)
          expect(bounded.violations).toEqual(toViolations(fullErrors.slice(0, MAX_VIOLATIONS)))
        }
      }),
      { numRuns: 500 },
    )
  })

  it('describes at most MAX_VIOLATIONS of 100 000 unknown keys and counts them all', () => {
    const ajv = createAjv()
    const validate = ajv.compile(SCHEMAS.permits)
    const data: Record<string, unknown> = {}
    for (let i = 0; i < 100_000; i++) data[`k${i}`] = i
    const result = validateBounded(validate, SCHEMAS.permits, data)
    expect(result.valid).toBe(false)
    if (result.valid) return
    expect(result.violations).toHaveLength(MAX_VIOLATIONS)
    // ajv itself was shown only the first unknown keys.
    expect(result.errors.length).toBeLessThan(MAX_VIOLATIONS + 5)
    expect(result.total).toBe(100_000 + 1) // every unknown key, and maxProperties
    expect(result.truncated).toBe(true)
  })
})
