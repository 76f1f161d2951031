import type { Clock } from '../../kernel/clock.js'
import { addCalendarDays, calendarDaysBetween, shanghaiDate } from '../../kernel/working-calendar.js'
import { adminRecord } from '../audit/admin.js'
import type { AuditRecord } from '../audit/record.js'
import type { Logger } from '../telemetry/logger.js'
import type { Application, LiveGrant, Stage } from './model.js'
import type { SharingWorkflow } from './service.js'
import type { SharingStore } from './store.js'
import type { SharingNotice, WebhookSender } from './webhook.js'

export interface SharingSchedulerDeps {
  readonly store: SharingStore
  readonly workflow: Pick<SharingWorkflow, 'escalate'>
  readonly clock: Clock
  readonly log: Logger
  /** Between scans (QIAO_SHARING_SCAN_INTERVAL); 0 = one scan at start only. */
  readonly intervalMs: number
  readonly webhook?: WebhookSender
  readonly audit: { append(record: AuditRecord): Promise<unknown> }
  /** The overdue counts of each scan (the gateway sets qiao_sharing_applications_overdue from them). */
  readonly onOverdue?: (counts: Readonly<Record<Stage, number>>) => void
  /** This instance escalated an application (qiao_sharing_escalations_total). */
  readonly onEscalated?: () => void
  /** This instance gave a reminder (qiao_sharing_reminders_total). */
  readonly onReminded?: (days: ReminderDays) => void
}

export type ReminderDays = 30 | 7

/** What one scan did on this instance (another instance may have done the rest). */
export interface ScanReport {
  readonly escalated: number
  /** Undefined when the count failed. */
  readonly overdue: Readonly<Record<Stage, number>> | undefined
  readonly reminders: Readonly<Record<'30' | '7', number>>
  readonly webhooks: { readonly delivered: number; readonly failed: number }
  /** Items (or whole steps) that failed and were logged; the scan went on without them. */
  readonly errors: number
}

export interface SharingScheduler {
  /** Runs a scan now, or joins the one running: never two at once. */
  scan(): Promise<ScanReport>
  /** No more scans; resolves once a scan under way has ended (before the store it uses is closed). */
  stop(): Promise<void>
}

/** Reminders in the order given: a grant first seen within 7 days gets the 7-day one only. */
const REMINDERS: readonly ReminderDays[] = [30, 7]

/**
 * The sharing workflow's clock-driven work, on every instance: escalating applications whose check is past its
 * deadline, and the 30- and 7-day expiry reminders of live grants. Instances race for each item through the store
 * (escalate and markReminded succeed for one of them), so each escalation and reminder is given once, with one
 * admin audit record, however many instances scan.
 *
 * Notices to the webhook go out after the transition committed (a notice about something rolled back would be
 * false) and the scan waits for them, so a scan's report says what was delivered; the next scan starts after.
 */
export function startSharingScheduler(deps: SharingSchedulerDeps): SharingScheduler {
  const { store, workflow, clock, log, webhook, audit } = deps
  let running: Promise<ScanReport> | undefined
  let stopped = false

  const run = async (): Promise<ScanReport> => {
    const now = clock.now()
    const at = new Date(now).toISOString()
    const today = shanghaiDate(now)
    let errors = 0
    let escalated = 0
    let overdue: Readonly<Record<Stage, number>> | undefined
    const reminders = { '30': 0, '7': 0 }
    const deliveries: Array<Promise<boolean>> = []
    const notify = (notice: SharingNotice) => {
      if (webhook !== undefined) deliveries.push(webhook.send(notice))
    }
    const failed = (what: string, ids: Record<string, string | number>, err: unknown) => {
      errors++
      // Ids only: an item's contents (contact, legal basis) stay out of the log.
      log.error({ ...ids, err: (err as Error)?.message ?? String(err) }, `sharing scheduler: ${what} failed`)
    }

    // 1. Deadlines: escalate each overdue check once (the store says which are not yet), then count them all.
    let due: Application[] = []
    try {
      due = await store.overdueUnescalated(now)
    } catch (err) {
      failed('listing overdue applications', {}, err)
    }
    for (const app of due) {
      try {
        if (!(await workflow.escalate(app.id))) continue
        escalated++
        deps.onEscalated?.()
        notify(overdueNotice(app, at))
      } catch (err) {
        failed('escalation', { application: app.id }, err)
      }
    }
    try {
      overdue = await store.countOverdue(now)
      deps.onOverdue?.(overdue)
    } catch (err) {
      failed('counting overdue applications', {}, err)
    }

    // 2. Expiry reminders.
    for (const days of REMINDERS) {
      let grants: LiveGrant[] = []
      try {
        grants = await store.grantsDueForReminder(days, today, addCalendarDays(today, days))
      } catch (err) {
        failed('listing grants due for a reminder', { reminder: days }, err)
      }
      for (const grant of grants) {
        const daysLeft = calendarDaysBetween(today, grant.validTo)
        // Expired already: a reminder would announce what has happened (the API shows the grant as expired).
        if (daysLeft < 0) continue
        // Within 7 days when first seen: the 7-day pass gives that reminder alone and marks this one too.
        if (days === 30 && daysLeft <= 7) continue
        try {
          const given = await store.transaction(async (tx) => {
            if (!(await tx.markReminded(grant.id, days, at))) return false
            if (days === 7) await tx.markReminded(grant.id, 30, at)
            // Inside the transaction: a reminder whose record cannot be written is not marked given.
            await audit.append(
              adminRecord('sharing.grant', now, {
                grant: grant.id,
                reminder: days,
                validTo: grant.validTo,
                consumer: grant.consumer,
                resource: grant.resource,
                matter: grant.matter,
              }),
            )
            return true
          })
          if (!given) continue
          reminders[days]++
          deps.onReminded?.(days)
          notify(reminderNotice(grant, at, daysLeft))
        } catch (err) {
          failed('expiry reminder', { grant: grant.id, reminder: days }, err)
        }
      }
    }

    const sent = await Promise.all(deliveries)
    const delivered = sent.filter(Boolean).length
    return { escalated, overdue, reminders, webhooks: { delivered, failed: sent.length - delivered }, errors }
  }

  const scan = (): Promise<ScanReport> => {
    running ??= run().finally(() => {
      running = undefined
    })
    return running
  }

  const tick = () => {
    if (stopped || running !== undefined) return
    scan().catch((err: unknown) => log.error({ err: (err as Error)?.message }, 'sharing scheduler: scan failed'))
  }
  tick()
  const timer = deps.intervalMs > 0 ? setInterval(tick, deps.intervalMs) : undefined
  timer?.unref()

  return {
    scan,
    async stop() {
      stopped = true
      if (timer !== undefined) clearInterval(timer)
      await running?.catch(() => {})
    },
  }
}

function overdueNotice(app: Application, at: string): SharingNotice {
  return {
    type: 'application.overdue',
    at,
    application: {
      id: app.id,
      stage: app.state === 'provider-review' ? 'review' : 'conformity',
      // Always there: only a running clock (which has a due date) can be overdue.
      dueDate: app.clock?.dueDate ?? '',
      consumer: app.consumer,
      provider: app.provider,
      resource: app.request.resource,
      matter: app.request.matter,
    },
  }
}

function reminderNotice(grant: LiveGrant, at: string, daysLeft: number): SharingNotice {
  const { id, matter, resource, consumer, validTo } = grant
  return { type: 'grant.expiry-reminder', at, daysLeft, grant: { id, matter, resource, consumer, validTo } }
}
