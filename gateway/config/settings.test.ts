import { describe, expect, it } from 'vitest'
import { parseDuration, parseSize } from './parse.js'
import { DEMO_ISSUER, readConfig } from './settings.js'

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
})
