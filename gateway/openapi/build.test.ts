import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../connectors/registry.js'
import { loadCatalog } from '../catalog/load.js'
import { type Catalog, type Grant, grantKey, type Resource } from '../catalog/types.js'
import { type ProblemCode, problems } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { ResourceExample } from '../examples.js'
import { createAjv } from '../validation/ajv.js'
import { APPLY_TAG, buildOpenApi, NOT_SHARED_TAG, type OpenApiDocument } from './build.js'
import { NOT_EXCHANGE_CODES, WRITE_ONLY_CODES } from './problems.js'
import type { Schema } from './schemas.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** 2026-11-26 10:00 in Nanjing: every demo grant in force except 水务's, which ended on 2025-06-30. */
const NOW = Date.parse('2026-11-26T02:00:00Z')

let catalog: Catalog

beforeAll(async () => {
  const result = await loadCatalog(join(ROOT, 'catalog.yaml'), { definitions: connectorDefinitions, vars: {} })
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'))
  catalog = result.catalog
})

const departmentView = (source: { catalog: Catalog }, dept: string, lang: 'zh' | 'en' = 'zh') =>
  buildOpenApi(source, { dept }, { lang, now: NOW })

const op = (doc: OpenApiDocument, path: string): Schema | undefined => doc.paths[path]?.post
const tag = (doc: OpenApiDocument, name: string) => doc.tags.find((t) => t.name === name) as Schema
const schemaAt = (doc: OpenApiDocument, ref: unknown): Schema => {
  const name = String((ref as { $ref: string }).$ref).replace('#/components/schemas/', '')
  return doc.components.schemas?.[name] as Schema
}
/** The record schema of a read operation's 200 answer (`data` is an array of records). */
function recordOf(doc: OpenApiDocument, path: string): Schema {
  const ok = ((op(doc, path) as Schema).responses as Record<string, Schema>)['200'] as Schema
  const body = (ok.content as Record<string, { schema: Schema }>)['application/json']?.schema as Schema
  const data = (body.properties as Record<string, Schema>).data as Schema
  return schemaAt(doc, data.items)
}
const propertiesOf = (schema: Schema) => schema.properties as Record<string, Schema>

function withGrants(base: Catalog, change: (grants: Map<string, Grant>) => void): Catalog {
  const grants = new Map(base.grants)
  change(grants)
  return { ...base, grants }
}

function withResource(base: Catalog, id: string, change: (resource: Resource) => Resource): Catalog {
  const resources = new Map(base.resources)
  resources.set(id, change(base.resources.get(id) as Resource))
  return { ...base, resources }
}

/** Every component schema compiled by the gateway's own Ajv (2020-12, strict), `x-qiao-*` as annotations. */
function compileComponents(doc: OpenApiDocument): void {
  const ajv = createAjv()
  for (const keyword of ['x-qiao-sensitivity', 'x-qiao-masked', 'x-qiao-mask']) ajv.addKeyword(keyword)
  ajv.addFormat('uri-reference', true)
  const text = JSON.stringify(doc.components.schemas).replaceAll(
    '#/components/schemas/',
    'urn:qiao:test:bundle#/$defs/',
  )
  ajv.addSchema({ $id: 'urn:qiao:test:bundle', $defs: JSON.parse(text) })
  for (const name of Object.keys(doc.components.schemas ?? {})) {
    expect(ajv.getSchema(`urn:qiao:test:bundle#/$defs/${name}`), name).toBeTypeOf('function')
  }
}

describe('buildOpenApi', () => {
  it('builds valid OpenAPI 3.1 for the public view and every department of the demo catalog, in both languages', async () => {
    const views = ['public' as const, ...[...catalog.departments.keys()].map((dept) => ({ dept }))]
    for (const view of views) {
      for (const lang of ['zh', 'en'] as const) {
        const doc = buildOpenApi({ catalog }, view, { lang, now: NOW })
        const result = await new Validator().validate(structuredClone(doc) as never)
        expect({ view, lang, ...result }).toStrictEqual({ view, lang, valid: true })
        expect(doc.openapi).toBe('3.1.0')
        compileComponents(doc)
      }
    }
  })

  it("gives drc construction permits with the granted fields only, the owner's lead's id number masked", () => {
    const doc = departmentView({ catalog }, 'drc')
    const path = '/v1/resources/housing.construction-permit/query'
    const grant = catalog.grants.get(grantKey('QT00301001', 'housing.construction-permit', 'read', 'drc')) as Grant
    const record = recordOf(doc, path)
    const released = catalog.resources
      .get('housing.construction-permit')
      ?.fields.map((f) => f.key)
      .filter((k) => grant.fields.includes(k) || grant.masked.includes(k))
    expect(Object.keys(propertiesOf(record))).toStrictEqual(released)
    expect(propertiesOf(record).planningPermitNo).toBeUndefined()
    expect(propertiesOf(record).drawingReviewCertNo).toBeUndefined()
    expect(record.additionalProperties).toBe(false)
    expect(record.required).toContain('ownerLeadIdNo')
    expect(record.required).not.toContain('planningPermitNo')

    const idNo = propertiesOf(record).ownerLeadIdNo as Schema
    expect(idNo['x-qiao-masked']).toBe(true)
    expect(idNo).toMatchObject({ type: 'string', 'x-qiao-mask': 'idcard' })
    expect(idNo.format).toBeUndefined()
    expect(idNo.description).toContain('110101********1234')
    expect(propertiesOf(record).ownerLeadPhone?.pattern).toBeUndefined()
    expect(propertiesOf(record).ownerLeadPhone?.description).toContain('138****5678')
    // Clear fields keep their schema.
    expect(propertiesOf(record).ownerUscc).toMatchObject({ type: 'string', format: 'uscc' })
    expect(propertiesOf(record).ownerUscc?.['x-qiao-masked']).toBeUndefined()

    const operation = op(doc, path) as Schema
    expect(operation.security).toStrictEqual([{ bearer: ['QT00301001:housing.construction-permit:read'] }])
    const [matter, caseId] = operation.parameters as Schema[]
    expect(matter).toMatchObject({
      name: 'Qiao-Matter',
      in: 'header',
      required: true,
      schema: { enum: ['QT00301001'] },
    })
    expect(caseId).toStrictEqual({ $ref: '#/components/parameters/Qiao-Case' })
    expect(doc.components.securitySchemes?.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    })
    // Not granted to drc: no operation. Its own resources: not callable through the exchange either.
    expect(op(doc, '/v1/resources/drc.permit-feedback/records')).toBeUndefined()
    expect(op(doc, '/v1/resources/drc.investment-project/query')).toBeUndefined()
    expect(doc.paths['/v1/catalog']?.get?.security).toStrictEqual([{ bearer: [] }])
  })

  it('lists 不予共享 resources in a tag, with no operation, in every view', () => {
    for (const doc of [buildOpenApi({ catalog }, 'public', { lang: 'zh' }), departmentView({ catalog }, 'drc')]) {
      expect(Object.keys(doc.paths).filter((p) => p.includes('housing.security-applicant'))).toStrictEqual([])
      const notShared = tag(doc, NOT_SHARED_TAG)
      expect(notShared['x-qiao-not-shared']).toMatchObject([{ resource: 'housing.security-applicant' }])
      expect(notShared.description).toContain('housing.security-applicant')
      expect(doc.tags.map((t) => t.name)).not.toContain('housing.security-applicant')
    }
  })

  it('lists under 可申请 the shareable resources a department holds no grant for, never its own', () => {
    // In the demo drc holds a grant for every other department's resource; without its drawing-review grant:
    const fewer = withGrants(catalog, (g) => g.delete(grantKey('QT00301001', 'housing.drawing-review', 'read', 'drc')))
    const doc = departmentView({ catalog: fewer }, 'drc')
    const apply = tag(doc, APPLY_TAG)
    const listed = (apply['x-qiao-apply'] as { resources: Schema[] }).resources
    expect(apply['x-qiao-apply']).toMatchObject({ method: 'post', path: '/v1/applications' })
    expect(listed.map((r) => r.resource)).toStrictEqual(['housing.drawing-review'])
    expect(listed[0]).toMatchObject({ sharing: 'unconditional', mode: 'query' })
    expect(op(doc, '/v1/resources/housing.drawing-review/query')).toBeUndefined()
    expect(doc.paths['/v1/applications']?.post?.operationId).toBe('createApplication')

    // 城管 holds one grant only; 水务's only grant ended: it is listed with why, and nothing is callable.
    const urban = (tag(departmentView({ catalog }, 'urban'), APPLY_TAG)['x-qiao-apply'] as { resources: Schema[] })
      .resources
    expect(urban.map((r) => r.resource)).toContain('housing.drawing-review')
    expect(urban.map((r) => r.resource)).not.toContain('housing.construction-permit')
    const water = departmentView({ catalog }, 'water')
    const waterApply = (tag(water, APPLY_TAG)['x-qiao-apply'] as { resources: Schema[] }).resources
    expect(waterApply.find((r) => r.resource === 'housing.construction-permit')).toMatchObject({
      grants: [{ matter: 'XK00377001', state: 'expired', validTo: '2025-06-30' }],
    })
    expect(Object.keys(water.paths).filter((p) => p.startsWith('/v1/resources/'))).toStrictEqual([])
  })

  it('documents an evidence bundle in the views of departments that may read its items, with its inputs', () => {
    const path = '/v1/matters/XK00208001/evidence'
    const bundle = op(departmentView({ catalog }, 'urban'), path)
    expect(bundle).toMatchObject({
      operationId: 'evidence_XK00208001',
      security: [
        {
          bearer: [
            'XK00208001:drc.investment-project:read',
            'XK00208001:housing.construction-permit:read',
            'XK00208001:market.enterprise-registration:read',
          ],
        },
      ],
      parameters: [{ $ref: '#/components/parameters/Qiao-Case' }],
    })
    const requestBody = bundle?.requestBody as Schema
    const body = (requestBody.content as Record<string, Schema>)['application/json'] as Schema
    expect(body.schema).toMatchObject({
      required: ['projectCode', 'ownerUscc'],
      additionalProperties: false,
      properties: {
        projectCode: { type: 'string', format: 'investment-project-code' },
        ownerUscc: { type: 'string', format: 'uscc' },
      },
    })
    const responses = bundle?.responses as Record<string, Schema>
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['200', '207', '400', '401', '404', '503']))
    expect(
      Object.keys(responses).some((status) => status.startsWith('5') && status !== '500' && status !== '503'),
    ).toBe(false)
    // Not in the public view (it names a matter), nor for a department that reads none of its items.
    expect(buildOpenApi({ catalog }, 'public', { lang: 'zh', now: NOW }).paths[path]).toBeUndefined()
    expect(departmentView({ catalog }, 'natres').paths[path]).toBeUndefined()
  })

  it('says nothing about grants in the public view', () => {
    const doc = buildOpenApi({ catalog }, 'public', { lang: 'en' })
    const text = JSON.stringify(doc)
    for (const matter of catalog.matters.keys()) expect(text).not.toContain(matter)
    expect(text).not.toContain('x-qiao-grants')
    expect(doc.tags.map((t) => t.name)).not.toContain(APPLY_TAG)
    // Every shareable resource's operations, with its fields (sensitivity and mask rule) in the tag.
    expect(op(doc, '/v1/resources/drc.permit-feedback/records')?.security).toStrictEqual([{ bearer: [] }])
    const permits = tag(doc, 'housing.construction-permit').description as string
    expect(permits).toContain(
      '| `ownerLeadIdNo` | 负责人身份证件号码 | sensitive personal | idcard `110101********1234` |',
    )
    expect(permits).toContain('| `planningPermitNo` |')
    const record = recordOf(doc, '/v1/resources/housing.construction-permit/query')
    expect(record.required).toBeUndefined()
    expect(propertiesOf(record).ownerLeadIdNo?.anyOf).toHaveLength(2)
    expect(propertiesOf(record).planningPermitNo).toMatchObject({ type: 'string', 'x-qiao-sensitivity': 'public' })
  })

  it('documents every problem an exchange operation can answer, each code with its example', () => {
    const doc = buildOpenApi({ catalog }, 'public', { lang: 'zh' })
    const all = Object.keys(problems) as ProblemCode[]
    const documented = (path: string) => {
      const responses = op(doc, path)?.responses as Record<string, Schema>
      const codes: string[] = []
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) < 400) continue
        const media = (response.content as Record<string, Schema>)['application/problem+json'] as Schema
        expect(media.schema).toStrictEqual({ $ref: '#/components/schemas/Problem' })
        for (const [code, example] of Object.entries(media.examples as Record<string, Schema>)) {
          expect(problems[code as ProblemCode].status).toBe(Number(status))
          expect(doc.components.examples?.[String(example.$ref).replace('#/components/examples/', '')]).toBeDefined()
          codes.push(code)
        }
      }
      return new Set(codes)
    }
    // Each code is documented or deliberately left out: a new code in codes.ts lands on one side.
    const many = documented('/v1/resources/housing.drawing-review/query')
    const one = documented('/v1/resources/drc.investment-project/query')
    const write = documented('/v1/resources/drc.permit-feedback/records')
    for (const code of all) {
      const elsewhere = NOT_EXCHANGE_CODES.has(code)
      expect(write.has(code), code).toBe(!elsewhere && code !== 'record-not-found')
      expect(one.has(code), code).toBe(!elsewhere && !WRITE_ONLY_CODES.has(code))
      expect(many.has(code), code).toBe(!elsewhere && !WRITE_ONLY_CODES.has(code) && code !== 'record-not-found')
    }
    expect(write.has('idempotency-conflict') && one.has('record-not-found') && many.has('grant-expired')).toBe(true)
    const writeOp = op(doc, '/v1/resources/drc.permit-feedback/records') as Schema
    expect(writeOp.parameters).toContainEqual({ $ref: '#/components/parameters/Idempotency-Key' })
    const problem = doc.components.schemas?.Problem as Schema
    expect(Object.keys(propertiesOf(problem))).toEqual(
      expect.arrayContaining([
        'type',
        'title',
        'status',
        'detail',
        'code',
        'instance',
        'requestId',
        'errors',
        'allowed',
      ]),
    )
    expect(propertiesOf(problem).code?.enum).toStrictEqual(all)
  })

  it('moves request schemas into components without $schema and $id, their $refs with them', () => {
    const byCode = catalog.resources.get('drc.investment-project')?.read?.request.schema as Schema
    const changed = withResource(catalog, 'housing.drawing-review', (resource) => {
      const read = resource.read as NonNullable<Resource['read']>
      const schema = {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'urn:qiao:test:drawing-review:request',
        type: 'object',
        properties: {
          projectCode: { $ref: `${byCode.$id}#/properties/projectCode` },
          stage: { $ref: '#/$defs/stage' },
        },
        $defs: { stage: { enum: ['a', 'b'] }, unused: { type: 'string' } },
        additionalProperties: false,
      }
      return { ...resource, read: { ...read, request: { ...read.request, path: 'x/review.request.json', schema } } }
    })
    const doc = departmentView({ catalog: changed }, 'drc')
    const body = op(doc, '/v1/resources/housing.drawing-review/query')?.requestBody as Schema
    const ref = (body.content as Record<string, Schema>)['application/json']?.schema
    expect(ref).toStrictEqual({ $ref: '#/components/schemas/x.review.request' })
    const request = schemaAt(doc, ref)
    expect(request.$schema).toBeUndefined()
    expect(request.$id).toBeUndefined()
    expect(request.$defs).toBeUndefined()
    expect(propertiesOf(request).stage).toStrictEqual({ $ref: '#/components/schemas/x.review.request.stage' })
    expect(doc.components.schemas?.['x.review.request.stage']).toStrictEqual({ enum: ['a', 'b'] })
    expect(doc.components.schemas?.['x.review.request.unused']).toBeUndefined()
    const projectCode = propertiesOf(request).projectCode as Schema
    expect(schemaAt(doc, projectCode)).toMatchObject({ type: 'string', format: 'investment-project-code' })
    expect(JSON.stringify(doc)).not.toMatch(/"\$(schema|id|defs)"|urn:qiao:(schema|test)/)
    compileComponents(doc)
  })

  it('keeps record conditions only when every member they name is released in clear', () => {
    const path = '/v1/resources/drc.approval-result/query'
    const key = grantKey('XK00105001', 'drc.approval-result', 'read', 'housing')
    expect(recordOf(departmentView({ catalog }, 'housing'), path)).toMatchObject({ if: {}, else: {} })
    const narrower = withGrants(catalog, (g) => {
      const grant = g.get(key) as Grant
      g.set(key, { ...grant, fields: grant.fields.filter((f) => f !== 'approvalDocNo') })
    })
    const record = recordOf(departmentView({ catalog: narrower }, 'housing'), path)
    expect(record.if).toBeUndefined()
    expect(record.else).toBeUndefined()
    expect(propertiesOf(record).approvalDocNo).toBeUndefined()
  })

  it('names the request examples of options.examples, with their summaries; none without', () => {
    const examples = new Map<string, ResourceExample[]>([
      [
        'housing.construction-permit',
        [
          {
            resource: 'housing.construction-permit',
            params: { projectCode: '2403-320102-04-01-123456' },
            summary: '一个项目',
          },
          { resource: 'housing.construction-permit', params: { projectCode: '2403-320102-04-01-654321' } },
          { resource: 'housing.construction-permit', params: { permitNo: '320102202603010101' } },
        ],
      ],
    ])
    const path = '/v1/resources/housing.construction-permit/query'
    const media = (doc: OpenApiDocument) =>
      (((op(doc, path) as Schema).requestBody as Schema).content as Record<string, Schema>)[
        'application/json'
      ] as Schema
    const withExamples = buildOpenApi({ catalog }, { dept: 'drc' }, { lang: 'en', examples, now: NOW })
    expect(media(withExamples).examples).toStrictEqual({
      projectCode: { summary: '一个项目', value: { projectCode: '2403-320102-04-01-123456' } },
      'projectCode-2': { summary: 'By projectCode', value: { projectCode: '2403-320102-04-01-654321' } },
      permitNo: { summary: 'By permitNo', value: { permitNo: '320102202603010101' } },
    })
    expect(media(departmentView({ catalog }, 'drc')).examples).toBeUndefined()
  })

  it('builds one document per snapshot, view and language, again for a new snapshot or when a grant starts', () => {
    const snapshot = { catalog }
    const doc = departmentView(snapshot, 'drc')
    expect(departmentView(snapshot, 'drc')).toBe(doc)
    expect(Object.isFrozen(doc.paths)).toBe(true)
    expect(departmentView(snapshot, 'drc', 'en')).not.toBe(doc)
    expect(departmentView(snapshot, 'urban')).not.toBe(doc)
    expect(buildOpenApi(snapshot, 'public', { lang: 'zh' })).toBe(buildOpenApi(snapshot, 'public', { lang: 'zh' }))
    // A reload or a grant change swaps the snapshot.
    const next = { catalog }
    expect(departmentView(next, 'drc')).not.toBe(doc)
    expect(departmentView(next, 'drc')).toStrictEqual(doc)

    // 城管's permit grant starts on 2026-03-01 (Asia/Shanghai): before, it can only be waited for.
    const before = Date.parse('2026-02-28T12:00:00+08:00')
    const early = buildOpenApi(snapshot, { dept: 'urban' }, { lang: 'zh', now: before })
    expect(buildOpenApi(snapshot, { dept: 'urban' }, { lang: 'zh', now: before + 1000 })).toBe(early)
    expect(op(early, '/v1/resources/housing.construction-permit/query')).toBeUndefined()
    const started = buildOpenApi(
      snapshot,
      { dept: 'urban' },
      { lang: 'zh', now: Date.parse('2026-03-01T00:00:00+08:00') },
    )
    expect(started).not.toBe(early)
    expect(op(started, '/v1/resources/housing.construction-permit/query')).toBeDefined()
  })

  it('differs between languages in texts only', () => {
    const zh = departmentView({ catalog }, 'housing', 'zh')
    const en = departmentView({ catalog }, 'housing', 'en')
    expect(Object.keys(en.paths)).toStrictEqual(Object.keys(zh.paths))
    expect(Object.keys(en.components.schemas ?? {})).toStrictEqual(Object.keys(zh.components.schemas ?? {}))
    expect(en.tags.map((t) => t.name)).toStrictEqual(zh.tags.map((t) => t.name))
    expect((en.info as Schema).title).not.toBe((zh.info as Schema).title)
    expect((zh.info as Schema).title).toContain('南京市住房和城乡建设局')
  })

  it('refuses a department the catalog does not have', () => {
    const attempt = () => departmentView({ catalog }, 'nobody')
    expect(attempt).toThrow(GatewayError)
    expect(attempt).toThrow(expect.objectContaining({ code: 'department-unknown' }))
  })
})
