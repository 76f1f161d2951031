import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Application, LiveGrant } from '../sharing/model.js'
import { runSharingCli } from './sharing.js'
import { formatProblem, ProblemError, table } from './sharing-client.js'

const APP_ID = '01937a5e-8c00-7000-8000-000000000001'
const GRANT_ID = '01937a5e-8c00-7000-8000-0000000000a1'
const CATALOG_GRANT = 'catalog:QT00301001:housing.construction-permit:read:market'
const TOKEN = 'eyJ.test.token'

const application: Application = {
  id: APP_ID,
  version: 1,
  state: 'conformity-check',
  request: {
    resource: 'housing.construction-permit',
    matter: 'QT00301001',
    mode: 'query',
    usage: '业务协同',
    fields: ['permitNo'],
    masked: [],
    legalBasis: '《建筑法》第七条',
    scene: '开办餐饮店一件事',
    scopeOfUse: '本部门审批业务',
    validTo: '2027-12-31',
    contact: { name: '王敏', phone: '025-00000000' },
  },
  action: 'read',
  consumer: 'market',
  provider: 'housing',
  sharingType: 'conditional',
  applicant: 'officer-7',
  submittedAt: '2026-11-26T02:00:00.000Z',
  updatedAt: '2026-11-26T02:00:00.000Z',
  clock: {
    stage: 'conformity',
    budgetDays: 2,
    usedDays: 0,
    runStartedOn: '2026-11-26',
    dueDate: '2026-11-30',
    dueAt: Date.parse('2026-11-30T15:59:59.999Z'),
    paused: false,
    calendarCovered: true,
  },
  notices: [],
}

const grant: LiveGrant & { source: 'application' } = {
  source: 'application',
  id: GRANT_ID,
  version: 2,
  state: 'active',
  applicationId: APP_ID,
  matter: 'QT00301001',
  consumer: 'market',
  provider: 'housing',
  resource: 'housing.construction-permit',
  action: 'read',
  usage: '业务协同',
  fields: ['permitNo'],
  masked: [],
  validFrom: '2026-11-27',
  validTo: '2027-12-31',
  approvedBy: 'housing/reviewer-2',
  approvedAt: '2026-11-27T01:00:00.000Z',
  reminders: {},
}

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: unknown
}

interface Reply {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
  readonly raw?: string
}

/** A stand-in gateway on loopback: records each request and answers with what the test's handler says. */
let server: Server
let url: string
let received: Received[]
let handler: (req: Received) => Reply

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      }
      received.push(request)
      const reply = handler(request)
      const problem = (reply.status ?? 200) >= 400 && reply.raw === undefined
      res.writeHead(reply.status ?? 200, {
        'content-type': problem ? 'application/problem+json' : 'application/json',
        ...reply.headers,
      })
      res.end(reply.raw ?? JSON.stringify(reply.body ?? {}))
    })
  })
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise((closed) => server.close(closed)))

beforeEach(() => {
  received = []
  handler = () => ({ status: 500, body: { code: 'internal', detail: 'no handler' } })
})

async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  let out = ''
  let err = ''
  const code = await runSharingCli(argv, {
    env: { QIAO_GATEWAY_URL: url, QIAO_TOKEN: TOKEN, ...env },
    out: (text) => {
      out += text
    },
    err: (text) => {
      err += text
    },
  })
  return { code, out, err }
}

/** GET answers the item with its ETag; the step answers it one version on. */
function itemThenStep(item: { id: string; version: number }) {
  handler = (req) =>
    req.method === 'GET'
      ? { body: { data: item }, headers: { etag: `"${item.id}.${item.version}"` } }
      : {
          body: { data: { ...item, version: item.version + 1 } },
          headers: { etag: `"${item.id}.${item.version + 1}"` },
        }
}

describe('qiao apply, applications, check, review, resubmit, withdraw, grants', () => {
  it('apply: the options become the application; the answer is printed as id, state and due date', async () => {
    handler = () => ({ status: 201, body: { data: application }, headers: { location: `/v1/applications/${APP_ID}` } })
    const res = await cli([
      'apply',
      ...['--resource', 'housing.construction-permit', '--matter', 'QT00301001', '--fields', 'permitNo, projectName'],
      ...['--masked', 'ownerName', '--usage', '业务协同', '--legal-basis', '《建筑法》第七条', '--scene', '一件事'],
      ...['--scope-of-use', '本部门', '--valid-to', '2027-12-31', '--contact-name', '王敏', '--contact-phone', '025'],
    ])
    expect(res).toMatchObject({ code: 0, err: '' })
    expect(received).toHaveLength(1)
    const [req] = received
    expect(req?.method).toBe('POST')
    expect(req?.url).toBe('/v1/applications')
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(req?.headers['content-type']).toBe('application/json')
    expect(req?.body).toEqual({
      resource: 'housing.construction-permit',
      matter: 'QT00301001',
      mode: 'query',
      usage: '业务协同',
      fields: ['permitNo', 'projectName'],
      masked: ['ownerName'],
      legalBasis: '《建筑法》第七条',
      scene: '一件事',
      scopeOfUse: '本部门',
      validTo: '2027-12-31',
      contact: { name: '王敏', phone: '025' },
    })
    expect(res.out).toContain(`application  ${APP_ID}`)
    expect(res.out).toContain('state        待合规审查 (conformity-check)')
    expect(res.out).toContain('due          2026-11-30 (合规审查, 2 working days)')
    expect(res.out).not.toContain(TOKEN)
  })

  it('apply --file: the file is the application, options override its fields; --json prints the answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-apply-'))
    try {
      const file = join(dir, 'application.json')
      await writeFile(file, JSON.stringify({ resource: 'drc.project', mode: 'write-back', contact: { name: '李' } }))
      handler = () => ({ status: 201, body: { data: application } })
      const res = await cli(['apply', '--file', file, '--contact-phone', '110', '--json', '--url', url])
      expect(res.code).toBe(0)
      expect(received[0]?.body).toEqual({
        resource: 'drc.project',
        mode: 'write-back',
        contact: { name: '李', phone: '110' },
      })
      expect(JSON.parse(res.out)).toEqual({ data: application })

      const missing = await cli(['apply', '--file', join(dir, 'nope.json')])
      expect(missing).toMatchObject({ code: 2, err: `qiao apply: --file ${join(dir, 'nope.json')}: ENOENT\n` })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a step reads the ETag first and sends it as If-Match', async () => {
    itemThenStep(application)
    const res = await cli(['review', APP_ID, '--approve', '--fields', 'permitNo', '--quota', '100/day'])
    expect(res.code).toBe(0)
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /v1/applications/${APP_ID}`,
      `POST /v1/applications/${APP_ID}/review`,
    ])
    expect(received[0]?.headers['if-match']).toBeUndefined()
    expect(received[1]?.headers['if-match']).toBe(`"${APP_ID}.1"`)
    expect(received[1]?.body).toEqual({ decision: 'approve', fields: ['permitNo'], quota: { limit: 100, per: 'day' } })
  })

  it('--if-match: no read, the ETag given is sent as it is', async () => {
    itemThenStep(application)
    const res = await cli(['check', APP_ID, '--pass', '--if-match', `W/"${APP_ID}.7"`])
    expect(res.code).toBe(0)
    expect(received.map((r) => r.method)).toEqual(['POST'])
    expect(received[0]?.headers['if-match']).toBe(`W/"${APP_ID}.7"`)
    expect(received[0]?.body).toEqual({ decision: 'pass' })
  })

  it('notices, refusals, resubmissions and withdrawals become the bodies the workflow takes', async () => {
    itemThenStep(application)
    await cli(['check', APP_ID, '--notice', '/legalBasis=请补充文件依据', '/scene=请说明使用场景'])
    await cli(['review', APP_ID, '--notice', '/fields/0=请说明用途', '--notice', '/validTo=过长'])
    await cli(['review', APP_ID, '--refuse', '--reason', '不符合共享条件'])
    await cli([
      'resubmit',
      APP_ID,
      '--set',
      'legalBasis=《条例》第十条',
      '--set',
      'contact.phone=025-1',
      '--set',
      'fields=a,b',
    ])
    await cli(['withdraw', APP_ID])
    const posts = received.filter((r) => r.method === 'POST')
    expect(posts.map((r) => r.url.split('/').at(-1))).toEqual([
      'conformity',
      'review',
      'review',
      'resubmit',
      'withdraw',
    ])
    expect(posts.map((r) => r.body)).toEqual([
      {
        decision: 'notice',
        items: [
          { pointer: '/legalBasis', message: '请补充文件依据' },
          { pointer: '/scene', message: '请说明使用场景' },
        ],
      },
      {
        decision: 'notice',
        items: [
          { pointer: '/fields/0', message: '请说明用途' },
          { pointer: '/validTo', message: '过长' },
        ],
      },
      { decision: 'refuse', reason: '不符合共享条件' },
      { changes: { legalBasis: '《条例》第十条', contact: { phone: '025-1' }, fields: ['a', 'b'] } },
      {},
    ])
  })

  it('a problem is printed as `<status> <code>: <detail>` with each error indented; exit 1', async () => {
    handler = (req) =>
      req.method === 'GET'
        ? { body: { data: application }, headers: { etag: `"${APP_ID}.1"` } }
        : {
            status: 412,
            body: { code: 'precondition-failed', detail: 'someone else acted first', status: 412 },
          }
    const stale = await cli(['withdraw', APP_ID])
    expect(stale).toEqual({ code: 1, out: '', err: '412 precondition-failed: someone else acted first\n' })

    handler = () => ({
      status: 422,
      body: {
        code: 'application-invalid',
        detail: '2 problems',
        errors: [
          { pointer: '/legalBasis', message: '必填' },
          { pointer: '/validTo', message: 'must be a date' },
        ],
      },
    })
    const invalid = await cli(['apply', '--resource', 'housing.construction-permit'])
    expect(invalid.code).toBe(1)
    expect(invalid.err).toBe('422 application-invalid: 2 problems\n  /legalBasis 必填\n  /validTo must be a date\n')

    handler = () => ({ status: 400, body: { code: 'query-invalid', detail: 'x', errors: ['state: expected …'] } })
    expect((await cli(['applications', 'list', '--state', 'pending'])).err).toBe(
      '400 query-invalid: x\n  state: expected …\n',
    )
    handler = () => ({ status: 502, raw: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } })
    expect(await cli(['grants', 'list'])).toMatchObject({
      code: 1,
      err: '502 http-error: the gateway answered HTTP 502\n',
    })
  })

  it('argument errors: exit 2, said plainly, nothing sent', async () => {
    const cases: [string[], string][] = [
      [['review', APP_ID], 'qiao review: give one of --approve, --notice, --refuse\n'],
      [
        ['review', APP_ID, '--approve', '--refuse', '--reason', 'x'],
        'qiao review: give one of --approve, --notice, --refuse\n',
      ],
      [['review', APP_ID, '--refuse'], 'qiao review: --refuse needs --reason\n'],
      [['check', APP_ID, '--pass', '--reason', 'x'], 'qiao check: --reason goes with --refuse\n'],
      [
        ['review', APP_ID, '--refuse', '--reason', 'x', '--fields', 'a'],
        'qiao review: --fields, --masked, --valid-from, --valid-to and --quota go with --approve\n',
      ],
      [
        ['review', APP_ID, '--approve', '--quota', 'lots'],
        'qiao review: --quota: expected <calls>/<window>, e.g. 100/day or 10/10s\n',
      ],
      [
        ['check', APP_ID, '--notice', 'legalBasis missing'],
        'qiao check: --notice: expected /pointer=message, e.g. "/legalBasis=请补充文件依据"\n',
      ],
      [
        ['resubmit', APP_ID, '--set', 'no-equals'],
        'qiao resubmit: --set: expected <field>=<value>, e.g. legalBasis=《…》第三条 or contact.phone=…\n',
      ],
      [['apply', '--mode', 'push'], 'qiao apply: --mode: expected query or write-back\n'],
      [['grants', 'list', '--url', 'ftp://x'], 'qiao grants list: --url: expected an http(s) URL of the gateway\n'],
    ]
    for (const [argv, err] of cases) {
      expect(await cli(argv), argv.join(' ')).toEqual({ code: 2, out: '', err })
    }
    const noToken = await cli(['applications', 'show', APP_ID], { QIAO_TOKEN: undefined })
    expect(noToken).toEqual({ code: 2, out: '', err: 'qiao applications show: give --token or set QIAO_TOKEN\n' })
    // commander's own refusals: unknown option, missing argument or required option.
    for (const argv of [['review', APP_ID, '--approve', '--bogus'], ['withdraw'], ['grants', 'revoke', GRANT_ID]]) {
      const res = await cli(argv)
      expect(res.code, argv.join(' ')).toBe(2)
      expect(res.err).toMatch(/^error: /)
    }
    expect(received).toEqual([])
  })

  it('listings: filters as query parameters, Chinese state names in aligned columns, the next page on stderr', async () => {
    handler = () => ({
      body: { data: [application, { ...application, state: 'approved' }], meta: { count: 2, next: 'Y3Vy' } },
    })
    const res = await cli(['applications', 'list', '--state', 'conformity-check', '--overdue', '--limit', '2'])
    expect(res.code).toBe(0)
    expect(received[0]?.url).toBe('/v1/applications?state=conformity-check&limit=2&overdue=true')
    const lines = res.out.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID +STATE +CONSUMER +PROVIDER +RESOURCE +MATTER +DUE$/)
    expect(lines[1]).toContain('待合规审查')
    expect(lines[2]).toContain('已批准')
    // The CONSUMER column starts at the same terminal column on every line (CJK characters are two wide).
    const column = (line: string | undefined, text: string) => {
      const before = (line ?? '').slice(0, (line ?? '').indexOf(text))
      return before.length + (before.match(/[\u4e00-\u9fff]/g)?.length ?? 0)
    }
    expect(column(lines[1], 'market')).toBe(column(lines[0], 'CONSUMER'))
    expect(column(lines[2], 'market')).toBe(column(lines[0], 'CONSUMER'))
    expect(res.err).toBe('more: qiao applications list … --cursor Y3Vy\n')

    handler = () => ({ body: { data: [grant], meta: { count: 1 } } })
    const grants = await cli(['grants', 'list', '--source', 'application', '--expiring-within', '30'])
    expect(received[1]?.url).toBe('/v1/grants?source=application&expiringWithin=30')
    expect(grants.out).toContain('有效')
    expect(grants.err).toBe('')
  })

  it('grants: a catalog id is sent percent-encoded; revoke reads the grant’s ETag first; renew applies again', async () => {
    handler = () => ({ body: { data: { ...grant, source: 'catalog', id: CATALOG_GRANT, version: 0 } } })
    const shown = await cli(['grants', 'show', CATALOG_GRANT])
    expect(shown.code).toBe(0)
    expect(received[0]?.url).toBe(`/v1/grants/${encodeURIComponent(CATALOG_GRANT)}`)
    expect(shown.out).toContain('catalog.yaml (granted by catalog)')

    received = []
    itemThenStep(grant)
    const revoked = await cli(['grants', 'revoke', GRANT_ID, '--reason', '停止合作'])
    expect(revoked.code).toBe(0)
    expect(received.map((r) => `${r.method} ${r.url} ${r.headers['if-match'] ?? '-'}`)).toEqual([
      `GET /v1/grants/${GRANT_ID} -`,
      `POST /v1/grants/${GRANT_ID}/revoke "${GRANT_ID}.2"`,
    ])
    expect(received[1]?.body).toEqual({ reason: '停止合作' })

    received = []
    handler = () => ({ status: 201, body: { data: { ...application, renewalOf: GRANT_ID } } })
    const renewed = await cli(['grants', 'renew', GRANT_ID, '--valid-to', '2028-12-31'])
    expect(renewed.code).toBe(0)
    expect(received.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', `/v1/grants/${GRANT_ID}/renew`, { validTo: '2028-12-31' }],
    ])
    expect(renewed.out).toContain(`application  ${APP_ID}`)
  })

  it('a gateway that cannot be reached: exit 1 with the reason, never the token', async () => {
    const closed = createServer()
    await new Promise<void>((ready) => closed.listen(0, '127.0.0.1', ready))
    const port = (closed.address() as AddressInfo).port
    await new Promise((done) => closed.close(done))
    const res = await cli(['applications', 'history', APP_ID, '--url', `http://127.0.0.1:${port}`])
    expect(res).toEqual({
      code: 1,
      out: '',
      err: `qiao applications history: cannot reach the gateway at http://127.0.0.1:${port}: ECONNREFUSED\n`,
    })
  })

  it('formatting helpers: problems without errors, tables padded by terminal width', () => {
    expect(formatProblem(new ProblemError(403, { code: 'separation-of-duties', detail: 'own department' }))).toBe(
      '403 separation-of-duties: own department\n',
    )
    expect(
      table(
        ['A', 'B'],
        [
          ['已批准', 'x'],
          ['ok', 'y'],
        ],
      ),
    ).toBe('A       B\n已批准  x\nok      y\n')
  })
})
