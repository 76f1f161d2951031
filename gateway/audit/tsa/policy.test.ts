import { describe, expect, it } from 'vitest'
import { readConfig } from '../../config/settings.js'
import { parseObjectIdentifier, parseTsaPolicy } from './policy.js'

describe('QIAO_AUDIT_TSA_* settings', () => {
  it('parses the policy: continue or refuse-after:<minutes>', () => {
    expect(parseTsaPolicy('continue')).toEqual({ kind: 'continue' })
    expect(parseTsaPolicy('refuse-after:30')).toEqual({ kind: 'refuse-after', afterMs: 30 * 60_000 })
    for (const bad of ['refuse-after:0', 'refuse-after:', 'refuse-after:1.5', 'stop', 'refuse-after:-1']) {
      expect(() => parseTsaPolicy(bad), bad).toThrow(/continue.*refuse-after/)
    }
    expect(parseObjectIdentifier('1.2.156.112562.3.1')).toBe('1.2.156.112562.3.1')
    expect(() => parseObjectIdentifier('1.2.x')).toThrow(/object identifier/)
  })

  it('is validated at start with every problem at once: https (http on loopback only), roots with the URL', () => {
    const result = readConfig({
      QIAO_AUDIT_TSA_URL: 'http://tsa.gov.example/tsp',
      QIAO_AUDIT_TSA_POLICY: 'refuse-after:soon',
      QIAO_AUDIT_TSA_POLICY_OID: 'policy-1',
    })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^QIAO_AUDIT_TSA_URL: expected an https: URL/),
        expect.stringMatching(/^QIAO_AUDIT_TSA_POLICY: expected `continue` or `refuse-after:<minutes>`/),
        expect.stringMatching(/^QIAO_AUDIT_TSA_POLICY_OID: expected a dotted object identifier/),
        'QIAO_AUDIT_TSA_URL and QIAO_AUDIT_TSA_ROOTS_FILE: set both or neither',
      ]),
    )
    const loopback = readConfig(
      { QIAO_AUDIT_TSA_URL: 'http://127.0.0.1:3180/tsp', QIAO_AUDIT_TSA_ROOTS_FILE: 'tsa-roots.pem' },
      '/srv/qiao',
    )
    expect(loopback.ok && loopback.config.auditTsaRootsFile).toBe('/srv/qiao/tsa-roots.pem')
    expect(loopback.ok && loopback.config.auditTsaPolicy).toEqual({ kind: 'continue' })
  })
})
