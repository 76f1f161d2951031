import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/gateway.js'
import { checkReceipt, type Jwk, type Receipt } from './support/rfc9162-check.js'

/**
 * Issue #4 acceptance: an exchange answer's Qiao-Audit-Id is a receipt. Its inclusion proof verifies offline against
 * a signed checkpoint, with a checker written from the RFCs (test/support/rfc9162-check.ts), not with the gateway's
 * own proof code.
 */
let h: Harness
beforeAll(async () => {
  h = await startHarness({ env: { QIAO_AUDIT_CHECKPOINT_EVERY: '7' } })
})
afterAll(async () => {
  await h?.close()
})

describe('receipts', () => {
  it('every answer’s audit id proves offline against a signed checkpoint; any change to the record breaks it', async () => {
    const token = await h.token({ dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' })
    const projectCode = h.sim.data.permits[0]?.XMDM as string
    const auditIds: string[] = []
    for (let i = 0; i < 20; i++) {
      const res = await h.query(
        'housing.construction-permit',
        { projectCode },
        { token, matter: 'QT00301001', caseId: `RC-${i}` },
      )
      auditIds.push(res.headers['qiao-audit-id'] as string)
    }
    const auditor = await h.token({ dept: 'drc', sub: 'auditor-1', scope: 'audit:read' })
    const keys = (await h.get('/v1/audit/keys', auditor)).json.keys as Jwk[]
    expect(keys.length).toBeGreaterThan(0)
    const sizes = new Set<number>()
    for (const id of [auditIds[0], auditIds[9], auditIds[19]] as string[]) {
      const res = await h.get(`/v1/audit/records/${id}/proof`, auditor)
      expect(res.status).toBe(200)
      const receipt = res.json as unknown as Receipt
      expect((receipt.entry.record as { id: string }).id).toBe(id)
      const result = checkReceipt(receipt, keys)
      expect(result).toMatchObject({ ok: true })
      sizes.add(result.checkpoint?.size as number)

      const edited = structuredClone(receipt)
      ;(edited.entry.record as { status: number }).status = 500
      expect(checkReceipt(edited, keys)).toMatchObject({
        ok: false,
        reason: 'root from the proof differs from the signed root',
      })
      const moved = structuredClone(receipt)
      moved.entry.index += 1
      moved.leafIndex += 1
      expect(checkReceipt(moved, keys).ok).toBe(false)
      const forged = structuredClone(receipt)
      const [hdr, , sig] = forged.checkpoint.jws.split('.')
      const payload = JSON.parse(Buffer.from(forged.checkpoint.jws.split('.')[1] as string, 'base64url').toString())
      payload.size += 1
      forged.checkpoint.jws = `${hdr}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`
      expect(checkReceipt(forged, keys)).toMatchObject({ ok: false, reason: 'checkpoint signature does not verify' })
    }
    // Proofs against more than one checkpoint size were exercised (checkpoints every 7 records).
    expect(sizes.size).toBeGreaterThan(1)
  })
})
