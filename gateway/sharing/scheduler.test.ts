import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { addCalendarDays } from '../../kernel/working-calendar.js'
import type { AdminAuditRecord, AuditRecord } from '../audit/record.js'
import { STATE_MODULES } from '../state/modules.js'
import { openSqliteState } from '../state/sqlite.js'
import type { StateStore } from '../state/store.js'
import { createLogger } from '../telemetry/logger.js'
import { createMetrics } from '../telemetry/metrics.js'
import { openSharingStore } from './kysely-store.js'
import type { Application, LiveGrant, Stage } from './model.js'
import { type SharingSchedulerDeps, startSharingScheduler } from './scheduler.js'
import type { SharingStore } from './store.js'
import type { SharingNotice, WebhookSender } from './webhook.js'

const log = createLogger('silent')
/** 10:00 in Shanghai on Tuesday 10 March 2026. */
const START = Date.parse('2026-03-10T10:00:00+08:00')
const TODAY = '2026-03-10'
const DAY_MS = 86_400_000

let dir: string
let states: StateStore[]
let nowMs: number
const clock = { now: () => nowMs }

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qiao-scheduler-'))
  states = []
  nowMs = START
})

afterEach(async () => {
  for (const state of states) await state.close()
  await rm(dir, { recursive: true, force: true })
})

/** A connection to the test's database file; call twice for two instances sharing one store. */
async function openStore(): Promise<SharingStore> {
  const state = await openSqliteState({ file: join(dir, 'state.sqlite'), modules: STATE_MODULES })
  states.push(state)
  return openSharingStore(state)
}

function application(id: string, stage: Stage, dueDate: string): Application {
  const submittedAt = new Date(START - 5 * DAY_MS).toISOString()
  return {
    id,
    version: 1,
    state: stage === 'conformity' ? 'conformity-check' : 'provider-review',
    request: {
      resource: 'housing.gongjijin-deposit',
      matter: 'talent-housing-subsidy',
      mode: 'query',
      usage: '行政依据',
      fields: ['depositStatus'],
      masked: [],
      legalBasis: 'basis',
      scene: 'scene',
      scopeOfUse: 'scope',
      validTo: '2026-12-31',
      contact: { name: 'Officer', phone: '0571-00000000' },
    },
    action: 'read',
    consumer: 'hr-bureau',
    provider: 'housing-fund',
    sharingType: 'conditional',
    applicant: 'officer-1',
    submittedAt,
    updatedAt: submittedAt,
    clock: {
      stage,
      budgetDays: stage === 'conformity' ? 2 : 5,
      usedDays: 0,
      runStartedOn: '2026-03-02',
      dueDate,
      dueAt: Date.parse(`${dueDate}T23:59:59.999+08:00`),
      paused: false,
      calendarCovered: true,
    },
    notices: [],
  }
}

function grant(id: string, validTo: string): LiveGrant {
  return {
    id,
    version: 1,
    state: 'active',
    applicationId: `app-of-${id}`,
    matter: 'talent-housing-subsidy',
    consumer: 'hr-bureau',
    resource: 'housing.gongjijin-deposit',
    provider: 'housing-fund',
    action: 'read',
    usage: '行政依据',
    fields: ['depositStatus'],
    masked: [],
    validFrom: '2026-01-01',
    validTo,
    approvedBy: 'housing-fund/reviewer-1',
    approvedAt: new Date(START - 60 * DAY_MS).toISOString(),
    reminders: {},
  }
}

async function insertApplications(store: SharingStore, apps: Application[]): Promise<void> {
  await store.transaction(async (tx) => {
    for (const app of apps) {
      await tx.insertApplication(app, {
        applicationId: app.id,
        seq: 1,
        at: app.submittedAt,
        actor: `${app.consumer}/${app.applicant}`,
        transition: 'apply',
        from: null,
        to: app.state,
        details: {},
      })
    }
  })
}

async function insertGrants(store: SharingStore, grants: LiveGrant[]): Promise<void> {
  await store.transaction(async (tx) => {
    for (const g of grants) await tx.insertGrant(g)
  })
}

/**
 * Stands in for the workflow, recording each call: marks the application escalated in the store, once (the
 * version check makes a second instance's attempt come back false, as the workflow's does).
 */
function fakeWorkflow(store: SharingStore) {
  const calls: string[] = []
  return {
    calls,
    async escalate(id: string): Promise<boolean> {
      calls.push(id)
      const current = await store.getApplication(id)
      if (current === undefined || current.escalatedAt !== undefined) return false
      const at = new Date(clock.now()).toISOString()
      const next: Application = { ...current, version: current.version + 1, escalatedAt: at }
      return store.transaction(async (tx) =>
        tx.updateApplication(next, current.version, {
          applicationId: id,
          seq: await tx.nextSeq(id),
          at,
          actor: 'system',
          transition: 'escalate',
          from: current.state,
          to: current.state,
          details: {},
        }),
      )
    },
  }
}

/** The store, noting each reminder another connection had already marked (markReminded answered false). */
function racing(store: SharingStore, lost: string[]): SharingStore {
  return {
    ...store,
    transaction: (work) =>
      store.transaction((tx) =>
        work({
          ...tx,
          async markReminded(id, days, at) {
            const marked = await tx.markReminded(id, days, at)
            if (!marked) lost.push(`${id}/${days}`)
            return marked
          },
        }),
      ),
  }
}

function recordingAudit() {
  const records: AdminAuditRecord[] = []
  return {
    records,
    failing: false,
    async append(record: AuditRecord): Promise<void> {
      if (this.failing) throw new Error('audit store refuses appends')
      records.push(record as AdminAuditRecord)
    },
  }
}

function recordingWebhook(): WebhookSender & { notices: SharingNotice[] } {
  const notices: SharingNotice[] = []
  return {
    notices,
    async send(notice) {
      notices.push(notice)
      return true
    },
  }
}

function scheduler(overrides: Partial<SharingSchedulerDeps> & Pick<SharingSchedulerDeps, 'store'>) {
  const s = startSharingScheduler({
    workflow: fakeWorkflow(overrides.store),
    clock,
    log,
    intervalMs: 0,
    audit: recordingAudit(),
    ...overrides,
  })
  stops.push(s.stop)
  return s
}
const stops: Array<() => void> = []
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
})

describe('deadlines', () => {
  it('escalates an overdue application once across two scans, and tells the webhook', async () => {
    const store = await openStore()
    await insertApplications(store, [
      application('app-late', 'conformity', '2026-03-09'),
      application('app-in-time', 'review', '2026-03-12'),
    ])
    const workflow = fakeWorkflow(store)
    const webhook = recordingWebhook()
    let escalations = 0
    const s = scheduler({ store, workflow, webhook, onEscalated: () => escalations++ })

    const first = await s.scan()
    expect(first.escalated).toBe(1)
    expect(first.errors).toBe(0)
    expect(workflow.calls).toEqual(['app-late'])
    expect((await store.getApplication('app-late'))?.escalatedAt).toBe(new Date(START).toISOString())

    const second = await s.scan()
    expect(second.escalated).toBe(0)
    expect(workflow.calls).toEqual(['app-late'])
    expect(escalations).toBe(1)
    expect(webhook.notices).toEqual([
      {
        type: 'application.overdue',
        at: new Date(START).toISOString(),
        application: {
          id: 'app-late',
          stage: 'conformity',
          dueDate: '2026-03-09',
          consumer: 'hr-bureau',
          provider: 'housing-fund',
          resource: 'housing.gongjijin-deposit',
          matter: 'talent-housing-subsidy',
        },
      },
    ])
  })

  it('sends no notice when escalate answers false (another instance escalated it)', async () => {
    const store = await openStore()
    await insertApplications(store, [application('app-late', 'review', '2026-03-06')])
    const webhook = recordingWebhook()
    const calls: string[] = []
    const s = scheduler({
      store,
      webhook,
      workflow: {
        async escalate(id) {
          calls.push(id)
          return false
        },
      },
    })
    const report = await s.scan()
    expect(calls).toEqual(['app-late'])
    expect(report.escalated).toBe(0)
    expect(webhook.notices).toEqual([])
  })

  it('feeds the overdue counts by stage to onOverdue (and so the gauge)', async () => {
    const store = await openStore()
    await insertApplications(store, [
      application('app-1', 'conformity', '2026-03-06'),
      application('app-2', 'review', '2026-03-09'),
      application('app-3', 'review', '2026-03-05'),
      application('app-4', 'conformity', '2026-03-10'), // due today, not yet late
    ])
    const metrics = createMetrics({
      circuits: () => [],
      audit: () => ({ appended: 0, syncs: 0, queueDepth: 0, checkpoints: 0 }),
      tokenCache: () => ({ hits: 0, misses: 0 }),
      connectorUp: () => [],
      quotaFallbacks: () => 0,
    })
    const seen: Array<Readonly<Record<Stage, number>>> = []
    const s = scheduler({
      store,
      onOverdue: (counts) => {
        seen.push(counts)
        metrics.sharing.overdue(counts)
      },
      onEscalated: metrics.sharing.escalated,
    })
    const report = await s.scan()
    expect(seen).toEqual([{ conformity: 1, review: 2 }])
    expect(report.overdue).toEqual({ conformity: 1, review: 2 })
    // Escalated applications are still overdue: the count is of all of them.
    expect((await s.scan()).overdue).toEqual({ conformity: 1, review: 2 })

    const text = await metrics.registry.metrics()
    expect(text).toContain('qiao_sharing_applications_overdue{stage="conformity"} 1')
    expect(text).toContain('qiao_sharing_applications_overdue{stage="review"} 2')
    expect(text).toContain('qiao_sharing_escalations_total 3')
    // The other two the gateway wires to onReminded and the webhook's onFailure.
    metrics.sharing.reminded(30)
    metrics.sharing.reminded(7)
    metrics.sharing.reminded(7)
    metrics.sharing.webhookFailed()
    const fed = await metrics.registry.metrics()
    expect(fed).toContain('qiao_sharing_reminders_total{days="30"} 1')
    expect(fed).toContain('qiao_sharing_reminders_total{days="7"} 2')
    expect(fed).toContain('qiao_sharing_webhook_failures_total 1')
  })

  it('logs and counts a failing escalation and goes on with the next', async () => {
    const store = await openStore()
    await insertApplications(store, [
      application('app-a', 'conformity', '2026-03-05'),
      application('app-b', 'conformity', '2026-03-06'),
    ])
    const calls: string[] = []
    const s = scheduler({
      store,
      workflow: {
        async escalate(id) {
          calls.push(id)
          if (id === 'app-a') throw new Error('database went away')
          return true
        },
      },
    })
    const report = await s.scan()
    expect(calls).toEqual(['app-a', 'app-b'])
    expect(report).toMatchObject({ escalated: 1, errors: 1 })
  })
})

describe('expiry reminders', () => {
  const days = (n: number) => addCalendarDays(TODAY, n)

  it('gives the 30-day reminder, then the 7-day one, each once, with one admin record each', async () => {
    const store = await openStore()
    await insertGrants(store, [grant('g-1', days(30)), grant('g-later', days(31))])
    const audit = recordingAudit()
    const webhook = recordingWebhook()
    const reminded: number[] = []
    const s = scheduler({ store, audit, webhook, onReminded: (d) => reminded.push(d) })

    expect((await s.scan()).reminders).toEqual({ '30': 1, '7': 0 })
    expect(audit.records.map((r) => [r.action, r.details])).toEqual([
      [
        'sharing.grant',
        {
          grant: 'g-1',
          reminder: 30,
          validTo: days(30),
          consumer: 'hr-bureau',
          resource: 'housing.gongjijin-deposit',
          matter: 'talent-housing-subsidy',
        },
      ],
    ])
    expect(webhook.notices).toEqual([
      {
        type: 'grant.expiry-reminder',
        at: new Date(START).toISOString(),
        daysLeft: 30,
        grant: {
          id: 'g-1',
          matter: 'talent-housing-subsidy',
          resource: 'housing.gongjijin-deposit',
          consumer: 'hr-bureau',
          validTo: days(30),
        },
      },
    ])
    expect((await store.getGrant('g-1'))?.reminders).toEqual({ '30': new Date(START).toISOString() })
    expect((await s.scan()).reminders).toEqual({ '30': 0, '7': 0 })

    nowMs = START + 23 * DAY_MS
    const report = await s.scan()
    // g-later reaches its 30 days on the next day; g-1 its 7.
    expect(report.reminders).toEqual({ '30': 1, '7': 1 })
    expect(audit.records.map((r) => [r.details.grant, r.details.reminder])).toEqual([
      ['g-1', 30],
      ['g-later', 30],
      ['g-1', 7],
    ])
    expect(webhook.notices.map((n) => n.type === 'grant.expiry-reminder' && [n.grant.id, n.daysLeft])).toEqual([
      ['g-1', 30],
      ['g-later', 8],
      ['g-1', 7],
    ])
    expect((await store.getGrant('g-1'))?.reminders).toEqual({
      '30': new Date(START).toISOString(),
      '7': new Date(nowMs).toISOString(),
    })
    expect(reminded).toEqual([30, 30, 7])
    expect((await s.scan()).reminders).toEqual({ '30': 0, '7': 0 })
  })

  it('a grant first seen 5 days before expiry gets only the 7-day reminder (the 30-day one marked too)', async () => {
    const store = await openStore()
    await insertGrants(store, [grant('g-soon', days(5))])
    const audit = recordingAudit()
    const webhook = recordingWebhook()
    const s = scheduler({ store, audit, webhook })

    expect((await s.scan()).reminders).toEqual({ '30': 0, '7': 1 })
    expect(audit.records.map((r) => r.details.reminder)).toEqual([7])
    expect(webhook.notices.map((n) => n.type === 'grant.expiry-reminder' && n.daysLeft)).toEqual([5])
    const at = new Date(START).toISOString()
    expect((await store.getGrant('g-soon'))?.reminders).toEqual({ '30': at, '7': at })

    nowMs += DAY_MS
    expect((await s.scan()).reminders).toEqual({ '30': 0, '7': 0 })
    expect(audit.records).toHaveLength(1)
    expect(webhook.notices).toHaveLength(1)
  })

  it('reminds nobody of a grant that has already expired', async () => {
    const store = await openStore()
    await insertGrants(store, [grant('g-past', days(-1))])
    const audit = recordingAudit()
    const s = scheduler({ store, audit })
    expect((await s.scan()).reminders).toEqual({ '30': 0, '7': 0 })
    expect(audit.records).toEqual([])
    expect((await store.getGrant('g-past'))?.reminders).toEqual({})
  })

  it('two instances on one store give each reminder exactly once', async () => {
    const lost: string[] = []
    const storeA = racing(await openStore(), lost)
    const storeB = racing(await openStore(), lost)
    const ids = Array.from({ length: 6 }, (_, i) => `g-${i}`)
    await insertGrants(storeA, [
      ...ids.slice(0, 3).map((id, i) => grant(id, days(20 + i))),
      ...ids.slice(3).map((id, i) => grant(id, days(2 + i))),
    ])
    const auditA = recordingAudit()
    const auditB = recordingAudit()
    const webhookA = recordingWebhook()
    const webhookB = recordingWebhook()
    const a = scheduler({ store: storeA, audit: auditA, webhook: webhookA })
    const b = scheduler({ store: storeB, audit: auditB, webhook: webhookB })
    await Promise.all([a.scan(), b.scan(), a.scan(), b.scan()])

    const given = [...auditA.records, ...auditB.records].map((r) => `${r.details.grant}/${r.details.reminder}`)
    expect(given.sort()).toEqual(['g-0/30', 'g-1/30', 'g-2/30', 'g-3/7', 'g-4/7', 'g-5/7'])
    const notified = [...webhookA.notices, ...webhookB.notices].map(
      (n) => n.type === 'grant.expiry-reminder' && n.grant.id,
    )
    expect(notified.sort()).toEqual(ids)
    // They did race: the instance that came second for a reminder was told so by the store.
    expect(lost.length).toBeGreaterThan(0)

    // Both again, once the 20-day grants are within 7 days: the 7-day reminders, once each.
    nowMs = START + 15 * DAY_MS
    await Promise.all([a.scan(), b.scan()])
    const later = [...auditA.records, ...auditB.records].map((r) => `${r.details.grant}/${r.details.reminder}`)
    expect(later.filter((g) => g.endsWith('/7')).sort()).toEqual(ids.map((id) => `${id}/7`))
    expect(later).toHaveLength(9)
    expect(webhookA.notices.length + webhookB.notices.length).toBe(9)
  })

  it('when the audit record cannot be written, the reminder is not marked given (and is given on a later scan)', async () => {
    const store = await openStore()
    await insertGrants(store, [grant('g-1', days(10)), grant('g-2', days(3))])
    const audit = recordingAudit()
    const webhook = recordingWebhook()
    const s = scheduler({ store, audit, webhook })
    audit.failing = true

    const failed = await s.scan()
    expect(failed.errors).toBe(2)
    expect(failed.reminders).toEqual({ '30': 0, '7': 0 })
    expect((await store.getGrant('g-1'))?.reminders).toEqual({})
    expect((await store.getGrant('g-2'))?.reminders).toEqual({})
    expect(webhook.notices).toEqual([])

    audit.failing = false
    expect((await s.scan()).reminders).toEqual({ '30': 1, '7': 1 })
    expect(audit.records.map((r) => `${r.details.grant}/${r.details.reminder}`)).toEqual(['g-1/30', 'g-2/7'])
  })
})

describe('scheduling', () => {
  it('scans at start, and a scan asked for while one runs joins it', async () => {
    const store = await openStore()
    await insertApplications(store, [application('app-late', 'conformity', '2026-03-09')])
    const workflow = fakeWorkflow(store)
    const s = scheduler({ store, workflow })
    // The start-up scan is under way: asking twice now gives that same scan.
    const [one, two] = await Promise.all([s.scan(), s.scan()])
    expect(one).toBe(two)
    expect(one.escalated).toBe(1)
    expect(workflow.calls).toEqual(['app-late'])
  })
})
