import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seriousViolations } from './support/axe.js'
import { launchChromium, watchPage } from './support/browser.js'
import { type DemoProcess, demoToken, signInDemo, startDemo } from './support/demo-process.js'
import { REPO } from './support/gateway.js'
import { screenshot } from './support/screenshots.js'

/**
 * The operator's page against a real `qiao demo` running a copy of the demo catalog (QIAO_CATALOG) in a temporary
 * directory, so the test can break the file and fix it: the reload button shows the problem at catalog.yaml:line:col
 * while the running catalog keeps serving, then the new version. 市场监管's front-end database is pointed at a
 * closed port, so one connection is down from the start and its breaker opens after a few calls.
 */

const BROKEN_GRANT = '      - consumer: nowhere\n'

let catalogDir: string
let catalogFile: string
let good: string
let demo: DemoProcess
let browser: Browser

beforeAll(async () => {
  catalogDir = await mkdtemp(join(tmpdir(), 'qiao-ops-catalog-'))
  catalogFile = join(catalogDir, 'catalog.yaml')
  // Schema paths are relative to the catalog file: the copy points at the repository's schemas.
  good = (await readFile(join(REPO, 'catalog.yaml'), 'utf8')).replaceAll(' schemas/', ` ${REPO}/schemas/`)
  await writeFile(catalogFile, good)
  demo = await startDemo({
    QIAO_CATALOG: catalogFile,
    QIAO_MARKET_DB_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
  })
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await demo?.close()
  await rm(catalogDir, { recursive: true, force: true })
})

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** 发改 asks 市场监管 for an enterprise (企业投资项目备案) until the down front-end database's breaker opens. */
async function openMarketBreaker(): Promise<void> {
  const token = await demoToken(demo, { dept: 'drc', scope: 'BA00015001:market.enterprise-registration:read' })
  for (let i = 0; i < 12; i++) {
    const res = await request(`${demo.origin}/v1/resources/market.enterprise-registration/query`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'qiao-matter': 'BA00015001',
        'qiao-case': `OPS-${i}`,
      },
      body: JSON.stringify({ uscc: '91320115MA1W2K7Q0P' }),
    })
    const problem = (await res.body.json()) as { code?: string }
    expect(res.statusCode).toBe(503)
    if (problem.code === 'upstream-circuit-open') return
  }
  throw new Error('the breaker never opened')
}

describe('the operator console page', () => {
  it('shows connectors (the down one first, its breaker open after calls), quotas and the audit log; a broken catalog is refused at its line and column, a fixed one reloads', async () => {
    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'data', 'operator')
    const watch = watchPage(page, demo.origin)
    expect(new URL(page.url()).pathname).toBe('/console/ops')

    expect(await page.textContent('h1')).toBe('运行状态')
    const rows = () =>
      page.locator('section[aria-labelledby=ops-connectors] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.id))
    // The down connection first, said in words; the others after it.
    expect(await rows()).toEqual(['connector-market-qzk', 'connector-housing-gongai', 'connector-drc-tzxm'])
    expect(await page.textContent('#connector-market-qzk')).toContain('不可用')
    expect(await page.textContent('section[aria-labelledby=ops-attention]')).toContain(
      'market-qzk（市场监管）：连接不可用',
    )
    expect(await page.textContent('#connector-housing-gongai')).toContain('可用')
    expect(await page.textContent('#connector-housing-gongai')).toContain('闭合（正常）')
    expect(await page.textContent('#audit-state')).toContain('正常')
    const appended = Number(await page.textContent('#audit-appended'))
    expect(appended).toBeGreaterThan(0)
    expect(await page.textContent('#quota-drc-overall')).toContain('0 / 1200')

    // Calls to the down system open its breaker; they count against 发改's quota and are audited.
    await openMarketBreaker()
    await Promise.all([page.waitForEvent('load'), page.click('text=刷新')])
    expect(await rows()).toEqual(['connector-market-qzk', 'connector-housing-gongai', 'connector-drc-tzxm'])
    expect(await page.textContent('#connector-market-qzk')).toContain('已打开：暂停调用')
    expect(await page.textContent('section[aria-labelledby=ops-attention]')).toContain(
      'market-qzk（市场监管）：熔断已打开',
    )
    expect(Number(await page.locator('#quota-drc-overall meter').getAttribute('value'))).toBeGreaterThan(0)
    expect(await page.locator('#quota-drc-overall meter').getAttribute('max')).toBe('1200')
    expect(Number(await page.textContent('#audit-appended'))).toBeGreaterThan(appended)
    expect(await page.textContent('#catalog-version')).toBe('2026.11-demo.2')
    expect(await page.textContent('#last-reload')).toBe('启动以来未重新加载')
    expect(await seriousViolations(page)).toEqual([])
    await screenshot(page, 'console-ops')

    // An unknown department in a grant: refused, listed at its line, the running catalog keeps serving.
    const broken = good.replace('      - consumer: urban\n', BROKEN_GRANT)
    expect(broken).not.toBe(good)
    await writeFile(catalogFile, broken)
    const line = broken.slice(0, broken.indexOf(BROKEN_GRANT)).split('\n').length
    await Promise.all([page.waitForURL(/\/console\/ops\/catalog\/reload$/), page.click('#reload-catalog')])
    await page.locator('#reload-outcome:focus').waitFor()
    expect(await page.textContent('#reload-outcome')).toContain('目录文件有问题，未重新加载')
    const problems = (await page.textContent('#reload-problems')) ?? ''
    expect(problems).toMatch(new RegExp(`catalog\\.yaml:${line}:\\d+ .*nowhere`))
    expect(await page.textContent('#catalog-version')).toBe('2026.11-demo.2')
    expect(await page.textContent('#last-reload')).toContain('被拒绝')
    expect(await page.textContent('section[aria-labelledby=ops-attention]')).toContain('上次目录重新加载被拒绝')
    expect(await seriousViolations(page)).toEqual([])

    // Fixed, with a new version label, and reloaded from the problem list's own button: reloaded.
    await writeFile(catalogFile, good.replace('version: 2026.11-demo.2', 'version: 2026.11-demo.9'))
    await page.click('#reload-again')
    await page.locator('#reload-outcome.ops-done').waitFor()
    expect(await page.textContent('#reload-outcome')).toContain('目录已重新加载')
    expect(await page.textContent('#reload-outcome')).toContain('2026.11-demo.9')
    expect(await page.textContent('#catalog-version')).toBe('2026.11-demo.9')
    expect(await page.textContent('#last-reload')).toContain('已生效')

    // The English switch keeps the page.
    await page.goto(`${demo.origin}/console/ops?lang=en`)
    expect(await page.textContent('h1')).toBe('Operations')
    expect(await page.textContent('#connector-housing-gongai')).toContain('closed (normal)')
    expect(await seriousViolations(page)).toEqual([])

    expect(watch.foreignRequests).toEqual([])
    expect(watch.pageErrors).toEqual([])
    // The rejected reload's page answers 422 on purpose (Chromium logs every 4xx document); nothing else, no CSP report.
    expect(watch.consoleErrors.filter((e) => !/status of 422/.test(e))).toEqual([])
    await context.close()
  })

  it('an auditor opening /console/ops gets 403, and the reload POST is refused too', async () => {
    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'data', 'auditor')
    const res = await page.goto(`${demo.origin}/console/ops`)
    expect(res?.status()).toBe(403)
    expect(await page.textContent('main')).toContain('当前角色不能打开此页面。')
    expect(await page.locator('#reload-catalog').count()).toBe(0)

    // The auditor's own valid form token does not make the reload theirs: refused before the API is called.
    const csrf = (await page.locator('header form input[name=_csrf]').getAttribute('value')) as string
    await writeFile(catalogFile, good.replace('version: 2026.11-demo.2', 'version: 2026.11-demo.auditor'))
    const posted = await page.request.post(`${demo.origin}/console/ops/catalog/reload`, { form: { _csrf: csrf } })
    expect(posted.status()).toBe(403)
    expect(await posted.text()).not.toContain('2026.11-demo.auditor')
    await context.close()

    const operator = await browser.newContext()
    const opsPage = await signInDemo(operator, demo.origin, 'data', 'operator')
    expect(await opsPage.textContent('#catalog-version')).not.toBe('2026.11-demo.auditor')
    await operator.close()
  })
})
