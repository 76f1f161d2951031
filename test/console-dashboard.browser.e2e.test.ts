import type { Browser, Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogEntry } from '../gateway/audit/entry.js'
import type { AdminAuditRecord } from '../gateway/audit/record.js'
import { usccCheckChar } from '../kernel/identifiers.js'
import { seriousViolations } from './support/axe.js'
import { launchChromium, watchPage } from './support/browser.js'
import { type DemoProcess, demoToken, signInDemo, startDemo } from './support/demo-process.js'
import { screenshot } from './support/screenshots.js'

/**
 * The auditor's dashboards against a real `qiao demo`: exchange calls made first (answered, denied, and one officer
 * looking up many companies), then in Chromium the four charts drawn by ECharts on canvas, the officers' table with
 * the unusual one said so in words, no serious accessibility violation, and a refused range at its field.
 */

const PROJECT = '2303-320115-04-03-518275'
const PERMITS = 'housing.construction-permit'
const MATTER = 'QT00301001'
const BULK = 22

let demo: DemoProcess
let browser: Browser
let auditorToken: string

async function exchange(token: string, matter: string, params: object, caseId: string): Promise<number> {
  const res = await request(`${demo.origin}/v1/resources/${PERMITS}/query`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'qiao-matter': matter,
      'qiao-case': caseId,
    },
    body: JSON.stringify(params),
  })
  await res.body.dump()
  return res.statusCode
}

beforeAll(async () => {
  demo = await startDemo()
  browser = await launchChromium()
  const drc = (sub: string) => demoToken(demo, { dept: 'drc', sub, scope: `${MATTER}:${PERMITS}:read` })
  for (const sub of ['drc-officer-1', 'drc-officer-2']) {
    expect(await exchange(await drc(sub), MATTER, { projectCode: PROJECT }, `NJ-${sub}`)).toBe(200)
  }
  // No scope for this matter: denied.
  expect(await exchange(await drc('drc-officer-1'), 'XK00208001', { projectCode: PROJECT }, 'NJ-DENIED')).toBe(403)
  const natres = await demoToken(demo, { dept: 'natres', sub: 'natres-officer-1', scope: `QR00112001:${PERMITS}:read` })
  expect(await exchange(natres, 'QR00112001', { projectCode: PROJECT }, 'ZR-1')).toBe(200)
  // One officer asks about 22 companies, one call each (住建 holds no permit of theirs).
  const bulk = await drc('drc-officer-bulk')
  for (let i = 0; i < BULK; i++) {
    const first17 = `91320100MA1Q${String(i).padStart(5, '0')}`
    const status = await exchange(bulk, MATTER, { ownerUscc: `${first17}${usccCheckChar(first17)}` }, `NJ-BULK-${i}`)
    expect(status).toBe(404)
  }
  auditorToken = await demoToken(demo, { dept: 'data', sub: 'auditor-check', scope: 'audit:read' })
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

/** The canvas as the page has it (the tests are type-checked without the DOM library). */
type Canvas2d = {
  width: number
  height: number
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }
}

/** Pixels of a chart's canvas that are neither transparent nor white: something was drawn. */
async function drawnPixels(page: Page, chartId: string): Promise<number> {
  return page.locator(`#${chartId} canvas`).evaluate((node) => {
    const canvas = node as unknown as Canvas2d
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    let inked = 0
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0, data[i + 3] ?? 0]
      if (a > 0 && !(r > 245 && g > 245 && b > 245)) inked += 1
    }
    return inked
  })
}

describe('the auditor’s dashboards', () => {
  it('draws the four charts and lists the officers, the unusual one marked in words', async () => {
    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'data', 'auditor')
    const watch = watchPage(page, demo.origin)
    await Promise.all([page.waitForURL(/\/console\/audit\/dashboard$/), page.click('nav >> text=统计图表')])
    expect(await page.textContent('h1')).toBe('审计统计图表')
    await page.locator('[data-chart-drawn=true]').nth(3).waitFor()
    const charts = ['chart-departments', 'chart-resources', 'chart-refusals', 'chart-after-hours']
    expect(await page.locator('[data-chart-drawn=true]').evaluateAll((nodes) => nodes.map((n) => n.id))).toEqual(charts)
    for (const id of charts) expect(await drawnPixels(page, id), id).toBeGreaterThan(500)
    expect(Number(await page.textContent('#stats-records'))).toBe(2 + 1 + 1 + BULK)

    // Names beside the codes, in the charts' own data tables.
    const departments = (await page.textContent('#chart-departments-title + .chart + details')) ?? ''
    expect(departments).toContain('南京市发展和改革委员会（drc）')
    expect(await page.textContent('figure:has(#chart-resources) details')).toContain(
      '建筑工程施工许可信息（housing.construction-permit）',
    )

    const officers = page.locator('#officers tbody tr')
    const bulkRow = (await officers.filter({ hasText: 'drc-officer-bulk' }).textContent()) ?? ''
    expect(bulkRow).toContain('异常偏多')
    expect(bulkRow).toContain(String(BULK))
    const usual = (await officers.filter({ hasText: 'drc-officer-1' }).textContent()) ?? ''
    expect(usual).toContain('正常')
    expect(usual).not.toContain('异常')
    expect((await officers.filter({ hasText: 'natres-officer-1' }).textContent()) ?? '').toContain('无可比较人员')

    expect(await seriousViolations(page)).toEqual([])
    await screenshot(page, 'console-dashboard')
    expect(watch.foreignRequests).toEqual([])
    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors).toEqual([])

    // The page read the statistics through the API with the auditor's token: the read is in the audit log.
    const res = await request(`${demo.origin}/v1/audit/records?kind=admin&limit=1000`, {
      headers: { authorization: `Bearer ${auditorToken}` },
    })
    const { records } = (await res.body.json()) as { records: LogEntry[] }
    const reads = records
      .map((e) => e.record as AdminAuditRecord)
      .filter((r) => r.action === 'audit.read' && r.details.route === '/v1/audit/stats')
    expect(reads.map((r) => [r.actor, r.outcome])).toContainEqual(['data/console-auditor-data', 'ok'])
    await context.close()
  }, 60_000)

  it('says at its field what is wrong with a range, in the page’s language, and only auditors may open it', async () => {
    const context = await browser.newContext()
    const page = await signInDemo(context, demo.origin, 'data', 'auditor')
    const answer = await page.goto(`${demo.origin}/console/audit/dashboard?from=2026-01-01&to=2026-12-31&lang=en`)
    expect(answer?.status()).toBe(400)
    const to = page.locator('#to')
    expect(await to.getAttribute('aria-invalid')).toBe('true')
    expect(await to.getAttribute('aria-describedby')).toBe('range-hint to-error')
    expect(await page.textContent('#to-error')).toBe('The period is at most 92 days, both days included.')
    expect(await page.locator('.summary:focus').count()).toBe(1)
    expect(await page.locator('[data-chart]').count()).toBe(0)
    expect(await seriousViolations(page)).toEqual([])

    const reviewer = await signInDemo(await browser.newContext(), demo.origin, 'housing', 'reviewer')
    const refused = await reviewer.goto(`${demo.origin}/console/audit/dashboard`)
    expect(refused?.status()).toBe(403)
    await context.close()
  }, 60_000)
})
