import type { AdminAuditRecord, ExchangeAuditRecord } from '../record.js'

/** Test records: varied enough for every filter. */
export function exchangeRecord(i: number, overrides: Partial<ExchangeAuditRecord> = {}): ExchangeAuditRecord {
  const depts = ['drc', 'urban', 'natres']
  return {
    id: `rec-${String(i).padStart(6, '0')}`,
    time: new Date(Date.UTC(2026, 10, 26, 2, 0, 0, i)).toISOString(),
    kind: 'exchange',
    requestId: `req-${i}`,
    requester: { dept: depts[i % 3], sub: `officer-${i % 5}` },
    matter: i % 2 === 0 ? 'QT00301001' : 'XK00208001',
    case: `CASE-${i % 7}`,
    resource: i % 4 === 0 ? 'housing.drawing-review' : 'housing.construction-permit',
    provider: 'housing',
    action: 'read',
    decision: i % 5 === 0 ? 'deny' : 'allow',
    reason: i % 5 === 0 ? 'insufficient-scope' : 'ok',
    status: i % 5 === 0 ? 403 : 200,
    fields: i % 5 === 0 ? [] : ['permitNo'],
    masked: [],
    recordCount: i % 5 === 0 ? 0 : 1,
    totalMs: 3,
    catalogVersion: 'test',
    subjects: [`subject-${i % 11}`],
    ...overrides,
  }
}

export function adminRecord(i: number): AdminAuditRecord {
  return {
    id: `adm-${i}`,
    time: new Date(Date.UTC(2026, 10, 26, 1, 0, 0, i)).toISOString(),
    kind: 'admin',
    action: 'catalog.load',
    actor: 'system',
    outcome: 'ok',
    details: { version: 'test', resources: 4 },
  }
}
