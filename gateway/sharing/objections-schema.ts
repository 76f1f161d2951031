import type { JsonSchema } from '../../kernel/records.js'
import { compiledBodyCheck } from './objections-support.js'

/**
 * The JSON Schemas of what officers send about objections, compiled once at module load. Shape only: whether the
 * call, the record key and the field fit the catalog and the audit log is checked in code, into the same list of
 * problems (objections-raise.ts), so that one 422 names every problem at once.
 */

/** Free text an officer writes: not blank, bounded. */
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: '\\S' })
const scalar = {
  anyOf: [{ type: 'string', maxLength: 2000 }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
}

/** POST /v1/resources/{id}/objections. */
export const objectionSchema: JsonSchema = {
  type: 'object',
  required: ['auditId', 'recordKey', 'field', 'claimedValue', 'evidence'],
  properties: {
    auditId: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' },
    recordKey: {
      type: 'object',
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: { anyOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'number' }] },
    },
    field: { type: 'string', minLength: 1, maxLength: 64 },
    claimedValue: scalar,
    evidence: {
      type: 'object',
      required: ['description'],
      properties: {
        description: text(2000),
        refs: { type: 'array', maxItems: 20, items: text(500) },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
}

/** Accept (`correction`, mandatory) or reject (`reason`, mandatory): which one is checked in code, plainly. */
export const resolutionSchema: JsonSchema = {
  type: 'object',
  properties: { correction: { type: 'string', maxLength: 2000 }, reason: { type: 'string', maxLength: 2000 } },
  additionalProperties: false,
}

export const withdrawalSchema: JsonSchema = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 2000 } },
  additionalProperties: false,
}

export const checkObjectionBody = compiledBodyCheck(objectionSchema)
export const checkResolutionBody = compiledBodyCheck(resolutionSchema)
export const checkObjectionWithdrawalBody = compiledBodyCheck(withdrawalSchema)
