import type { Browser, BrowserContext, Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_PROJECTS } from '../connectors/kit/demo-universe.js'
import { addCalendarDays, shanghaiDate } from '../kernel/working-calendar.js'
import { launchChromium, type PageWatch, watchPage } from './support/browser.js'
import { type DemoProcess, demoToken, signInDemo, startDemo } from './support/demo-process.js'

/**
 * Issue 15's acceptance as one story, every step by a person in the browser except the department system's query:
 * a 水务 officer finds 施工许可 and applies; 数据局 passes the application; 住建's reviewer approves it with one field
 * left out; 水务's system queries and gets 200 without that field; the auditor searches the owner company's USCC,
 * finds that very call, opens it and the in-browser receipt check says verified — and not verified once the proof
 * the browser receives is edited. No token ever reaches the page's storage.
 */

const RESOURCE = 'housing.construction-permit'
const WATER_MATTER = 'XK00377001'
const PROJECT = SHARED_PROJECTS[0] as (typeof SHARED_PROJECTS)[number]
const LEFT_OUT = 'constructionSite'
const CASE = 'NJSW-2026-0815'

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

async function as(dept: string, role: string): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext()
  const page = await signInDemo(context, demo.origin, dept, role)
  return { context, page, watch: watchPage(page, demo.origin) }
}

/** The form's POST answer status, before its redirect is followed. */
async function posting(page: Page, act: () => Promise<unknown>): Promise<number> {
  const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), act()])
  return answer.status()
}

async function noTokenInStorage(page: Page): Promise<void> {
  expect(await page.evaluate('JSON.stringify([localStorage.length, sessionStorage.length, document.cookie])')).toBe(
    '[0,0,""]',
  )
}

function clean(watch: PageWatch): void {
  expect(watch.foreignRequests).toEqual([])
  expect(watch.pageErrors).toEqual([])
  expect(watch.consoleErrors).toEqual([])
}

describe('the console, end to end', () => {
  it('apply → pass → approve without one field → the query lacks it → the auditor finds the call and verifies its receipt', async () => {
    // 1. The 水务 officer finds 施工许可 in the catalog and applies for it.
    const applicant = await as('water', 'applicant')
    let page = applicant.page
    await page.click('nav >> text=目录')
    await page.fill('#q', '施工许可')
    await Promise.all([page.waitForURL(/q=/), page.press('#q', 'Enter')])
    await Promise.all([page.waitForURL(/\/console\/catalog\//), page.click(`a[href="/console/catalog/${RESOURCE}"]`)])
    await Promise.all([page.waitForURL(/\/console\/applications\/new/), page.click('text=申请共享')])
    await page.selectOption('#matter', WATER_MATTER)
    await page.selectOption('#usage', '行政依据')
    for (const field of ['permitNo', 'projectCode', 'projectName', LEFT_OUT, 'ownerName']) {
      await page.check(`#clear-${field}`)
    }
    await page.fill('#legalBasis', '《城镇排水与污水处理条例》第二十一条')
    await page.fill('#scene', '建设项目开工"一件事"')
    await page.fill('#scopeOfUse', '排水许可审批中核对施工许可')
    await page.fill('#validTo', addCalendarDays(shanghaiDate(Date.now()), 180))
    await page.fill('#contactName', '王工')
    await page.fill('#contactPhone', '025-83001234')
    expect(await posting(page, () => page.click('button[type=submit] >> text=提交申请'))).toBe(303)
    await page.waitForURL(/\/console\/applications\/[0-9a-f-]{36}$/)
    const id = new URL(page.url()).pathname.split('/').pop() as string
    expect(await page.textContent('#state')).toBe('待合规审查')
    await noTokenInStorage(page)
    clean(applicant.watch)
    await applicant.context.close()

    // 2. 数据局 passes it.
    const authority = await as('data', 'authority')
    page = authority.page
    await Promise.all([
      page.waitForURL(new RegExp(`/console/conformity/${id}$`)),
      page.click(`tr[data-application="${id}"] a`),
    ])
    expect(await posting(page, () => page.click('#pass-submit'))).toBe(303)
    await page.locator('#not-actionable').waitFor()
    expect(await page.textContent('#state')).toBe('待数源部门审核')
    clean(authority.watch)
    await authority.context.close()

    // 3. 住建's reviewer approves it with the construction site left out.
    const reviewer = await as('housing', 'reviewer')
    page = reviewer.page
    await Promise.all([
      page.waitForURL(new RegExp(`/console/review/${id}$`)),
      page.click(`tr[data-application="${id}"] a`),
    ])
    await page.uncheck(`#include-${LEFT_OUT}`)
    expect(await posting(page, () => page.click('#approve-submit'))).toBe(303)
    await page.locator('#not-actionable').waitFor()
    expect(await page.textContent('#state')).toBe('已批准')
    clean(reviewer.watch)
    await reviewer.context.close()

    // 4. 水务's system queries under the new grant: 200, the approved fields, not the one left out.
    const system = await demoToken(demo, {
      dept: 'water',
      sub: 'water-system',
      scope: `${WATER_MATTER}:${RESOURCE}:read`,
    })
    const res = await request(`${demo.origin}/v1/resources/${RESOURCE}/query`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${system}`,
        'content-type': 'application/json',
        'qiao-matter': WATER_MATTER,
        'qiao-case': CASE,
      },
      body: JSON.stringify({ projectCode: PROJECT.code }),
    })
    const answer = (await res.body.json()) as { data: Record<string, unknown>[] }
    expect(res.statusCode).toBe(200)
    expect(answer.data.length).toBeGreaterThan(0)
    for (const record of answer.data) {
      expect(record).not.toHaveProperty(LEFT_OUT)
      expect(record).toHaveProperty('permitNo')
      expect(record).toHaveProperty('ownerName')
    }
    const auditId = res.headers['qiao-audit-id'] as string

    // 5. The auditor searches the owner company's USCC, finds that call, opens it: verified in the browser.
    const auditor = await as('data', 'auditor')
    page = auditor.page
    await page.fill('#subject', PROJECT.owner.uscc)
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/console/audit')),
      page.click('form#audit-search button:not([name])'),
    ])
    const link = page.locator(`a[data-record-id="${auditId}"]`)
    expect(await link.count()).toBe(1)
    expect(await page.textContent(`#results tbody tr:has(a[data-record-id="${auditId}"])`)).toContain(CASE)
    await Promise.all([page.waitForURL(new RegExp(`/console/audit/records/${auditId}$`)), link.click()])
    await page.locator('#receipt[data-receipt-state]').waitFor({ timeout: 10_000 })
    expect(await page.getAttribute('#receipt', 'data-receipt-state')).toBe('verified')
    expect(await page.textContent('#receipt-status')).toContain('已验证')
    await noTokenInStorage(page)
    clean(auditor.watch)

    // 6. The same page with the proof edited on its way to the browser: not verified.
    await page.route('**/proof.json', async (route) => {
      const response = await route.fetch()
      const proof = (await response.json()) as { proof: string[] }
      const first = proof.proof[0] as string
      proof.proof[0] = `${first[0] === '0' ? '1' : '0'}${first.slice(1)}`
      await route.fulfill({ response, json: proof })
    })
    await page.reload()
    await page.locator('#receipt[data-receipt-state]').waitFor({ timeout: 10_000 })
    expect(await page.getAttribute('#receipt', 'data-receipt-state')).toBe('failed')
    expect(await page.textContent('#receipt-status')).toContain('未通过验证')
    await auditor.context.close()
  }, 120_000)
})
