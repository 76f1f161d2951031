import { describe, expect, it } from 'vitest'
import type { ReadBinding } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { createAjv } from '../validation/ajv.js'
import { validateRecords } from './50-validate-records.js'

const schema = {
  type: 'object',
  properties: { permitNo: { type: 'string', pattern: '^[0-9]{18}$' }, name: { type: 'string', maxLength: 4 } },
  required: ['permitNo'],
  additionalProperties: false,
}

const validate = createAjv().compile(schema)

function binding(cardinality: 'one' | 'many'): ReadBinding {
  return {
    operation: 'op',
    request: { path: '', schema: {}, validate },
    response: { path: '', schema, validate },
    cardinality,
  }
}

function refusal(fn: () => unknown): GatewayError {
  try {
    fn()
  } catch (err) {
    if (err instanceof GatewayError) return err
    throw err
  }
  throw new Error('expected a refusal')
}

describe('validateRecords', () => {
  const good = { permitNo: '320106202611260101', name: '张三' }

  it('passes valid records through as they are', () => {
    const records = [good, { permitNo: '320106202611260102' }]
    expect(validateRecords(binding('many'), records)).toBe(records)
  })

  it('describes every violation of the first bad record, though the check stops at the first one', () => {
    const err = refusal(() =>
      validateRecords(binding('many'), [good, { permitNo: '3201', name: '一二三四五', secret: 'x' }, { name: 1 }]),
    )
    expect(err.code).toBe('upstream-invalid')
    // Pointers and rule names only, never the values.
    expect(err.message).toBe(
      'response schema violations: /1/secret is not allowed; /1/permitNo does not match the required pattern; ' +
        '/1/name must NOT have more than 4 characters',
    )
    expect(err.message).not.toContain('3201')
  })

  it('holds a binding of cardinality one to exactly one record', () => {
    expect(refusal(() => validateRecords(binding('one'), [])).code).toBe('record-not-found')
    expect(refusal(() => validateRecords(binding('one'), [good, good])).code).toBe('upstream-invalid')
    expect(validateRecords(binding('one'), [good])).toEqual([good])
  })
})
