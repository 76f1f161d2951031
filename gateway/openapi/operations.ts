import { exchangeScope } from '../auth/principal.js'
import type { Action, Grant, Resource } from '../catalog/types.js'
import type { ResourceExample } from '../examples.js'
import { exchangeCodes, problemResponses } from './problems.js'
import { type Release, recordSchema, type Schema, type SchemaComponents } from './schemas.js'
import type { Texts } from './texts.js'

/** What building one exchange operation needs from the document being built. */
export interface OperationContext {
  readonly components: SchemaComponents
  readonly texts: Texts
  readonly examples: ReadonlyMap<string, readonly ResourceExample[]>
  /** Matter names by code, for the grant lines of a department's operations. */
  readonly matterName: (code: string) => string
}

export const MATTER_PATTERN = '^[A-Za-z0-9._-]{1,64}$'

/** `/v1/resources/{id}/query` or `/records`: the resource id is part of the path, one path item per resource. */
export function exchangePath(resource: Resource, action: Action): string {
  return `/v1/resources/${encodeURIComponent(resource.id)}/${action === 'read' ? 'query' : 'records'}`
}

/** `queryHousingConstructionPermit`, `writeDrcPermitFeedback`: stable, and usable as a method name by generators. */
export function operationIdOf(resource: Resource, action: Action): string {
  const words = resource.id.split(/[^A-Za-z0-9]+/).filter(Boolean)
  const pascal = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('')
  return `${action === 'read' ? 'query' : 'write'}${pascal}`
}

const releaseOf = (grant: Grant): Release => ({ clear: new Set(grant.fields), masked: new Set(grant.masked) })
const releaseKey = (grant: Grant): string =>
  `${[...grant.fields].sort().join(',')}|${[...grant.masked].sort().join(',')}`

/**
 * The record schema(s) of a read: the resource's whole record for the public view; for a department, one per
 * distinct release among its grants (the answer's shape follows the grant of the matter declared, so several
 * matters releasing different fields give `anyOf`, each branch closed by `additionalProperties: false`).
 */
function recordRef(resource: Resource, grants: readonly Grant[] | undefined, ctx: OperationContext): Schema {
  const root = resource.read?.response.schema as Schema
  if (grants === undefined) {
    const name = ctx.components.add(
      `${resource.id}.Record`,
      recordSchema(resource.fields, root, undefined, ctx.components, ctx.texts),
    )
    return { $ref: `#/components/schemas/${name}` }
  }
  const distinct = new Map<string, Grant>()
  for (const grant of grants) if (!distinct.has(releaseKey(grant))) distinct.set(releaseKey(grant), grant)
  const refs = [...distinct.values()].map((grant) => {
    const name = ctx.components.add(
      distinct.size === 1 ? `${resource.id}.Record` : `${resource.id}.Record.${grant.matter}`,
      recordSchema(resource.fields, root, releaseOf(grant), ctx.components, ctx.texts),
    )
    return { $ref: `#/components/schemas/${name}` }
  })
  return refs.length === 1 ? (refs[0] as Schema) : { anyOf: refs }
}

/** Named request examples (the demo's simulators know parameters that find records); none in production. */
function requestExamples(resource: Resource, ctx: OperationContext): Schema | undefined {
  const list = ctx.examples.get(resource.id) ?? []
  if (list.length === 0) return undefined
  const examples: Schema = {}
  for (const example of list) {
    const keys = Object.keys(example.params)
    const base = keys.join('-') || 'example'
    let name = base
    for (let n = 2; Object.hasOwn(examples, name); n++) name = `${base}-${n}`
    examples[name] = {
      summary: example.summary ?? ctx.texts.exampleSummary(keys.join(', ')),
      // A copy: the document is frozen, the example is its owner's.
      value: structuredClone(example.params),
    }
  }
  return examples
}

function grantLines(grants: readonly Grant[], action: Action, ctx: OperationContext): string {
  const { texts } = ctx
  const list = (keys: readonly string[]) => (keys.length === 0 ? texts.none : keys.map((k) => `\`${k}\``).join(', '))
  return grants
    .map((grant) => {
      const scope = exchangeScope(grant.matter, grant.resource, action)
      const name = ctx.matterName(grant.matter)
      const line =
        action === 'read'
          ? texts.grantLine(grant.matter, name, scope, list(grant.fields), list(grant.masked))
          : texts.writeGrantLine(grant.matter, name, scope)
      const approval = grant.approval
      return approval === undefined ? line : `${line}${texts.validity(approval.validFrom, approval.validTo)}`
    })
    .join('\n')
}

/**
 * One exchange operation. `grants` are the department's grants in force for it (the public view passes none):
 * they give the matters of `Qiao-Matter`, the scopes of `security` (one alternative per matter, in the same
 * order) and the fields of the answer.
 */
export function exchangeOperation(
  resource: Resource,
  action: Action,
  grants: readonly Grant[] | undefined,
  ctx: OperationContext,
): Schema {
  const { texts, components } = ctx
  const binding = action === 'read' ? resource.read : resource.write
  if (binding === undefined) throw new Error(`resource ${resource.id} has no ${action} binding`)
  const matters = grants?.map((g) => g.matter)
  const matterParameter =
    matters === undefined
      ? { $ref: '#/components/parameters/Qiao-Matter' }
      : {
          name: 'Qiao-Matter',
          in: 'header',
          required: true,
          description: texts.matterHeader,
          schema: { type: 'string', enum: matters },
        }
  const parameters: Schema[] = [matterParameter, { $ref: '#/components/parameters/Qiao-Case' }]
  if (action === 'write') parameters.push({ $ref: '#/components/parameters/Idempotency-Key' })
  const examples = requestExamples(resource, ctx)
  const description =
    grants === undefined
      ? texts.publicOperation(exchangeScope('<matter>', resource.id, action))
      : grantLines(grants, action, ctx)
  const cardinality = action === 'read' ? resource.read?.cardinality : undefined
  const success =
    action === 'read'
      ? {
          '200': {
            description: texts.readOk(cardinality ?? 'many'),
            headers: { 'Qiao-Audit-Id': { $ref: '#/components/headers/Qiao-Audit-Id' } },
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['data', 'meta'],
                  properties: {
                    // An array whatever the cardinality (80-respond.ts): `one` means exactly one record.
                    data: {
                      type: 'array',
                      items: recordRef(resource, grants, ctx),
                      ...(cardinality === 'one' ? { minItems: 1, maxItems: 1 } : {}),
                    },
                    meta: { $ref: '#/components/schemas/ReadMeta' },
                  },
                },
              },
            },
          },
        }
      : {
          '201': {
            description: texts.writeOk,
            headers: {
              'Qiao-Audit-Id': { $ref: '#/components/headers/Qiao-Audit-Id' },
              'Idempotent-Replayed': { $ref: '#/components/headers/Idempotent-Replayed' },
            },
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['data', 'meta'],
                  properties: {
                    data: { $ref: '#/components/schemas/WriteReceipt' },
                    meta: { $ref: '#/components/schemas/WriteMeta' },
                  },
                },
              },
            },
          },
        }
  return {
    operationId: operationIdOf(resource, action),
    summary: action === 'read' ? texts.querySummary(resource.name) : texts.writeSummary(resource.name),
    description,
    tags: [resource.id],
    security:
      grants === undefined
        ? [{ bearer: [] }]
        : grants.map((g) => ({ bearer: [exchangeScope(g.matter, g.resource, action)] })),
    parameters,
    requestBody: {
      required: true,
      description: action === 'read' ? texts.requestBody : texts.writeBody,
      content: {
        'application/json': {
          schema: components.ref(binding.request.schema),
          ...(examples === undefined ? {} : { examples }),
        },
      },
    },
    responses: { ...success, ...problemResponses(exchangeCodes(action, cardinality), texts, { audited: true }) },
    'x-qiao-resource': resource.id,
    'x-qiao-action': action,
    ...(grants === undefined
      ? {}
      : {
          'x-qiao-grants': grants.map((g) => ({
            matter: g.matter,
            usage: g.usage,
            source: g.source,
            ...(action === 'read' ? { fields: g.fields, masked: g.masked } : {}),
            ...(g.approval === undefined
              ? {}
              : { approvalRef: g.approval.ref, validFrom: g.approval.validFrom, validTo: g.approval.validTo }),
          })),
        }),
  }
}

/** The envelope members of 80-respond.ts, shared by every operation. */
export function envelopeSchemas(): Record<string, Schema> {
  const text = { type: 'string' }
  const keys = { type: 'array', items: text }
  return {
    ReadMeta: {
      type: 'object',
      required: ['resource', 'provider', 'matter', 'case', 'auditId', 'fields', 'masked', 'count', 'retrievedAt'],
      properties: {
        resource: text,
        provider: text,
        matter: text,
        case: text,
        auditId: text,
        fields: { ...keys, description: 'Every field released, in clear or masked.' },
        masked: { ...keys, description: 'The fields released masked.' },
        count: { type: 'integer', minimum: 0 },
        retrievedAt: { type: 'string', format: 'date-time' },
      },
    },
    WriteMeta: {
      type: 'object',
      required: ['resource', 'provider', 'matter', 'case', 'auditId', 'idempotencyKey', 'deliveredAt'],
      properties: {
        resource: text,
        provider: text,
        matter: text,
        case: text,
        auditId: text,
        idempotencyKey: text,
        deliveredAt: { type: 'string', format: 'date-time' },
      },
    },
    WriteReceipt: {
      type: 'object',
      description: 'The provider’s receipt (回执).',
      required: ['receiptId', 'acceptedAt'],
      properties: { receiptId: text, acceptedAt: { type: 'string', format: 'date-time' } },
    },
  }
}
