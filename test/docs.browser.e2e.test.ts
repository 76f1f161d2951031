import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { Browser, Locator } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCS_CSP } from '../gateway/routes/docs.js'
import { launchChromium, watchPage } from './support/browser.js'
import { type Harness, REPO, startHarness } from './support/gateway.js'

const MATTER = 'QT00301001'
const RESOURCE = 'housing.construction-permit'
const SCOPE = `${MATTER}:${RESOURCE}:read`
const QUERY_PATH = `/v1/resources/${RESOURCE}/query`

let h: Harness
let origin: string

beforeAll(async () => {
  h = await startHarness()
  origin = new URL(h.gateway.url).origin
})

afterAll(async () => {
  await h?.close()
})

async function fetchRaw(path: string, headers: Record<string, string> = {}) {
  const res = await request(`${origin}${path}`, { headers })
  const body = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body }
}

describe('GET /docs and its assets', () => {
  it('serves the page in Chinese under a CSP that allows this origin only, linking versioned local assets', async () => {
    const res = await fetchRaw('/docs')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers['content-security-policy']).toBe(DOCS_CSP)
    expect(res.headers['cache-control']).toBe('no-cache')
    const html = res.body.toString('utf8')
    expect(html).toContain('<html lang="zh-CN">')
    expect(html).toContain('访问令牌')
    // No inline script (the CSP would refuse it) and no other host anywhere in the page.
    expect([...html.matchAll(/<script\b[^>]*>/g)].every((m) => /\bsrc="\/docs\/assets\//.test(m[0]))).toBe(true)
    expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/)
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
    const linked = [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1])
    expect(linked.map((u) => u?.replace(/\?v=[\w-]+$/, ''))).toEqual([
      '/docs/assets/swagger-ui.css',
      '/docs/assets/swagger-ui-bundle.js',
      '/docs/assets/init.js',
    ])
  })

  it('serves each asset with its type, a day of immutable caching, an ETag that answers 304, and gzip on request', async () => {
    for (const [file, type] of [
      ['swagger-ui.css', 'text/css; charset=utf-8'],
      ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
      ['init.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const plain = await fetchRaw(`/docs/assets/${file}`)
      expect(plain.status, file).toBe(200)
      expect(plain.headers['content-type'], file).toBe(type)
      expect(plain.headers['cache-control'], file).toBe('public, max-age=86400, immutable')
      expect(plain.headers['content-encoding'], file).toBeUndefined()
      expect(plain.headers.etag, file).toMatch(/^"[\w-]+"$/)
      expect(plain.body.length, file).toBeGreaterThan(1000)

      const again = await fetchRaw(`/docs/assets/${file}`, { 'if-none-match': plain.headers.etag as string })
      expect(again.status, file).toBe(304)
      expect(again.body.length, file).toBe(0)
      expect(again.headers.etag, file).toBe(plain.headers.etag)

      const gz = await fetchRaw(`/docs/assets/${file}`, { 'accept-encoding': 'br;q=1, gzip;q=0.8' })
      expect(gz.headers['content-encoding'], file).toBe('gzip')
      expect(gz.headers.vary, file).toBe('Accept-Encoding')
      expect(gz.headers.etag, file).not.toBe(plain.headers.etag)
      expect(gunzipSync(gz.body).equals(plain.body), file).toBe(true)
      expect(
        (await fetchRaw(`/docs/assets/${file}`, { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding'],
      ).toBe(undefined)
    }
  })

  it('answers 404 route-not-found for any other path under /docs', async () => {
    for (const path of [
      '/docs/',
      '/docs/index.html',
      '/docs/assets/',
      '/docs/assets/swagger-ui.js',
      '/docs/assets/swagger-ui-bundle.js.map',
      '/docs/assets/package.json',
      '/docs/assets/..%2Fpackage.json',
      '/docs/assets/init.js/x',
    ]) {
      const res = await fetchRaw(path)
      expect(res.status, path).toBe(404)
      expect(JSON.parse(res.body.toString('utf8')).code, path).toBe('route-not-found')
    }
  })
})

describe('the reference in a browser (headless Chromium)', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('renders from this origin only, switches language, takes a token in memory and runs Try it out for 200', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' })
    const page = await context.newPage()
    const watch = watchPage(page, origin)
    const docRequests: { lang: string | null; authorization: string | undefined }[] = []
    page.on('request', (r) => {
      const url = new URL(r.url())
      if (url.pathname === '/v1/openapi.json') {
        docRequests.push({ lang: url.searchParams.get('lang'), authorization: r.headers().authorization })
      }
    })

    const answer = await page.goto(`${origin}/docs`)
    expect(answer?.status()).toBe(200)
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN')
    await page.locator('.opblock').first().waitFor()
    expect(await page.locator('.opblock').count()).toBeGreaterThan(0)
    expect(docRequests).toEqual([{ lang: 'zh', authorization: undefined }])

    // Each step below reloads the document; this waits for the reload and says how it was asked for.
    const reloadBy = async (step: () => Promise<void>) => {
      const [res] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/openapi.json'),
        step(),
      ])
      expect(res.status()).toBe(200)
      return { lang: new URL(res.url()).searchParams.get('lang'), authorization: res.request().headers().authorization }
    }
    const status = () => page.locator('#qiao-status').textContent()
    const title = () => page.locator('.info .title').first().textContent()
    const publicTitle = await title()

    // The drc officer's token: the document is loaded again, with it, and is now drc's own.
    const token = await h.token({ dept: 'drc', scope: SCOPE })
    await page.getByLabel('访问令牌').fill(token)
    expect(await reloadBy(() => page.getByRole('button', { name: '使用令牌' }).click())).toEqual({
      lang: 'zh',
      authorization: `Bearer ${token}`,
    })
    await expect.poll(status).toMatch(/^已按令牌所属部门加载接口文档/)
    await expect.poll(title).toContain('drc')
    const drcTitle = await title()
    expect(drcTitle).not.toBe(publicTitle)

    // English and back, by keyboard: the buttons say which is on, <html lang> follows, the document is reloaded.
    const english = page.getByRole('button', { name: 'English' })
    const chinese = page.getByRole('button', { name: '中文' })
    expect(await chinese.getAttribute('aria-pressed')).toBe('true')
    await english.focus()
    expect(await reloadBy(() => page.keyboard.press('Enter'))).toEqual({ lang: 'en', authorization: `Bearer ${token}` })
    expect(await page.getAttribute('html', 'lang')).toBe('en')
    expect(await english.getAttribute('aria-pressed')).toBe('true')
    expect(await chinese.getAttribute('aria-pressed')).toBe('false')
    await page.getByLabel('Access token').waitFor()
    await expect.poll(status).toMatch(/^API document loaded for the token/)
    await expect.poll(title).not.toBe(drcTitle)
    expect(await title()).toContain('drc')
    await chinese.focus()
    expect(await reloadBy(() => page.keyboard.press('Space'))).toEqual({ lang: 'zh', authorization: `Bearer ${token}` })
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN')
    await expect.poll(status).toMatch(/^已按令牌所属部门加载接口文档/)
    await expect.poll(title).toBe(drcTitle)
    await page.getByLabel('访问令牌').waitFor()
    // README's picture: the top of drc's reference, token entered (shown as dots), before any Try it out (whose curl
    // line would show the token). Taken always; written into the repository only when asked
    // (QIAO_UPDATE_SCREENSHOTS=1), so a test run never changes the tree.
    const shot = await page.screenshot()
    expect(shot.length).toBeGreaterThan(10_000)
    if (process.env.QIAO_UPDATE_SCREENSHOTS === '1') {
      await mkdir(join(REPO, 'docs/screenshots'), { recursive: true })
      await writeFile(join(REPO, 'docs/screenshots/docs-zh.png'), shot)
    }

    // Expand the query, try it out.
    const block = page.locator('.opblock').filter({ hasText: QUERY_PATH }).first()
    await block.locator('.opblock-summary').first().click()
    await block.getByRole('button', { name: 'Try it out' }).click()

    await fillParameter(block.locator('tr[data-param-name="Qiao-Matter"]'), MATTER)
    await fillParameter(block.locator('tr[data-param-name="Qiao-Case"]'), 'NJ-2026-000123')
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    await block.locator('textarea.body-param__text').fill(JSON.stringify({ projectCode }))
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === QUERY_PATH && r.request().method() === 'POST'),
      block.getByRole('button', { name: 'Execute' }).click(),
    ])
    expect(response.status()).toBe(200)
    expect(new URL(response.url()).origin).toBe(origin)
    const sent = response.request().headers()
    expect(sent.authorization).toBe(`Bearer ${token}`)
    expect(sent['qiao-matter']).toBe(MATTER)
    const body = (await response.json()) as { data: unknown[]; meta: { count: number } }
    expect(body.meta.count).toBeGreaterThan(0)
    const code = block.locator('.live-responses-table .response .response-col_status').first()
    await expect.poll(() => code.textContent()).toMatch(/^\s*200\b/)

    // The token stayed in the page's memory: no storage, no cookie. Nothing left this origin, and the console has no
    // error at all (a CSP refusal would be one).
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0])
    expect(await context.cookies()).toEqual([])
    expect(watch.foreignRequests).toEqual([])
    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors).toEqual([])
    await context.close()
  }, 60_000)

  it('says in the page when the gateway refuses the token, and keeps the document it had', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await page.goto(`${origin}/docs`)
    await page.locator('.opblock').first().waitFor()
    const operations = await page.locator('.opblock').count()
    await page.getByLabel('访问令牌').fill('not-a-token')
    const [refused] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/openapi.json'),
      page.getByRole('button', { name: '使用令牌' }).click(),
    ])
    expect(refused.status()).toBe(401)
    const status = page.locator('#qiao-status')
    await expect.poll(() => status.textContent()).toMatch(/^接口文档加载失败：401 \S/)
    expect(await status.getAttribute('class')).toContain('error')
    expect(await status.textContent()).not.toContain('not-a-token')
    expect(await page.locator('.opblock').count()).toBe(operations)
    await context.close()
  }, 60_000)
})

/** A header parameter's field: a text input, or a select when the document lists the allowed values (`enum`). */
async function fillParameter(row: Locator, value: string): Promise<void> {
  const select = row.locator('select')
  if ((await select.count()) > 0) await select.selectOption(value)
  else await row.locator('input').fill(value)
}
