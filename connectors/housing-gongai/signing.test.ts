import { describe, expect, it } from 'vitest'
import {
  computeSign,
  createRequestSigner,
  formatRequestTime,
  MAX_CLOCK_SKEW_MS,
  parseRequestTime,
  requestTimeProblem,
  verifySign,
} from './signing.js'

describe('signing', () => {
  // Vector computed independently: printf %s 'qiao-gatewaydemo-secret-change-me20260115093000' | md5sum
  const vector = {
    appKey: 'qiao-gateway',
    appSecret: 'demo-secret-change-me',
    requestTime: '20260115093000',
    sign: 'E3D46F36C712906D989DA79CA88C46BD',
  }

  it('signs MD5(appKey + appSecret + requestTime) in upper-case hex', () => {
    expect(computeSign(vector.appKey, vector.appSecret, vector.requestTime)).toBe(vector.sign)
  })

  it('verifies a sign, ignoring hex case, and refuses any other', () => {
    expect(verifySign(vector.sign, vector.appKey, vector.appSecret, vector.requestTime)).toBe(true)
    expect(verifySign(vector.sign.toLowerCase(), vector.appKey, vector.appSecret, vector.requestTime)).toBe(true)
    expect(verifySign(vector.sign, vector.appKey, 'other-secret', vector.requestTime)).toBe(false)
    expect(verifySign(vector.sign, vector.appKey, vector.appSecret, '20260115093001')).toBe(false)
    expect(verifySign('', vector.appKey, vector.appSecret, vector.requestTime)).toBe(false)
  })

  it('formats requestTime in Asia/Shanghai (UTC+8) and parses it back', () => {
    const at = Date.parse('2026-01-15T01:30:00Z')
    expect(formatRequestTime(at)).toBe('20260115093000')
    expect(formatRequestTime(Date.parse('2025-12-31T16:00:00Z'))).toBe('20260101000000')
    expect(parseRequestTime('20260115093000')).toBe(at)
    expect(parseRequestTime('20260230093000')).toBeUndefined()
    expect(parseRequestTime('2026-01-15 09:30:00')).toBeUndefined()
  })

  it('refuses a requestTime more than five minutes off', () => {
    const now = Date.parse('2026-01-15T01:30:00Z')
    expect(requestTimeProblem(formatRequestTime(now - MAX_CLOCK_SKEW_MS), now)).toBeUndefined()
    expect(requestTimeProblem(formatRequestTime(now + MAX_CLOCK_SKEW_MS), now)).toBeUndefined()
    expect(requestTimeProblem(formatRequestTime(now - MAX_CLOCK_SKEW_MS - 1000), now)).toBe('skew')
    expect(requestTimeProblem(formatRequestTime(now + MAX_CLOCK_SKEW_MS + 1000), now)).toBe('skew')
    expect(requestTimeProblem('not-a-time', now)).toBe('format')
  })

  it('signs once per second: every call in a second gets the same requestTime and sign, the next second new ones', () => {
    const signAt = createRequestSigner(vector.appKey, vector.appSecret)
    const second = Date.parse('2026-01-15T01:30:00Z')
    const first = signAt(second)
    expect(first).toEqual({ requestTime: vector.requestTime, sign: vector.sign })
    expect(signAt(second + 999)).toBe(first)
    const next = signAt(second + 1000)
    expect(next).toEqual({
      requestTime: '20260115093001',
      sign: computeSign(vector.appKey, vector.appSecret, '20260115093001'),
    })
    // A clock that steps back (NTP) gets that second's values, not the memo's.
    expect(signAt(second - 1)).toEqual({
      requestTime: '20260115092959',
      sign: computeSign(vector.appKey, vector.appSecret, '20260115092959'),
    })
  })
})
