import { afterAll, beforeAll, expect, it } from 'vitest'
import type { LogEntry } from '../gateway/audit/entry.js'
import type { ExchangeAuditRecord } from '../gateway/audit/record.js'
import { subjectDigest } from '../gateway/audit/subjects.js'
import { type Harness, startHarness } from './support/gateway.js'

/**
 * "Who read person Y's data?" must find every call that fetched Y's record, not only those that released Y's ID
 * in clear: 城管's grant on the construction permits masks the project lead's name and phone and does not release the
 * lead's ID number at all, yet a search by that ID number finds its calls (the index is built from the records fetched,
 * before projection, as keyed digests only).
 */

const PERMITS = 'housing.construction-permit'
let h: Harness

beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

it('a search by an ID number the answer never showed finds the call that fetched that person’s record', async () => {
  const permit = h.sim.data.permits.find((p) => p.SJYXBS === '1' && typeof p.JSFZRZJHM === 'string')
  const idNo = permit?.JSFZRZJHM as string
  expect(idNo).toMatch(/^\d{17}[\dX]$/)
  const token = await h.token({ dept: 'urban', scope: `XK00208001:${PERMITS}:read` })
  const res = await h.query(PERMITS, { projectCode: permit?.XMDM }, { token, matter: 'XK00208001', caseId: 'CG-1' })
  expect(res.status, res.text).toBe(200)
  // The answer holds no ID number; the lead's name and phone only masked.
  expect(res.text).not.toContain(idNo)
  expect(res.json.meta).toMatchObject({ masked: ['ownerLeadName', 'ownerLeadPhone'] })

  const record = (await h.auditRecords()).at(-1) as ExchangeAuditRecord
  expect(record.subjects).toContain(subjectDigest(h.gateway.deps.digest, idNo))
  expect(JSON.stringify(record)).not.toContain(idNo)

  const auditor = await h.token({ dept: 'drc', sub: 'auditor-01', scope: 'audit:read' })
  const found = await h.get(`/v1/audit/records?subject=${idNo}&dept=urban`, auditor)
  expect(found.status, found.text).toBe(200)
  expect((found.json.records as LogEntry[]).map((e) => e.record.id)).toContain(record.id)
})
