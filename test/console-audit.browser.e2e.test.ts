import { readFile } from 'node:fs/promises'
import ExcelJS from 'exceljs'
import type { Browser, BrowserContext, Page, Route } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usccCheckChar } from '../kernel/identifiers.js'
import { seriousViolations } from './support/axe.js'
import { launchChromium, watchPage } from './support/browser.js'
import { parseCsv } from './support/csv.js'
import { type DemoProcess, demoToken, signInDemo, startDemo } from './support/demo-process.js'
import { screenshot } from './support/screenshots.js'

/**
 * The auditor's console against a real `qiao demo`: real exchange calls about the sandbox's company
 * (南京青溪城市发展有限公司), then in Chromium the access search by its USCC (posted, never in a URL), a record with
 * its grant, its receipt recomputed in the browser — and refused once the proof is edited —, paging, the CSV
 * export, and a refusal for another role that the audit log keeps.
 */

const OWNER_USCC = '91320115MA1W2K7Q0P'
const PROJECT = '2303-320115-04-03-518275'
const MATTER = 'QT00301001'
const CASE = 'NJ-2026-000123'
const PAGING_CASE = 'NJ-AUDIT-PAGING'
/** A well-formed project code no permit has: these calls name no data subject. */
const UNKNOWN_PROJECT = '2403-320102-04-01-123456'
/** 建设项目开工一件事 (catalog.yaml): one evidence bundle of 城管, about a project and an owner no record has. */
const BUNDLE_MATTER = 'XK00208001'
const BUNDLE_CASE = 'NJ-AUDIT-BUNDLE'
const UNKNOWN_OWNER = `91320115MA1W2K7Q1${usccCheckChar('91320115MA1W2K7Q1')}`

let demo: DemoProcess
let browser: Browser
let auditorToken: string
/** Record ids (Qiao-Audit-Id) of the calls that named the company. */
let permitCall: string
let registrationCall: string
/** The evidence bundle's own record id and its items' record ids, in the matter's order. */
let bundleCall: { auditId: string; items: string[] }
/** Where the gateway's log output stood once the demo had printed its banner (which shows sample parameters). */
let logFrom: number

async function exchange(token: string, resource: string, params: object, caseId: string): Promise<string> {
  const res = await request(`${demo.origin}/v1/resources/${resource}/query`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'qiao-matter': MATTER,
      'qiao-case': caseId,
    },
    body: JSON.stringify(params),
  })
  await res.body.dump()
  return res.headers['qiao-audit-id'] as string
}

beforeAll(async () => {
  demo = await startDemo({ QIAO_LOG_LEVEL: 'info' })
  logFrom = demo.output().length
  browser = await launchChromium()
  const drc = await demoToken(demo, {
    dept: 'drc',
    sub: 'drc-officer-042',
    scope: `${MATTER}:housing.construction-permit:read ${MATTER}:market.enterprise-registration:read`,
  })
  auditorToken = await demoToken(demo, { dept: 'data', sub: 'auditor-check', scope: 'audit:read' })
  // 住建's permits of the project (the answer names the owner's USCC) and, through the demo's live grant, 市场监管's
  // registration of the owner itself.
  permitCall = await exchange(drc, 'housing.construction-permit', { projectCode: PROJECT }, CASE)
  registrationCall = await exchange(drc, 'market.enterprise-registration', { uscc: OWNER_USCC }, CASE)
  for (let i = 0; i < 12; i++) {
    await exchange(drc, 'housing.construction-permit', { projectCode: UNKNOWN_PROJECT }, PAGING_CASE)
  }
  bundleCall = await evidenceBundle()
}, 60_000)

/** 城管's evidence bundle for one case: three items (发改, 住建, 市场监管), each audited and linked to the bundle. */
async function evidenceBundle(): Promise<{ auditId: string; items: string[] }> {
  const resources = ['drc.investment-project', 'housing.construction-permit', 'market.enterprise-registration']
  const token = await demoToken(demo, {
    dept: 'urban',
    sub: 'urban-officer-007',
    scope: resources.map((r) => `${BUNDLE_MATTER}:${r}:read`).join(' '),
  })
  const res = await request(`${demo.origin}/v1/matters/${BUNDLE_MATTER}/evidence`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'qiao-case': BUNDLE_CASE },
    body: JSON.stringify({ projectCode: UNKNOWN_PROJECT, ownerUscc: UNKNOWN_OWNER }),
  })
  const body = (await res.body.json()) as { auditId: string; items: { auditId?: string }[] }
  expect([200, 207]).toContain(res.statusCode)
  const items = body.items.map((item) => item.auditId as string)
  expect(items).toHaveLength(3)
  expect(items.every((id) => typeof id === 'string' && id !== body.auditId)).toBe(true)
  return { auditId: body.auditId, items }
}

/**
 * The record ids of the rows this test's own calls made: the demo's subscription (发改 to 住建's permits, a permit
 * every 30 s copied from the same project) also audits its deliveries about the company, under case
 * `subscription:<id>`, once the demo has run long enough; those rows are checked to be exactly that.
 */
function ownCalls(rows: readonly (readonly string[])[], caseColumn: number | undefined): string[] {
  expect(caseColumn).toBeGreaterThanOrEqual(0)
  const theirs = rows.filter((r) => !String(r[caseColumn as number]).startsWith('subscription:sub_'))
  return theirs.map((r) => r[0] as string)
}

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

async function asAuditor(): Promise<{ context: BrowserContext; page: Page; urls: string[] }> {
  const context = await browser.newContext()
  const urls: string[] = []
  context.on('request', (r) => urls.push(r.url()))
  const page = await signInDemo(context, demo.origin, 'data', 'auditor')
  expect(new URL(page.url()).pathname).toBe('/console/audit')
  return { context, page, urls }
}

async function search(page: Page, fill: Record<string, string>): Promise<number> {
  for (const [id, value] of Object.entries(fill)) {
    if ((await page.locator(`#${id}`).evaluate((e) => e.tagName)) === 'SELECT') await page.selectOption(`#${id}`, value)
    else await page.fill(`#${id}`, value)
  }
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/console/audit')),
    page.click('form#audit-search button:not([name])'),
  ])
  await page.waitForLoadState()
  return answer.status()
}

/** Waits for receipt-verify.js's verdict: the state and the aria-live text, with each step's result. */
async function receiptVerdict(page: Page) {
  await page.locator('#receipt[data-receipt-state]').waitFor({ timeout: 10_000 })
  const result = (step: string) => page.getAttribute(`[data-step="${step}"]`, 'data-result')
  return {
    state: await page.getAttribute('#receipt', 'data-receipt-state'),
    text: (await page.textContent('#receipt-status')) ?? '',
    leaf: await result('leaf'),
    path: await result('path'),
    signature: await result('signature'),
  }
}

/** Serves the proof JSON edited by `edit`, as a tampering server or a man in the middle would. */
function editProof(edit: (proof: Record<string, unknown>) => void) {
  return async (route: Route) => {
    const response = await route.fetch()
    const json = (await response.json()) as Record<string, unknown>
    edit(json)
    await route.fulfill({ response, json })
  }
}

const flipHex = (hex: string) => `${hex[0] === '0' ? '1' : '0'}${hex.slice(1)}`

describe('the auditor console', () => {
  it('finds the calls about a company by its USCC (posted, in no URL), opens one and verifies its receipt in the browser', async () => {
    const { context, page, urls } = await asAuditor()
    const watch = watchPage(page, demo.origin)
    expect(await seriousViolations(page)).toEqual([])

    expect(await search(page, { subject: OWNER_USCC })).toBe(200)
    const row = page.locator('#results tbody tr', { has: page.locator(`a[data-record-id="${permitCall}"]`) })
    const cells = await row.locator('th, td').allTextContents()
    expect(cells.slice(1)).toEqual([
      '南京市发展和改革委员会',
      'drc-officer-042',
      '投资项目在线审批监管（施工许可、图审和竣工验收信息回传）',
      CASE,
      '建筑工程施工许可信息',
      '允许',
      '200',
      'ok',
    ])
    expect(cells[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
    expect(await page.locator(`a[data-record-id="${registrationCall}"]`).count()).toBe(1)
    // Only the two calls named the company; the subject is echoed only into the field it was typed in.
    expect(await page.locator('#results tbody tr').count()).toBe(2)
    expect(await page.inputValue('#subject')).toBe(OWNER_USCC)
    expect((await page.content()).split(OWNER_USCC)).toHaveLength(2)
    expect(await seriousViolations(page)).toEqual([])
    await screenshot(page, 'console-audit-search')

    await Promise.all([page.waitForURL(/\/console\/audit\/records\/[^/]+$/), row.locator('a').click()])
    expect(await receiptVerdict(page)).toEqual({
      state: 'verified',
      text: '已验证',
      leaf: 'passed',
      path: 'passed',
      signature: 'passed',
    })
    const main = (await page.textContent('main')) ?? ''
    for (const shown of [
      '南京市发展和改革委员会（drc）',
      '南京市住房和城乡建设局（housing）',
      '建筑工程施工许可信息（housing.construction-permit）',
      '负责人身份证件号码（ownerLeadIdNo）',
      '目录授权（catalog.yaml）',
      '宁住建共享〔2026〕3号',
      permitCall,
    ]) {
      expect(main).toContain(shown)
    }
    expect(await seriousViolations(page)).toEqual([])
    await screenshot(page, 'console-audit-record')

    expect(urls.filter((u) => u.toUpperCase().includes(OWNER_USCC))).toEqual([])
    expect(watch.foreignRequests).toEqual([])
    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors).toEqual([])
    // Neither the console nor the API logged the identifier searched for.
    expect(demo.output().slice(logFrom)).not.toContain(OWNER_USCC)
    await context.close()
  }, 60_000)

  it('the in-browser check fails when the proof is edited: a sibling hash, the checkpoint signature, the record', async () => {
    const { context, page } = await asAuditor()
    const recordPage = `${demo.origin}/console/audit/records/${permitCall}`

    await page.route(
      '**/proof.json',
      editProof((proof) => {
        const path = proof.proof as string[]
        path[0] = flipHex(path[0] as string)
      }),
    )
    await page.goto(recordPage)
    const sibling = await receiptVerdict(page)
    expect(sibling).toMatchObject({ state: 'failed', leaf: 'passed', path: 'failed', signature: 'passed' })
    expect(sibling.text).toContain('未通过验证')
    expect(sibling.text).toContain('Merkle 路径')

    await page.unrouteAll()
    await page.route(
      '**/proof.json',
      editProof((proof) => {
        const checkpoint = proof.checkpoint as { jws: string }
        const [header, payload, signature] = checkpoint.jws.split('.') as [string, string, string]
        const at = 20
        const changed = signature[at] === 'A' ? 'B' : 'A'
        checkpoint.jws = `${header}.${payload}.${signature.slice(0, at)}${changed}${signature.slice(at + 1)}`
      }),
    )
    await page.goto(recordPage)
    const signature = await receiptVerdict(page)
    expect(signature).toMatchObject({ state: 'failed', leaf: 'passed', path: 'passed', signature: 'failed' })
    expect(signature.text).toContain('检查点签名')

    await page.unrouteAll()
    await page.route(
      '**/proof.json',
      editProof((proof) => {
        ;((proof.entry as { record: { recordCount: number } }).record as { recordCount: number }).recordCount = 0
      }),
    )
    await page.goto(recordPage)
    expect(await receiptVerdict(page)).toMatchObject({ state: 'failed', path: 'failed', signature: 'passed' })
    await context.close()
  }, 60_000)

  it('a subject that identifies no one (12345) is refused by the API and shown at its field', async () => {
    const { context, page, urls } = await asAuditor()
    expect(await search(page, { subject: '12345' })).toBe(400)
    const subject = page.locator('#subject')
    expect(await subject.getAttribute('aria-invalid')).toBe('true')
    expect((await subject.getAttribute('aria-describedby'))?.split(' ')).toContain('subject-error')
    expect(await page.textContent('#subject-error')).toContain('不是有效的统一社会信用代码')
    expect(await page.inputValue('#subject')).toBe('12345')
    await page.locator('.summary:focus').waitFor()
    expect(await page.locator('#results').count()).toBe(0)
    expect(urls.filter((u) => u.includes('12345'))).toEqual([])

    // The refusal came from the API: its own audit.read record says query-invalid.
    const reads = await adminRecords('audit.read')
    expect(reads.some((r) => r.details.reason === 'query-invalid' && r.actor === 'data/console-auditor-data')).toBe(
      true,
    )
    await context.close()
  }, 30_000)

  it('pages follow the API cursor, each a POST of the same form with the filters kept', async () => {
    const { context, page } = await asAuditor()
    expect(await search(page, { case: PAGING_CASE, limit: '10' })).toBe(200)
    expect(await page.locator('#results tbody tr').count()).toBe(10)
    expect(await page.textContent('#results-count')).toBe('第 1 页，本页 10 条')
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('button[name=cursor]'),
    ])
    expect(answer.url()).toBe(`${demo.origin}/console/audit`)
    await page.waitForLoadState()
    expect(await page.locator('#results tbody tr').count()).toBe(2)
    expect(await page.textContent('#results-count')).toBe('第 2 页，本页 2 条')
    expect(await page.inputValue('#case')).toBe(PAGING_CASE)
    expect(await page.locator('button[name=cursor]').count()).toBe(0)

    // In English on request, the same search.
    await page.goto(`${demo.origin}/console/audit?lang=en`)
    expect(await page.textContent('h1')).toBe('Access search')
    expect(await search(page, { case: PAGING_CASE, limit: '10' })).toBe(200)
    expect(await page.textContent('#results-count')).toBe('Page 1, 10 on this page')
    await context.close()
  }, 30_000)

  it('an administrative record (an auditor’s own read) opens with its details and its receipt verifies', async () => {
    const { context, page } = await asAuditor()
    expect(await search(page, { kind: 'admin' })).toBe(200)
    const first = page.locator('#results tbody tr a').first()
    await Promise.all([page.waitForURL(/\/console\/audit\/records\/[^/]+$/), first.click()])
    expect(await page.textContent('#admin-heading')).toMatch(/^管理操作：[a-z.-]+$/)
    expect(await receiptVerdict(page)).toMatchObject({ state: 'verified', text: '已验证' })
    expect(await page.locator('#grant').count()).toBe(0)
    await context.close()
  }, 30_000)

  it('exports the current filter as the API’s CSV (Chinese headers), downloaded as the API names it', async () => {
    const { context, page, urls } = await asAuditor()
    await page.fill('#subject', OWNER_USCC)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[value=csv]')])
    expect(download.suggestedFilename()).toMatch(/^qiao-audit-\d{8}T\d{6}Z\.csv$/)
    const text = await readFile(await download.path(), 'utf8')
    expect(text.startsWith('\uFEFF')).toBe(true)
    const [header, ...rows] = parseCsv(text.slice(1))
    expect(header?.slice(0, 3)).toEqual(['记录编号', '时间（北京时间）', '类别'])
    expect(ownCalls(rows, header?.indexOf('办件编号'))).toEqual([permitCall, registrationCall])
    expect(urls.filter((u) => u.toUpperCase().includes(OWNER_USCC))).toEqual([])

    // The same export outside the browser: the API's type and attachment name come through the console.
    await page.goto(`${demo.origin}/console/audit`)
    const csrf = await page.inputValue('input[name=_csrf]')
    const cookie = (await context.cookies()).find((c) => c.name === 'qiao_console')
    const res = await request(`${demo.origin}/console/audit/export`, {
      method: 'POST',
      headers: { cookie: `qiao_console=${cookie?.value}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, subject: OWNER_USCC, kind: 'exchange', format: 'csv' }).toString(),
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="qiao-audit-\d{8}T\d{6}Z\.csv"$/)
    const [apiHeader, ...apiRows] = parseCsv((await res.body.text()).slice(1))
    expect(ownCalls(apiRows, apiHeader?.indexOf('办件编号'))).toEqual([permitCall, registrationCall])
    await context.close()
  }, 30_000)

  it('exports the same filter as the API’s XLSX workbook, in the page’s language', async () => {
    const { context, page } = await asAuditor()
    await page.goto(`${demo.origin}/console/audit?lang=en`)
    await page.fill('#subject', OWNER_USCC)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[value=xlsx]')])
    expect(download.suggestedFilename()).toMatch(/^qiao-audit-\d{8}T\d{6}Z\.xlsx$/)
    const workbook = new ExcelJS.Workbook()
    await workbook.xlsx.readFile(await download.path())
    const sheet = workbook.worksheets[0] as ExcelJS.Worksheet
    expect(sheet.getRow(1).getCell(1).value).toBe('id')
    const caseColumn = (sheet.getRow(1).values as unknown[]).indexOf('case')
    const rows = Array.from({ length: sheet.rowCount - 1 }, (_, i) =>
      (sheet.getRow(i + 2).values as unknown[]).slice(1).map((v) => String(v ?? '')),
    )
    expect(ownCalls(rows, caseColumn - 1)).toEqual([permitCall, registrationCall])
    await context.close()
  }, 30_000)

  it('a live grant’s sharing application is summarised on the record and opens with its history', async () => {
    const { context, page } = await asAuditor()
    await page.goto(`${demo.origin}/console/audit/records/${registrationCall}`)
    expect(await page.textContent('#grant')).toContain('共享申请批准的授权')
    expect(await page.textContent('#grant-state')).toBe('有效')
    expect(await page.textContent('#application-summary')).toContain('南京市发展和改革委员会 · drc-officer-001')
    await Promise.all([
      page.waitForURL(/\/console\/audit\/applications\/[0-9a-f-]{36}$/),
      page.click('#application-summary a'),
    ])
    expect(await page.textContent('#state')).toBe('已批准')
    expect(await page.textContent('main table')).toContain('合规审查通过')
    await context.close()
  }, 30_000)

  it('the auditors’ API finds an evidence bundle’s records by `bundle`, and its CSV links them', async () => {
    const get = async (query: string) => {
      const res = await request(`${demo.origin}/v1/audit/records${query}`, {
        headers: { authorization: `Bearer ${auditorToken}` },
      })
      expect(res.statusCode).toBe(200)
      return res.body.text()
    }
    const listed = JSON.parse(await get(`?bundle=${bundleCall.auditId}`)) as { records: { record: { id: string } }[] }
    // In log order: the items as they were written (at once), then the bundle's own record.
    const ids = listed.records.map((e) => e.record.id)
    expect(ids.at(-1)).toBe(bundleCall.auditId)
    expect(ids.slice(0, -1).sort()).toEqual([...bundleCall.items].sort())
    expect(JSON.parse(await get(`?bundle=${permitCall}`))).toEqual({ records: [], nextCursor: null })
    const [header, ...rows] = parseCsv(
      (await get(`/export?format=csv&headers=en&bundle=${bundleCall.auditId}`)).replace(/^\uFEFF/, ''),
    )
    const column = (name: string) => rows.map((row) => row[(header as string[]).indexOf(name)])
    const own = (id: string) => id === bundleCall.auditId
    expect(column('id')).toEqual(ids)
    expect(column('bundle')).toEqual(ids.map((id) => (own(id) ? '' : bundleCall.auditId)))
    expect(column('bundleItems')).toEqual(ids.map((id) => (own(id) ? bundleCall.items.join(';') : '')))
  }, 30_000)

  it('follows an evidence bundle: its record links each item’s, and each item’s links back to it', async () => {
    const { context, page } = await asAuditor()
    const watch = watchPage(page, demo.origin)
    const recordPath = (id: string) => `/console/audit/records/${id}`
    await page.goto(`${demo.origin}${recordPath(bundleCall.auditId)}`)
    expect(await page.textContent('#bundle-heading')).toBe('一件事证据包')
    expect(await page.locator('#record-bundle dt').allTextContents()).toEqual(['证据包条目'])
    const items = page.locator('#record-bundle dd #bundle-items li a')
    expect(await items.allTextContents()).toEqual(bundleCall.items)
    expect(await items.evaluateAll((links) => links.map((a) => a.getAttribute('href')))).toEqual(
      bundleCall.items.map(recordPath),
    )
    expect(await seriousViolations(page)).toEqual([])

    // An item's record: what it read, and the link back to the bundle it belongs to.
    await Promise.all([page.waitForURL(`**${recordPath(bundleCall.items[1] as string)}`), items.nth(1).click()])
    expect(await page.textContent('main')).toContain('建筑工程施工许可信息（housing.construction-permit）')
    expect(await page.locator('#record-bundle dt').allTextContents()).toEqual(['所属证据包'])
    expect(await page.textContent('#bundle-of')).toBe(bundleCall.auditId)
    expect(await page.locator('#bundle-items').count()).toBe(0)
    expect(await seriousViolations(page)).toEqual([])
    await Promise.all([page.waitForURL(`**${recordPath(bundleCall.auditId)}`), page.click('#bundle-of')])
    expect(await page.locator('#bundle-items li').count()).toBe(3)

    // A record of a single call belongs to no bundle.
    await page.goto(`${demo.origin}${recordPath(permitCall)}`)
    expect(await page.locator('#record-bundle').count()).toBe(0)

    // In English on request.
    await page.goto(`${demo.origin}${recordPath(bundleCall.items[0] as string)}?lang=en`)
    expect(await page.textContent('#bundle-heading')).toBe('Evidence bundle (一件事)')
    expect(await page.locator('#record-bundle dt').allTextContents()).toEqual(['Part of evidence bundle'])
    await page.goto(`${demo.origin}${recordPath(bundleCall.auditId)}?lang=en`)
    expect(await page.locator('#record-bundle dt').allTextContents()).toEqual(['Bundle items'])
    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors).toEqual([])
    await context.close()
  }, 60_000)

  it('another role opening the access search gets the 403 page, and the refusal is in the audit log', async () => {
    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'drc', 'applicant')
    const res = await page.goto(`${demo.origin}/console/audit`)
    expect(res?.status()).toBe(403)
    expect(await page.textContent('h1')).toBe('无权访问')
    const refusals = await adminRecords('console.access')
    expect(refusals).toContainEqual(
      expect.objectContaining({
        actor: 'drc/console-applicant-drc',
        outcome: 'rejected',
        details: expect.objectContaining({ page: '/console/audit', role: 'applicant', status: 403 }),
      }),
    )
    await context.close()
  }, 30_000)
})

interface AdminRecord {
  readonly action: string
  readonly actor: string
  readonly outcome: string
  readonly details: Record<string, unknown>
}

/** The admin records of one action, read through the auditors' API. */
async function adminRecords(action: string): Promise<AdminRecord[]> {
  const res = await request(`${demo.origin}/v1/audit/records?kind=admin&limit=1000`, {
    headers: { authorization: `Bearer ${auditorToken}` },
  })
  expect(res.statusCode).toBe(200)
  const { records } = (await res.body.json()) as { records: { record: AdminRecord }[] }
  return records.map((e) => e.record).filter((r) => r.action === action)
}

describe('the auditor console on an SM3 log', () => {
  let sm3: DemoProcess
  beforeAll(async () => {
    sm3 = await startDemo({ QIAO_AUDIT_HASH: 'sm3' })
  }, 60_000)
  afterAll(async () => {
    await sm3?.close()
  })

  it('checks the checkpoint signature, says the SM3 hashes cannot be computed in a browser and points to qiao audit verify', async () => {
    const token = await demoToken(sm3, { dept: 'drc', scope: `${MATTER}:housing.construction-permit:read` })
    const res = await request(`${sm3.origin}/v1/resources/housing.construction-permit/query`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'qiao-matter': MATTER,
        'qiao-case': CASE,
      },
      body: JSON.stringify({ projectCode: PROJECT }),
    })
    await res.body.dump()
    const context = await browser.newContext()
    const page = await signInDemo(context, sm3.origin, 'data', 'auditor')
    await page.goto(`${sm3.origin}/console/audit/records/${res.headers['qiao-audit-id']}`)
    const verdict = await receiptVerdict(page)
    expect(verdict).toMatchObject({ state: 'unsupported', leaf: 'skipped', path: 'skipped', signature: 'passed' })
    expect(verdict.text).toContain('无法在浏览器中验证')
    expect(verdict.text).toContain('SM3')
    expect(verdict.text).toContain('qiao audit verify')
    await context.close()
  }, 60_000)
})
