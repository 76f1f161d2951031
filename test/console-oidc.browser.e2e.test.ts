import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFileAuditBackend } from '../gateway/audit/file-backend.js'
import { seriousViolations } from './support/axe.js'
import { launchChromium, watchPage } from './support/browser.js'
import { startHarness } from './support/gateway.js'
import {
  type GatewayProcess,
  startGatewayProcess,
  stopGatewayProcess,
  waitForOutput,
} from './support/gateway-process.js'
import {
  HOUSING_REVIEWER,
  type OidcAccount,
  startOidcProvider,
  type TestOidcProvider,
  WATER_OFFICER,
} from './support/oidc-provider.js'

/**
 * Console sign-in with OpenID Connect, for `qiao serve`: a real oidc-provider over https on loopback, the gateway
 * as its own process trusting the provider's certificate, Chromium between them. The console is reached as
 * `localhost` and the provider as `127.0.0.1`, two sites, so the provider's redirect back is cross-site as it is
 * in production (the SameSite=Strict session cookie stays off it).
 */

const AUDIENCE = 'urn:qiao:console-oidc-test'
const RESOURCE = 'housing.construction-permit'
const WATER_MATTER = 'XK00377001'

let dir: string
let op: TestOidcProvider
let gateway: GatewayProcess
let consoleUrl: string
let browser: Browser

/** A port free right now: the console's URL (and so the provider's redirect URI) must be known before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-console-oidc-'))
  const port = await freePort()
  consoleUrl = `http://localhost:${port}`
  op = await startOidcProvider({
    audience: AUDIENCE,
    redirectUri: `${consoleUrl}/console/oidc/callback`,
    postLogoutRedirectUri: `${consoleUrl}/console/sign-in`,
  })
  gateway = await startGatewayProcess({
    QIAO_PORT: String(port),
    QIAO_DATA_DIR: join(dir, 'data'),
    QIAO_AUDIT_LOG_ID: 'console-oidc-gw',
    QIAO_JWKS_URL: op.jwksUri,
    QIAO_ISSUER: op.issuer,
    QIAO_AUDIENCE: AUDIENCE,
    QIAO_CONSOLE_OIDC_ISSUER: op.issuer,
    QIAO_CONSOLE_OIDC_CLIENT_ID: op.clientId,
    QIAO_CONSOLE_OIDC_CLIENT_SECRET_FILE: op.clientSecretFile,
    QIAO_CONSOLE_URL: consoleUrl,
    NODE_EXTRA_CA_CERTS: op.caFile,
  })
  await waitForOutput(gateway, /console OIDC provider discovered/, 'discovery of the provider')
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (gateway) await stopGatewayProcess(gateway)
  await op?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const newContext = () => browser.newContext({ ignoreHTTPSErrors: true })

/** The console's sign-in form with this role chosen, submitted: resolves on the provider's login page. */
async function startSignIn(context: BrowserContext, role: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${consoleUrl}/console/sign-in`)
  await page.check(`#role-${role}`)
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${op.issuer}/interaction/`)),
    page.click('main button[type=submit]'),
  ])
  return page
}

/** Back on the console with its answer to the callback: a failure page (at the callback) or the landing page. */
const answered = (url: URL) =>
  url.href.startsWith(consoleUrl) && (url.searchParams.has('resumed') || !url.pathname.startsWith('/console/oidc/'))

/** Signs in at the provider's login page; resolves once the console has answered the callback. */
async function logInAtProvider(page: Page, account: OidcAccount): Promise<void> {
  await page.fill('#login', account.id)
  await page.fill('#password', account.password)
  await Promise.all([page.waitForURL(answered), page.click('#op-sign-in')])
}

const failureOf = (page: Page) => page.getAttribute('#sign-in-failure', 'data-failure')

describe('console sign-in with OpenID Connect (qiao serve, oidc-provider, Chromium)', () => {
  it('the 水务 officer signs in at the provider (PKCE S256, state), applies for 施工许可, sees 待合规审查, and signs out', async () => {
    const context = await newContext()
    const page = await context.newPage()
    const watch = watchPage(page, consoleUrl)
    const authorizationRequests: URL[] = []
    page.on('request', (r) => {
      if (r.url().startsWith(`${op.issuer}/auth`)) authorizationRequests.push(new URL(r.url()))
    })

    const signInPage = await page.goto(`${consoleUrl}/console/sign-in`)
    // The form's 303 leads to the provider: the CSP lets forms go there too, and nowhere else.
    expect(signInPage?.headers()['content-security-policy']).toContain(`form-action 'self' ${op.issuer};`)
    expect(await page.locator('fieldset input[type=radio][name=role]').count()).toBe(5)
    for (const role of ['applicant', 'reviewer', 'authority', 'auditor', 'operator'])
      expect(await page.locator(`label[for=role-${role}]`).count()).toBe(1)
    expect(await seriousViolations(page)).toEqual([])
    await page.check('#role-applicant')
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(`${op.issuer}/interaction/`)),
      page.click('main button[type=submit]'),
    ])

    const [authorization] = authorizationRequests
    expect(authorizationRequests).toHaveLength(1)
    const q = authorization?.searchParams
    expect(q?.get('response_type')).toBe('code')
    expect(q?.get('client_id')).toBe(op.clientId)
    expect(q?.get('redirect_uri')).toBe(`${consoleUrl}/console/oidc/callback`)
    expect(q?.get('code_challenge_method')).toBe('S256')
    expect(q?.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(q?.get('state')).toMatch(/^[A-Za-z0-9_-]{32,}$/)
    expect(q?.get('nonce')).toMatch(/^[A-Za-z0-9_-]{32,}$/)
    expect(q?.get('scope')).toBe('openid sharing:apply')
    expect(q?.get('resource')).toBe(AUDIENCE)
    // The verifier and state stay on the server: the browser holds nothing but the session cookie.
    expect((await context.cookies(`${consoleUrl}/console/`)).map((c) => c.name)).toEqual(['qiao_console'])

    await logInAtProvider(page, WATER_OFFICER)
    expect(new URL(page.url()).pathname).toBe('/console/applications')
    expect(await page.textContent('header')).toContain('办事部门')
    const cookie = (await context.cookies(`${consoleUrl}/console/`)).find((c) => c.name === 'qiao_console')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' })

    await page.click('nav >> text=目录')
    await page.fill('#q', '施工许可')
    await Promise.all([page.waitForURL(/q=/), page.press('#q', 'Enter')])
    await Promise.all([
      page.waitForURL(new RegExp(`/console/catalog/${RESOURCE}$`)),
      page.click(`a[href="/console/catalog/${RESOURCE}"]`),
    ])
    await Promise.all([page.waitForURL(/\/console\/applications\/new\?resource=/), page.click('text=申请共享')])
    await page.selectOption('#matter', WATER_MATTER)
    await page.selectOption('#usage', '行政依据')
    for (const id of ['clear-permitNo', 'clear-projectCode', 'clear-projectName']) await page.check(`#${id}`)
    await page.fill('#legalBasis', '《城镇排水与污水处理条例》第二十一条')
    await page.fill('#scene', '建设项目开工"一件事"')
    await page.fill('#scopeOfUse', '排水许可审批中核对施工许可')
    await page.fill('#validTo', new Date(Date.now() + 180 * 86_400_000).toISOString().slice(0, 10))
    await page.fill('#contactName', '王工')
    await page.fill('#contactPhone', '025-83001234')
    await Promise.all([
      page.waitForURL(/\/console\/applications\/[0-9a-f-]{36}$/),
      page.click('main button[type=submit]'),
    ])
    expect(await page.textContent('#state')).toBe('待合规审查')

    // Sign-out: the session goes here, then the provider ends its own and sends the browser back to sign-in.
    const oldCookie = `qiao_console=${cookie?.value}`
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(`${op.issuer}/session/end`)),
      page.click('text=退出'),
    ])
    expect(new URL(page.url()).searchParams.get('id_token_hint')).toMatch(/^ey/)
    await Promise.all([page.waitForURL(`${consoleUrl}/console/sign-in`), page.click('button[name=logout]')])
    const after = await request(`${consoleUrl}/console/catalog`, { headers: { cookie: oldCookie } })
    expect(after.statusCode).toBe(303)
    expect(after.headers.location).toBe('/console/sign-in')
    await after.body.dump()

    expect(watch.pageErrors).toEqual([])
    expect(watch.consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([])
    await context.close()
  }, 90_000)

  it('a callback with a wrong state is refused and leaves the sign-in in progress alone; a replayed callback is refused', async () => {
    const context = await newContext()
    const page = await startSignIn(context, 'applicant')
    const loginPage = page.url()
    const forged = await page.goto(
      `${consoleUrl}/console/oidc/callback?code=forged-code-4711&state=not-this-browsers&iss=${encodeURIComponent(op.issuer)}`,
    )
    expect(forged?.status()).toBe(400)
    expect(await failureOf(page)).toBe('state-mismatch')
    expect(await page.textContent('main')).toContain('state 不一致')

    const callbacks: string[] = []
    page.on('request', (r) => {
      if (r.url().includes('/console/oidc/callback?code=')) callbacks.push(r.url())
    })
    await page.goto(loginPage)
    await logInAtProvider(page, WATER_OFFICER)
    expect(new URL(page.url()).pathname).toBe('/console/applications')

    // The same callback again (the code used, the sign-in it answered over): a clear page, no second session.
    const replay = callbacks[0] as string
    const again = await page.goto(replay)
    expect(again?.status()).toBe(400)
    expect(await failureOf(page)).toBe('sign-in-expired')

    const log = gateway.output()
    expect(log).toContain('"reason":"state-mismatch"')
    expect(log).not.toContain('forged-code-4711')
    expect(log).not.toContain(new URL(replay).searchParams.get('code') as string)
    await context.close()
  }, 60_000)

  it('an authorization code the provider does not know is refused as such (invalid_grant), logged without it', async () => {
    const context = await newContext()
    const page = await context.newPage()
    let state = ''
    page.on('request', (r) => {
      if (r.url().startsWith(`${op.issuer}/auth`)) state = new URL(r.url()).searchParams.get('state') ?? ''
    })
    await page.goto(`${consoleUrl}/console/sign-in`)
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(`${op.issuer}/interaction/`)),
      page.click('main button[type=submit]'),
    ])
    const answer = await page.goto(
      `${consoleUrl}/console/oidc/callback?code=made-up-code-0815&state=${state}&iss=${encodeURIComponent(op.issuer)}`,
    )
    expect(answer?.status()).toBe(400)
    expect(await failureOf(page)).toBe('code-rejected')
    expect(gateway.output()).toContain('"error":"invalid_grant"')
    expect(gateway.output()).not.toContain('made-up-code-0815')
    await context.close()
  }, 30_000)

  it('a sign-in cancelled at the provider (error=access_denied) ends on a clear page', async () => {
    const context = await newContext()
    const page = await startSignIn(context, 'applicant')
    await Promise.all([page.waitForURL(answered), page.click('#op-cancel')])
    expect(await failureOf(page)).toBe('idp-refused')
    expect(await page.textContent('h1')).toBe('登录未完成')
    expect(await seriousViolations(page)).toEqual([])
    await context.close()
  }, 30_000)

  it('a role the provider does not grant ends in the 403 page and no session; the role it grants signs in', async () => {
    const context = await newContext()
    const page = await startSignIn(context, 'auditor')
    const [callback] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('resumed=1')),
      logInAtProvider(page, HOUSING_REVIEWER),
    ])
    expect(callback.status()).toBe(403)
    expect(await failureOf(page)).toBe('role-not-granted')
    expect(await page.textContent('main')).toContain('没有授予您所选的角色')
    await Promise.all([page.waitForURL(/\/console\/sign-in$/), page.goto(`${consoleUrl}/console/audit`)])

    await page.check('#role-reviewer')
    // Still signed in at the provider: it answers at once, with the reviewer's scope this time.
    await Promise.all([page.waitForURL(answered), page.click('main button[type=submit]')])
    expect(new URL(page.url()).pathname).toBe('/console/review')
    expect(await page.textContent('header')).toContain('数源部门审核')
    await context.close()
  }, 60_000)

  it('the refusal is in the audit log as a console.access record of the officer', async () => {
    await stopGatewayProcess(gateway)
    const backend = createFileAuditBackend({ dir: join(dir, 'data', 'audit'), now: Date.now })
    const refusals = []
    for await (const e of backend.query({})) {
      if (e.record.kind === 'admin' && e.record.action === 'console.access') refusals.push(e.record)
    }
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toMatchObject({
      actor: 'housing/housing-reviewer',
      outcome: 'rejected',
      details: { page: '/console/oidc/callback', role: 'auditor', status: 403, reason: 'role-not-granted' },
    })
  }, 30_000)
})

describe('console sign-in with OpenID Connect while the provider is unreachable', () => {
  it('the sign-in page still shows and says so on submit (503); other pages make no request to it', async () => {
    const closed = await freePort()
    const issuer = `https://127.0.0.1:${closed}`
    const h = await startHarness({
      env: {
        QIAO_CONSOLE_OIDC_ISSUER: issuer,
        QIAO_CONSOLE_OIDC_CLIENT_ID: 'qiao-console',
        QIAO_CONSOLE_URL: 'http://127.0.0.1:8080',
      },
    })
    try {
      const url = h.gateway.url
      const form = await request(`${url}/console/sign-in`)
      expect(form.statusCode).toBe(200)
      expect(form.headers['content-security-policy']).toContain(`form-action 'self' ${issuer};`)
      const html = await form.body.text()
      const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] as string
      const cookie = String(form.headers['set-cookie']).split(';')[0] as string
      const headers = { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: url }

      const noRole = await request(`${url}/console/sign-in`, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ _csrf: csrf }).toString(),
      })
      expect(noRole.statusCode).toBe(422)
      expect(await noRole.body.text()).toContain('aria-describedby="role-error"')

      const submitted = await request(`${url}/console/sign-in`, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ _csrf: csrf, role: 'applicant' }).toString(),
      })
      expect(submitted.statusCode).toBe(503)
      expect(await submitted.body.text()).toContain('暂时无法连接统一身份认证平台')
      const failures = h.logLines.filter((l) => l.includes('console OIDC discovery failed'))
      // Once at start (in the background), once more for this sign-in.
      expect(failures.length).toBeGreaterThanOrEqual(2)
      expect(failures[0]).toContain('ECONNREFUSED')

      const before = failures.length
      const catalog = await request(`${url}/console/catalog`, { headers: { cookie } })
      expect(catalog.statusCode).toBe(303)
      expect(catalog.headers.location).toBe('/console/sign-in')
      await catalog.body.dump()
      expect(h.logLines.filter((l) => l.includes('console OIDC discovery failed'))).toHaveLength(before)
    } finally {
      await h.close()
    }
  })
})
