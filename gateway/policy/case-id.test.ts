import { describe, expect, it } from 'vitest'
import { parseFilter } from '../audit/query.js'
import { CASE_ID, isAuditCaseId } from './case-id.js'

describe('case ids', () => {
  it('takes real case numbers of any script, and the case of a subscription’s records', () => {
    for (const ok of ['NJ-2026-000123', '宁城管-2026-0042', '宁建审〔2026〕12号', 'A(1)', '【急】2026.1']) {
      expect(CASE_ID.test(ok), ok).toBe(true)
      expect(isAuditCaseId(ok), ok).toBe(true)
    }
    expect(isAuditCaseId(`subscription:sub_${'0a'.repeat(16)}`)).toBe(true)
    expect(CASE_ID.test(`subscription:sub_${'0a'.repeat(16)}`)).toBe(false)
    for (const bad of ['', 'a b', 'x'.repeat(65), 'a\u200bb', 'subscription:other', 'a;b', 'subscription:sub_XYZ']) {
      expect(isAuditCaseId(bad), bad).toBe(false)
    }
  })

  it('an auditor can look the records of those cases up (GET /v1/audit/records?case=)', () => {
    for (const value of ['宁城管-2026-0042', `subscription:sub_${'0a'.repeat(16)}`]) {
      expect(parseFilter({ case: value })).toEqual({
        ok: true,
        value: { filter: { case: value }, subject: undefined, used: ['case'] },
      })
    }
    expect(parseFilter({ case: 'a b' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/^case: /)] })
  })
})
