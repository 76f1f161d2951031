import { describe, expect, expectTypeOf, it } from 'vitest'
import { parseDuration, parseSize } from './parse.js'
import { type Config, DEMO_ISSUER, type JwtAlgorithm, readConfig, SETTINGS } from './settings.js'

describe('configuration', () => {
  it('defaults to 127.0.0.1:8080; demo mode only when started as the demo', () => {
    const plain = readConfig({}, '/srv/qiao')
    expect(plain.ok && plain.config.demoMode).toBe(false)
    const result = readConfig({}, '/srv/qiao', { demo: true })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    const c = result.config
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8080, demoMode: true, issuer: DEMO_ISSUER, audience: 'qiao' })
    expect(c.catalog).toBe('/srv/qiao/catalog.yaml')
    expect(c.auditDir).toBe('/srv/qiao/.qiao/audit')
    expect(c.bodyLimit).toBe(1024 * 1024)
    expect(c.clockToleranceMs).toBe(30_000)
    expect(c.jwtAlgorithms).toEqual(['EdDSA', 'ES256', 'RS256', 'PS256'])
    expect(Object.isFrozen(c)).toBe(true)
  })

  it('reports every problem at once', () => {
    const result = readConfig({
      QIAO_PORT: 'eighty',
      QIAO_BODY_LIMIT: 'huge',
      QIAO_JWT_ALGORITHMS: 'RS256,none',
      QIAO_JWKS_URL: 'ftp://x',
      QIAO_LOG_LEVEL: 'loud',
    })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.errors.map((e) => e.split(':')[0])).toEqual([
      'QIAO_PORT',
      'QIAO_JWKS_URL',
      'QIAO_JWT_ALGORITHMS',
      'QIAO_BODY_LIMIT',
      'QIAO_LOG_LEVEL',
    ])
  })

  it('needs an issuer with a key set, one key source only, and a secret for HS*', () => {
    const r1 = readConfig({ QIAO_JWKS_URL: 'https://idp.example/jwks' })
    expect(r1.ok === false && r1.errors).toEqual([
      'QIAO_ISSUER: required when QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE is set',
    ])
    const r2 = readConfig({ QIAO_JWKS_URL: 'https://idp.example/jwks', QIAO_JWKS_FILE: 'k.json', QIAO_ISSUER: 'i' })
    expect(r2.ok).toBe(false)
    const r3 = readConfig({ QIAO_JWT_ALGORITHMS: 'HS256' })
    expect(r3.ok === false && r3.errors).toEqual(['QIAO_JWT_ALGORITHMS: HS* algorithms need QIAO_JWT_HMAC_SECRET_FILE'])
  })

  it('console OIDC sign-in: an https issuer with its client id and the console URL, all problems at once', () => {
    const oidc = {
      QIAO_CONSOLE_OIDC_ISSUER: 'https://idp.gov.example/realms/zwfw',
      QIAO_CONSOLE_OIDC_CLIENT_ID: 'qiao-console',
      QIAO_CONSOLE_OIDC_CLIENT_SECRET_FILE: 'secrets/console-oidc',
      QIAO_CONSOLE_URL: 'https://qiao.example.gov.cn/',
    }
    const ok = readConfig(oidc, '/srv/qiao')
    expect(ok.ok && ok.config).toMatchObject({
      consoleOidcIssuer: 'https://idp.gov.example/realms/zwfw',
      consoleOidcClientId: 'qiao-console',
      consoleOidcClientSecretFile: '/srv/qiao/secrets/console-oidc',
      consoleUrl: 'https://qiao.example.gov.cn',
    })
    // A public client (no secret) and a console on loopback over http are fine.
    const local = readConfig({
      ...oidc,
      QIAO_CONSOLE_OIDC_CLIENT_SECRET_FILE: '',
      QIAO_CONSOLE_URL: 'http://localhost:8080',
    })
    expect(local.ok && [local.config.consoleOidcClientSecretFile, local.config.consoleUrl]).toEqual([
      undefined,
      'http://localhost:8080',
    ])

    const missing = readConfig({ QIAO_CONSOLE_OIDC_ISSUER: oidc.QIAO_CONSOLE_OIDC_ISSUER })
    expect(missing.ok === false && missing.errors).toEqual([
      'QIAO_CONSOLE_OIDC_CLIENT_ID: required with QIAO_CONSOLE_OIDC_ISSUER',
      'QIAO_CONSOLE_URL: required with QIAO_CONSOLE_OIDC_ISSUER',
    ])
    const bad = readConfig({
      ...oidc,
      QIAO_CONSOLE_OIDC_ISSUER: 'http://idp.gov.example',
      QIAO_CONSOLE_URL: 'http://qiao.example.gov.cn',
    })
    expect(bad.ok === false && bad.errors.map((e) => e.split(':')[0])).toEqual([
      'QIAO_CONSOLE_OIDC_ISSUER',
      'QIAO_CONSOLE_URL',
    ])
    const withQuery = readConfig({ ...oidc, QIAO_CONSOLE_OIDC_ISSUER: 'https://idp.gov.example/?tenant=1' })
    expect(withQuery.ok === false && withQuery.errors).toEqual([
      'QIAO_CONSOLE_OIDC_ISSUER: expected an https: issuer URL without query or fragment',
    ])
    const withPath = readConfig({ ...oidc, QIAO_CONSOLE_URL: 'https://qiao.example.gov.cn/console' })
    expect(withPath.ok === false && withPath.errors).toEqual([
      'QIAO_CONSOLE_URL: expected scheme, host and port only, such as https://qiao.example.gov.cn',
    ])
    const orphan = readConfig({ QIAO_CONSOLE_OIDC_CLIENT_ID: 'qiao-console' })
    expect(orphan.ok === false && orphan.errors).toEqual([
      'QIAO_CONSOLE_OIDC_CLIENT_ID: set without QIAO_CONSOLE_OIDC_ISSUER',
    ])
  })

  it('parses durations and sizes', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('10m')).toBe(600_000)
    expect(parseDuration('250')).toBe(250)
    expect(parseSize('1MiB')).toBe(1_048_576)
    expect(parseSize('512KiB')).toBe(524_288)
    expect(parseSize('1000')).toBe(1000)
    expect(() => parseDuration('soon')).toThrow(/duration/)
  })

  it('gives Config one field per setting, named as the code reads them, plus demo mode', () => {
    const result = readConfig({}, '/srv/qiao')
    expect(result.ok).toBe(true)
    if (!result.ok) return
    // The field names every consumer reads: a renamed setting key would break them.
    const fields = [
      'host',
      'port',
      'workers',
      'catalog',
      'dataDir',
      'issuer',
      'audience',
      'jwksUrl',
      'jwksFile',
      'jwtAlgorithms',
      'jwtHmacSecretFile',
      'clockToleranceMs',
      'jwksCooldownMs',
      'jwksMaxAgeMs',
      'tokenCacheMax',
      'tokenCacheTtlMs',
      'tokenMaxLifetimeMs',
      'metricsHost',
      'metricsPort',
      'bodyLimit',
      'idempotencyTtlMs',
      'idempotencyMaxAnswer',
      'stateUrl',
      'healthInterval',
      'drainTimeoutMs',
      'drainPrestopMs',
      'logLevel',
      'auditDir',
      'auditKeyFile',
      'auditUrl',
      'auditLogId',
      'auditHash',
      'auditSigningKeyFile',
      'auditSignatureAlg',
      'auditCheckpointEvery',
      'auditCheckpointIntervalMs',
      'auditSegmentMaxSize',
      'auditSegmentMaxRecords',
      'auditSegmentMaxAgeMs',
      'auditMinFreeBytes',
      'auditRetentionMs',
      'auditTsaUrl',
      'auditTsaRootsFile',
      'auditTsaPolicy',
      'auditTsaPolicyOid',
      'quotaRedisUrl',
      'quotaKeyPrefix',
      'workingCalendarFile',
      'sharingConformityDays',
      'sharingReviewDays',
      'sharingReviewDaysUnpublished',
      'sharingScanIntervalMs',
      'sharingWebhookUrl',
      'sharingWebhookSecretFile',
      'objectionDays',
      'subscriptionsNatsUrl',
      'subscriptionsFeedInterval',
      'subscriptionsWebhookHosts',
      'subjectPortalClients',
      'consoleOidcIssuer',
      'consoleOidcClientId',
      'consoleOidcClientSecretFile',
      'consoleUrl',
      'demoMode',
    ]
    expect(new Set(Object.keys(SETTINGS)).size + 1).toBe(fields.length)
    for (const field of fields) expect(field in SETTINGS || field === 'demoMode', field).toBe(true)
    // Unset settings without a default are present as undefined, so every field is an own key.
    expect(Object.keys(result.config).sort()).toEqual([...fields].sort())
    // Types follow the parsers: a default means always set; none means possibly undefined.
    expectTypeOf<Config['port']>().toEqualTypeOf<number>()
    expectTypeOf<Config['metricsPort']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<Config['auditDir']>().toEqualTypeOf<string>()
    expectTypeOf<Config['auditHash']>().toEqualTypeOf<'sha256' | 'sm3'>()
    expectTypeOf<Config['auditSignatureAlg']>().toEqualTypeOf<'Ed25519' | 'SM2'>()
    expectTypeOf<Config['jwtAlgorithms']>().toEqualTypeOf<readonly JwtAlgorithm[]>()
    expectTypeOf<Config['stateUrl']>().toEqualTypeOf<string | undefined>()
  })

  it('reads the webhook hosts of subscriptions as a list of DNS names or *.suffixes', () => {
    const ok = readConfig({ QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS: ' Hooks.FGW.nanjing.gov.cn, *.zjj.nanjing.gov.cn ' })
    expect(ok.ok && ok.config.subscriptionsWebhookHosts).toEqual(['hooks.fgw.nanjing.gov.cn', '*.zjj.nanjing.gov.cn'])
    const bad = readConfig({ QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS: 'https://hooks.example,a..b,ok.example' })
    expect(bad.ok ? [] : bad.errors).toEqual(['QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS: 2 host(s) not a DNS name or *.suffix'])
  })

  it('reads the trusted portals of GET /v1/subject-accesses as a list of client ids', () => {
    const ok = readConfig({ QIAO_SUBJECT_PORTAL_CLIENTS: ' js-zwfw-mydata, nj-12345,js-zwfw-mydata ' })
    expect(ok.ok && ok.config.subjectPortalClients).toEqual(['js-zwfw-mydata', 'nj-12345'])
    const bad = readConfig({ QIAO_SUBJECT_PORTAL_CLIENTS: 'portal one,门户' })
    expect(bad.ok ? [] : bad.errors).toEqual([
      'QIAO_SUBJECT_PORTAL_CLIENTS: 2 client id(s) not printable ASCII of 1 to 128 characters without spaces',
    ])
  })

  it('derives paths and defaults from the data directory; an empty variable is unset', () => {
    const result = readConfig(
      { QIAO_DATA_DIR: 'state', QIAO_JWKS_FILE: 'keys/jwks.json', QIAO_ISSUER: 'https://idp.example', QIAO_PORT: '' },
      '/srv/qiao',
      { demo: true },
    )
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.config).toMatchObject({
      dataDir: '/srv/qiao/state',
      jwksFile: '/srv/qiao/keys/jwks.json',
      auditDir: '/srv/qiao/state/audit',
      auditKeyFile: '/srv/qiao/state/audit-hmac.key',
      auditSigningKeyFile: '/srv/qiao/state/audit-signing-key.jwk.json',
      issuer: 'https://idp.example',
      port: 8080,
      demoMode: false,
    })
    expect(result.config.auditLogId).toMatch(/^qiao-[A-Za-z0-9._-]+$/)
    const serve = readConfig({}, '/srv/qiao', { requireKeySource: true })
    expect(serve.ok === false && serve.errors).toEqual([
      'no token key source: set QIAO_JWKS_URL, QIAO_JWKS_FILE or QIAO_JWT_HMAC_SECRET_FILE (only `qiao demo` runs with a dev key)',
    ])
  })
})
