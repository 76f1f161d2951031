import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSample as drcSample, NON_BMP_COMPANY_NAME } from '../connectors/drc-tzxm/simulator/index.js'
import { seedSample as marketSample } from '../connectors/market-qzk/simulator/index.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { type Harness, type HttpResult, startHarness } from './support/gateway.js'

/**
 * Issue #3 end to end: the 发改 SOAP/GBK platform and the 市场监管 front-end database behind the gateway, and the
 * write exchange (住建 returns a construction-permit result to 发改, primer §6.3 #5) with idempotency keys.
 */
let h: Harness
const drc = drcSample()
const market = marketSample()

beforeAll(async () => {
  h = await startHarness({ market: true })
})
afterAll(async () => {
  await h?.close()
})

async function lastAudit(): Promise<ExchangeAuditRecord> {
  return (await h.auditRecords()).at(-1) as ExchangeAuditRecord
}

function problemCode(res: HttpResult): unknown {
  return res.json.code
}

describe('发改 investment-project platform (SOAP 1.1, GBK)', () => {
  const asHousing = (resource: string) => h.token({ dept: 'housing', scope: `XK00105001:${resource}:read` })

  it('a company name outside the BMP round-trips through the GBK/GB18030 path intact', async () => {
    const res = await h.query(
      'drc.investment-project',
      { projectCode: drc.nonBmpProjectCode },
      {
        token: await asHousing('drc.investment-project'),
        matter: 'XK00105001',
        caseId: 'SG-2026-0001',
      },
    )
    expect(res.status).toBe(200)
    // Cardinality one still answers an array: of exactly one record.
    const records = res.json.data as { companyName: string; projectCode: string }[]
    expect(records).toHaveLength(1)
    expect(res.json.meta).toMatchObject({ count: 1 })
    const project = records[0] as { companyName: string; projectCode: string }
    expect(project.companyName).toBe(NON_BMP_COMPANY_NAME)
    expect([...project.companyName].some((ch) => (ch.codePointAt(0) as number) > 0xffff)).toBe(true)
    expect(project.projectCode).toBe(drc.nonBmpProjectCode)
    expect(await lastAudit()).toMatchObject({
      decision: 'allow',
      reason: 'ok',
      resource: 'drc.investment-project',
      recordCount: 1,
    })
  })

  it('a SOAP fault for an unknown project code → 404 record-not-found', async () => {
    const res = await h.query(
      'drc.investment-project',
      { projectCode: drc.unknownProjectCode },
      {
        token: await asHousing('drc.investment-project'),
        matter: 'XK00105001',
        caseId: 'SG-2026-0002',
      },
    )
    expect(res.status).toBe(404)
    expect(problemCode(res)).toBe('record-not-found')
    expect(await lastAudit()).toMatchObject({ decision: 'allow', reason: 'record-not-found', upstreamCode: 'E1001' })
  })

  it('a malformed SOAP envelope → 502', async () => {
    h.drc.setKnobs({ fault: 'malformed' })
    try {
      const res = await h.query(
        'drc.approval-result',
        { projectCode: drc.projectCode },
        {
          token: await asHousing('drc.approval-result'),
          matter: 'XK00105001',
          caseId: 'SG-2026-0003',
        },
      )
      expect(res.status).toBe(502)
      expect(problemCode(res)).toBe('upstream-bad-response')
      expect(await lastAudit()).toMatchObject({ decision: 'allow', reason: 'upstream-bad-response', status: 502 })
    } finally {
      h.drc.setKnobs({ fault: 'none' })
    }
  })
})

describe('市场监管 enterprise registry (前置库)', () => {
  const asDrc = () => h.token({ dept: 'drc', scope: 'BA00015001:market.enterprise-registration:read' })

  it('answers the newest valid registration of a corrected enterprise', async () => {
    const res = await h.query(
      'market.enterprise-registration',
      { uscc: market.correctedUscc },
      {
        token: await asDrc(),
        matter: 'BA00015001',
        caseId: 'BA-2026-0001',
      },
    )
    expect(res.status).toBe(200)
    const records = res.json.data as { uscc: string; legalRepresentative: string }[]
    expect(records).toHaveLength(1)
    const data = records[0] as { uscc: string; legalRepresentative: string }
    expect(data.uscc).toBe(market.correctedUscc)
    expect(data.legalRepresentative).toMatch(/^\p{Script=Han}\*+$/u)
    expect(await lastAudit()).toMatchObject({ decision: 'allow', reason: 'ok', recordCount: 1 })
  })

  it("' OR 1=1 -- as a USCC is refused by the schema (400) before any SQL runs", async () => {
    const res = await h.query(
      'market.enterprise-registration',
      { uscc: "' OR 1=1 --" },
      {
        token: await asDrc(),
        matter: 'BA00015001',
        caseId: 'BA-2026-0002',
      },
    )
    expect(res.status).toBe(400)
    expect(problemCode(res)).toBe('params-invalid')
    expect(res.json.errors).toEqual([{ pointer: '/uscc', message: 'must be a valid uscc' }])
    expect(await lastAudit()).toMatchObject({ decision: 'allow', reason: 'params-invalid', status: 400 })
  })

  it('an enterprise the registry does not have → 404', async () => {
    const res = await h.query(
      'market.enterprise-registration',
      { uscc: market.unknownUscc },
      {
        token: await asDrc(),
        matter: 'BA00015001',
        caseId: 'BA-2026-0003',
      },
    )
    expect(res.status).toBe(404)
    expect(problemCode(res)).toBe('record-not-found')
  })
})

describe('write exchange: 住建 returns a permit result to 发改', () => {
  const feedback = drc.permitFeedback
  const write = async (key: string | undefined, body: unknown = feedback, caseId = 'SG-2026-0100') =>
    h.write('drc.permit-feedback', body, {
      token: await h.token({ dept: 'housing', scope: 'QT00301001:drc.permit-feedback:write' }),
      matter: 'QT00301001',
      caseId,
      idempotencyKey: key,
    })

  it('is delivered once despite three retries with the same key', async () => {
    const first = await write('permit-result-0001')
    expect(first.status).toBe(201)
    const receipt = first.json.data as { receiptId: string; acceptedAt: string }
    expect(receipt.receiptId).toMatch(/\S/)
    expect(first.json.meta).toMatchObject({ resource: 'drc.permit-feedback', idempotencyKey: 'permit-result-0001' })
    const firstAudit = await lastAudit()
    expect(firstAudit).toMatchObject({ action: 'write', decision: 'allow', reason: 'ok', status: 201, recordCount: 1 })
    for (let i = 0; i < 3; i++) {
      const retry = await write('permit-result-0001')
      expect(retry.status).toBe(201)
      expect(retry.text).toBe(first.text)
      expect(retry.headers['idempotent-replayed']).toBe('true')
      expect(await lastAudit()).toMatchObject({
        action: 'write',
        reason: 'ok',
        replayOf: firstAudit.id,
        recordCount: 0,
      })
    }
    expect(h.drc.received.get(feedback.permitNo)?.count).toBe(1)
  })

  it('the same key with a different body → 409', async () => {
    const res = await write('permit-result-0001', { ...feedback, totalFloorAreaM2: feedback.totalFloorAreaM2 + 1 })
    expect(res.status).toBe(409)
    expect(problemCode(res)).toBe('idempotency-conflict')
    expect(await lastAudit()).toMatchObject({ decision: 'allow', reason: 'idempotency-conflict', status: 409 })
    expect(h.drc.received.get(feedback.permitNo)?.count).toBe(1)
  })

  it('the key survives a gateway restart', async () => {
    await h.restart()
    const res = await write('permit-result-0001')
    expect(res.status).toBe(201)
    expect(res.headers['idempotent-replayed']).toBe('true')
    expect(h.drc.received.get(feedback.permitNo)?.count).toBe(1)
  })

  it('requires an Idempotency-Key', async () => {
    const res = await write(undefined)
    expect(res.status).toBe(400)
    expect(problemCode(res)).toBe('idempotency-key-missing')
    expect(await lastAudit()).toMatchObject({ reason: 'idempotency-key-missing' })
  })

  it('is never retried towards the upstream: one reset, one failed delivery, outcome unknown for that key', async () => {
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}99` }
    const before = h.drc.requests.length
    h.drc.setKnobs({ fault: 'reset', faultCount: 1 })
    const res = await write('permit-result-reset', body, 'SG-2026-0200')
    expect(res.status).toBe(503)
    expect(h.drc.requests.length - before).toBe(1)
    expect(await lastAudit()).toMatchObject({ action: 'write', reason: 'upstream-unavailable', status: 503 })
    // The reset may have come after the platform stored it: the key is never delivered again.
    const again = await write('permit-result-reset', body, 'SG-2026-0200')
    expect(again.status).toBe(409)
    expect(problemCode(again)).toBe('idempotency-outcome-unknown')
    expect(h.drc.requests.length - before).toBe(1)
  })

  it('a write refused before it was sent (circuit open or connection refused) frees the key for a retry', async () => {
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}98` }
    h.drc.setKnobs({ fault: 'http-503', faultCount: 1 })
    const refused = await write('permit-result-503', body, 'SG-2026-0300')
    expect(refused.status).toBe(503)
    const retried = await write('permit-result-503', body, 'SG-2026-0300')
    expect(retried.status).toBe(201)
    expect(h.drc.received.get(body.permitNo)?.count).toBe(1)
  })

  it('a department without the write grant cannot write, even with the scope', async () => {
    const res = await h.write('drc.permit-feedback', feedback, {
      token: await h.token({ dept: 'urban', scope: 'QT00301001:drc.permit-feedback:write' }),
      matter: 'QT00301001',
      caseId: 'X-1',
      idempotencyKey: 'urban-1',
    })
    expect(res.status).toBe(403)
    expect(problemCode(res)).toBe('grant-missing')
  })
})
