import type { ProblemCode } from '../errors/codes.js'
import type { Schema } from './schemas.js'
import type { Texts } from './texts.js'

export const SUBSCRIPTIONS_TAG = '订阅 / Subscriptions'

const json = (schema: Schema, description: string): Schema => ({
  description,
  content: { 'application/json': { schema } },
})

/** `{ data }` answers (routes/subscriptions.ts); their members are documented in the README. */
const dataAnswer: Schema = { type: 'object', required: ['data'], properties: { data: {} } }
const count: Schema = { type: 'integer', minimum: 0 }

const SUBSCRIPTION_REQUEST: Schema = {
  type: 'object',
  required: ['matter', 'resource'],
  additionalProperties: false,
  properties: {
    matter: { type: 'string', description: 'Matter code (事项编码) the grant is for' },
    resource: { type: 'string', description: 'Resource id with a change feed' },
    filter: {
      type: 'object',
      additionalProperties: false,
      properties: {
        regions: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          items: { type: 'string', pattern: '^\\d{2,12}$' },
          description: '行政区划代码 prefixes (回流); needs divisionCode released in clear',
        },
        keys: {
          type: 'array',
          minItems: 1,
          maxItems: 1000,
          items: { type: 'string', minLength: 1, maxLength: 64 },
          description: 'Business keys: the record key or any field released in clear (project codes, USCCs)',
        },
      },
    },
    delivery: {
      oneOf: [
        { type: 'object', required: ['kind'], properties: { kind: { const: 'pull' } }, additionalProperties: false },
        {
          type: 'object',
          required: ['kind', 'url'],
          properties: { kind: { const: 'webhook' }, url: { type: 'string', format: 'uri' } },
          additionalProperties: false,
        },
      ],
    },
  },
}

const PULLED_EVENTS: Schema = {
  type: 'object',
  required: ['data', 'meta'],
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'cursor', 'publishedAt', 'payload'],
        properties: {
          id: { type: 'string', description: '`<resource>/<key>/<version>`: the same change is always the same id' },
          cursor: { type: 'string', pattern: '^\\d{16}$' },
          publishedAt: { type: 'string', format: 'date-time' },
          payload: {
            type: 'object',
            required: ['op', 'key', 'version', 'changedAt'],
            properties: {
              op: { type: 'string', enum: ['upsert', 'delete'] },
              key: { type: 'string' },
              version: { type: 'string' },
              changedAt: { type: 'string', format: 'date-time' },
              record: { type: 'object', description: 'As the grant releases it (absent for a delete)' },
            },
          },
        },
      },
    },
    meta: {
      type: 'object',
      required: ['count', 'next'],
      properties: { count, next: { type: ['string', 'null'], description: 'The next `after`' } },
    },
  },
}

/** /v1/subscriptions (routes/subscriptions.ts, logic in subscriptions/service.ts). */
export function subscriptionRoutes(
  texts: Texts,
  problemsOf: (codes: readonly ProblemCode[]) => Record<string, Schema>,
): Record<string, Record<string, Schema>> {
  const bearer = [{ bearer: [] }]
  const id: Schema = { name: 'id', in: 'path', required: true, schema: { type: 'string' } }
  const tags = [SUBSCRIPTIONS_TAG]
  return {
    '/v1/subscriptions': {
      get: {
        operationId: 'listSubscriptions',
        summary: texts.routes.subscriptionsList,
        tags,
        security: bearer,
        responses: { '200': json(dataAnswer, texts.routes.subscriptionsList), ...problemsOf(['query-invalid']) },
      },
      post: {
        operationId: 'createSubscription',
        summary: texts.routes.subscriptionsCreate,
        tags,
        security: bearer,
        requestBody: { required: true, content: { 'application/json': { schema: SUBSCRIPTION_REQUEST } } },
        responses: {
          '201': {
            ...json(dataAnswer, texts.routes.subscriptionsCreate),
            headers: { Location: { schema: { type: 'string' } } },
          },
          ...problemsOf([
            'body-malformed',
            'body-too-large',
            'unsupported-media-type',
            'query-invalid',
            'subscription-invalid',
            'resource-not-found',
            'resource-has-no-change-feed',
            'department-unknown',
            'resource-not-shared',
            'matter-unknown',
            'grant-missing',
            'grant-revoked',
            'grant-not-yet-valid',
            'grant-expired',
            'role-separation',
          ]),
        },
      },
    },
    '/v1/subscriptions/{id}': {
      get: {
        operationId: 'getSubscription',
        summary: texts.routes.subscriptionGet,
        tags,
        security: bearer,
        parameters: [id],
        responses: {
          '200': json(dataAnswer, texts.routes.subscriptionGet),
          ...problemsOf(['query-invalid', 'subscription-not-found']),
        },
      },
      delete: {
        operationId: 'deleteSubscription',
        summary: texts.routes.subscriptionDelete,
        tags,
        security: bearer,
        parameters: [id],
        responses: {
          '204': { description: texts.routes.subscriptionDelete },
          ...problemsOf(['query-invalid', 'subscription-not-found']),
        },
      },
    },
    '/v1/subscriptions/{id}/events': {
      get: {
        operationId: 'pullSubscriptionEvents',
        summary: texts.routes.subscriptionEvents,
        tags,
        security: bearer,
        parameters: [
          id,
          { name: 'after', in: 'query', required: false, schema: { type: 'string', pattern: '^\\d{16}$' } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } },
        ],
        responses: {
          '200': json(PULLED_EVENTS, texts.routes.subscriptionEvents),
          ...problemsOf([
            'query-invalid',
            'subscription-not-found',
            'subscription-suspended',
            'subscription-cursor-invalid',
          ]),
        },
      },
    },
  }
}
