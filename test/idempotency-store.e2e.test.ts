import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedSample } from '../connectors/drc-tzxm/simulator/index.js'
import { type Harness, startHarness } from './support/gateway.js'

/**
 * A single gateway without QIAO_STATE_URL keeps its idempotency keys in the embedded store
 * (<data dir>/state.sqlite), and a first answer larger than QIAO_IDEMPOTENCY_MAX_ANSWER is not replayed: the retry
 * gets 409 idempotency-answer-not-kept with the first status and audit id, and nothing is delivered again.
 */
let h: Harness
const feedback = seedSample().permitFeedback

beforeAll(async () => {
  // Receipts are ~100 bytes of JSON: a 32-byte bound is below every answer.
  h = await startHarness({ env: { QIAO_IDEMPOTENCY_MAX_ANSWER: '32' } })
})
afterAll(async () => {
  await h?.close()
})

const write = async (key: string, body: unknown) =>
  h.write('drc.permit-feedback', body, {
    token: await h.token({ dept: 'housing', scope: 'QT00301001:drc.permit-feedback:write' }),
    matter: 'QT00301001',
    caseId: 'SG-2026-0500',
    idempotencyKey: key,
  })

describe('idempotency keys of a single gateway', () => {
  it('are in the embedded state store in the data directory', async () => {
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}51` }
    expect((await write('embedded-1', body)).status).toBe(201)
    expect(h.gateway.deps.state.dialect).toBe('sqlite')
    expect(existsSync(join(h.dataDir, 'state.sqlite'))).toBe(true)
    const row = await h.gateway.deps.state.db
      .selectFrom('idempotency_keys')
      .select(['dept', 'resource', 'state', 'claimed_by'])
      .where('idem_key', '=', 'embedded-1')
      .executeTakeFirstOrThrow()
    expect(row).toEqual({
      dept: 'housing',
      resource: 'drc.permit-feedback',
      state: 'done',
      claimed_by: h.config.auditLogId,
    })
  })

  it('a retry of an answer larger than the bound gets its status and audit id, never a second delivery', async () => {
    const body = { ...feedback, permitNo: `${feedback.permitNo.slice(0, 16)}52` }
    const first = await write('too-large-1', body)
    expect(first.status).toBe(201)
    expect(first.text.length).toBeGreaterThan(32)
    const retry = await write('too-large-1', body)
    expect(retry.status).toBe(409)
    expect(retry.json).toMatchObject({
      type: expect.stringMatching(/idempotency-answer-not-kept$/),
      firstStatus: 201,
      firstAuditId: first.headers['qiao-audit-id'],
    })
    expect(h.drc.received.get(body.permitNo)?.count).toBe(1)
  })
})
