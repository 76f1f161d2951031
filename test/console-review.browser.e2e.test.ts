import type { Browser, BrowserContext, Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_PROJECTS } from '../connectors/kit/demo-universe.js'
import { addCalendarDays, shanghaiDate } from '../kernel/working-calendar.js'
import { seriousViolations } from './support/axe.js'
import { launchChromium, type PageWatch, watchPage } from './support/browser.js'
import { type DemoProcess, demoToken, signInDemo, startDemo } from './support/demo-process.js'
import { SCREENSHOT_VIEWPORT, screenshot } from './support/screenshots.js'

/**
 * The 数据局's conformity pages and the provider's reviewer pages against a real `qiao demo`: a 水务 application
 * for 住建's construction permits is passed by 数据局, approved by 住建 with one field left out (keyboard only), and
 * the exchange then releases exactly the other fields; a 一次性告知 reaches the applicant's page; a refusal without a
 * reason and a decision on a stale page are refused at the form; a grant is revoked from the grants page; other
 * roles get the audited 403 page.
 */

const RESOURCE = 'housing.construction-permit'
const WATER_MATTER = 'XK00377001'
const EXCHANGE_SCOPE = `${WATER_MATTER}:${RESOURCE}:read`
/** The sandbox's complete project (README "Sandbox"): 住建 holds its construction permits. */
const PROJECT_CODE = SHARED_PROJECTS[0]?.code as string
const APPLIED_CLEAR = [
  'permitNo',
  'projectCode',
  'projectName',
  'constructionSite',
  'ownerName',
  'ownerLeadName',
  'plannedStartDate',
]
const LEFT_OUT = 'constructionSite'
/** Asked for in clear; the reviewer releases it masked (its catalog mask rule is `name`). */
const MASKED_BY_REVIEW = 'ownerLeadName'

let demo: DemoProcess
let browser: Browser

beforeAll(async () => {
  demo = await startDemo()
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

interface Answer {
  readonly status: number
  readonly etag: string | undefined
  /** `data` is absent from a problem document: read it only after checking the status. */
  readonly json: Record<string, unknown> & { data: Record<string, unknown> }
}

async function api(path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`${demo.origin}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const etag = res.headers.etag
  return {
    status: res.statusCode,
    etag: typeof etag === 'string' ? etag : undefined,
    json: (await res.body.json()) as Answer['json'],
  }
}

const waterApplicant = () => demoToken(demo, { dept: 'water', scope: 'sharing:apply', sub: 'water-officer-007' })
const authority = () => demoToken(demo, { dept: 'data', scope: 'sharing:admin', sub: 'data-officer-api' })
const housingReviewer = () => demoToken(demo, { dept: 'housing', scope: 'sharing:review', sub: 'housing-reviewer-api' })

/** A 水务 application for construction permits, made through the API as the officer's system would. */
async function applyAsWater(): Promise<string> {
  const res = await api('/v1/applications', await waterApplicant(), {
    resource: RESOURCE,
    matter: WATER_MATTER,
    mode: 'query',
    usage: '行政依据',
    fields: APPLIED_CLEAR,
    masked: ['ownerLeadPhone'],
    legalBasis: '《城镇排水与污水处理条例》第二十一条',
    scene: '建设项目开工"一件事"',
    scopeOfUse: '排水许可审批中核对施工许可',
    validTo: addCalendarDays(shanghaiDate(Date.now()), 180),
    contact: { name: '王工', phone: '025-83001234' },
  })
  expect(res.status).toBe(201)
  return res.json.data.id as string
}

/** A step through the API with the application's current ETag. */
async function step(id: string, token: string, path: 'conformity' | 'review', body: unknown): Promise<Answer> {
  const current = await api(`/v1/applications/${id}`, token)
  return api(`/v1/applications/${id}/${path}`, token, body, { 'if-match': current.etag as string })
}

/** The exchange call a 水务 system makes under the grant. */
async function queryPermits(): Promise<Answer> {
  const token = await demoToken(demo, { dept: 'water', scope: EXCHANGE_SCOPE, sub: 'water-system' })
  return api(
    `/v1/resources/${RESOURCE}/query`,
    token,
    { projectCode: PROJECT_CODE },
    {
      'qiao-matter': WATER_MATTER,
      'qiao-case': 'NJSW-2026-0042',
    },
  )
}

const focusedId = async (page: Page) => (await page.locator(':focus').getAttribute('id')) ?? ''

/** Tab (only) until the element with this id has the focus. */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab')
    if ((await focusedId(page)) === id) return
  }
  throw new Error(`Tab never reached #${id}`)
}

/** A console POST's own answer (before the redirect it may give is followed). */
async function posting(page: Page, act: () => Promise<unknown>): Promise<number> {
  const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), act()])
  return answer.status()
}

/** Nothing left the origin, no script failed; console errors only Chromium's notes of the answers expected. */
function expectClean(watch: PageWatch, expectedStatuses: readonly number[] = []): void {
  expect(watch.foreignRequests).toEqual([])
  expect(watch.pageErrors).toEqual([])
  const unexpected = watch.consoleErrors.filter((e) => !expectedStatuses.some((s) => e.includes(`status of ${s}`)))
  expect(unexpected).toEqual([])
}

async function signIn(dept: string, role: string): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext()
  const page = await signInDemo(context, demo.origin, dept, role)
  return { context, page, watch: watchPage(page, demo.origin) }
}

describe('conformity and review in the console', () => {
  it('数据局 passes a 水务 application; 住建 approves it by keyboard, one field unchecked and one masked; the query releases just that', async () => {
    const id = await applyAsWater()

    const checker = await signIn('data', 'authority')
    const inbox = checker.page
    expect(new URL(inbox.url()).pathname).toBe('/console/conformity')
    const row = inbox.locator(`tr[data-application="${id}"]`)
    const rowText = (await row.textContent()) ?? ''
    for (const text of ['建筑工程施工许可信息', '南京市住房和城乡建设局', '南京市水务局', '城镇污水排入排水管网许可']) {
      expect(rowText).toContain(text)
    }
    expect(await row.locator('.days-left').textContent()).toBe('剩余 2 个工作日')
    // The seeded application waiting a week is overdue, said in words, and listed before the new one.
    const waiting = inbox.locator('section[aria-labelledby="waiting-title"] tbody tr')
    expect(await waiting.first().locator('.days-left').textContent()).toMatch(/^已超期/)
    expect(await waiting.last().getAttribute('data-application')).toBe(id)

    await Promise.all([inbox.waitForURL(new RegExp(`/console/conformity/${id}$`)), row.locator('a').click()])
    expect(await inbox.textContent('#state')).toBe('待合规审查')
    expect(await inbox.textContent('#request-clear')).toContain('建设地址（constructionSite）')
    expect(await inbox.textContent('#request-masked')).toContain('负责人联系电话（ownerLeadPhone）')
    expect(await seriousViolations(inbox)).toEqual([])
    expect(await posting(inbox, () => inbox.click('#pass-submit'))).toBe(303)
    await inbox.locator('#not-actionable').waitFor()
    expect(await inbox.textContent('#state')).toBe('待数源部门审核')
    expect(await inbox.textContent('main table')).toContain('合规审查通过')
    expectClean(checker.watch)
    await checker.context.close()

    const reviewer = await signIn('housing', 'reviewer')
    const page = reviewer.page
    expect(new URL(page.url()).pathname).toBe('/console/review')
    const reviewRow = page.locator(`tr[data-application="${id}"]`)
    expect(await reviewRow.locator('.days-left').textContent()).toBe('剩余 5 个工作日')
    expect(await reviewRow.textContent()).toContain('南京市水务局')
    expect(await seriousViolations(page)).toEqual([])

    await Promise.all([page.waitForURL(new RegExp(`/console/review/${id}$`)), reviewRow.locator('a').click()])
    expect(await seriousViolations(page)).toEqual([])
    // Beside each requested field, what the catalog says of it; the field asked for masked stays masked.
    const idRow = page.locator('tr', { has: page.locator('#include-ownerLeadPhone') })
    expect(await idRow.textContent()).toContain('个人信息')
    expect(await idRow.textContent()).toContain('phone')
    expect(await idRow.textContent()).toContain('按申请脱敏')
    // A field without a mask rule in the catalog can only go in clear, and the row says so.
    expect(await page.locator('#mask-permitNo').count()).toBe(0)
    expect(await page.locator('tr', { has: page.locator('#include-permitNo') }).textContent()).toContain(
      '目录无脱敏规则',
    )

    // Keyboard only: Tab to a field, Space unchecks it; Tab to another, Space masks it; Tab to the button, Enter.
    await tabTo(page, `include-${LEFT_OUT}`)
    await page.keyboard.press('Space')
    await tabTo(page, `mask-${MASKED_BY_REVIEW}`)
    await page.keyboard.press('Space')
    expect(await page.isChecked(`#include-${LEFT_OUT}`)).toBe(false)
    expect(await page.isChecked(`#mask-${MASKED_BY_REVIEW}`)).toBe(true)
    expect(await page.isChecked('#include-permitNo')).toBe(true)
    await page.setViewportSize(SCREENSHOT_VIEWPORT)
    await page.locator('#approve-title').evaluate((node) => node.scrollIntoView({ block: 'start' }))
    await screenshot(page, 'console-review')
    await tabTo(page, 'approve-submit')
    expect(await posting(page, () => page.keyboard.press('Enter'))).toBe(303)
    await page.locator('#not-actionable').waitFor()
    expect(new URL(page.url()).pathname).toBe(`/console/review/${id}`)
    expect(await page.textContent('#state')).toBe('已批准')
    expect(await page.textContent('main table')).toContain('数源部门同意')
    expectClean(reviewer.watch)
    await reviewer.context.close()

    const answer = await queryPermits()
    expect(answer.status).toBe(200)
    const records = answer.json.data as unknown as Record<string, unknown>[]
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) {
      expect(record).not.toHaveProperty(LEFT_OUT)
      for (const key of APPLIED_CLEAR.filter((k) => k !== LEFT_OUT)) expect(record).toHaveProperty(key)
      expect(String(record.ownerLeadPhone)).toContain('*')
      expect(String(record[MASKED_BY_REVIEW])).toContain('*')
    }
    const meta = answer.json.meta as { fields: string[]; masked: string[] }
    expect(meta.fields).not.toContain(LEFT_OUT)
    expect([...meta.masked].sort()).toEqual([MASKED_BY_REVIEW, 'ownerLeadPhone'].sort())
  }, 90_000)

  it('a refusal without a reason is 422 at the reason; a 一次性告知 of two items reaches the applicant; a stale page is 412', async () => {
    const id = await applyAsWater()
    const checker = await signIn('data', 'authority')
    const page = checker.page
    await page.goto(`${demo.origin}/console/conformity/${id}`)

    expect(await posting(page, () => page.click('#refuse-submit'))).toBe(422)
    await page.locator('.summary:focus').waitFor()
    const reason = page.locator('#reason')
    expect(await reason.getAttribute('aria-invalid')).toBe('true')
    expect(await reason.getAttribute('aria-describedby')).toBe('reason-error')
    expect(await page.textContent('#reason-error')).toContain('须写明理由')
    expect(await page.textContent('#state')).toBe('待合规审查')

    // A row naming a part but not what to correct is refused at that row's text, the choice kept.
    await page.selectOption('#notice-0-pointer', '/legalBasis')
    expect(await posting(page, () => page.click('#notice-submit'))).toBe(422)
    expect(await page.getAttribute('#notice-0-message', 'aria-invalid')).toBe('true')
    expect(await page.textContent('#notice-0-message-error')).toBe('请填写此项')
    expect(await page.inputValue('#notice-0-pointer')).toBe('/legalBasis')
    await page.fill('#notice-0-message', '请写明《城镇排水与污水处理条例》中要求核对施工许可的条款')
    await page.selectOption('#notice-1-pointer', '/fields/3')
    expect(await page.textContent('#notice-1-pointer option:checked')).toContain('建设地址')
    await page.fill('#notice-1-message', '建设地址是否必要：说明排水许可审批中的用途')
    expect(await posting(page, () => page.click('#notice-submit'))).toBe(303)
    await page.locator('#not-actionable').waitFor()
    expect(await page.textContent('#state')).toBe('待补正')
    expect(await page.textContent('main table')).toContain('使用依据：请写明')

    await page.goto(`${demo.origin}/console/conformity`)
    expect(await page.locator(`section[aria-labelledby="noticed-title"] tr[data-application="${id}"]`).count()).toBe(1)
    expectClean(checker.watch, [422])

    const applicant = await signIn('water', 'applicant')
    await applicant.page.goto(`${demo.origin}/console/applications/${id}`)
    expect(await applicant.page.textContent('#state')).toBe('待补正')
    const notice = (await applicant.page.textContent('main section.card')) ?? ''
    expect(notice).toContain('请写明《城镇排水与污水处理条例》中要求核对施工许可的条款')
    expect(notice).toContain('建设地址是否必要：说明排水许可审批中的用途')
    await applicant.context.close()

    // Someone else passes it while the page is open: the form's decision is not taken, and the page says why.
    const other = await applyAsWater()
    await page.goto(`${demo.origin}/console/conformity/${other}`)
    expect((await step(other, await authority(), 'conformity', { decision: 'pass' })).status).toBe(200)
    expect(await posting(page, () => page.click('#pass-submit'))).toBe(412)
    expect(await page.textContent('h1')).toBe('申请已被他人办理')
    await Promise.all([page.waitForURL(new RegExp(`/console/conformity/${other}$`)), page.click('#reload')])
    expect(await page.textContent('#state')).toBe('待数源部门审核')
    expect(await page.locator('#pass-submit').count()).toBe(0)
    await checker.context.close()
  }, 90_000)

  it("the approval form shows the workflow's problems at their inputs and keeps what was typed; English on request", async () => {
    const id = await applyAsWater()
    expect((await step(id, await authority(), 'conformity', { decision: 'pass' })).status).toBe(200)
    const applied = await api(`/v1/applications/${id}`, await housingReviewer())
    const askedTo = (applied.json.data.request as { validTo: string }).validTo

    const reviewer = await signIn('housing', 'reviewer')
    const page = reviewer.page
    await page.goto(`${demo.origin}/console/review/${id}`)
    await page.uncheck('#include-permitNo')
    await page.fill('#validTo', addCalendarDays(askedTo, 1))
    await page.fill('#quota', '0')
    // The body's shape is checked first (a quota of 0), then the terms against the request (a later last day).
    expect(await posting(page, () => page.click('#approve-submit'))).toBe(422)
    await page.locator('.summary:focus').waitFor()
    expect(await page.getAttribute('#quota', 'aria-invalid')).toBe('true')
    expect(await page.getAttribute('#quota', 'aria-describedby')).toBe('quota-hint quota-error')
    expect(await page.inputValue('#quota')).toBe('0')
    await page.fill('#quota', '')
    expect(await posting(page, () => page.click('#approve-submit'))).toBe(422)
    await page.locator('.summary:focus').waitFor()
    expect(await page.getAttribute('#validTo', 'aria-invalid')).toBe('true')
    expect(await page.textContent('#validTo-error')).toContain(`不得晚于申请的截止日期（${askedTo}）`)
    expect(await page.getAttribute('#validTo', 'aria-describedby')).toBe('validTo-hint validTo-error')
    expect(await page.textContent('.summary')).toContain('截止日期：')
    expect(await page.inputValue('#validTo')).toBe(addCalendarDays(askedTo, 1))
    expect(await page.isChecked('#include-permitNo')).toBe(false)
    expect(await page.isChecked('#include-projectCode')).toBe(true)
    expect(await page.textContent('#state')).toBe('待数源部门审核')
    expect(await seriousViolations(page)).toEqual([])

    await page.goto(`${demo.origin}/console/review/${id}?lang=en`)
    expect(await page.getAttribute('html', 'lang')).toBe('en')
    expect(await page.textContent('#approve-submit')).toBe('Approve and grant')
    expect(await page.textContent('#state')).toBe('Provider review')
    expectClean(reviewer.watch, [422])
    await reviewer.context.close()
  }, 60_000)

  it('住建 revokes a live grant from its grants page: a reason is required, and the next query is 403 grant-revoked', async () => {
    const id = await applyAsWater()
    expect((await step(id, await authority(), 'conformity', { decision: 'pass' })).status).toBe(200)
    const approved = await step(id, await housingReviewer(), 'review', { decision: 'approve' })
    expect(approved.status).toBe(200)
    const grantId = (approved.json.data.decision as { grantId: string }).grantId
    expect((await queryPermits()).status).toBe(200)

    const reviewer = await signIn('housing', 'reviewer')
    const page = reviewer.page
    await page.click('nav >> text=已发授权')
    expect(new URL(page.url()).pathname).toBe('/console/provider/grants')
    const row = page.locator(`tr[data-grant="${grantId}"]`)
    expect(await row.locator('.grant-state').textContent()).toBe('有效')
    const rowText = (await row.textContent()) ?? ''
    expect(rowText).toContain('南京市水务局')
    expect(rowText).toContain('建设地址')
    expect(await seriousViolations(page)).toEqual([])

    expect(await posting(page, () => page.click(`#revoke-${grantId}`))).toBe(422)
    expect(await page.getAttribute(`#reason-${grantId}`, 'aria-invalid')).toBe('true')
    expect(await page.textContent(`#reason-${grantId}-error`)).toContain('撤销授权须写明理由')

    await page.fill(`#reason-${grantId}`, '水务局排水许可系统发生越权查询，暂停授权')
    expect(await posting(page, () => page.click(`#revoke-${grantId}`))).toBe(303)
    await page.locator(`tr[data-grant="${grantId}"] .grant-state`, { hasText: '已撤销' }).waitFor()
    expect(await page.locator(`#revoke-${grantId}`).count()).toBe(0)
    expectClean(reviewer.watch, [422])
    await reviewer.context.close()

    const refused = await queryPermits()
    expect(refused.status).toBe(403)
    expect(refused.json.code).toBe('grant-revoked')
  }, 60_000)

  it('an auditor opening the review inbox and an applicant opening the conformity inbox get the audited 403 page', async () => {
    const auditor = await signIn('housing', 'auditor')
    const res = await auditor.page.goto(`${demo.origin}/console/review`)
    expect(res?.status()).toBe(403)
    expect(await auditor.page.textContent('h1')).toBe('无权访问')
    await auditor.context.close()

    const applicant = await signIn('water', 'applicant')
    expect((await applicant.page.goto(`${demo.origin}/console/conformity`))?.status()).toBe(403)
    await applicant.context.close()

    const token = await demoToken(demo, { dept: 'data', scope: 'audit:read', sub: 'auditor-test' })
    const log = await api('/v1/audit/records?kind=admin&limit=1000', token)
    expect(log.status).toBe(200)
    const refusals = (
      log.json.records as {
        record: { action: string; outcome: string; actor: string; details: Record<string, unknown> }
      }[]
    )
      .map((e) => e.record)
      .filter((r) => r.action === 'console.access')
    expect(refusals).toContainEqual(
      expect.objectContaining({
        outcome: 'rejected',
        actor: 'housing/console-auditor-housing',
        details: expect.objectContaining({ page: expect.stringMatching(/\/review$/), role: 'auditor', status: 403 }),
      }),
    )
    expect(refusals).toContainEqual(
      expect.objectContaining({
        actor: 'water/console-applicant-water',
        details: expect.objectContaining({ page: expect.stringMatching(/\/conformity$/), role: 'applicant' }),
      }),
    )
  }, 60_000)
})
