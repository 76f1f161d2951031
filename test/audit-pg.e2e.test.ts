import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createPgAuditBackend } from '../gateway/audit/pg-backend.js'
import { verifyAuditLogs } from '../gateway/audit/verify.js'
import { type Harness, LOCAL_PG, startHarness } from './support/gateway.js'

/**
 * Issue #4 §3: two gateway instances write to one PostgreSQL audit store, each its own log; queries span both and
 * both logs verify.
 */
const schema = `qiao_audit_e2e_${process.pid}`
const url = `${LOCAL_PG}?schema=${schema}`
const gateways: Harness[] = []

afterAll(async () => {
  for (const g of gateways) await g.close().catch(() => {})
  const client = new pg.Client({ connectionString: LOCAL_PG })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)
  await client.end()
})

describe('PostgreSQL audit store shared by two gateway instances', () => {
  it('both instances log, an auditor on either sees both, and both logs verify', async () => {
    const a = await startHarness({ env: { QIAO_AUDIT_URL: url, QIAO_AUDIT_LOG_ID: 'gw-a' } })
    gateways.push(a)
    const b = await startHarness({ env: { QIAO_AUDIT_URL: url, QIAO_AUDIT_LOG_ID: 'gw-b' } })
    gateways.push(b)
    const ids = { a: [] as string[], b: [] as string[] }
    for (let i = 0; i < 6; i++) {
      for (const [name, h] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const token = await h.token({ dept: 'drc', scope: 'QT00301001:housing.construction-permit:read' })
        const res = await h.query(
          'housing.construction-permit',
          { projectCode: h.sim.data.permits[0]?.XMDM },
          { token, matter: 'QT00301001', caseId: `PG-${name}-${i}` },
        )
        expect(res.status).toBe(200)
        ids[name].push(res.headers['qiao-audit-id'] as string)
      }
    }
    const auditor = await a.token({ dept: 'drc', scope: 'audit:read' })
    const page = await a.get('/v1/audit/records?kind=exchange&limit=1000', auditor)
    expect(page.status).toBe(200)
    const records = page.json.records as Array<{ logId: string; record: { id: string } }>
    const seen = new Set(records.map((r) => r.record.id))
    for (const id of [...ids.a, ...ids.b]) expect(seen.has(id)).toBe(true)
    expect(new Set(records.map((r) => r.logId))).toEqual(new Set(['gw-a', 'gw-b']))

    await a.close()
    await b.close()
    gateways.length = 0
    const backend = createPgAuditBackend({ connectionString: LOCAL_PG, schema, now: Date.now })
    try {
      const result = await verifyAuditLogs(backend, { keys: await backend.keys() })
      expect(result.problems).toEqual([])
      expect(result.logs.map((l) => l.logId).sort()).toEqual(['gw-a', 'gw-b'])
      for (const log of result.logs) {
        expect(log.records).toBeGreaterThanOrEqual(6)
        expect(log.uncovered).toBe(0)
      }
    } finally {
      await backend.close()
    }
  })
})
