import type { Browser, BrowserContext, Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_CSP } from '../gateway/console/routes.js'
import { launchChromium, watchPage } from './support/browser.js'
import { type DemoProcess, signInDemo, startDemo } from './support/demo-process.js'
import { startHarness } from './support/gateway.js'

/**
 * The console against a real `qiao demo` (the console needs demo mode's dev key, which the in-process harness
 * does not have): a 水务 officer finds 施工许可 in the catalog and applies for it with the keyboard only.
 */

const RESOURCE = 'housing.construction-permit'
const WATER_MATTER = 'XK00377001'

let demo: DemoProcess
let origin: string
let browser: Browser

beforeAll(async () => {
  demo = await startDemo()
  origin = demo.origin
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

const signIn = (context: BrowserContext, dept: string, role: string): Promise<Page> =>
  signInDemo(context, origin, dept, role)

const focusedId = async (page: Page) => (await page.locator(':focus').getAttribute('id')) ?? ''

/** Tab (only) until the element with this id has the focus. */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    await page.keyboard.press('Tab')
    if ((await focusedId(page)) === id) return
  }
  throw new Error(`Tab never reached #${id}`)
}

/** ArrowDown on the focused select until it shows `value`. */
async function arrowTo(page: Page, id: string, value: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await page.inputValue(`#${id}`)) === value) return
    await page.keyboard.press('ArrowDown')
  }
  throw new Error(`#${id} never showed ${value}`)
}

describe('the console in demo mode', () => {
  it('a 水务 officer finds 施工许可 and applies with the keyboard only: a missing legal basis first, then complete', async () => {
    const context = await browser.newContext()
    const page = await signIn(context, 'water', 'applicant')
    const watch = watchPage(page, origin)

    const cookie = (await context.cookies()).find((c) => c.name === 'qiao_console')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' })
    expect(await page.evaluate('document.cookie')).toBe('')

    await page.click('nav >> text=目录')
    await page.fill('#q', '施工许可')
    await Promise.all([page.waitForURL(/q=/), page.press('#q', 'Enter')])
    const result = page.locator(`a[href="/console/catalog/${RESOURCE}"]`)
    await expect(result.textContent()).resolves.toBe('建筑工程施工许可信息')
    await Promise.all([page.waitForURL(new RegExp(`/console/catalog/${RESOURCE}$`)), result.click()])
    const details = (await page.textContent('main')) ?? ''
    expect(details).toContain('有条件共享')
    expect(details).toContain('负责人身份证件号码')
    expect(details).toContain('idcard')
    expect(details).toContain('城镇污水排入排水管网许可（临时）')
    expect(await page.locator('main a[href="/docs"]').count()).toBe(1)
    await Promise.all([page.waitForURL(/\/console\/applications\/new\?resource=/), page.click('text=申请共享')])

    // Keyboard only from here: Tab, arrows, Space, typing, Enter.
    await tabTo(page, 'matter')
    await arrowTo(page, 'matter', WATER_MATTER)
    await tabTo(page, 'usage')
    await arrowTo(page, 'usage', '行政依据')
    for (const id of ['clear-permitNo', 'clear-projectCode', 'clear-projectName', 'masked-ownerLeadPhone']) {
      await tabTo(page, id)
      await page.keyboard.press('Space')
    }
    await tabTo(page, 'scene')
    await page.keyboard.type('建设项目开工"一件事"')
    await tabTo(page, 'scopeOfUse')
    await page.keyboard.type('排水许可审批中核对施工许可')
    await tabTo(page, 'validTo')
    await page.keyboard.type('2027-06-30')
    await tabTo(page, 'contactName')
    await page.keyboard.type('王工')
    await tabTo(page, 'contactPhone')
    await page.keyboard.type('025-83001234')
    await Promise.all([page.waitForURL(/\/console\/applications$/), page.keyboard.press('Enter')])

    // 422: the summary has the focus, the problem stands at its field, what was typed is kept.
    await page.locator('.summary:focus').waitFor()
    expect(await page.textContent('.summary')).toContain('使用依据')
    const legal = page.locator('#legalBasis')
    expect(await legal.getAttribute('aria-invalid')).toBe('true')
    expect(await legal.getAttribute('aria-describedby')).toBe('legalBasis-error')
    expect(await page.textContent('#legalBasis-error')).toContain('此项必填')
    expect(await page.inputValue('#scene')).toBe('建设项目开工"一件事"')
    expect(await page.isChecked('#masked-ownerLeadPhone')).toBe(true)

    await tabTo(page, 'legalBasis')
    await page.keyboard.type('《城镇排水与污水处理条例》第二十一条')
    await tabTo(page, 'scene')
    await Promise.all([page.waitForURL(/\/console\/applications\/[0-9a-f-]{36}$/), page.keyboard.press('Enter')])
    expect(await page.textContent('#state')).toBe('待合规审查')
    expect(await page.textContent('#due')).toMatch(/^\d{4}-\d{2}-\d{2} · 剩余工作日 \d+$/)
    expect(await page.textContent('main table')).toContain('提交申请')

    // 我的申请 lists it, in Chinese, with its due date.
    await page.click('nav >> text=我的申请')
    const row = (await page.textContent('main tbody tr')) ?? ''
    expect(row).toContain('建筑工程施工许可信息')
    expect(row).toContain('待合规审查')
    expect(row).toMatch(/\d{4}-\d{2}-\d{2}/)

    // English on request, kept in the session.
    await page.click('header >> text=English')
    expect(await page.getAttribute('html', 'lang')).toBe('en')
    await page.click('nav >> text=Catalog')
    expect(await page.getAttribute('html', 'lang')).toBe('en')

    expect(watch.foreignRequests).toEqual([])
    expect(watch.pageErrors).toEqual([])
    // The one expected console line is Chromium's note of the 422 answer; anything else (a CSP refusal) fails.
    expect(watch.consoleErrors.filter((e) => !e.includes('status of 422'))).toEqual([])
    expect(watch.consoleErrors).toHaveLength(1)
    await context.close()
  }, 60_000)

  it('every page carries the CSP and no-store; a cross-site POST and one without the form token are refused 403', async () => {
    const context = await browser.newContext()
    const page = await signIn(context, 'water', 'applicant')
    await page.goto(`${origin}/console/applications/new?resource=${RESOURCE}`)
    const csrf = await page.inputValue('input[name=_csrf]')
    const cookie = (await context.cookies()).find((c) => c.name === 'qiao_console')
    const headers = { cookie: `qiao_console=${cookie?.value}`, 'content-type': 'application/x-www-form-urlencoded' }
    const body = new URLSearchParams({ _csrf: csrf, resource: RESOURCE, matter: WATER_MATTER }).toString()

    const page200 = await request(`${origin}/console/catalog`, { headers })
    expect(page200.statusCode).toBe(200)
    expect(page200.headers['content-security-policy']).toBe(CONSOLE_CSP)
    expect(page200.headers['cache-control']).toBe('no-store')
    expect(page200.headers['x-content-type-options']).toBe('nosniff')
    expect(page200.headers['referrer-policy']).toBe('no-referrer')
    expect(await page200.body.text()).not.toMatch(/<script\b[^>]*>[^<]+<\/script>|style=/)

    const foreign = await request(`${origin}/console/applications`, {
      method: 'POST',
      headers: { ...headers, origin: 'https://elsewhere.example' },
      body,
    })
    expect(foreign.statusCode).toBe(403)
    expect(await foreign.body.text()).toContain('请求被拒绝')

    const crossSite = await request(`${origin}/console/applications`, {
      method: 'POST',
      headers: { ...headers, 'sec-fetch-site': 'cross-site' },
      body,
    })
    expect(crossSite.statusCode).toBe(403)
    await crossSite.body.dump()

    const noToken = await request(`${origin}/console/applications`, {
      method: 'POST',
      headers: { ...headers, origin },
      body: new URLSearchParams({ resource: RESOURCE }).toString(),
    })
    expect(noToken.statusCode).toBe(403)
    await noToken.body.dump()

    // Sign-out deletes the session: the old cookie opens nothing.
    await page.goto(`${origin}/console/catalog`)
    await Promise.all([page.waitForURL(/\/console\/sign-in$/), page.click('text=退出')])
    const after = await request(`${origin}/console/catalog`, { headers })
    expect(after.statusCode).toBe(303)
    expect(after.headers.location).toBe('/console/sign-in')
    await after.body.dump()
    await context.close()
  }, 30_000)

  it('the 审计 role cannot open the apply form (403), and 数据局 is only for the department data', async () => {
    const context = await browser.newContext()
    const page = await signIn(context, 'housing', 'auditor')
    const res = await page.goto(`${origin}/console/applications/new?resource=${RESOURCE}`)
    expect(res?.status()).toBe(403)
    expect(await page.textContent('h1')).toBe('无权访问')

    await context.close()

    const fresh = await browser.newContext()
    const other = await fresh.newPage()
    await other.goto(`${origin}/console/sign-in`)
    await other.selectOption('#dept', 'water')
    await other.check('#role-authority')
    const [answer] = await Promise.all([
      other.waitForResponse((r) => r.request().method() === 'POST'),
      other.click('button[type=submit]'),
    ])
    expect(answer.status()).toBe(422)
    expect(await other.textContent('#sign-in-error')).toContain('数据局')
    await fresh.close()
  }, 30_000)
})

describe('the console without demo mode', () => {
  it('says sign-in is not configured yet, under the same CSP', async () => {
    const h = await startHarness()
    try {
      for (const path of ['/console', '/console/sign-in', '/console/catalog']) {
        const res = await request(`${h.gateway.url}${path}`)
        expect(res.statusCode).toBe(503)
        expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP)
        expect(await res.body.text()).toContain('尚未配置登录')
      }
    } finally {
      await h.close()
    }
  })
})
