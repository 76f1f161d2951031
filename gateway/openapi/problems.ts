import { type ProblemCode, problems } from '../errors/codes.js'
import { PROBLEM_CONTENT_TYPE, problemType } from '../errors/problem.js'
import type { Schema } from './schemas.js'
import type { Texts } from './texts.js'

const ALL_CODES = Object.keys(problems) as ProblemCode[]

/** The token problems, answered by every route that needs one. */
export const TOKEN_CODES: readonly ProblemCode[] = [
  'token-missing',
  'token-invalid',
  'token-expired',
  'token-not-yet-valid',
  'token-claims-invalid',
  'token-lifetime-exceeded',
  'token-key-unknown',
  'auth-keys-unavailable',
  'internal',
]

/**
 * Codes no exchange call answers: the other routes' own (sharing workflow, audit API, catalog reload), the two that
 * a documented path and method never meet, and client-gone (499: nobody is left to read it, only the audit log).
 * Listed as exclusions so that a code added to codes.ts is documented on the exchange operations until decided
 * otherwise (build.test.ts makes that decision explicit).
 */
export const NOT_EXCHANGE_CODES: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'query-invalid',
  'audit-record-not-found',
  'route-not-found',
  'method-not-allowed',
  'matter-not-found',
  'evidence-not-declared',
  'catalog-invalid',
  'client-gone',
  'application-invalid',
  'decision-invalid',
  'notice-item-repeated',
  'application-not-found',
  'grant-not-found',
  'sharing-not-permitted',
  'separation-of-duties',
  'transition-not-allowed',
  'precondition-required',
  'precondition-failed',
  'subscription-invalid',
  'subscription-not-found',
  'resource-has-no-change-feed',
  'subscription-suspended',
  'subscription-cursor-invalid',
])

/** Only writes claim an Idempotency-Key. */
export const WRITE_ONLY_CODES: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'idempotency-key-missing',
  'idempotency-conflict',
  'idempotency-in-flight',
  'idempotency-outcome-unknown',
  'idempotency-answer-not-kept',
])

/** Every problem an exchange operation can answer; record-not-found only where the answer is one record. */
export function exchangeCodes(action: 'read' | 'write', cardinality?: 'one' | 'many'): ProblemCode[] {
  return ALL_CODES.filter((code) => {
    if (NOT_EXCHANGE_CODES.has(code)) return false
    if (action === 'read') return !WRITE_ONLY_CODES.has(code) && (code !== 'record-not-found' || cardinality === 'one')
    return code !== 'record-not-found'
  })
}

/** RFC 9457 members, `code`, and every extension member a Qiao problem carries (gateway/errors/problem.ts). */
export function problemSchema(): Schema {
  const text = { type: 'string' }
  return {
    type: 'object',
    description: 'RFC 9457 problem details; `code` is the stable contract, `type` its catalogue entry.',
    required: ['type', 'title', 'status', 'detail', 'code', 'instance', 'requestId'],
    properties: {
      type: { type: 'string', format: 'uri-reference', description: '`/problems/{code}`' },
      title: text,
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: text,
      code: { type: 'string', enum: [...ALL_CODES] },
      instance: { type: 'string', description: '`urn:qiao:request:<requestId>`' },
      requestId: text,
      traceId: text,
      errors: {
        type: 'array',
        description:
          'params-invalid, application-invalid …: violations by JSON pointer; catalog-invalid, query-invalid: messages.',
        items: {
          anyOf: [
            text,
            {
              type: 'object',
              required: ['pointer', 'message'],
              properties: { pointer: text, message: text },
            },
          ],
        },
      },
      truncated: { type: 'boolean' },
      total: { type: 'integer', minimum: 0 },
      allowed: { type: 'array', items: text, description: 'params-invalid: the parameters the resource takes.' },
      requiredScope: text,
      matters: {
        type: 'array',
        description: 'matter-unknown, grant-missing, insufficient-scope: the matters that cover the call.',
        items: { type: 'object', required: ['code', 'name'], properties: { code: text, name: text } },
      },
      approvalRef: text,
      quota: { type: 'string', description: 'quota-exceeded: the quota id.' },
      upstreamCode: { type: 'string', description: 'upstream-*: the provider system’s own code.' },
      firstStatus: { type: 'integer' },
      firstAuditId: text,
      state: { type: 'string', description: 'transition-not-allowed: where the application is.' },
    },
  }
}

/** One named example per code (`components/examples/problem.<code>`), as renderProblem writes it. */
export function problemExamples(): Record<string, Schema> {
  const examples: Record<string, Schema> = {}
  for (const code of ALL_CODES) {
    const spec = problems[code]
    examples[`problem.${code}`] = {
      summary: spec.title,
      description: spec.meaning,
      value: {
        type: problemType(code),
        title: spec.title,
        status: spec.status,
        detail: spec.title,
        code,
        instance: 'urn:qiao:request:0195f3a2-7c00-7000-8000-000000000000',
        requestId: '0195f3a2-7c00-7000-8000-000000000000',
      },
    }
  }
  return examples
}

const RETRY_AFTER_CODES: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'quota-exceeded',
  'upstream-circuit-open',
  'upstream-overloaded',
  'gateway-draining',
])

/**
 * The problem responses for a set of codes, one per status, each listing its codes and linking one example per
 * code. `audited`: exchange answers carry the audit record id when the record was written.
 */
export function problemResponses(
  codes: readonly ProblemCode[],
  texts: Texts,
  options: { readonly audited?: boolean } = {},
): Record<string, Schema> {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const code of codes) {
    const status = problems[code].status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const responses: Record<string, Schema> = {}
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const list = byStatus.get(status) as ProblemCode[]
    const headers: Record<string, Schema> = {}
    if (list.some((code) => status === 401 || 'bearerError' in problems[code])) {
      headers['WWW-Authenticate'] = { description: 'RFC 6750 §3 challenge', schema: { type: 'string' } }
    }
    if (list.some((code) => RETRY_AFTER_CODES.has(code))) {
      headers['Retry-After'] = { description: 'RFC 9110 §10.2.3 (seconds)', schema: { type: 'integer', minimum: 0 } }
    }
    if (options.audited) headers['Qiao-Audit-Id'] = { $ref: '#/components/headers/Qiao-Audit-Id' }
    responses[String(status)] = {
      description: texts.problemResponse(list.map((code) => `\`${code}\` (${problems[code].title})`).join(', ')),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: { $ref: '#/components/schemas/Problem' },
          examples: Object.fromEntries(list.map((code) => [code, { $ref: `#/components/examples/problem.${code}` }])),
        },
      },
    }
  }
  return responses
}
