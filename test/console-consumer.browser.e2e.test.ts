import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addCalendarDays, shanghaiDate } from '../kernel/working-calendar.js'
import { seriousViolations } from './support/axe.js'
import { launchChromium, watchPage } from './support/browser.js'
import { type DemoProcess, demoToken, signInDemo, startDemo } from './support/demo-process.js'
import { screenshot } from './support/screenshots.js'

/**
 * The requesting department's side of the console against a real `qiao demo` (real clock, so dates are computed
 * from today): its grants with the ones about to end marked and renewable, the answer to a 一次性告知, a
 * withdrawal, and the usage pages of both sides drawn from `/v1/usage` after real exchange calls.
 */

const PERMITS = 'housing.construction-permit'
const PROJECT = '2303-320115-04-03-518275'
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

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
  readonly etag: string | null
  readonly body: { data?: Record<string, unknown> } & Record<string, unknown>
}

async function call(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${demo.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, etag: res.headers.get('etag'), body: (await res.json()) as Answer['body'] }
}

const tokens = {
  applicant: (dept: string) => demoToken(demo, { dept, scope: 'sharing:apply', sub: `test-${dept}-applicant` }),
  authority: () => demoToken(demo, { dept: 'data', scope: 'sharing:admin', sub: 'test-data-officer' }),
  reviewer: (dept: string) => demoToken(demo, { dept, scope: 'sharing:review', sub: `test-${dept}-reviewer` }),
}

const today = () => shanghaiDate(Date.now())

function applicationBody(matter: string, fields: string[], validTo: string) {
  return {
    resource: PERMITS,
    matter,
    mode: 'query',
    usage: '数据校核',
    fields,
    masked: [],
    legalBasis: '《政务数据共享条例》第十五条',
    scene: '建设项目开工"一件事"',
    scopeOfUse: '核对施工许可',
    validTo,
    contact: { name: '测试联系人', phone: '025-83000000' },
  }
}

/** Files an application as `dept`'s applicant through the API; returns its answer (201, with its ETag). */
async function apply(dept: string, body: unknown): Promise<Answer> {
  const created = await call(await tokens.applicant(dept), 'POST', '/v1/applications', body)
  expect(created.status).toBe(201)
  return created
}

async function step(token: string, id: string, name: string, etag: string | null, body: unknown): Promise<Answer> {
  const answer = await call(token, 'POST', `/v1/applications/${id}/${name}`, body, { 'if-match': etag ?? '' })
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  return answer
}

/** Pixels of a chart's canvas in colour (bars; axes and labels are grey), read back with getImageData. */
async function colouredPixels(page: Page, chartId: string): Promise<number> {
  await page.locator(`#${chartId}[data-chart-drawn=true]`).waitFor({ timeout: 10_000 })
  return (await page.evaluate(`(() => {
    const canvas = document.querySelector('#${chartId} canvas')
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    let n = 0
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]]
      if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++
    }
    return n
  })()`)) as number
}

describe('the requesting department in the console', () => {
  it('我的授权 marks a grant ending within 30 days (即将到期) and renewing it files a new application', async () => {
    // 发改 applies; 数据局 passes it; 住建 approves it with a last day ten days from now.
    const near = addCalendarDays(today(), 10)
    const filed = await apply(
      'drc',
      applicationBody('BA00015001', ['permitNo', 'projectCode', 'projectName'], addCalendarDays(today(), 200)),
    )
    const id = filed.body.data?.id as string
    const passed = await step(await tokens.authority(), id, 'conformity', filed.etag, { decision: 'pass' })
    const approved = await step(await tokens.reviewer('housing'), id, 'review', passed.etag, {
      decision: 'approve',
      validTo: near,
    })
    const grantId = (approved.body.data as { decision: { grantId: string } }).decision.grantId

    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'drc', 'applicant')
    const watch = watchPage(page, demo.origin)
    await page.click('nav >> text=我的授权')
    expect(await page.textContent('h1')).toBe('我的授权')
    const row = page.locator(`tr[data-grant="${grantId}"]`)
    expect(await row.getAttribute('class')).toBe('expiring')
    const text = (await row.textContent()) ?? ''
    expect(text).toContain('建筑工程施工许可信息')
    expect(text).toContain('南京市住房和城乡建设局')
    expect(text).toContain('施工许可证编号、项目代码、工程名称')
    expect(text).toContain(near)
    expect(text).toContain('剩余 10 天')
    expect(text).toContain('即将到期')
    expect(await row.locator('a[href="/docs"]').count()).toBe(1)

    // The seed's registration grant runs a year: in force, not marked. The catalog's own grants are listed apart.
    const main = (await page.textContent('main')) ?? ''
    expect(main).toContain('法人登记信息')
    expect(await page.locator('tr.expiring').count()).toBe(1)
    const catalogSection = (await page.textContent('section[aria-labelledby=catalog-title]')) ?? ''
    expect(catalogSection).toContain('宁住建共享〔2026〕3号')
    expect(await page.locator('section[aria-labelledby=catalog-title] form').count()).toBe(0)

    expect(await seriousViolations(page)).toEqual([])
    await screenshot(page, 'console-grants')

    const proposed = await row.locator('input[name=validTo]').inputValue()
    expect(proposed > near).toBe(true)

    // A last day in the past: the workflow's 422 stands at that grant's input, nothing is filed.
    await row.locator('input[name=validTo]').fill('2020-01-01')
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      row.locator('button[type=submit]').click(),
    ])
    expect(refused.status()).toBe(422)
    const input = row.locator('input[name=validTo]')
    expect(await input.getAttribute('aria-invalid')).toBe('true')
    const errorId = ((await input.getAttribute('aria-describedby')) ?? '').split(' ').at(-1) as string
    expect(await page.textContent(`#${errorId}`)).toContain('/validTo must not be in the past')
    expect(await page.getAttribute('.summary a', 'href')).toBe(`#${await input.getAttribute('id')}`)
    await input.fill(proposed)
    await Promise.all([
      page.waitForURL(new RegExp(`/console/applications/${UUID}$`)),
      row.locator('button[type=submit]').click(),
    ])
    expect(await page.textContent('#state')).toBe('待合规审查')
    const renewalId = page.url().split('/').at(-1) as string
    const renewal = await call(await tokens.applicant('drc'), 'GET', `/v1/applications/${renewalId}`)
    expect(renewal.body.data).toMatchObject({
      renewalOf: grantId,
      request: { validTo: proposed, matter: 'BA00015001' },
    })

    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors.filter((e) => !e.includes('status of 422'))).toEqual([])
    expect(watch.foreignRequests).toEqual([])
    await context.close()
  }, 60_000)

  it('a 一次性告知 is answered in the console: an item left unchanged is refused at that item, then all go back to the check', async () => {
    const filed = await apply(
      'water',
      applicationBody('XK00377001', ['permitNo', 'projectCode', 'ownerLeadIdNo'], addCalendarDays(today(), 300)),
    )
    const id = filed.body.data?.id as string
    await step(await tokens.authority(), id, 'conformity', filed.etag, {
      decision: 'notice',
      items: [
        { pointer: '/legalBasis', message: '请写明排水许可的条款' },
        { pointer: '/fields/2', message: '负责人身份证件号码请改为脱敏' },
      ],
    })

    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'water', 'applicant')
    const watch = watchPage(page, demo.origin)
    await page.goto(`${demo.origin}/console/applications/${id}`)
    expect(await page.textContent('#state')).toBe('待补正')
    await Promise.all([page.waitForURL(/\/answer$/), page.click('main >> text=答复告知')])

    const items = (await page.textContent('main form')) ?? ''
    expect(items).toContain('请写明排水许可的条款')
    expect(items).toContain('负责人身份证件号码请改为脱敏')
    expect(await page.inputValue('#legalBasis')).toBe('《政务数据共享条例》第十五条')
    expect(await page.isChecked('#clear-ownerLeadIdNo')).toBe(true)
    expect(await seriousViolations(page)).toEqual([])

    // Only the legal basis changed: the workflow's 422 names the field item, the typed text is kept.
    await page.fill('#legalBasis', '《城镇排水与污水处理条例》第二十一条')
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('main button[type=submit]'),
    ])
    expect(refused.status()).toBe(422)
    await page.locator('.summary:focus').waitFor()
    expect(await page.textContent('#fields-error')).toContain('告知中列出的此项尚未修改')
    expect(await page.getAttribute('#fields', 'aria-invalid')).toBe('true')
    expect(await page.getAttribute('#fields', 'aria-describedby')).toBe('fields-error')
    expect(await page.getAttribute('#legalBasis', 'aria-invalid')).toBeNull()
    expect(await page.inputValue('#legalBasis')).toBe('《城镇排水与污水处理条例》第二十一条')
    expect(await seriousViolations(page)).toEqual([])

    await page.uncheck('#clear-ownerLeadIdNo')
    await page.check('#masked-ownerLeadIdNo')
    await Promise.all([
      page.waitForURL(new RegExp(`/console/applications/${id}$`)),
      page.click('main button[type=submit]'),
    ])
    expect(await page.textContent('#state')).toBe('待合规审查')
    expect(await page.textContent('#due')).toMatch(/^\d{4}-\d{2}-\d{2} · 剩余工作日 \d+$/)
    expect(await page.locator('main >> text=答复告知').count()).toBe(0)

    const after = await call(await tokens.applicant('water'), 'GET', `/v1/applications/${id}`)
    expect(after.body.data).toMatchObject({
      state: 'conformity-check',
      request: {
        legalBasis: '《城镇排水与污水处理条例》第二十一条',
        fields: ['permitNo', 'projectCode'],
        masked: ['ownerLeadIdNo'],
      },
    })
    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors.filter((e) => !e.includes('status of 422'))).toEqual([])
    await context.close()
  }, 60_000)

  it('撤回 asks for confirmation first; confirmed, the application is withdrawn', async () => {
    const filed = await apply('water', applicationBody('XK00377001', ['permitNo'], addCalendarDays(today(), 100)))
    const id = filed.body.data?.id as string
    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'water', 'applicant')
    await page.goto(`${demo.origin}/console/applications/${id}`)
    await Promise.all([page.waitForURL(/\/withdraw$/), page.click('main >> text=撤回')])
    expect(await page.textContent('h1')).toBe('撤回申请')
    const stillOpen = await call(await tokens.applicant('water'), 'GET', `/v1/applications/${id}`)
    expect(stillOpen.body.data?.state).toBe('conformity-check')

    await page.fill('#reason', '事项已改由其他渠道办理')
    await Promise.all([page.waitForURL(new RegExp(`/console/applications/${id}$`)), page.click('text=确认撤回')])
    expect(await page.textContent('#state')).toBe('已撤回')
    expect(await page.locator('main a[href$="/withdraw"]').count()).toBe(0)
    const history = await call(await tokens.applicant('water'), 'GET', `/v1/applications/${id}/history`)
    const last = (history.body.data as unknown as { transition: string; details: unknown }[]).at(-1)
    expect(last).toMatchObject({ transition: 'withdraw', details: { reason: '事项已改由其他渠道办理' } })

    // Decided now: the confirmation step is not offered again.
    const again = await page.goto(`${demo.origin}/console/applications/${id}/withdraw`)
    expect(again?.status()).toBe(409)
    expect(await page.textContent('h1')).toBe('不能撤回')
    await context.close()
  }, 60_000)
})

describe('usage in the console', () => {
  it('使用情况 and 谁在使用 draw the calls per day from /v1/usage, with totals and refusals', async () => {
    const drc = await demoToken(demo, { dept: 'drc', scope: `QT00301001:${PERMITS}:read` })
    for (let i = 0; i < 3; i++) {
      const ok = await call(
        drc,
        'POST',
        `/v1/resources/${PERMITS}/query`,
        { projectCode: PROJECT },
        {
          'qiao-matter': 'QT00301001',
          'qiao-case': `NJ-2026-00${i}`,
        },
      )
      expect(ok.status).toBe(200)
    }
    // 自然资源 reads the same permits under its own matter: a second consumer on the provider's page.
    const natres = await demoToken(demo, { dept: 'natres', scope: `QR00112001:${PERMITS}:read` })
    for (let i = 0; i < 2; i++) {
      const ok = await call(
        natres,
        'POST',
        `/v1/resources/${PERMITS}/query`,
        { projectCode: PROJECT },
        { 'qiao-matter': 'QR00112001', 'qiao-case': `NJ-GH-2026-00${i}` },
      )
      expect(ok.status).toBe(200)
    }
    // 排水许可 is 水务's matter, not 发改's: refused, and counted as such.
    const refused = await call(
      drc,
      'POST',
      `/v1/resources/${PERMITS}/query`,
      { projectCode: PROJECT },
      {
        'qiao-matter': 'XK00377001',
        'qiao-case': 'NJ-2026-009',
      },
    )
    expect(refused.status).toBe(403)

    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'drc', 'applicant')
    const watch = watchPage(page, demo.origin)
    await page.click('nav >> text=使用情况')
    expect(await page.textContent('h1')).toBe('本部门的使用情况')
    expect(await colouredPixels(page, 'usage-trend')).toBeGreaterThan(100)
    expect(await colouredPixels(page, 'usage-outcomes')).toBeGreaterThan(100)
    expect(Number(await page.textContent('#total-calls'))).toBeGreaterThanOrEqual(4)
    expect(Number(await page.textContent('#total-refused'))).toBeGreaterThanOrEqual(1)
    const totals = (await page.textContent('table.usage-totals')) ?? ''
    expect(totals).toContain('南京市住房和城乡建设局（housing）')
    expect(totals).toContain(`建筑工程施工许可信息（${PERMITS}）`)
    expect(await seriousViolations(page)).toEqual([])

    // A range the API refuses is said on the page, with the API's status.
    const bad = await page.goto(`${demo.origin}/console/usage?from=${today()}&to=${addCalendarDays(today(), -5)}`)
    expect(bad?.status()).toBe(400)
    expect(await page.textContent('#usage-failure')).toContain('查询期间有误')
    await context.close()

    const providerContext = await browser.newContext()
    const provider = await signInDemo(providerContext, demo.origin, 'housing', 'reviewer')
    const providerWatch = watchPage(provider, demo.origin)
    await provider.click('nav >> text=谁在使用')
    expect(await provider.textContent('h1')).toBe('谁在使用本部门的数据')
    expect(await colouredPixels(provider, 'provider-trend')).toBeGreaterThan(100)
    const byConsumer = (await provider.textContent('table.usage-totals')) ?? ''
    expect(byConsumer).toContain('南京市发展和改革委员会（drc）')
    expect(byConsumer).toContain('（QT00301001）')
    expect(byConsumer).toContain('南京市规划和自然资源局（natres）')
    expect(await provider.locator('#provider-trend ~ details th[scope=col]').allTextContents()).toEqual([
      '调用次数',
      '南京市发展和改革委员会（drc）',
      '南京市规划和自然资源局（natres）',
    ])
    expect(await seriousViolations(provider)).toEqual([])
    await screenshot(provider, 'console-provider-usage')

    for (const w of [watch, providerWatch]) {
      expect(w.pageErrors).toEqual([])
      expect(w.foreignRequests).toEqual([])
    }
    expect(providerWatch.consoleErrors).toEqual([])
    await providerContext.close()
  }, 60_000)
})
