import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { WebhookError } from './errors.js'
import { generateWebhookSecret, signWebhook, verifyWebhook, webhookHeaders, webhookKey } from './signing.js'

// The Standard Webhooks specification's published test vector: matching it is what lets a receiver verify our
// deliveries with that specification's libraries.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
const TIMESTAMP = 1614265330
const BODY = '{"test": 2432232314}'
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
const AT = TIMESTAMP * 1000

const headers = (signature = SIGNATURE, timestamp = String(TIMESTAMP)) => ({
  'webhook-id': ID,
  'webhook-timestamp': timestamp,
  'webhook-signature': signature,
})

describe('Standard Webhooks signing', () => {
  it('reproduces the specification test vector', () => {
    expect(signWebhook(webhookKey(SECRET), ID, TIMESTAMP, BODY)).toBe(SIGNATURE)
    expect(webhookHeaders(webhookKey(SECRET), ID, TIMESTAMP, Buffer.from(BODY))).toEqual(headers())
  })

  it('signs what an independent HMAC-SHA256 over "<id>.<timestamp>.<body>" gives', () => {
    const secret = generateWebhookSecret()
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
    const body = JSON.stringify({ data: { 名称: '南京青溪城市发展有限公司' } })
    const independent = createHmac('sha256', key).update(`evt-1.1700000000.${body}`).digest('base64')
    expect(signWebhook(webhookKey(secret), 'evt-1', 1_700_000_000, body)).toBe(`v1,${independent}`)
  })

  it('verifies the vector from Node headers, fetch Headers and a secret without its prefix', () => {
    expect(verifyWebhook({ secret: SECRET, headers: headers(), body: BODY, now: AT })).toEqual({
      ok: true,
      id: ID,
      timestamp: TIMESTAMP,
    })
    expect(verifyWebhook({ secret: SECRET, headers: new Headers(headers()), body: BODY, now: AT }).ok).toBe(true)
    expect(verifyWebhook({ secret: SECRET.slice(6), headers: headers(), body: Buffer.from(BODY), now: AT }).ok).toBe(
      true,
    )
  })

  it('accepts one good signature among several (secret rotation) and ignores other versions', () => {
    const several = `v1a,abc v1,${Buffer.alloc(32).toString('base64')} ${SIGNATURE}`
    expect(verifyWebhook({ secret: SECRET, headers: headers(several), body: BODY, now: AT }).ok).toBe(true)
  })

  it('refuses a tampered body, a wrong secret, a wrong id and a truncated signature', () => {
    const refused = { ok: false, reason: 'signature-invalid' }
    expect(verifyWebhook({ secret: SECRET, headers: headers(), body: '{"test": 2432232315}', now: AT })).toEqual(
      refused,
    )
    expect(verifyWebhook({ secret: generateWebhookSecret(), headers: headers(), body: BODY, now: AT })).toEqual(refused)
    expect(
      verifyWebhook({ secret: SECRET, headers: { ...headers(), 'webhook-id': 'msg_other' }, body: BODY, now: AT }),
    ).toEqual(refused)
    expect(verifyWebhook({ secret: SECRET, headers: headers(SIGNATURE.slice(0, 20)), body: BODY, now: AT })).toEqual(
      refused,
    )
  })

  it('refuses a timestamp outside the 5-minute tolerance either way, or not a number', () => {
    const outside = { ok: false, reason: 'timestamp-outside-tolerance' }
    expect(verifyWebhook({ secret: SECRET, headers: headers(), body: BODY, now: AT + 300_000 }).ok).toBe(true)
    expect(verifyWebhook({ secret: SECRET, headers: headers(), body: BODY, now: AT + 301_000 })).toEqual(outside)
    expect(verifyWebhook({ secret: SECRET, headers: headers(), body: BODY, now: AT - 301_000 })).toEqual(outside)
    expect(
      verifyWebhook({ secret: SECRET, headers: headers(), body: BODY, now: AT + 20_000, toleranceSeconds: 10 }),
    ).toEqual(outside)
    expect(verifyWebhook({ secret: SECRET, headers: headers(SIGNATURE, '16e8'), body: BODY, now: AT })).toEqual({
      ok: false,
      reason: 'timestamp-invalid',
    })
  })

  it('refuses a delivery missing any of the three headers', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const partial: Record<string, string> = { ...headers() }
      delete partial[name]
      expect(verifyWebhook({ secret: SECRET, headers: partial, body: BODY, now: AT })).toEqual({
        ok: false,
        reason: 'headers-missing',
      })
    }
  })

  it('generates distinct secrets of 32 random bytes and refuses malformed ones without quoting them', () => {
    const a = generateWebhookSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(webhookKey(a)).toHaveLength(32)
    expect(generateWebhookSecret()).not.toBe(a)
    for (const bad of ['whsec_not base64!', 'whsec_c2hvcnQ=', `whsec_${Buffer.alloc(65).toString('base64')}`, '']) {
      const err = (() => {
        try {
          webhookKey(bad)
          return undefined
        } catch (e) {
          return e
        }
      })()
      expect(err).toBeInstanceOf(WebhookError)
      expect((err as WebhookError).code).toBe('webhook-secret-invalid')
      if (bad !== '') expect((err as Error).message).not.toContain(bad.slice(6))
    }
  })
})
