// Over 400 lines: one conformance suite for both state backends, a case per rule of the sharing workflow.
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../../connectors/registry.js'
import { builtInWorkingCalendar } from '../../../kernel/working-calendar.js'
import { createKeyedDigest } from '../../audit/digest.js'
import type { AdminAuditRecord, AuditRecord } from '../../audit/record.js'
import { AuditUnavailableError } from '../../audit/store.js'
import { AUDIT_READ_SCOPE, type Principal } from '../../auth/principal.js'
import { loadCatalog } from '../../catalog/load.js'
import type { Catalog } from '../../catalog/types.js'
import { GatewayError } from '../../errors/gateway-error.js'
import type { StateStore } from '../../state/store.js'
import { openSharingStore } from '../kysely-store.js'
import type { Application, LiveGrant } from '../model.js'
import {
  type Actor,
  etagOf,
  SHARING_ADMIN_SCOPE,
  SHARING_APPLY_SCOPE,
  SHARING_REVIEW_SCOPE,
  type SharingWorkflow,
} from '../service.js'
import type { SharingStore } from '../store.js'
import { createSharingWorkflow } from '../workflow.js'

/**
 * The sharing workflow against a real state store (embedded SQLite or PostgreSQL): the conditional and the
 * unconditional path, notices and resubmission with the clock, separation of duties, If-Match, concurrent
 * approvals, revocation, renewal, escalation, one admin record per step, rollback when the audit log refuses, and
 * what each department may see. Time is a frozen clock moved by hand; the calendar is the real 2026 one.
 */
export interface WorkflowSuiteOptions {
  readonly name: string
  /** A fresh, empty state store with the sharing module migrated. */
  readonly open: () => Promise<StateStore>
}

/** Wednesday 2026-09-30, 10:00 in Nanjing: the conformity check (2 working days) skips 国庆 and is due 10-09. */
const T0 = shanghai('2026-09-30T10:00')
const PERMITS = 'housing.construction-permit'
const MATTER = 'QT00301001'

function shanghai(local: string): number {
  return Date.parse(`${local}:00+08:00`)
}

function actor(dept: string, sub: string, scopes: string[]): Actor {
  const principal: Principal = {
    sub,
    dept,
    clientId: undefined,
    scopes: new Set(scopes),
    expiresAt: T0 + 86_400_000 * 365,
    tokenId: undefined,
    keyId: undefined,
  }
  return { principal, requestId: `req-${sub}` }
}

const drc = actor('drc', 'drc-officer-1', [SHARING_APPLY_SCOPE])
const natres = actor('natres', 'natres-officer-1', [SHARING_APPLY_SCOPE])
const authority = actor('njdata', 'njdata-officer-1', [SHARING_ADMIN_SCOPE])
const reviewer = actor('housing', 'housing-reviewer-1', [SHARING_REVIEW_SCOPE])
const secondReviewer = actor('housing', 'housing-reviewer-2', [SHARING_REVIEW_SCOPE])
const auditor = actor('audit', 'auditor-1', [AUDIT_READ_SCOPE])

/** 发改 asks 住建 for construction permits (有条件): five fields in clear, the owner's lead masked. */
function permitsApplication(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resource: PERMITS,
    matter: MATTER,
    mode: 'query',
    usage: '业务协同',
    fields: ['permitNo', 'projectCode', 'projectName', 'ownerLeadPhone', 'contractPriceWanYuan'],
    masked: ['ownerLeadName'],
    legalBasis: '《企业投资项目核准和备案管理条例》第四条',
    scene: '投资项目在线审批监管',
    scopeOfUse: '仅用于投资项目审批监管',
    validTo: '2027-09-30',
    contact: { name: '联系人甲', phone: '025-83330000' },
    ...overrides,
  }
}

/** 自然资源 asks 住建 for drawing reviews (无条件): the authority's pass registers the grant. */
function drawingReviewApplication(): Record<string, unknown> {
  return {
    ...permitsApplication(),
    resource: 'housing.drawing-review',
    matter: 'QR00112001',
    usage: '数据校核',
    fields: ['certNo', 'projectCode', 'result'],
    masked: [],
  }
}

async function rejection(promise: Promise<unknown>, code: string): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(GatewayError)
  expect((err as GatewayError).code).toBe(code)
  return err as GatewayError
}

const pointers = (err: GatewayError) => ((err.extensions?.errors ?? []) as { pointer: string }[]).map((e) => e.pointer)

export function workflowConformance(suite: WorkflowSuiteOptions): void {
  describe(`sharing workflow: ${suite.name}`, () => {
    let catalog: Catalog
    let state: StateStore
    let store: SharingStore
    let workflow: SharingWorkflow
    let now: number
    let records: AdminAuditRecord[]
    let auditFails: boolean
    let grantsChanged: number
    const digest = createKeyedDigest(new Uint8Array(32).fill(7))

    beforeAll(async () => {
      const loaded = await loadCatalog(fileURLToPath(new URL('../../../catalog.yaml', import.meta.url)), {
        definitions: connectorDefinitions,
        vars: {},
      })
      if (!loaded.ok) throw new Error('the demo catalog does not load')
      catalog = loaded.catalog
    })

    beforeEach(async () => {
      state = await suite.open()
      store = openSharingStore(state)
      now = T0
      records = []
      auditFails = false
      grantsChanged = 0
      workflow = createSharingWorkflow({
        store,
        catalog: () => catalog,
        calendar: builtInWorkingCalendar(),
        clock: { now: () => now },
        audit: {
          async append(record: AuditRecord) {
            if (auditFails) throw new AuditUnavailableError('audit write failed: EIO')
            if (record.kind === 'admin') records.push(record)
          },
        },
        digest,
        days: { conformity: 2, review: 5, reviewUnpublished: 10 },
        onGrantsChanged: () => {
          grantsChanged++
        },
      })
    })

    afterEach(async () => {
      await state.close()
    })

    const pass = (app: Application) => workflow.conformity(authority, app.id, etagOf(app), { decision: 'pass' })

    /** Apply → pass → approve with narrowed fields, one more mask, a shorter validity and a quota. */
    async function approvedPermits(): Promise<{ app: Application; grant: LiveGrant }> {
      const inReview = await pass(await workflow.apply(drc, permitsApplication()))
      const app = await workflow.review(reviewer, inReview.id, etagOf(inReview), {
        decision: 'approve',
        fields: ['permitNo', 'projectCode', 'projectName'],
        masked: ['ownerLeadName', 'ownerLeadPhone'],
        validTo: '2027-03-31',
        quota: { limit: 1000, per: 'day' },
      })
      const grant = await store.getGrant(app.decision?.grantId as string)
      return { app, grant: grant as LiveGrant }
    }

    describe('the conditional path (有条件)', () => {
      it('apply → conformity pass → provider approval with narrower terms makes an active grant', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        expect(applied).toMatchObject({
          version: 1,
          state: 'conformity-check',
          action: 'read',
          consumer: 'drc',
          provider: 'housing',
          sharingType: 'conditional',
          applicant: 'drc-officer-1',
          notices: [],
          clock: { stage: 'conformity', budgetDays: 2, usedDays: 0, runStartedOn: '2026-09-30', dueDate: '2026-10-09' },
        })
        expect(applied.renewalOf).toBeUndefined()
        const inReview = await pass(applied)
        // Published resource: five working days from 09-30 (10-10 is a 调休 Saturday).
        expect(inReview).toMatchObject({
          state: 'provider-review',
          version: 2,
          clock: { stage: 'review', budgetDays: 5 },
        })
        expect(inReview.clock?.dueDate).toBe('2026-10-13')
        expect(grantsChanged).toBe(0)

        const { app, grant } = await approvedPermits()
        expect(app).toMatchObject({ state: 'approved', version: 3, decision: { outcome: 'approved', stage: 'review' } })
        expect(app.clock).toBeUndefined()
        expect(grant).toMatchObject({
          version: 1,
          state: 'active',
          applicationId: app.id,
          matter: MATTER,
          consumer: 'drc',
          resource: PERMITS,
          provider: 'housing',
          action: 'read',
          usage: '业务协同',
          fields: ['permitNo', 'projectCode', 'projectName'],
          masked: ['ownerLeadName', 'ownerLeadPhone'],
          validFrom: '2026-09-30',
          validTo: '2027-03-31',
          quota: { limit: 1000, per: 'day' },
          approvedBy: 'housing',
        })
        expect(await store.liveGrants()).toHaveLength(1)
        expect(await store.grantEpoch()).toBe(1)
        expect(grantsChanged).toBe(1)
        const steps = (await workflow.history(drc, app.id)).map((e) => [e.seq, e.transition, e.from, e.to])
        expect(steps).toEqual([
          [1, 'apply', null, 'conformity-check'],
          [2, 'conformity-pass', 'conformity-check', 'provider-review'],
          [3, 'review-approve', 'provider-review', 'approved'],
        ])
      })

      it('a review of an unpublished resource gets the longer budget', async () => {
        const unpublished = new Map(catalog.resources)
        const permits = catalog.resources.get(PERMITS)
        unpublished.set(PERMITS, { ...(permits as NonNullable<typeof permits>), publishedAt: '2026-12-01' })
        const original = catalog
        catalog = { ...catalog, resources: unpublished }
        try {
          const inReview = await pass(await workflow.apply(drc, permitsApplication()))
          expect(inReview.clock).toMatchObject({ budgetDays: 10, dueDate: '2026-10-20' })
        } finally {
          catalog = original
        }
      })

      it('refuses approval terms wider than the application, every problem at once', async () => {
        const inReview = await pass(await workflow.apply(drc, permitsApplication()))
        const err = await rejection(
          workflow.review(reviewer, inReview.id, etagOf(inReview), {
            decision: 'approve',
            fields: ['permitNo', 'ownerLeadName', 'contractorName'],
            validTo: '2028-01-01',
            quota: { limit: 10, per: 'fortnight' },
          }),
          'decision-invalid',
        )
        expect(pointers(err)).toEqual(['/fields/1', '/fields/2', '/validTo', '/quota/per'])
        expect((await store.getApplication(inReview.id))?.version).toBe(2)
      })
    })

    it('the unconditional path (无条件): the conformity pass registers the grant at once', async () => {
      const applied = await workflow.apply(natres, drawingReviewApplication())
      expect(applied.sharingType).toBe('unconditional')
      const app = await pass(applied)
      expect(app).toMatchObject({
        state: 'approved',
        decision: { outcome: 'approved', stage: 'conformity', by: 'njdata/njdata-officer-1' },
      })
      const grant = await store.getGrant(app.decision?.grantId as string)
      expect(grant).toMatchObject({
        state: 'active',
        consumer: 'natres',
        resource: 'housing.drawing-review',
        fields: ['certNo', 'projectCode', 'result'],
        masked: [],
        validFrom: '2026-09-30',
        validTo: '2027-09-30',
        approvedBy: 'njdata',
      })
      expect(await store.grantEpoch()).toBe(1)
      expect(records.map((r) => r.details.grant)).toEqual([undefined, grant?.id])
    })

    describe('一次性告知: notice, resubmission and the clock', () => {
      const items = [
        { pointer: '/legalBasis', message: '请注明具体条款' },
        { pointer: '/contact/phone', message: '请提供办公电话' },
      ]

      it('a notice pauses the clock; the resubmission resumes it with the days left', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        now = shanghai('2026-10-08T09:00')
        const noticed = await workflow.conformity(authority, applied.id, etagOf(applied), { decision: 'notice', items })
        expect(noticed.state).toBe('awaiting-applicant')
        // 10-08 was spent; no due date while the applicant holds it.
        expect(noticed.clock).toEqual({
          stage: 'conformity',
          budgetDays: 2,
          usedDays: 1,
          runStartedOn: '2026-09-30',
          paused: true,
          calendarCovered: true,
        })
        expect(noticed.notices).toHaveLength(1)
        expect(noticed.notices[0]).toMatchObject({ stage: 'conformity', by: 'njdata/njdata-officer-1', items })

        now = shanghai('2026-10-12T15:00')
        const missing = await rejection(
          workflow.resubmit(drc, noticed.id, etagOf(noticed), { changes: { legalBasis: '《条例》第四条第二款' } }),
          'application-invalid',
        )
        expect(pointers(missing)).toEqual(['/changes/contact/phone'])

        const resubmitted = await workflow.resubmit(drc, noticed.id, etagOf(noticed), {
          changes: { legalBasis: '《条例》第四条第二款', contact: { name: '联系人甲', phone: '025-83331111' } },
          note: '已补正',
        })
        expect(resubmitted.state).toBe('conformity-check')
        expect(resubmitted.request.legalBasis).toBe('《条例》第四条第二款')
        // One day left, from Monday 10-12: due Tuesday 10-13.
        expect(resubmitted.clock).toMatchObject({
          budgetDays: 2,
          usedDays: 1,
          runStartedOn: '2026-10-12',
          dueDate: '2026-10-13',
          paused: false,
        })
        expect(resubmitted.notices[0]?.answeredAt).toBe(new Date(now).toISOString())
      })

      it('a second notice may not name an item an earlier one named (422 notice-item-repeated)', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        const noticed = await workflow.conformity(authority, applied.id, etagOf(applied), { decision: 'notice', items })
        const back = await workflow.resubmit(drc, noticed.id, etagOf(noticed), {
          changes: { legalBasis: '《条例》第四条', contact: { name: '联系人甲', phone: '025-83331111' } },
        })
        const again = [
          { pointer: '/scene', message: '请说明一件事名称' },
          { pointer: '/contact/phone', message: '仍需办公电话' },
        ]
        const err = await rejection(
          workflow.conformity(authority, back.id, etagOf(back), { decision: 'notice', items: again }),
          'notice-item-repeated',
        )
        expect(pointers(err)).toEqual(['/contact/phone'])
        expect((await store.getApplication(back.id))?.version).toBe(back.version)
        // A notice naming only new items is fine.
        const second = await workflow.conformity(authority, back.id, etagOf(back), {
          decision: 'notice',
          items: [again[0]],
        })
        expect(second.notices).toHaveLength(2)
      })

      it('a notice must name items the applicant can change', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        const err = await rejection(
          workflow.conformity(authority, applied.id, etagOf(applied), {
            decision: 'notice',
            items: [
              { pointer: '/resource', message: '资源不对' },
              { pointer: 'legalBasis', message: '缺少' },
            ],
          }),
          'decision-invalid',
        )
        expect(pointers(err)).toEqual(['/items/1/pointer'])
        const err2 = await rejection(
          workflow.conformity(authority, applied.id, etagOf(applied), {
            decision: 'notice',
            items: [{ pointer: '/resource', message: '资源不对' }],
          }),
          'decision-invalid',
        )
        expect(pointers(err2)).toEqual(['/items/0/pointer'])
      })
    })

    describe('refusals', () => {
      it('need a reason (422 decision-invalid); the admin record keeps only its digest', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        for (const body of [{ decision: 'refuse' }, { decision: 'refuse', reason: '   ' }]) {
          const err = await rejection(
            workflow.conformity(authority, applied.id, etagOf(applied), body),
            'decision-invalid',
          )
          expect(pointers(err)).toEqual(['/reason'])
        }
        const inReview = await pass(applied)
        await rejection(
          workflow.review(reviewer, inReview.id, etagOf(inReview), { decision: 'refuse' }),
          'decision-invalid',
        )
        const reason = '该事项无需负责人信息'
        const refused = await workflow.review(reviewer, inReview.id, etagOf(inReview), { decision: 'refuse', reason })
        expect(refused).toMatchObject({ state: 'refused', decision: { outcome: 'refused', stage: 'review', reason } })
        expect(refused.clock).toBeUndefined()
        const last = records.at(-1) as AdminAuditRecord
        expect(last.details).toMatchObject({ transition: 'review-refuse', reasonDigest: digest(reason) })
        expect(JSON.stringify(records)).not.toContain(reason)
        expect((await workflow.history(auditor, refused.id)).at(-1)?.details).toMatchObject({ reason })
      })
    })

    describe('roles and separation of duties', () => {
      it('nobody decides on an application their own department filed (403 separation-of-duties)', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        const drcAuthority = actor('drc', 'drc-chief', [SHARING_ADMIN_SCOPE])
        await rejection(
          workflow.conformity(drcAuthority, applied.id, etagOf(applied), { decision: 'pass' }),
          'separation-of-duties',
        )
        const inReview = await pass(applied)
        const drcReviewer = actor('drc', 'drc-reviewer', [SHARING_REVIEW_SCOPE])
        await rejection(
          workflow.review(drcReviewer, inReview.id, etagOf(inReview), { decision: 'approve' }),
          'separation-of-duties',
        )
        const applicantAsReviewer = actor('housing', 'drc-officer-1', [SHARING_REVIEW_SCOPE])
        await rejection(
          workflow.review(applicantAsReviewer, inReview.id, etagOf(inReview), { decision: 'approve' }),
          'separation-of-duties',
        )
      })

      it('only the provider reviews, only the authority checks conformity (403 sharing-not-permitted)', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        await rejection(
          workflow.conformity(reviewer, applied.id, etagOf(applied), { decision: 'pass' }),
          'sharing-not-permitted',
        )
        const inReview = await pass(applied)
        const marketReviewer = actor('market', 'market-reviewer', [SHARING_REVIEW_SCOPE])
        await rejection(
          workflow.review(marketReviewer, inReview.id, etagOf(inReview), { decision: 'approve' }),
          'sharing-not-permitted',
        )
        await rejection(workflow.apply(reviewer, permitsApplication()), 'sharing-not-permitted')
        await rejection(
          workflow.apply(actor('nowhere', 'x', [SHARING_APPLY_SCOPE]), permitsApplication()),
          'department-unknown',
        )
      })

      it('a step in the wrong state is 409 transition-not-allowed, naming the state', async () => {
        const inReview = await pass(await workflow.apply(drc, permitsApplication()))
        const err = await rejection(
          workflow.conformity(authority, inReview.id, etagOf(inReview), { decision: 'pass' }),
          'transition-not-allowed',
        )
        expect(err.extensions).toEqual({ state: 'provider-review' })
        const withdrawn = await workflow.withdraw(drc, inReview.id, etagOf(inReview), { reason: '项目取消' })
        expect(withdrawn).toMatchObject({ state: 'withdrawn', version: 3 })
        expect(withdrawn.clock).toBeUndefined()
        await rejection(workflow.withdraw(drc, withdrawn.id, etagOf(withdrawn), undefined), 'transition-not-allowed')
      })
    })

    describe('If-Match and concurrency', () => {
      it('a step without If-Match is 428; a stale or malformed one is 412', async () => {
        const applied = await workflow.apply(drc, permitsApplication())
        await rejection(
          workflow.conformity(authority, applied.id, undefined, { decision: 'pass' }),
          'precondition-required',
        )
        await rejection(workflow.conformity(authority, applied.id, '*', { decision: 'pass' }), 'precondition-failed')
        await rejection(
          workflow.conformity(authority, applied.id, '"other.1"', { decision: 'pass' }),
          'precondition-failed',
        )
        const inReview = await pass(applied)
        await rejection(workflow.withdraw(drc, inReview.id, etagOf(applied), {}), 'precondition-failed')
        expect((await store.getApplication(applied.id))?.version).toBe(2)
      })

      it('two approvals with the same If-Match: exactly one succeeds, the other is 412, one grant exists', async () => {
        const inReview = await pass(await workflow.apply(drc, permitsApplication()))
        const before = records.length
        const outcomes = await Promise.allSettled([
          workflow.review(reviewer, inReview.id, etagOf(inReview), { decision: 'approve' }),
          workflow.review(secondReviewer, inReview.id, etagOf(inReview), { decision: 'approve', fields: ['permitNo'] }),
        ])
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
        const failed = outcomes.filter((o) => o.status === 'rejected')
        expect(failed).toHaveLength(1)
        expect(((failed[0] as PromiseRejectedResult).reason as GatewayError).code).toBe('precondition-failed')
        expect(await store.liveGrants()).toHaveLength(1)
        expect(records.length - before).toBe(1)
        expect((await store.getApplication(inReview.id))?.version).toBe(3)
      })
    })

    describe('grants: revocation and renewal', () => {
      it('revocation needs a reason, makes the grant revoked, bumps the epoch and is recorded', async () => {
        const { app, grant } = await approvedPermits()
        const epoch = await store.grantEpoch()
        await rejection(workflow.revokeGrant(reviewer, grant.id, etagOf(grant), {}), 'decision-invalid')
        await rejection(
          workflow.revokeGrant(actor('market', 'm', [SHARING_REVIEW_SCOPE]), grant.id, etagOf(grant), { reason: 'x' }),
          'sharing-not-permitted',
        )
        await rejection(workflow.revokeGrant(reviewer, grant.id, undefined, { reason: 'x' }), 'precondition-required')
        const reason = '项目已终止，停止共享'
        const revoked = await workflow.revokeGrant(reviewer, grant.id, etagOf(grant), { reason })
        expect(revoked).toMatchObject({
          state: 'revoked',
          version: 2,
          revokedBy: 'housing/housing-reviewer-1',
          revokeReason: reason,
          revokedAt: new Date(now).toISOString(),
        })
        expect(await store.getGrant(grant.id)).toMatchObject({ state: 'revoked', version: 2 })
        expect(await store.grantEpoch()).toBe(epoch + 1)
        const last = records.at(-1) as AdminAuditRecord
        expect(last.action).toBe('sharing.grant')
        expect(last.details).toMatchObject({
          grant: grant.id,
          from: 'active',
          to: 'revoked',
          reasonDigest: digest(reason),
        })
        expect((await workflow.history(drc, app.id)).at(-1)).toMatchObject({
          transition: 'grant-revoke',
          to: 'approved',
        })
        const err = await rejection(
          workflow.revokeGrant(authority, grant.id, etagOf(revoked), { reason }),
          'transition-not-allowed',
        )
        expect(err.extensions).toEqual({ state: 'revoked' })
        await rejection(workflow.renewGrant(drc, grant.id, { validTo: '2028-06-30' }), 'transition-not-allowed')
      })

      it('a renewal is a new application naming the grant; its approval supersedes the old grant', async () => {
        const { app: original, grant: old } = await approvedPermits()
        await rejection(workflow.renewGrant(natres, old.id, { validTo: '2028-06-30' }), 'sharing-not-permitted')
        await rejection(
          workflow.renewGrant(drc, old.id, { validTo: '2028-06-30', renewalOf: 'x' }),
          'application-invalid',
        )
        now = shanghai('2027-03-01T09:00')
        const renewal = await workflow.renewGrant(drc, old.id, {
          validTo: '2028-06-30',
          scopeOfUse: '投资项目审批监管及后评价',
        })
        expect(renewal).toMatchObject({ state: 'conformity-check', version: 1, renewalOf: old.id })
        expect(renewal.id).not.toBe(original.id)
        expect(renewal.request).toMatchObject({ fields: original.request.fields, validTo: '2028-06-30' })
        expect(renewal.request.validFrom).toBeUndefined()
        const inReview = await pass(renewal)
        const approved = await workflow.review(reviewer, inReview.id, etagOf(inReview), { decision: 'approve' })
        const fresh = approved.decision?.grantId as string
        expect(await store.getGrant(old.id)).toMatchObject({ state: 'superseded', supersededBy: fresh, version: 2 })
        expect(await store.getGrant(fresh)).toMatchObject({
          state: 'active',
          validFrom: '2027-03-01',
          validTo: '2028-06-30',
        })
        expect((await store.liveGrants()).map((g) => g.id)).toEqual([fresh])
      })
    })

    describe('escalation', () => {
      it('marks an overdue check once; later calls and calls before the due day are false', async () => {
        const app = await workflow.apply(drc, permitsApplication())
        now = shanghai('2026-10-09T23:59')
        expect(await workflow.escalate(app.id)).toBe(false)
        now = shanghai('2026-10-10T08:00')
        const both = await Promise.all([workflow.escalate(app.id), workflow.escalate(app.id)])
        expect(both.sort()).toEqual([false, true])
        expect(await workflow.escalate(app.id)).toBe(false)
        const stored = await store.getApplication(app.id)
        expect(stored).toMatchObject({ version: 2, escalatedAt: new Date(now).toISOString() })
        expect((await workflow.history(authority, app.id)).map((e) => e.transition)).toEqual(['apply', 'escalate'])
        expect(records.map((r) => [r.actor, r.details.transition])).toEqual([
          ['drc/drc-officer-1', 'apply'],
          ['system', 'escalate'],
        ])
      })

      it('never escalates a check waiting for the applicant', async () => {
        const app = await workflow.apply(drc, permitsApplication())
        const noticed = await workflow.conformity(authority, app.id, etagOf(app), {
          decision: 'notice',
          items: [{ pointer: '/scene', message: '请说明' }],
        })
        now = shanghai('2026-12-01T08:00')
        expect(await workflow.escalate(noticed.id)).toBe(false)
      })
    })

    describe('the admin audit record of every step', () => {
      it('is exactly one per transition, with the step’s public facts only', async () => {
        const { app, grant } = await approvedPermits()
        await workflow.revokeGrant(authority, grant.id, etagOf(grant), { reason: '停止' })
        const events = await workflow.history(auditor, app.id)
        expect(records).toHaveLength(events.length)
        expect(records.map((r) => [r.action, r.details.transition, r.details.seq])).toEqual([
          ['sharing.application', 'apply', 1],
          ['sharing.application', 'conformity-pass', 2],
          ['sharing.application', 'review-approve', 3],
          ['sharing.grant', 'grant-revoke', 4],
        ])
        expect(records[2]?.details).toEqual({
          application: app.id,
          seq: 3,
          transition: 'review-approve',
          from: 'provider-review',
          to: 'approved',
          resource: PERMITS,
          matter: MATTER,
          consumer: 'drc',
          provider: 'housing',
          grant: grant.id,
        })
        expect(records[0]).toMatchObject({ actor: 'drc/drc-officer-1', requestId: 'req-drc-officer-1' })
        expect(records[0]?.details.dueDate).toBe('2026-10-09')
        expect(JSON.stringify(records)).not.toContain('025-83330000')
      })

      it('a step whose record cannot be written is rolled back: no application change, no grant', async () => {
        auditFails = true
        await rejection(workflow.apply(drc, permitsApplication()), 'audit-unavailable')
        expect((await workflow.listApplications(authority, { limit: 10 })).items).toEqual([])
        auditFails = false
        const inReview = await pass(await workflow.apply(drc, permitsApplication()))
        auditFails = true
        await rejection(
          workflow.review(reviewer, inReview.id, etagOf(inReview), { decision: 'approve' }),
          'audit-unavailable',
        )
        expect(await store.getApplication(inReview.id)).toEqual(inReview)
        expect(await store.liveGrants()).toEqual([])
        expect(await store.grantEpoch()).toBe(0)
        expect(await workflow.history(authority, inReview.id)).toHaveLength(2)
        expect(grantsChanged).toBe(0)
      })
    })

    describe('what each department sees', () => {
      it('the consumer, the provider, the authority and auditors see an application; another department gets 404', async () => {
        const app = await workflow.apply(drc, permitsApplication())
        for (const reader of [drc, reviewer, authority, auditor]) {
          expect((await workflow.getApplication(reader, app.id)).id).toBe(app.id)
        }
        await rejection(workflow.getApplication(natres, app.id), 'application-not-found')
        await rejection(workflow.history(natres, app.id), 'application-not-found')
        await rejection(workflow.getApplication(actor('drc', 'x', []), app.id), 'sharing-not-permitted')
        expect((await workflow.listApplications(natres, { limit: 10 })).items).toEqual([])
        expect((await workflow.listApplications(reviewer, { limit: 10 })).items.map((a) => a.id)).toEqual([app.id])
      })

      it('grants: live ones first, then the catalog’s, paged, filtered by the same query and visibility', async () => {
        const { grant } = await approvedPermits()
        await rejection(workflow.getGrant(natres, grant.id), 'grant-not-found')
        expect(await workflow.getGrant(reviewer, grant.id)).toMatchObject({ id: grant.id, source: 'application' })
        const seen: string[] = []
        let cursor: string | undefined
        do {
          const page = await workflow.listGrants(drc, { limit: 2, ...(cursor === undefined ? {} : { cursor }) })
          expect(page.items.length).toBeLessThanOrEqual(2)
          seen.push(...page.items.map((g) => g.id))
          cursor = page.next
        } while (cursor !== undefined)
        // drc consumes three grants of QT00301001 and one of BA00015001 in the catalog.
        expect(seen).toEqual([
          grant.id,
          `catalog:${MATTER}:${PERMITS}:read:drc`,
          `catalog:${MATTER}:housing.drawing-review:read:drc`,
          `catalog:${MATTER}:housing.completion-filing:read:drc`,
          'catalog:BA00015001:market.enterprise-registration:read:drc',
        ])
        const live = await workflow.listGrants(drc, { limit: 10, source: 'application' })
        expect(live.items.map((g) => g.id)).toEqual([grant.id])
        const fromCatalog = await workflow.listGrants(drc, { limit: 10, source: 'catalog', resource: PERMITS })
        expect(fromCatalog.items).toEqual([
          expect.objectContaining({ source: 'catalog', approvalRef: '宁住建共享〔2026〕3号', validTo: '2027-12-31' }),
        ])
        const revokedOnly = await workflow.listGrants(drc, { limit: 10, state: 'revoked' })
        expect(revokedOnly.items).toEqual([])
        const view = await workflow.getGrant(drc, `catalog:${MATTER}:${PERMITS}:read:drc`)
        expect(view).toMatchObject({ source: 'catalog', version: 0, state: 'active', approvedBy: 'housing' })
        await rejection(workflow.getGrant(natres, `catalog:${MATTER}:${PERMITS}:read:drc`), 'grant-not-found')
      })

      it('list filters: state and overdue', async () => {
        const early = await workflow.apply(drc, permitsApplication())
        now = shanghai('2026-10-09T10:00')
        const late = await workflow.apply(drc, permitsApplication({ scene: '另一场景' }))
        now = shanghai('2026-10-10T12:00')
        const ids = async (query: Parameters<SharingWorkflow['listApplications']>[1]) =>
          (await workflow.listApplications(authority, query)).items.map((a) => a.id)
        expect(await ids({ limit: 10, overdue: true })).toEqual([early.id])
        expect(await ids({ limit: 10, overdue: false })).toEqual([late.id])
        expect(await ids({ limit: 10, state: 'conformity-check' })).toEqual([late.id, early.id])
        await pass(late)
        expect(await ids({ limit: 10, state: 'provider-review' })).toEqual([late.id])
        expect(await ids({ limit: 1 })).toEqual([late.id])
      })
    })

    describe('application-invalid lists every problem at once', () => {
      it('catalog problems together: an unknown field and a validTo in the past', async () => {
        const err = await rejection(
          workflow.apply(drc, permitsApplication({ fields: ['permitNo', 'noSuchField'], validTo: '2026-09-29' })),
          'application-invalid',
        )
        expect(err.status).toBe(422)
        expect(pointers(err)).toEqual(['/fields/1', '/validTo'])
      })

      it('schema and catalog problems together', async () => {
        const body = permitsApplication({ matter: 'XX0000', mode: 'stream', renewalOf: 'g1', validTo: '2032-01-01' })
        delete body.contact
        const err = await rejection(workflow.apply(drc, body), 'application-invalid')
        expect(pointers(err).sort()).toEqual(['/contact', '/matter', '/mode', '/renewalOf', '/validTo'])
      })

      it('不予共享, the provider itself, a field in clear and masked, a window the wrong way round', async () => {
        const notShared = await rejection(
          workflow.apply(
            drc,
            permitsApplication({ resource: 'housing.security-applicant', fields: ['applicationNo'], masked: [] }),
          ),
          'application-invalid',
        )
        expect(notShared.extensions?.errors).toEqual([
          { pointer: '/resource', message: expect.stringContaining('《个人信息保护法》第三十四条') },
        ])
        const housing = actor('housing', 'housing-officer', [SHARING_APPLY_SCOPE])
        const own = await rejection(workflow.apply(housing, permitsApplication()), 'application-invalid')
        expect(pointers(own)).toEqual(['/resource'])
        const both = await rejection(
          workflow.apply(drc, permitsApplication({ masked: ['permitNo'], validFrom: '2027-10-01' })),
          'application-invalid',
        )
        // permitNo is in clear too, and has no mask rule: both said, with the window.
        expect(pointers(both)).toEqual(['/fields/0', '/masked/0', '/validFrom'])
      })

      it('a write-back takes no fields and needs a write binding; a query needs a read binding', async () => {
        const housing = actor('housing', 'housing-officer', [SHARING_APPLY_SCOPE])
        const feedback = { resource: 'drc.permit-feedback', matter: MATTER, fields: [], masked: [] }
        const wrongMode = await rejection(workflow.apply(housing, permitsApplication(feedback)), 'application-invalid')
        expect(pointers(wrongMode)).toEqual(['/mode', '/fields'])
        const withFields = { ...feedback, mode: 'write-back', fields: ['permitNo'] }
        const err = await rejection(workflow.apply(housing, permitsApplication(withFields)), 'application-invalid')
        expect(pointers(err)).toEqual(['/fields'])
        const app = await workflow.apply(housing, permitsApplication({ ...feedback, mode: 'write-back' }))
        expect(app).toMatchObject({ action: 'write', provider: 'drc', sharingType: 'conditional' })
      })
    })
  })
}
