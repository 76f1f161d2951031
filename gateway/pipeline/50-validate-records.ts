import type { CanonicalRecord } from '../../kernel/records.js'
import type { ReadBinding } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { toViolations } from '../validation/ajv.js'
import { hotValidator } from '../validation/hot-path.js'
import type { AuthorizedRead, Charged, Fetched, Reached, WithParameters } from './exchange.js'

/**
 * Checks every record the provider sent against the resource response schema. One bad record fails the whole
 * answer (502 upstream-invalid) and nothing of it is released: the provider's bad data never reaches the caller.
 * The violations go to the operational log as pointers and rule names only, never values. Records are checked by
 * the schema's hot validator (no error report); the catalog's validator describes the first record that fails.
 */
export function validateRecords(binding: ReadBinding, records: CanonicalRecord[]): CanonicalRecord[] {
  const validate = binding.response.validate
  const check = hotValidator(validate)
  for (let i = 0; i < records.length; i++) {
    if (!check(records[i])) {
      validate(records[i])
      const violations = toViolations(validate.errors).map((v) => `/${i}${v.pointer} ${v.message}`)
      throw new GatewayError('upstream-invalid', {
        detail: 'the provider answered data that violates the resource schema',
        internal: `response schema violations: ${violations.slice(0, 10).join('; ')}`,
      })
    }
  }
  if (binding.cardinality === 'one' && records.length === 0) {
    throw new GatewayError('record-not-found', { detail: 'the provider holds no record for these parameters' })
  }
  if (binding.cardinality === 'one' && records.length > 1) {
    throw new GatewayError('upstream-invalid', {
      detail: 'the provider answered several records where one was expected',
      internal: `cardinality one, got ${records.length}`,
    })
  }
  return records
}

/** The read stage: the provider's records become the call's once every one of them is valid. */
export function acceptRecords(call: WithParameters<Charged<AuthorizedRead>>, records: CanonicalRecord[]): Fetched {
  const reached: Reached = call
  reached.records = validateRecords(call.binding, records)
  return call as Fetched
}
