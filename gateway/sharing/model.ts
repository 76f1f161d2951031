import type { Action, Usage } from '../catalog/types.js'

/**
 * The sharing workflow's model (《政务数据共享条例》 and a typical provincial implementation, domain primer §1.2–1.4;
 * sharing-lifecycle §1): a consumer department applies for one resource for one matter; the data-sharing authority
 * checks conformity; a conditional resource's provider reviews; an approval becomes a live grant.
 *
 *   apply ──▶ conformity-check ──pass──▶ provider-review ──approve──▶ approved (grant)
 *                  │  ▲        └─pass (无条件)─────────────────────▶ approved (registration grant)
 *           notice │  │ resubmit          notice │ ▲ resubmit
 *                  ▼  │                          ▼ │
 *             awaiting-applicant            awaiting-applicant
 *   refuse (with a reason) from either check ──▶ refused;  the applicant may withdraw ──▶ withdrawn
 */

export type ApplicationState =
  | 'conformity-check'
  | 'awaiting-applicant'
  | 'provider-review'
  | 'approved'
  | 'refused'
  | 'withdrawn'

/** The two checks with a deadline: the authority's conformity check, the provider's review. */
export type Stage = 'conformity' | 'review'

/** 共享方式: an interface query (read) or a write-back into the provider's system (write). */
export type SharingMode = 'query' | 'write-back'

export const MODE_ACTION: Readonly<Record<SharingMode, Action>> = { query: 'read', 'write-back': 'write' }

export interface Contact {
  readonly name: string
  readonly phone: string
  readonly email?: string
}

/** What the applicant states (条例: 使用依据、使用场景、使用范围、共享方式、使用时限), validated by the application schema. */
export interface ApplicationRequest {
  readonly resource: string
  readonly matter: string
  readonly mode: SharingMode
  /** 共享用途. */
  readonly usage: Usage
  /** Fields wanted in clear (read). Empty for write-back. */
  readonly fields: readonly string[]
  /** Fields the applicant accepts masked (read). */
  readonly masked: readonly string[]
  /** 使用依据. */
  readonly legalBasis: string
  /** 使用场景, e.g. the 一件事 it serves. */
  readonly scene: string
  /** 使用范围. */
  readonly scopeOfUse: string
  /** 使用时限: first and last day wanted (inclusive ISO dates, Asia/Shanghai). validFrom defaults to the approval day. */
  readonly validFrom?: string
  readonly validTo: string
  readonly contact: Contact
}

/** One item of a 一次性告知: a place in the application (JSON pointer, e.g. `/legalBasis`) and what is missing. */
export interface NoticeItem {
  readonly pointer: string
  readonly message: string
}

/** 一次性告知: everything missing, in one notice; the clock stops until the applicant resubmits. */
export interface Notice {
  readonly id: string
  readonly stage: Stage
  /** ISO time it was given, and by whom (`dept/sub`). */
  readonly at: string
  readonly by: string
  readonly items: readonly NoticeItem[]
  /** ISO time the applicant resubmitted. */
  readonly answeredAt?: string
}

/**
 * The deadline of the current check, in working days of the official calendar. Days are counted from the working
 * day after the check starts; while the application waits for the applicant the clock stands still, and on
 * resubmission it continues with the days left (at least one).
 */
export interface StageClock {
  readonly stage: Stage
  /** Working days the stage has in all (conformity 2; review 5 published / 10 not yet, or the resource's own). */
  readonly budgetDays: number
  /** Working days used before the current run of the clock (by earlier runs, before notices). */
  readonly usedDays: number
  /** Calendar day (ISO date) the current run started on; counting begins the next working day. */
  readonly runStartedOn: string
  /** Last day (ISO date) of the stage; absent while paused. */
  readonly dueDate?: string
  /** End of dueDate (23:59:59.999 Asia/Shanghai), epoch ms; absent while paused. */
  readonly dueAt?: number
  readonly paused: boolean
  /** False when the due date lies beyond the years the working calendar covers (weekends only were counted). */
  readonly calendarCovered: boolean
}

/** What a reviewer may set when approving: narrower fields, more masks, a shorter validity, a quota. */
export interface ApprovalTerms {
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  readonly validFrom: string
  readonly validTo: string
  readonly quota?: GrantQuota
}

export interface GrantQuota {
  /** Calls per window. */
  readonly limit: number
  /** `second`, `minute`, `hour`, `day` or e.g. `10s` (as catalog quotas). */
  readonly per: string
}

export interface Decision {
  readonly outcome: 'approved' | 'refused'
  readonly stage: Stage
  readonly at: string
  readonly by: string
  /** Mandatory for a refusal. */
  readonly reason?: string
  readonly terms?: ApprovalTerms
  readonly grantId?: string
}

export interface Application {
  readonly id: string
  /** Bumped by every transition; the ETag is `"<id>.<version>"`. */
  readonly version: number
  readonly state: ApplicationState
  readonly request: ApplicationRequest
  /** Derived from the request and the catalog at submission. */
  readonly action: Action
  readonly consumer: string
  readonly provider: string
  readonly sharingType: 'unconditional' | 'conditional'
  /** The officer who applied (`sub`). */
  readonly applicant: string
  readonly submittedAt: string
  readonly updatedAt: string
  /** The running (or paused) check's deadline; absent once decided or withdrawn. */
  readonly clock?: StageClock
  readonly notices: readonly Notice[]
  readonly decision?: Decision
  /** A renewal names the grant it renews. */
  readonly renewalOf?: string
  /** When the deadline passed and the authority was told (disputes and delays: the authority coordinates). */
  readonly escalatedAt?: string
}

export type GrantState = 'active' | 'revoked' | 'superseded'

/**
 * A live grant: made by an approval, compiled into every instance's snapshot, never read from the database on the
 * exchange path. `id` is the approval reference carried in exchange audit records (`approvalRef`).
 */
export interface LiveGrant {
  readonly id: string
  readonly version: number
  readonly state: GrantState
  readonly applicationId: string
  readonly matter: string
  readonly consumer: string
  readonly resource: string
  /** The resource's provider department. */
  readonly provider: string
  readonly action: Action
  readonly usage: Usage
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  readonly validFrom: string
  readonly validTo: string
  readonly quota?: GrantQuota
  /** Department that approved (the provider, or the authority for a registration grant) and the officer. */
  readonly approvedBy: string
  readonly approvedAt: string
  readonly revokedAt?: string
  readonly revokedBy?: string
  readonly revokeReason?: string
  /** The grant that replaced this one (a renewal or a later application for the same matter, resource, consumer). */
  readonly supersededBy?: string
  /** Expiry reminders given (days before expiry → ISO time). */
  readonly reminders: Readonly<Partial<Record<'30' | '7', string>>>
}

/** One entry of an application's history, in order; each has its admin audit record (same id). */
export interface SharingEvent {
  readonly applicationId: string
  readonly seq: number
  readonly at: string
  readonly actor: string
  readonly transition: Transition
  readonly from: ApplicationState | null
  readonly to: ApplicationState
  /** Public facts of the step (notice items, terms, grant id); reasons in full (history is for auditors). */
  readonly details: Readonly<Record<string, unknown>>
}

export type Transition =
  | 'apply'
  | 'conformity-pass'
  | 'conformity-notice'
  | 'conformity-refuse'
  | 'review-approve'
  | 'review-refuse'
  | 'review-notice'
  | 'resubmit'
  | 'withdraw'
  | 'escalate'
  | 'grant-revoke'

export interface Page<T> {
  readonly items: readonly T[]
  /** Opaque cursor for the next page, absent on the last. */
  readonly next?: string
}

export interface ApplicationQuery {
  readonly state?: ApplicationState
  readonly consumer?: string
  readonly provider?: string
  readonly resource?: string
  /** Only applications whose running check is past its due date (true) or not (false). */
  readonly overdue?: boolean
  readonly limit: number
  readonly cursor?: string
}

export interface GrantQuery {
  readonly state?: GrantState
  readonly consumer?: string
  readonly provider?: string
  readonly resource?: string
  readonly matter?: string
  /** Only grants whose validity ends within this many days from today. */
  readonly expiringWithinDays?: number
  readonly limit: number
  readonly cursor?: string
}
