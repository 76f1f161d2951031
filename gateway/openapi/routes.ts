import type { Catalog } from '../catalog/types.js'
import { type ProblemCode, problems } from '../errors/codes.js'
import { applicationSchema } from '../sharing/application-schema.js'
import { problemResponses, TOKEN_CODES } from './problems.js'
import type { Schema, SchemaComponents } from './schemas.js'
import { subscriptionRoutes } from './subscription-routes.js'
import type { Texts } from './texts.js'

export const CATALOG_TAG = '共享目录 / Catalog'
export const SHARING_TAG = '共享申请 / Sharing'
export const PROBLEMS_TAG = '问题 / Problems'
export const EVIDENCE_TAG = '一件事 / Evidence bundles'

const APPLICATION_FILTERS = ['state', 'consumer', 'provider', 'resource', 'overdue', 'limit', 'cursor']
const GRANT_FILTERS = [
  'state',
  'source',
  'consumer',
  'provider',
  'resource',
  'matter',
  'expiringWithin',
  'limit',
  'cursor',
]

const query = (names: readonly string[]): Schema[] =>
  names.map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }))

const json = (schema: Schema, description: string): Schema => ({
  description,
  content: { 'application/json': { schema } },
})

/** `{ data }` answers of the sharing routes (sharing-http.ts); their members are documented in the README. */
const dataAnswer: Schema = {
  type: 'object',
  required: ['data'],
  properties: { data: {} },
}

const count: Schema = { type: 'integer', minimum: 0 }
const code: Schema = { type: 'string' }

/** `GET /v1/usage`: counts per Beijing day and (consumer, provider, resource, matter); routes/usage.ts. */
const usageAnswer: Schema = {
  type: 'object',
  required: ['view', 'dept', 'from', 'to', 'rows'],
  properties: {
    view: { type: 'string', enum: ['consumer', 'provider'] },
    dept: code,
    from: { type: 'string', format: 'date' },
    to: { type: 'string', format: 'date' },
    rows: {
      type: 'array',
      items: {
        type: 'object',
        required: ['day', 'consumer', 'provider', 'resource', 'matter', 'calls', 'allowed', 'refused', 'failed'],
        properties: {
          day: { type: 'string', format: 'date' },
          consumer: code,
          provider: code,
          resource: code,
          matter: code,
          calls: count,
          allowed: count,
          refused: count,
          failed: count,
        },
      },
    },
  },
}

const nullableText: Schema = { type: ['string', 'null'] }

/** `GET /v1/subject-accesses`: one page of a data subject's accesses, newest first; routes/subject-accesses.ts. */
const subjectAccessesAnswer: Schema = {
  type: 'object',
  required: ['accesses', 'nextCursor'],
  properties: {
    accesses: {
      type: 'array',
      items: {
        type: 'object',
        required: ['time', 'requester', 'purpose', 'resource', 'resourceName', 'provider', 'providerName', 'action'],
        properties: {
          time: { type: 'string', format: 'date-time' },
          requester: { type: 'object', properties: { dept: code, deptName: nullableText } },
          purpose: { type: 'object', properties: { matter: code, matterName: { type: 'string' } } },
          resource: code,
          resourceName: nullableText,
          provider: code,
          providerName: nullableText,
          action: { type: 'string', enum: ['read', 'write'] },
        },
      },
    },
    nextCursor: nullableText,
  },
}

/**
 * The other routes a department uses, briefly: what they take, who may call them and what they answer. The
 * workflow's steps beyond applying (conformity, review, renewal …) are the reviewers' and stay in the README.
 */
export function otherRoutes(texts: Texts, components: SchemaComponents): Record<string, Record<string, Schema>> {
  const bearer = [{ bearer: [] }]
  const problemsOf = (codes: readonly ProblemCode[]) => problemResponses([...TOKEN_CODES, ...codes], texts)
  const application = components.add('Application', components.convert(applicationSchema, applicationSchema) as Schema)
  return {
    '/v1/catalog': {
      get: {
        operationId: 'getCatalog',
        summary: texts.routes.catalog,
        tags: [CATALOG_TAG],
        security: bearer,
        responses: { '200': json({ type: 'object' }, texts.routes.catalog), ...problemsOf([]) },
      },
    },
    '/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: texts.routes.openapi,
        tags: [CATALOG_TAG],
        // Optional: without a token the public view.
        security: [{}, { bearer: [] }],
        parameters: [{ name: 'lang', in: 'query', required: false, schema: { type: 'string', enum: ['zh', 'en'] } }],
        responses: {
          '200': {
            ...json({ type: 'object' }, texts.routes.openapi),
            headers: { ETag: { schema: { type: 'string' } } },
          },
          '304': { description: 'If-None-Match' },
          ...problemsOf(['query-invalid', 'department-unknown']),
        },
      },
    },
    '/v1/applications': {
      get: {
        operationId: 'listApplications',
        summary: texts.routes.applicationsList,
        tags: [SHARING_TAG],
        security: bearer,
        parameters: query(APPLICATION_FILTERS),
        responses: { '200': json(dataAnswer, texts.routes.applicationsList), ...problemsOf(['query-invalid']) },
      },
      post: {
        operationId: 'createApplication',
        summary: texts.routes.applicationsCreate,
        tags: [SHARING_TAG],
        security: [{ bearer: ['sharing:apply'] }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${application}` } } },
        },
        responses: {
          '201': {
            ...json(dataAnswer, texts.routes.applicationsCreate),
            headers: { Location: { schema: { type: 'string' } }, ETag: { schema: { type: 'string' } } },
          },
          ...problemsOf([
            'body-malformed',
            'body-too-large',
            'unsupported-media-type',
            'query-invalid',
            'application-invalid',
            'sharing-not-permitted',
            'department-unknown',
            'audit-unavailable',
          ]),
        },
      },
    },
    '/v1/grants': {
      get: {
        operationId: 'listGrants',
        summary: texts.routes.grantsList,
        tags: [SHARING_TAG],
        security: bearer,
        parameters: query(GRANT_FILTERS),
        responses: { '200': json(dataAnswer, texts.routes.grantsList), ...problemsOf(['query-invalid']) },
      },
    },
    ...subscriptionRoutes(texts, problemsOf),
    '/v1/usage': {
      get: {
        operationId: 'getUsage',
        summary: texts.routes.usage,
        tags: [SHARING_TAG],
        security: [{ bearer: ['sharing:apply'] }, { bearer: ['sharing:review'] }],
        parameters: [
          { name: 'view', in: 'query', required: true, schema: { type: 'string', enum: ['consumer', 'provider'] } },
          ...['from', 'to'].map((name) => ({
            name,
            in: 'query',
            required: false,
            schema: { type: 'string', format: 'date' },
          })),
        ],
        responses: {
          '200': json(usageAnswer, texts.routes.usage),
          ...problemsOf(['query-invalid', 'insufficient-scope', 'department-unknown', 'audit-unavailable']),
        },
      },
    },
    '/v1/subject-accesses': {
      get: {
        operationId: 'getSubjectAccesses',
        summary: texts.routes.subjectAccesses,
        tags: [SHARING_TAG],
        security: [{ bearer: ['usage:subject'] }],
        parameters: [
          { name: 'subject', in: 'query', required: true, schema: { type: 'string' } },
          ...query(['cursor', 'limit']),
        ],
        responses: {
          '200': json(subjectAccessesAnswer, texts.routes.subjectAccesses),
          ...problemsOf(['query-invalid', 'insufficient-scope', 'client-not-permitted', 'audit-unavailable']),
        },
      },
    },
    '/problems/{code}': {
      get: {
        operationId: 'getProblem',
        summary: texts.routes.problem,
        tags: [PROBLEMS_TAG],
        security: [],
        parameters: [
          { name: 'code', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(problems) } },
        ],
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['code', 'status', 'title', 'meaning'],
              properties: {
                code: { type: 'string' },
                status: { type: 'integer' },
                title: { type: 'string' },
                meaning: { type: 'string' },
              },
            },
            texts.routes.problem,
          ),
          ...problemResponses(['route-not-found', 'internal'], texts),
        },
      },
    },
  }
}

/** The problems of one evidence item (its `problem`): a single read's, bar those only the bundle itself answers. */
const EVIDENCE_ITEM: Schema = {
  type: 'object',
  required: ['id', 'resource', 'required', 'status'],
  properties: {
    id: code,
    resource: code,
    required: { type: 'boolean' },
    status: { type: 'integer', description: '200, or the status of the item’s problem' },
    auditId: { type: 'string', description: 'The item’s own audit record' },
    data: { type: 'array', items: { type: 'object' }, description: 'As a single read’s `data`' },
    meta: { type: 'object', description: 'As a single read’s `meta`' },
    releaseReceipt: { type: 'string' },
    problem: { $ref: '#/components/schemas/Problem' },
  },
}

const EVIDENCE_BUNDLE: Schema = {
  type: 'object',
  required: ['matter', 'case', 'auditId', 'complete', 'items'],
  properties: {
    matter: code,
    case: code,
    auditId: { type: 'string', description: 'The bundle’s own audit record, which lists its items’' },
    complete: { type: 'boolean', description: 'Every required item has data' },
    items: { type: 'array', items: EVIDENCE_ITEM },
  },
}

/**
 * POST /v1/matters/{code}/evidence for each matter that declares evidence and of which `mayRead` lets the
 * department read at least one item, with the matter's inputs as the body.
 */
export function evidenceRoutes(
  catalog: Catalog,
  texts: Texts,
  mayRead: (matter: string, resource: string) => boolean,
): Record<string, Record<string, Schema>> {
  const paths: Record<string, Record<string, Schema>> = {}
  for (const matter of catalog.matters.values()) {
    const evidence = matter.evidence
    if (evidence === undefined || !evidence.items.some((i) => mayRead(matter.code, i.resource))) continue
    const names = Object.keys(evidence.inputs)
    const items = evidence.items.map((i) => `${i.id}: ${i.resource}`).join(', ')
    const answer = json(EVIDENCE_BUNDLE, texts.routes.evidence(matter.code, items))
    paths[`/v1/matters/${matter.code}/evidence`] = {
      post: {
        operationId: `evidence_${matter.code}`,
        summary: `${matter.name}：${items}`,
        description: texts.routes.evidence(matter.code, items),
        tags: [EVIDENCE_TAG],
        security: [{ bearer: evidence.items.map((i) => `${matter.code}:${i.resource}:read`) }],
        parameters: [{ $ref: '#/components/parameters/Qiao-Case' }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: names,
                additionalProperties: false,
                properties: Object.fromEntries(
                  names.map((name) => {
                    const input = evidence.inputs[name] as { format: string; description?: string }
                    const about = input.description === undefined ? {} : { description: input.description }
                    return [name, { type: 'string', format: input.format, ...about }]
                  }),
                ),
              },
            },
          },
        },
        responses: {
          '200': { ...answer, headers: { 'Qiao-Audit-Id': { $ref: '#/components/headers/Qiao-Audit-Id' } } },
          '207': { ...answer, headers: { 'Qiao-Audit-Id': { $ref: '#/components/headers/Qiao-Audit-Id' } } },
          ...problemResponses(
            [
              ...TOKEN_CODES,
              'purpose-missing',
              'purpose-malformed',
              'body-malformed',
              'body-too-large',
              'unsupported-media-type',
              'params-invalid',
              'matter-not-found',
              'evidence-not-declared',
              'gateway-draining',
              'timestamping-unavailable',
              'audit-unavailable',
            ],
            texts,
            { audited: true },
          ),
        },
      },
    }
  }
  return paths
}
