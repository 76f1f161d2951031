import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/gateway.js'
import { signToken, type TokenClaims } from './support/keys.js'

/**
 * Issue 13 acceptance on a real gateway whose clock the test moves: deadlines in working days of the official 2026
 * calendar (国办发明电〔2025〕7号: 中秋 9-25…27, 国庆 10-01…07, 调休 working days Sunday 9-20 and Saturday 10-10), and
 * the 一次性告知 that stops the clock until the applicant resubmits and may not name an item twice.
 */

let h: Harness
let now = 0
const at = (shanghai: string) => {
  now = Date.parse(`${shanghai}+08:00`)
}

async function call(method: 'GET' | 'POST', path: string, claims: TokenClaims, body?: unknown, etag?: string) {
  const res = await request(`${h.gateway.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await signToken(h.ed, claims, { now })}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(etag === undefined ? {} : { 'if-match': etag }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await res.body.json()) as Record<string, unknown>
  return { status: res.statusCode, etag: res.headers.etag as string, json, data: json.data as Record<string, unknown> }
}

const APPLICANT = { dept: 'water', sub: 'water-officer-1', scope: 'sharing:apply' }
const AUTHORITY = { dept: 'data', sub: 'data-officer-1', scope: 'sharing:admin' }
const application = (resource = 'housing.construction-permit') => ({
  resource,
  matter: 'XK00377001',
  mode: 'query',
  usage: '行政依据',
  fields: ['permitNo', 'projectCode', 'projectName'],
  masked: [],
  legalBasis: '《城镇排水与污水处理条例》第二十一条',
  scene: '建设项目开工"一件事"',
  scopeOfUse: '排水许可审批',
  validTo: '2027-09-30',
  contact: { name: '李工', phone: '025-83330000' },
})

beforeAll(async () => {
  at('2026-09-25T10:00:00')
  h = await startHarness({
    clock: { now: () => now },
    // 发改's permit-feedback write-back (有条件) is marked not yet published here, to show the longer (10-day) review.
    catalog: (text) => text.replace(/(id: drc\.permit-feedback[\s\S]*?)\n {4}publishedAt: 2025-01-01/, '$1'),
  })
})
afterAll(async () => {
  await h?.close()
})

describe('due dates in working days, around 中秋 and 国庆 2026', () => {
  // submitted (Shanghai time) → conformity due (2 days); checked → review due (5 published / 10 not yet published)
  const table = [
    {
      submitted: '2026-09-25T10:00:00',
      conformityDue: '2026-09-29',
      checked: '2026-09-29T16:00:00',
      reviewDue: '2026-10-12',
    },
    {
      submitted: '2026-09-30T09:00:00',
      conformityDue: '2026-10-09',
      checked: '2026-10-09T09:00:00',
      reviewDue: '2026-10-15',
    },
    {
      submitted: '2026-09-18T17:30:00',
      conformityDue: '2026-09-21',
      checked: '2026-09-21T11:00:00',
      reviewDue: '2026-09-29',
    },
    {
      submitted: '2026-10-09T15:00:00',
      conformityDue: '2026-10-12',
      checked: '2026-10-10T10:00:00',
      reviewDue: '2026-10-16',
    },
  ]
  for (const row of table) {
    it(`submitted ${row.submitted} → conformity due ${row.conformityDue}; checked ${row.checked} → review due ${row.reviewDue}`, async () => {
      at(row.submitted)
      const applied = await call('POST', '/v1/applications', APPLICANT, application())
      expect(applied.status).toBe(201)
      expect(applied.data.clock).toMatchObject({ stage: 'conformity', budgetDays: 2, dueDate: row.conformityDue })
      at(row.checked)
      const checked = await call(
        'POST',
        `/v1/applications/${applied.data.id}/conformity`,
        AUTHORITY,
        { decision: 'pass' },
        applied.etag,
      )
      expect(checked.status).toBe(200)
      expect(checked.data.clock).toMatchObject({ stage: 'review', budgetDays: 5, dueDate: row.reviewDue })
    })
  }

  it('a resource not yet published gets 10 working days: checked Wednesday 9-30 → due 10-20', async () => {
    at('2026-09-29T10:00:00')
    const applied = await call(
      'POST',
      '/v1/applications',
      { ...APPLICANT, dept: 'housing' },
      {
        ...application('drc.permit-feedback'),
        matter: 'QT00301001',
        mode: 'write-back',
        fields: [],
      },
    )
    expect(applied.status).toBe(201)
    at('2026-09-30T10:00:00')
    const checked = await call(
      'POST',
      `/v1/applications/${applied.data.id}/conformity`,
      AUTHORITY,
      { decision: 'pass' },
      applied.etag,
    )
    expect(checked.data.clock).toMatchObject({ stage: 'review', budgetDays: 10, dueDate: '2026-10-20' })
  })

  it('overdue shows in the listing the day after the due date, not on it', async () => {
    at('2026-11-02T10:00:00')
    const applied = await call('POST', '/v1/applications', APPLICANT, application())
    expect(applied.data.clock).toMatchObject({ dueDate: '2026-11-04' })
    const overdueIds = async () =>
      ((await call('GET', '/v1/applications?overdue=true&limit=200', AUTHORITY)).json.data as { id: string }[]).map(
        (a) => a.id,
      )
    at('2026-11-04T23:59:00')
    expect(await overdueIds()).not.toContain(applied.data.id)
    at('2026-11-05T00:01:00')
    expect(await overdueIds()).toContain(applied.data.id)
  })
})

describe('一次性告知: one notice of everything missing; the clock stops and goes on', () => {
  it('stops the clock, restarts it with the days left, and refuses a second notice of the same item', async () => {
    at('2026-11-09T09:00:00') // Monday
    const applied = await call('POST', '/v1/applications', APPLICANT, application())
    expect(applied.data.clock).toMatchObject({ budgetDays: 2, usedDays: 0, dueDate: '2026-11-11' })

    at('2026-11-10T15:00:00') // one working day used
    const noticed = await call(
      'POST',
      `/v1/applications/${applied.data.id}/conformity`,
      AUTHORITY,
      {
        decision: 'notice',
        items: [
          { pointer: '/legalBasis', message: '请写明条款' },
          { pointer: '/scopeOfUse', message: '请说明使用范围' },
        ],
      },
      applied.etag,
    )
    expect(noticed.status).toBe(200)
    expect(noticed.data.state).toBe('awaiting-applicant')
    expect(noticed.data.clock).toMatchObject({ paused: true, usedDays: 1 })
    expect(noticed.data.clock).not.toHaveProperty('dueDate')

    // Waiting a week for the applicant costs the authority nothing: not overdue meanwhile.
    at('2026-11-17T10:00:00')
    const overdue = await call('GET', '/v1/applications?overdue=true&limit=200', AUTHORITY)
    expect((overdue.json.data as { id: string }[]).map((a) => a.id)).not.toContain(applied.data.id)

    const incomplete = await call(
      'POST',
      `/v1/applications/${applied.data.id}/resubmit`,
      APPLICANT,
      {
        changes: { legalBasis: '《城镇排水与污水处理条例》第二十一条第二款' },
      },
      noticed.etag,
    )
    expect(incomplete.status).toBe(422)
    expect(JSON.stringify(incomplete.json.errors)).toContain('/scopeOfUse')

    const resubmitted = await call(
      'POST',
      `/v1/applications/${applied.data.id}/resubmit`,
      APPLICANT,
      {
        changes: { legalBasis: '《城镇排水与污水处理条例》第二十一条第二款', scopeOfUse: '排水许可审批中核对施工许可' },
      },
      noticed.etag,
    )
    expect(resubmitted.status).toBe(200)
    // One day left, counted from the next working day: Wednesday 11-18.
    expect(resubmitted.data).toMatchObject({ state: 'conformity-check' })
    expect(resubmitted.data.clock).toMatchObject({
      paused: false,
      usedDays: 1,
      runStartedOn: '2026-11-17',
      dueDate: '2026-11-18',
    })

    const again = await call(
      'POST',
      `/v1/applications/${applied.data.id}/conformity`,
      AUTHORITY,
      {
        decision: 'notice',
        items: [
          { pointer: '/scopeOfUse', message: '仍不清楚' },
          { pointer: '/contact/email', message: '请补充邮箱' },
        ],
      },
      resubmitted.etag,
    )
    expect(again.status).toBe(422)
    expect(again.json.code).toBe('notice-item-repeated')
    expect(JSON.stringify(again.json.errors)).toContain('/scopeOfUse')
    expect(JSON.stringify(again.json.errors)).not.toContain('/contact/email')
  })
})
