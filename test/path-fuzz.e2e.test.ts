import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/gateway.js'
import { type RawResponse, rawRequest } from './support/raw-http.js'

/**
 * Issue 11: no path to an unaudited answer (or any 5xx) under /v1/resources/. Raw requests on a socket against a
 * real gateway on loopback, so paths reach it unnormalised: bad percent-encoding, dot segments, backslashes,
 * empty ids, unknown actions, trailing junk, odd methods and headers.
 */
const PREFIX = '/v1/resources/'
const PERMITS = 'housing.construction-permit'
const MATTER = 'QT00301001'

let h: Harness
let token: string

beforeAll(async () => {
  h = await startHarness()
  token = await h.token({ dept: 'drc', scope: `${MATTER}:${PERMITS}:read` })
})
afterAll(async () => {
  await h?.close()
})

const pathPiece = fc.constantFrom(
  PERMITS,
  'market.enterprise-registration',
  'query',
  'records',
  'abc',
  '',
  '/',
  '//',
  '.',
  '..',
  '%',
  '%FF%FE',
  '%ZZ',
  '%2F',
  '%25',
  '%2e%2e',
  '%E5%AE%81',
  '%C0%AF',
  '%00',
  '\\',
  ';x=1',
  '?a=1',
  '#frag',
  '~',
  "'",
  '<x>',
  ' ',
  '宁',
  'a'.repeat(200),
)
const path = fc
  .array(pathPiece, { maxLength: 6 })
  .map((pieces) => `${PREFIX}${pieces.join('')}`)
  .chain((p) => fc.constantFrom(p, `${p}/query`, `${p}/records`, `${p}/query/`, `${p}/query/junk`))
const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND')
const caseHeader = fc.constantFrom(
  'NJ-2026-1',
  "UTF-8''%E5%AE%81%E5%BB%BA-1",
  '%E5%AE%81',
  '%FF',
  '\u00e5\u00ae\u0081',
  '',
  'a b',
)
const header = (name: string, values: fc.Arbitrary<string>) =>
  fc.option(
    values.map((v) => `${name}: ${v}`),
    { nil: undefined },
  )
const headers = fc.tuple(
  header('authorization', fc.constantFrom('Bearer x', 'Basic Zm9vOmJhcg==', 'VALID')),
  header('qiao-matter', fc.constantFrom(MATTER, 'nope', '%')),
  header('qiao-case', caseHeader),
  header('content-type', fc.constantFrom('application/json', 'text/plain', 'application/json; charset=gbk')),
  header('x-request-id', fc.constantFrom('fuzz-1', '<script>', 'x'.repeat(100))),
)
const body = fc.constantFrom('', '{}', '{"projectCode":"x"}', '{', '[]', 'null', '{"extra":1}')

interface Sent {
  readonly method: string
  readonly path: string
  readonly answer: RawResponse
}

/** The path the gateway routes on: what WHATWG URL parsing (as the Node adapter does) makes of the target. */
function routedPath(target: string): string {
  return new URL(target, 'http://127.0.0.1').pathname
}

describe('path fuzz under /v1/resources/', () => {
  it('every answer there is audited (or is the HTTP layer refusing the request line), none is 5xx', async () => {
    const before = (await h.auditRecords()).length
    const logLinesBefore = h.logLines.length
    const sent: Sent[] = []
    await fc.assert(
      fc.asyncProperty(method, path, headers, body, async (m, p, hs, b) => {
        const lines = [`${m} ${p} HTTP/1.1`, `host: 127.0.0.1:${h.gateway.port}`]
        for (const line of hs) if (line !== undefined) lines.push(line.replace('VALID', `Bearer ${token}`))
        const answer = await rawRequest(h.gateway.port, lines.join('\r\n'), Buffer.from(b, 'latin1'))
        sent.push({ method: m, path: p, answer })
        expect(answer.status, `${m} ${p}`).toBeLessThan(500)
        const under = routedPath(p).startsWith(PREFIX)
        if (under && answer.headers['qiao-audit-id'] === undefined) {
          // Only a contentless refusal by the HTTP layer itself (Node's parser, the adapter's request-target
          // check) may come without an audit id; any answer from the gateway has one.
          expect(answer.status, `${m} ${p}: ${answer.body}`).toBe(400)
          expect(answer.body).toBe('')
          expect(answer.headers['content-type']).toBeUndefined()
        }
      }),
      { numRuns: 400 },
    )
    const audited = sent.filter((s) => s.answer.headers['qiao-audit-id'] !== undefined)
    const records = (await h.auditRecords()).slice(before)
    expect(records.length).toBe(audited.length)
    expect(new Set(records.map((r) => r.id))).toEqual(new Set(audited.map((s) => s.answer.headers['qiao-audit-id'])))
    // The fuzz reached the interesting refusals, not just one of them.
    const reasons = new Set(records.map((r) => r.reason))
    for (const reason of ['path-malformed', 'route-not-found', 'method-not-allowed', 'token-missing']) {
      expect(reasons, [...reasons].join(', ')).toContain(reason)
    }
    expect(records.every((r) => r.status < 500)).toBe(true)
    const unhandled = h.logLines.slice(logLinesBefore).filter((l) => /"level":(50|60)/.test(l))
    expect(unhandled).toEqual([])
  }, 120_000)
})
