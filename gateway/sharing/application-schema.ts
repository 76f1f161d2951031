import type { ValidateFunction } from 'ajv'
import type { JsonSchema } from '../../kernel/records.js'
import { boundedViolations, createAjv, type Violation } from '../validation/ajv.js'

/**
 * The JSON Schemas of what officers send to the sharing workflow: an application (条例: 使用依据、使用场景、使用范围、
 * 共享方式、使用时限), a renewal, a resubmission, the authority's conformity decision, the provider's review, a
 * withdrawal and a revocation. Compiled once, at module load; a request only runs them. They check shape only:
 * what the catalog says (resource, matter, fields) is checked by ./workflow-checks.ts, into the same error list.
 */

const USAGES = ['行政依据', '业务协同', '数据校核', '工作参考']

/** Free text an officer writes: not blank, bounded. */
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: '\\S' })
const isoDate = { type: 'string', format: 'date' }
const fieldList = {
  type: 'array',
  maxItems: 200,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 64 },
}

const contact = {
  type: 'object',
  required: ['name', 'phone'],
  properties: {
    name: text(64),
    // Mobile, landline with area code and extension: digits and the usual separators.
    phone: { type: 'string', minLength: 5, maxLength: 32, pattern: '^\\+?[0-9][0-9 ()-]*[0-9]$' },
    email: { type: 'string', format: 'email', maxLength: 254 },
  },
  additionalProperties: false,
}

/** The members of a request the applicant may change after a notice (resource, matter and mode make it another one). */
const changeable = {
  usage: { enum: USAGES },
  fields: fieldList,
  masked: fieldList,
  legalBasis: text(2000),
  scene: text(500),
  scopeOfUse: text(2000),
  validFrom: isoDate,
  validTo: isoDate,
  contact,
}

export const CHANGEABLE_MEMBERS: ReadonlySet<string> = new Set(Object.keys(changeable))

/** POST /v1/applications. `renewalOf` is not a member: only a renewal of a grant sets it. */
export const applicationSchema: JsonSchema = {
  type: 'object',
  required: ['resource', 'matter', 'mode', 'usage', 'legalBasis', 'scene', 'scopeOfUse', 'validTo', 'contact'],
  properties: {
    resource: { type: 'string', minLength: 1, maxLength: 128 },
    matter: { type: 'string', minLength: 1, maxLength: 64 },
    mode: { enum: ['query', 'write-back'] },
    ...changeable,
  },
  additionalProperties: false,
}

/** POST /v1/grants/{id}/renew: a new last day, and whatever else changes from the grant's application. */
export const renewalSchema: JsonSchema = {
  type: 'object',
  required: ['validTo'],
  properties: {
    validTo: isoDate,
    validFrom: isoDate,
    fields: fieldList,
    masked: fieldList,
    scopeOfUse: changeable.scopeOfUse,
    contact,
    legalBasis: changeable.legalBasis,
    scene: changeable.scene,
  },
  additionalProperties: false,
}

/** POST /v1/applications/{id}/resubmit: the applicant's answer to a notice. */
export const resubmissionSchema: JsonSchema = {
  type: 'object',
  required: ['changes'],
  properties: {
    changes: { type: 'object', minProperties: 1, properties: changeable, additionalProperties: false },
    note: text(2000),
  },
  additionalProperties: false,
}

/** A JSON pointer (RFC 6901) into the application's request, e.g. `/legalBasis` or `/contact/phone`. */
const noticeItems = {
  type: 'array',
  minItems: 1,
  maxItems: 50,
  items: {
    type: 'object',
    required: ['pointer', 'message'],
    properties: {
      pointer: { type: 'string', maxLength: 200, pattern: '^(/([^~/]|~[01])*)+$' },
      message: text(1000),
    },
    additionalProperties: false,
  },
}

/** Which members go with which decision is checked in code, so that each mistake gets its own plain message. */
export const conformitySchema: JsonSchema = {
  type: 'object',
  required: ['decision'],
  properties: {
    decision: { enum: ['pass', 'notice', 'refuse'] },
    items: noticeItems,
    reason: { type: 'string', maxLength: 2000 },
  },
  additionalProperties: false,
}

export const reviewSchema: JsonSchema = {
  type: 'object',
  required: ['decision'],
  properties: {
    decision: { enum: ['approve', 'notice', 'refuse'] },
    items: noticeItems,
    reason: { type: 'string', maxLength: 2000 },
    fields: fieldList,
    masked: fieldList,
    validFrom: isoDate,
    validTo: isoDate,
    quota: {
      type: 'object',
      required: ['limit', 'per'],
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        per: { type: 'string', maxLength: 16 },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
}

/** Withdrawal: an optional reason, kept in the history. */
export const withdrawalSchema: JsonSchema = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 2000 } },
  additionalProperties: false,
}

/** Revocation of a live grant: the reason is checked in code (its absence is its own message). */
export const revocationSchema: JsonSchema = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 2000 } },
  additionalProperties: false,
}

const ajv = createAjv()

export interface BodyCheck {
  readonly violations: Violation[]
  readonly total: number
  readonly truncated: boolean
}

export type BodyValidator = (body: unknown) => BodyCheck

function compiled(schema: JsonSchema): BodyValidator {
  const validate: ValidateFunction = ajv.compile(schema)
  return (body) => {
    if (validate(body)) return { violations: [], total: 0, truncated: false }
    return boundedViolations(validate.errors)
  }
}

export const checkApplicationBody = compiled(applicationSchema)
export const checkRenewalBody = compiled(renewalSchema)
export const checkResubmissionBody = compiled(resubmissionSchema)
export const checkConformityBody = compiled(conformitySchema)
export const checkReviewBody = compiled(reviewSchema)
export const checkWithdrawalBody = compiled(withdrawalSchema)
export const checkRevocationBody = compiled(revocationSchema)
