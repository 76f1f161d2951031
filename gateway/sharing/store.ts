import type { Action } from '../catalog/types.js'
import type { Application, ApplicationQuery, GrantQuery, LiveGrant, Page, SharingEvent, Stage } from './model.js'

/**
 * Where the sharing workflow keeps applications, their history and live grants: the state store (embedded SQLite
 * or PostgreSQL), through one Kysely implementation (./kysely-store.ts). Never used on the exchange path: live
 * grants reach calls through the compiled snapshot.
 */
export interface SharingStore {
  /**
   * Runs `work` in one transaction. The workflow appends the transition's admin audit record inside it, before
   * commit: a transition whose record cannot be written is rolled back (no audit, no transition).
   */
  transaction<T>(work: (tx: SharingTx) => Promise<T>): Promise<T>
  getApplication(id: string): Promise<Application | undefined>
  /**
   * Newest first (by submission, then id). `visibleTo` narrows to what a department may see: its own applications
   * (as consumer) and those for its resources (as provider); absent = everything (authority, auditors).
   */
  listApplications(
    query: ApplicationQuery,
    now: number,
    visibleTo?: { readonly consumer?: string; readonly provider?: string },
  ): Promise<Page<Application>>
  /** The application's whole history in order. */
  history(applicationId: string): Promise<SharingEvent[]>
  getGrant(id: string): Promise<LiveGrant | undefined>
  /** Newest first; `today` (ISO date) for `expiringWithinDays`. */
  listGrants(
    query: GrantQuery,
    today: string,
    visibleTo?: { readonly consumer?: string; readonly provider?: string },
  ): Promise<Page<LiveGrant>>
  /** Every grant not superseded (active and revoked): what each instance compiles into its snapshot. */
  liveGrants(): Promise<LiveGrant[]>
  /** Bumped by every transaction that inserts or changes a grant; instances compare it to know when to recompile. */
  grantEpoch(): Promise<number>
  /** Running checks (not paused) whose dueAt is before `now`, not yet escalated. */
  overdueUnescalated(now: number): Promise<Application[]>
  /** Running checks past their due date, by stage. */
  countOverdue(now: number): Promise<Readonly<Record<Stage, number>>>
  /** Active grants with today ≤ validTo ≤ `lastDay` (ISO dates) whose `days` reminder was not given yet. */
  grantsDueForReminder(days: 30 | 7, today: string, lastDay: string): Promise<LiveGrant[]>
}

export interface SharingTx {
  insertApplication(app: Application, event: SharingEvent): Promise<void>
  /**
   * Stores `app` (whose version is expectedVersion + 1) and appends `event`, only if the stored version is still
   * `expectedVersion`. False when it is not: another actor moved the application first (the HTTP answer is 412).
   */
  updateApplication(app: Application, expectedVersion: number, event: SharingEvent): Promise<boolean>
  /** Appends an event without changing the application (grant revocation is recorded in its application's history). */
  appendEvent(event: SharingEvent): Promise<void>
  /** The next seq of the application's history. */
  nextSeq(applicationId: string): Promise<number>
  insertGrant(grant: LiveGrant): Promise<void>
  /** As updateApplication, for grants. */
  updateGrant(grant: LiveGrant, expectedVersion: number): Promise<boolean>
  /** Grants not superseded for one (matter, resource, action, consumer). */
  grantsFor(matter: string, resource: string, action: Action, consumer: string): Promise<LiveGrant[]>
  /** Records the `days` reminder as given; false if another instance already did (only one sends it). */
  markReminded(grantId: string, days: 30 | 7, at: string): Promise<boolean>
  /** Bumps the grant epoch (and on PostgreSQL notifies the other instances at commit). */
  bumpGrantEpoch(): Promise<void>
}

/** PostgreSQL NOTIFY channel of grant changes (payload: the new epoch). */
export const GRANT_CHANGES_CHANNEL = 'qiao_sharing_grants'
