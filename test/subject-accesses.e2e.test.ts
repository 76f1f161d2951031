import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { marketDataset } from '../connectors/market-qzk/simulator/index.js'
import type { LogEntry } from '../gateway/audit/entry.js'
import type { AdminAuditRecord } from '../gateway/audit/record.js'
import type { SubjectAccess } from '../gateway/audit/subject-accesses.js'
import { subjectDigest } from '../gateway/audit/subjects.js'
import { type Harness, type HttpResult, LOCAL_PG, NOW, startHarness } from './support/gateway.js'
import { signToken, type TokenClaims } from './support/keys.js'

/**
 * "Who read my data" for a trusted portal (issue 17): 发改 and 城管 read the permits and the completion filing of
 * the sandbox's finished project, 城管 once more under an investigative matter disclosed after 90 days, and 发改 the
 * owner's registration at 市场监管 (法人库); a portal then asks for the owner company (its USCC) and for the owner's
 * legal representative, who is the permits' project lead (one 身份证号 in two resources: the registration finds them
 * although its grant releases only the name, masked). Both audit stores.
 */

const PERMITS = 'housing.construction-permit'
const FILINGS = 'housing.completion-filing'
const REGISTRATION = 'market.enterprise-registration'
const PROJECT = '2303-320115-04-03-518275'
const OWNER_USCC = '91320115MA1W2K7Q0P'
const PORTAL = 'js-zwfw-mydata'
const INVESTIGATIVE = 'ZF00500001'
const DAY_MS = 86_400_000
const INVESTIGATIVE_MATTER = `matters:
  - code: ${INVESTIGATIVE}
    name: 建设工程违法违规线索核查
    owner: urban
    legalBasis: 《行政处罚法》第五十四条
    disclosure: after 90d
    grants:
      - consumer: urban
        resource: ${PERMITS}
        action: read
        usage: 行政依据
        fields: [permitNo, projectCode, projectName, ownerName, ownerUscc]
        masked: []
        approval: { ref: 宁住建共享〔2026〕9号, approvedBy: housing, validFrom: 2026-01-01, validTo: 2027-12-31 }
`

const pgSchema = `qiao_subject_e2e_${process.pid}`
const STORES = [
  { store: 'file', env: {} },
  { store: 'PostgreSQL', env: { QIAO_AUDIT_URL: `${LOCAL_PG}?schema=${pgSchema}`, QIAO_AUDIT_LOG_ID: 'gw-subject' } },
] as const

afterAll(async () => {
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(pgSchema)} CASCADE`)
  await client.end()
})

describe.each(STORES)('GET /v1/subject-accesses ($store audit store)', ({ env }) => {
  let h: Harness
  let now = NOW
  let leadIdNo: string
  /** The calls that released the owner's data, oldest first: [time, dept, matter, resource]. */
  const released: [number, string, string, string][] = []
  const token = (claims: TokenClaims) => signToken(h.ed, claims, { now })
  const portal = () => token({ dept: 'data', sub: 'portal-svc', client_id: PORTAL, scope: 'usage:subject' })
  const accesses = async (query: string, t?: string): Promise<HttpResult> =>
    h.get(`/v1/subject-accesses?${query}`, t ?? (await portal()))

  /** Every page of `subject`'s accesses at `limit` a page. */
  async function allPages(subject: string, limit: number): Promise<{ pages: number; items: SubjectAccess[] }> {
    const items: SubjectAccess[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await accesses(`subject=${subject}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status, res.text).toBe(200)
      expect((res.json.accesses as unknown[]).length).toBeLessThanOrEqual(limit)
      items.push(...(res.json.accesses as SubjectAccess[]))
      cursor = res.json.nextCursor as string | null
      pages += 1
    } while (cursor !== null && pages < 20)
    return { pages, items }
  }

  const expected = (upTo: number, hideInvestigative: boolean) =>
    released
      .filter(([, , matter]) => !(hideInvestigative && matter === INVESTIGATIVE))
      .filter(([at]) => at <= upTo)
      .map(([at, dept, matter, resource]) => ({ time: new Date(at).toISOString(), dept, matter, resource }))
      .reverse()
  const shape = (items: SubjectAccess[]) =>
    items.map((a) => ({ time: a.time, dept: a.requester.dept, matter: a.purpose.matter, resource: a.resource }))

  beforeAll(async () => {
    h = await startHarness({
      market: true,
      clock: { now: () => now },
      catalog: (text) => text.replace('\nmatters:\n', `\n${INVESTIGATIVE_MATTER}`),
      env: { QIAO_SUBJECT_PORTAL_CLIENTS: `nj-12345,${PORTAL}`, ...env },
    })
    leadIdNo = h.sim.data.permits.find((p) => p.XMDM === PROJECT && p.SJYXBS === '1')?.JSFZRZJHM as string
    expect(leadIdNo).toMatch(/^\d{17}[\dX]$/)
    // The same person in 法人库: the owner's legal representative.
    const owner = marketDataset().enterprises.find((e) => e.uscc === OWNER_USCC)
    expect(owner?.current.FDDBRZJHM).toBe(leadIdNo)
    const call = async (dept: string, sub: string, matter: string, resource: string, expectStatus = 200) => {
      // Steps of seconds: the legacy simulators' clocks stay at NOW, and they refuse a request time skewed by minutes.
      now += 10_000
      const t = await token({ dept, sub, scope: `${matter}:${resource}:read` })
      const params = resource === REGISTRATION ? { uscc: OWNER_USCC } : { projectCode: PROJECT }
      const res = await h.query(resource, params, { token: t, matter, caseId: `NJ-SA-${now}` })
      expect(res.status, res.text).toBe(expectStatus)
      if (expectStatus === 200) released.push([now, dept, matter, resource])
      return res
    }
    await call('drc', 'officer-drc-1', 'QT00301001', PERMITS)
    await call('drc', 'officer-drc-2', 'QT00301001', FILINGS)
    await call('urban', 'officer-urban-1', INVESTIGATIVE, PERMITS)
    await call('urban', 'officer-urban-2', 'XK00208001', PERMITS)
    // Denied (drc holds no grant under 城管's matter): nothing released, never shown.
    await call('drc', 'officer-drc-3', 'XK00208001', PERMITS, 403)
    // The registration grant releases no ID: the call is indexed by the record it fetched, not by what it released.
    const registration = await call('drc', 'officer-drc-4', 'BA00015001', REGISTRATION)
    expect(registration.json.data).toMatchObject([
      { uscc: OWNER_USCC, legalRepresentative: expect.stringMatching(/\*/) },
    ])
    expect(registration.json.data).not.toHaveProperty([0, 'legalRepIdNo'])
    expect(registration.text).not.toContain(leadIdNo.slice(6, 14))
    await call('drc', 'officer-drc-1', 'QT00301001', FILINGS)
    now += 10_000
  }, 60_000)

  afterAll(async () => {
    await h?.close()
  })

  it('lists the calls that read the company’s data across three resources, newest first, paged', async () => {
    const { pages, items } = await allPages(OWNER_USCC, 2)
    expect(shape(items)).toEqual(expected(now, true))
    expect(new Set(items.map((a) => a.resource))).toEqual(new Set([PERMITS, FILINGS, REGISTRATION]))
    expect(items).toHaveLength(5)
    expect(pages).toBe(3)
    const openapi = await h.get('/v1/openapi.json')
    expect(openapi.json.paths).toHaveProperty(
      ['/v1/subject-accesses', 'get', 'security'],
      [{ bearer: ['usage:subject'] }],
    )
    const first = (await accesses(`subject=${OWNER_USCC}&limit=1`)).json.accesses as SubjectAccess[]
    expect(first[0]).toStrictEqual({
      time: new Date(released.at(-1)?.[0] as number).toISOString(),
      requester: { dept: 'drc', deptName: '南京市发展和改革委员会' },
      purpose: { matter: 'QT00301001', matterName: '投资项目在线审批监管（施工许可、图审和竣工验收信息回传）' },
      resource: FILINGS,
      resourceName: expect.any(String),
      provider: 'housing',
      providerName: '南京市住房和城乡建设局',
      action: 'read',
    })
  })

  it('finds the person by 身份证号 across two resources, newest first, and never names an officer, a case or a token', async () => {
    const portalToken = await portal()
    const res = await accesses(`subject=${leadIdNo.toLowerCase()}`, portalToken)
    expect(res.status, res.text).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const found = res.json.accesses as SubjectAccess[]
    expect(shape(found)).toEqual(expected(now, true).filter((a) => a.resource !== FILINGS))
    // The 法人库 read (newest) first, then the permits of 城管 and of 发改.
    expect(found.map((a) => [a.resource, a.provider, a.requester.dept])).toStrictEqual([
      [REGISTRATION, 'market', 'drc'],
      [PERMITS, 'housing', 'urban'],
      [PERMITS, 'housing', 'drc'],
    ])
    expect(res.json.nextCursor).toBeNull()
    expect(res.text).not.toMatch(/officer-|NJ-SA-|portal-svc/)
    expect(res.text).not.toContain(leadIdNo)
    expect(res.text).not.toContain(portalToken.split('.')[2])
  })

  it('shows the investigative matter’s access only once its 90 days have passed', async () => {
    const investigativeAt = released.find(([, , matter]) => matter === INVESTIGATIVE)?.[0] as number
    const saved = now
    const ofPerson = (hide: boolean) => expected(saved, hide).filter((a) => a.resource !== FILINGS)
    try {
      now = investigativeAt + 90 * DAY_MS - 1
      expect(shape((await allPages(OWNER_USCC, 100)).items)).toEqual(expected(saved, true))
      expect(shape((await allPages(leadIdNo, 100)).items)).toEqual(ofPerson(true))
      now = investigativeAt + 90 * DAY_MS
      const { items } = await allPages(OWNER_USCC, 2)
      expect(shape(items)).toEqual(expected(saved, false))
      expect(items.find((a) => a.purpose.matter === INVESTIGATIVE)?.purpose.matterName).toBe('建设工程违法违规线索核查')
      const person = (await allPages(leadIdNo, 2)).items
      expect(shape(person)).toEqual(ofPerson(false))
      expect(person.filter((a) => a.purpose.matter === INVESTIGATIVE)).toHaveLength(1)
    } finally {
      now = saved
    }
  })

  it('refuses a department token with the scope from a client that is not a configured portal', async () => {
    for (const claims of [
      { dept: 'drc', sub: 'officer-drc-1', client_id: 'drc-tzxm', scope: 'usage:subject' },
      { dept: 'drc', sub: 'officer-drc-1', scope: 'usage:subject' },
    ]) {
      const res = await accesses(`subject=${OWNER_USCC}`, await token(claims))
      expect(res.status, res.text).toBe(403)
      expect(res.json).toMatchObject({ code: 'client-not-permitted' })
      expect(res.json.accesses).toBeUndefined()
    }
    const unscoped = await accesses(
      `subject=${OWNER_USCC}`,
      await token({ dept: 'data', sub: 'portal-svc', client_id: PORTAL, scope: 'sharing:apply' }),
    )
    expect(unscoped.json).toMatchObject({ status: 403, code: 'insufficient-scope', requiredScope: 'usage:subject' })
  })

  it('answers 400 naming the identifier formats for 12345, a missing subject or a forged cursor', async () => {
    const bad = await accesses('subject=12345')
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ code: 'query-invalid' })
    expect(bad.json.detail).toMatch(/USCC.*resident id.*organisation code/)
    expect(bad.text).not.toContain('12345')
    expect((await accesses('')).json.detail).toMatch(/^subject: required/)
    expect((await accesses(`subject=${OWNER_USCC}&cursor=abc`)).json.detail).toBe(
      'cursor: not a cursor this API returned',
    )
    expect((await accesses(`subject=${OWNER_USCC}&dept=drc`)).status).toBe(400)
  })

  it('leaves a subject.read record with the keyed digest and the portal’s client id, refusals too', async () => {
    const res = await accesses(`subject=${OWNER_USCC}&limit=3`)
    expect(res.status).toBe(200)
    await accesses(`subject=${OWNER_USCC}`, await token({ dept: 'drc', client_id: 'drc-tzxm', scope: 'usage:subject' }))
    const reads: AdminAuditRecord[] = []
    for await (const entry of h.gateway.deps.audit.query({ kind: 'admin' }) as AsyncIterable<LogEntry>) {
      if (entry.record.kind === 'admin' && entry.record.action === 'subject.read') reads.push(entry.record)
    }
    const [answered, refused] = reads.slice(-2)
    expect(answered).toMatchObject({
      actor: 'data/portal-svc',
      outcome: 'ok',
      details: {
        route: '/v1/subject-accesses',
        clientId: PORTAL,
        subject: subjectDigest(h.gateway.deps.digest, OWNER_USCC),
        records: 3,
        status: 200,
      },
    })
    expect(refused).toMatchObject({
      outcome: 'rejected',
      details: { clientId: 'drc-tzxm', status: 403, reason: 'client-not-permitted' },
    })
    expect(JSON.stringify(reads)).not.toContain(OWNER_USCC)
    expect(JSON.stringify(reads)).not.toContain(leadIdNo)
    expect(h.logLines.join('\n')).not.toContain(OWNER_USCC)
  })

  it('leaves the departments their own views in /v1/usage: who used my resources for which matters, my own calls', async () => {
    const usage = async (claims: TokenClaims) => (await h.get('/v1/usage?view=provider', await token(claims))).json
    const byMatter = (rows: Record<string, unknown>[]) =>
      rows.map((r) => [r.consumer, r.matter, r.resource, r.allowed, r.refused]).sort()
    const housing = await usage({ dept: 'housing', scope: 'sharing:review' })
    expect(byMatter(housing.rows as Record<string, unknown>[])).toEqual([
      ['drc', 'QT00301001', FILINGS, 2, 0],
      ['drc', 'QT00301001', PERMITS, 1, 0],
      ['drc', 'XK00208001', PERMITS, 0, 1],
      ['urban', 'XK00208001', PERMITS, 1, 0],
      ['urban', INVESTIGATIVE, PERMITS, 1, 0],
    ])
    const urban = await h.get('/v1/usage?view=consumer', await token({ dept: 'urban', scope: 'sharing:apply' }))
    expect(byMatter(urban.json.rows as Record<string, unknown>[])).toEqual([
      ['urban', 'XK00208001', PERMITS, 1, 0],
      ['urban', INVESTIGATIVE, PERMITS, 1, 0],
    ])
  })

  it('serves nothing when the read cannot be audited', async () => {
    const append = vi.spyOn(h.gateway.deps.audit, 'append').mockRejectedValueOnce(new Error('disk gone'))
    try {
      const res = await accesses(`subject=${OWNER_USCC}`)
      expect(res.status).toBe(503)
      expect(res.json).toMatchObject({ code: 'audit-unavailable' })
      expect(res.text).not.toContain('accesses')
    } finally {
      append.mockRestore()
    }
  })
})
