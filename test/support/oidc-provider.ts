import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import { errors, type InteractionDetails, Provider } from 'oidc-provider'
import { selfSignedCertificate } from './self-signed.js'

/**
 * A real OpenID Connect provider (oidc-provider) on loopback over https, as a 统一身份认证平台 would be for the
 * console: one confidential client (the console, PKCE required), officers with a department and the scopes they
 * may be granted, access tokens for Qiao as JWTs (resource indicators, `dept` claim), and a plain login page of
 * its own that a browser fills in. Its certificate is self-signed (openssl, in a scratch directory): processes
 * trust it through NODE_EXTRA_CA_CERTS=`caFile`, browsers with `ignoreHTTPSErrors`.
 */

export interface OidcAccount {
  readonly id: string
  readonly password: string
  readonly dept: string
  /** The Qiao scopes this officer may be granted; the rest of a request is refused (the token goes without). */
  readonly scopes: readonly string[]
}

export const WATER_OFFICER: OidcAccount = {
  id: 'water-officer',
  password: 'water-pass-2026',
  dept: 'water',
  scopes: ['sharing:apply'],
}
export const HOUSING_REVIEWER: OidcAccount = {
  id: 'housing-reviewer',
  password: 'housing-pass-2026',
  dept: 'housing',
  scopes: ['sharing:review'],
}

/** Every scope Qiao's console asks for (the resource server's scopes at this provider). */
const QIAO_SCOPES = ['sharing:apply', 'sharing:review', 'sharing:admin', 'audit:read', 'ops:read', 'catalog:admin']

export interface OidcProviderOptions {
  /** Qiao's audience: the one resource indicator this provider issues access tokens for. */
  readonly audience: string
  /** The console's redirect URI and where sign-out comes back to. */
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
  readonly accounts?: readonly OidcAccount[]
}

export interface TestOidcProvider {
  /** `https://127.0.0.1:<port>`: QIAO_CONSOLE_OIDC_ISSUER and QIAO_ISSUER. */
  readonly issuer: string
  /** QIAO_JWKS_URL. */
  readonly jwksUri: string
  /** The self-signed certificate, for NODE_EXTRA_CA_CERTS. */
  readonly caFile: string
  readonly clientId: string
  /** QIAO_CONSOLE_OIDC_CLIENT_SECRET_FILE. */
  readonly clientSecretFile: string
  close(): Promise<void>
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<TestOidcProvider> {
  const dir = await mkdtemp(join(tmpdir(), 'qiao-oidc-'))
  const { certFile: caFile, key, cert } = await selfSignedCertificate(dir)
  const clientId = 'qiao-console'
  const clientSecret = randomBytes(32).toString('base64url')
  const clientSecretFile = join(dir, 'client-secret')
  await writeFile(clientSecretFile, `${clientSecret}\n`, { mode: 0o600 })

  // The listener comes first: the issuer names its port.
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end()
  const server = createServer({ key, cert }, (req, res) => handle(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`

  const accounts = new Map((options.accounts ?? [WATER_OFFICER, HOUSING_REVIEWER]).map((a) => [a.id, a]))
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-op-es256', alg: 'ES256', use: 'sig' }
  const provider = createProvider(issuer, options, { clientId, clientSecret, signingKey, accounts })
  const providerListener = provider.callback()
  handle = (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname
    if (!path.startsWith('/interaction/')) return providerListener(req, res)
    interaction(provider, accounts, req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String((err as Error).message))
    })
  }

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    caFile,
    clientId,
    clientSecretFile,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function createProvider(
  issuer: string,
  options: OidcProviderOptions,
  made: {
    clientId: string
    clientSecret: string
    signingKey: Record<string, unknown>
    accounts: ReadonlyMap<string, OidcAccount>
  },
): Provider {
  const { accounts } = made
  return new Provider(issuer, {
    clients: [
      {
        client_id: made.clientId,
        client_secret: made.clientSecret,
        redirect_uris: [options.redirectUri],
        post_logout_redirect_uris: [options.postLogoutRedirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [made.signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    scopes: ['openid'],
    claims: { openid: ['sub'] },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    findAccount: (_ctx: unknown, id: string) =>
      accounts.has(id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined,
    // The department travels in the access token, as Qiao reads it from any token.
    extraTokenClaims: (_ctx: unknown, token: { kind: string; accountId?: string }) =>
      token.kind === 'AccessToken' && token.accountId !== undefined
        ? { dept: accounts.get(token.accountId)?.dept }
        : undefined,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== options.audience) throw new errors.InvalidTarget()
          return {
            scope: QIAO_SCOPES.join(' '),
            audience: options.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 3600,
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: { body: string }, form: string) => {
          ctx.body = page(
            '退出统一身份认证',
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">确认退出</button>`,
          )
        },
      },
    },
    // The provider's default pages load web fonts from elsewhere; these load nothing.
    renderError: (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html'
      ctx.body = page('出错了', `<p id="op-error">${escapeHtml(out.error ?? '')}</p>`)
    },
  })
}

/** The login page and its answers: sign-in and consent in one step, granting only what the account may have. */
async function interaction(
  provider: Provider,
  accounts: ReadonlyMap<string, OidcAccount>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  const action = new URL(req.url ?? '/', 'https://op.invalid').pathname.split('/')[3]
  if (req.method === 'POST' && action === 'abort') {
    const result = { error: 'access_denied', error_description: 'the officer cancelled the sign-in' }
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false })
  }
  if (details.prompt.name === 'consent' && details.session !== undefined) {
    return finish(provider, details, accounts.get(details.session.accountId), req, res)
  }
  if (req.method === 'POST' && action === 'login') {
    const form = new URLSearchParams(await bodyOf(req))
    const account = accounts.get(form.get('login') ?? '')
    if (account !== undefined && account.password === form.get('password'))
      return finish(provider, details, account, req, res)
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, true))
    return
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, false))
}

async function finish(
  provider: Provider,
  details: InteractionDetails,
  account: OidcAccount | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (account === undefined) throw new Error('the provider session names no account of this provider')
  const clientId = String(details.params.client_id)
  const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)
  const grant = existing ?? new provider.Grant({ accountId: account.id, clientId })
  grant.addOIDCScope('openid')
  const resource = String(details.params.resource ?? '')
  const requested = String(details.params.scope ?? '')
    .split(' ')
    .filter((s) => QIAO_SCOPES.includes(s))
  const may = new Set(account.scopes)
  const granted = requested.filter((s) => may.has(s))
  const refused = requested.filter((s) => !may.has(s))
  if (resource !== '' && granted.length > 0) grant.addResourceScope(resource, granted.join(' '))
  if (resource !== '' && refused.length > 0) grant.rejectResourceScope(resource, refused.join(' '))
  const result = { login: { accountId: account.id }, consent: { grantId: await grant.save() } }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false })
}

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

function loginPage(uid: string, failed: boolean): string {
  const error = failed ? '<p id="login-error" role="alert">用户名或密码不正确。</p>' : ''
  return page(
    '统一身份认证 · 登录',
    `${error}<form method="post" action="/interaction/${uid}/login">
<label for="login">用户名</label><input id="login" name="login" autocomplete="username">
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" id="op-sign-in">登录</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit" id="op-cancel">取消</button></form>`,
  )
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}
