import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Validator } from '@seriousme/openapi-schema-validator'
import createClient from 'openapi-fetch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { simulatorDefinitions } from '../connectors/simulators.js'
import type { OpenApiDocument } from '../gateway/openapi/build.js'
import type { Schema } from '../gateway/openapi/schemas.js'
import { createAjv } from '../gateway/validation/ajv.js'
import { type Harness, NOW, REPO, startHarness } from './support/gateway.js'

/**
 * Issue 14, end to end: every demo department gets its OpenAPI document from a real gateway (the 住建 and 发改
 * simulators, 市场监管's 前置库 in the local PostgreSQL, the simulators' examples as `qiao demo` passes them), and
 * every read operation in it works when called with nothing but what the document says: the first example as body,
 * the first matter of `Qiao-Matter`, a token with the scope `security` names. Each answer matches the document's
 * response schema, masked fields included.
 */

let h: Harness

/** What openapi-fetch needs to know of the paths: the calls below are built from the document at run time. */
type ReadPaths = Record<
  string,
  {
    post: {
      parameters: { header: Record<string, string> }
      requestBody: { content: { 'application/json': Record<string, unknown> } }
      responses: { 200: { content: { 'application/json': { data: Record<string, unknown>[]; meta: Schema } } } }
    }
  }
>

beforeAll(async () => {
  const examples = [...simulatorDefinitions.values()].flatMap((d) => d.examples ?? [])
  h = await startHarness({ market: true, examples })
})
afterAll(async () => {
  await h?.close()
})

async function documentFor(dept: string | undefined, query = '') {
  const token = dept === undefined ? undefined : await h.token({ dept, scope: 'sharing:apply' })
  const res = await h.get(`/v1/openapi.json${query}`, token)
  return { res, doc: res.json as unknown as OpenApiDocument }
}

async function expectValid(doc: OpenApiDocument): Promise<void> {
  const result = await new Validator().validate(structuredClone(doc) as never)
  expect(result).toStrictEqual({ valid: true })
}

/** The document's own schemas, compiled by the gateway's Ajv (2020-12, strict), `x-qiao-*` as annotations. */
function responseValidator(doc: OpenApiDocument) {
  const ajv = createAjv()
  for (const keyword of ['x-qiao-sensitivity', 'x-qiao-masked', 'x-qiao-mask']) ajv.addKeyword(keyword)
  ajv.addFormat('uri-reference', true)
  const rebase = (value: unknown) =>
    JSON.parse(JSON.stringify(value).replaceAll('#/components/schemas/', 'urn:qiao:test:bundle#/$defs/'))
  ajv.addSchema({ $id: 'urn:qiao:test:bundle', $defs: rebase(doc.components.schemas) })
  return (schema: unknown) => ajv.compile(rebase(schema))
}

const DEPARTMENTS = ['drc', 'housing', 'natres', 'market', 'urban', 'water', 'data']

describe('GET /v1/openapi.json', () => {
  it.each(DEPARTMENTS)(
    'gives %s a document whose every read operation answers 200 when called as it says',
    async (dept) => {
      const { res, doc } = await documentFor(dept)
      expect(res.status).toBe(200)
      expect(res.headers['cache-control']).toBe('private, max-age=60')
      expect(res.headers.vary).toBe('Authorization')
      expect(doc.servers).toStrictEqual([{ url: h.gateway.url }])
      await expectValid(doc)
      const compile = responseValidator(doc)
      const client = createClient<ReadPaths>({ baseUrl: (doc.servers as { url: string }[])[0]?.url })
      const reads = Object.entries(doc.paths).filter(([, item]) => item.post?.['x-qiao-action'] === 'read')
      // One read operation per resource the department holds a read grant in force for (水务's ended in 2025).
      const inForce = [...h.gateway.deps.snapshot().catalog.grants.values()].filter(
        (g) =>
          g.consumer === dept &&
          g.action === 'read' &&
          (g.validFromMs ?? 0) <= NOW &&
          NOW < (g.validUntilMs ?? Number.POSITIVE_INFINITY),
      )
      expect(reads.map(([, item]) => item.post?.['x-qiao-resource']).sort()).toStrictEqual(
        [...new Set(inForce.map((g) => g.resource))].sort(),
      )
      for (const [path, item] of reads) {
        const operation = item.post as Schema
        const media = ((operation.requestBody as Schema).content as Record<string, Schema>)[
          'application/json'
        ] as Schema
        const [example] = Object.values((media.examples ?? {}) as Record<string, { value: Record<string, unknown> }>)
        expect(example, `${path}: no request example`).toBeDefined()
        const matter = (operation.parameters as Schema[]).find((p) => p.name === 'Qiao-Matter') as Schema
        const [scope] = ((operation.security as Schema[])[0]?.bearer as string[]) ?? []
        const token = await h.token({ dept, scope })
        const { data, error, response } = await client.POST(path, {
          body: example?.value ?? {},
          params: {
            header: {
              'Qiao-Matter': ((matter.schema as Schema).enum as string[])[0] ?? '',
              'Qiao-Case': 'NJ-2026-OA1',
            },
          },
          headers: { authorization: `Bearer ${token}` },
        })
        expect({ path, status: response.status, error }).toStrictEqual({ path, status: 200, error: undefined })
        const ok = (operation.responses as Record<string, Schema>)['200'] as Schema
        const validate = compile((ok.content as Record<string, Schema>)['application/json']?.schema)
        expect({ path, valid: validate(data), errors: validate.errors }).toStrictEqual({
          path,
          valid: true,
          errors: null,
        })
        expect(data?.data.length).toBeGreaterThan(0)
        // What the document marks masked is what the answer masked.
        const body = (ok.content as Record<string, Schema>)['application/json']?.schema as Schema
        const items = ((body.properties as Record<string, Schema>).data as Schema).items as Schema
        const record = doc.components.schemas?.[String(items.$ref).replace('#/components/schemas/', '')] as Schema
        const properties = record.properties as Record<string, Schema>
        const marked = Object.keys(properties).filter((key) => properties[key]?.['x-qiao-masked'] === true)
        expect(data?.meta.masked).toStrictEqual(marked)
      }
    },
  )

  it('answers the public view without a token, cacheable by anyone, and in English on request', async () => {
    const { res, doc } = await documentFor(undefined)
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=300')
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect((doc.info as Schema)['x-qiao-view']).toBe('public')
    await expectValid(doc)
    const en = await documentFor(undefined, '?lang=en')
    expect((en.doc.info as Schema).title).not.toBe((doc.info as Schema).title)
    expect(Object.keys(en.doc.paths)).toStrictEqual(Object.keys(doc.paths))
    const bad = await documentFor(undefined, '?lang=fr')
    expect(bad.res.status).toBe(400)
    expect(bad.res.json).toMatchObject({ code: 'query-invalid' })
  })

  it('refuses a bad token with 401 rather than falling back to the public view', async () => {
    for (const authorization of ['Bearer not-a-token', '']) {
      const res = await fetch(`${h.gateway.url}/v1/openapi.json`, { headers: { authorization } })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /)
      expect(await res.json()).toMatchObject({ status: 401 })
    }
  })

  it('answers 304 to If-None-Match with the ETag, and a department view has another tag', async () => {
    const { res } = await documentFor(undefined)
    const etag = res.headers.etag as string
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/)
    const again = await fetch(`${h.gateway.url}/v1/openapi.json`, { headers: { 'if-none-match': `W/${etag}` } })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
    expect(await again.text()).toBe('')
    const token = await h.token({ dept: 'drc' })
    const drc = await fetch(`${h.gateway.url}/v1/openapi.json`, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': etag },
    })
    expect(drc.status).toBe(200)
    const drcTag = drc.headers.get('etag') as string
    expect(drcTag).not.toBe(etag)
    const cached = await fetch(`${h.gateway.url}/v1/openapi.json`, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': `"other", ${drcTag}` },
    })
    expect(cached.status).toBe(304)
    expect(cached.headers.get('cache-control')).toBe('private, max-age=60')
  })
})

/** Only a safety net against a hung CLI: a cold tsx start on a loaded shared machine can take well over 15 s. */
const CLI_TIMEOUT_MS = 120_000

function qiao(...args: string[]) {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: CLI_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  })
}

describe('qiao openapi', { timeout: CLI_TIMEOUT_MS }, () => {
  it("prints the department's document the gateway serves, from the catalog file alone", async () => {
    const [{ stdout }, token] = await Promise.all([
      qiao(
        'openapi',
        '--dept',
        'drc',
        '--lang',
        'en',
        '--server',
        'https://qiao.example.gov.cn',
        '--at',
        new Date(NOW).toISOString(),
      ),
      h.token({ dept: 'drc' }),
    ])
    const printed = JSON.parse(stdout) as OpenApiDocument
    await expectValid(printed)
    expect(printed.servers).toStrictEqual([{ url: 'https://qiao.example.gov.cn' }])
    const served = (await h.get('/v1/openapi.json?lang=en', token)).json as unknown as OpenApiDocument
    expect(Object.keys(printed.paths)).toStrictEqual(Object.keys(served.paths))
    expect(printed.components.schemas).toStrictEqual(served.components.schemas)
    expect(printed.tags).toStrictEqual(served.tags)
  })

  it('names the departments when --dept is not one of them', async () => {
    const run = qiao('openapi', '--dept', 'nobody')
    await expect(run).rejects.toMatchObject({ code: 1, stdout: '' })
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('departments: drc, housing') })
  })
})
