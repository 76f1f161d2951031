import type { Resource } from '../catalog/types.js'

/**
 * Data objections (数据异议 / 校核纠错, 《政务数据共享条例》's correction mechanism): a requesting department says that
 * one value of one record it received is wrong. The flow of the local rules — 提出 → 受理 → 异议标注 → 核实 →
 * 标注撤销 — is, in Qiao: raised (open, and at once 受理: routed to the provider's inbox and marked on every later
 * answer for that record), then resolved by the provider's reviewer — accepted (corrected upstream, with a
 * `correction` note) or rejected (with a reason) — or withdrawn by the department that raised it. Resolution
 * removes the mark. The case that needed the data goes on meanwhile: an objection never blocks a call.
 */

export type ObjectionState = 'open' | 'accepted' | 'rejected' | 'withdrawn'

export const OBJECTION_STATES: readonly ObjectionState[] = ['open', 'accepted', 'rejected', 'withdrawn']

/** A scalar record value: what a key or a claimed value may be. */
export type RecordValue = string | number | boolean | null

export interface ObjectionEvidence {
  /** What shows the value is wrong (a document, a site visit …), in the officer's words. */
  readonly description: string
  /** Document numbers, file references or links the provider can check. */
  readonly refs?: readonly string[]
}

export interface ObjectionDue {
  /** The provider's working days (QIAO_OBJECTION_DAYS), counted from the working day after it was raised. */
  readonly workingDays: number
  readonly dueDate: string
  /** End of the due day, Asia/Shanghai, epoch ms. */
  readonly dueAt: number
  readonly calendarCovered: boolean
}

export interface ObjectionResolution {
  readonly outcome: 'accepted' | 'rejected' | 'withdrawn'
  /** `dept/sub` of who resolved it. */
  readonly by: string
  readonly at: string
  /** Accepted: what the provider corrected upstream. */
  readonly correction?: string
  /** Rejected (mandatory) or withdrawn (optional): why. */
  readonly reason?: string
  /** Working days from raising to resolving (0 = the same day), by the official calendar. */
  readonly workingDays: number
}

export interface Objection {
  readonly id: string
  readonly version: number
  readonly state: ObjectionState
  readonly resource: string
  readonly provider: string
  /** The department that raised it: the requesting department of the call. */
  readonly consumer: string
  /** The `Qiao-Audit-Id` of the call that released the record. */
  readonly auditId: string
  /** The matter of that call. */
  readonly matter: string
  /** The record, by the resource's key field: `{ permitNo: "…" }`. */
  readonly recordKey: Readonly<Record<string, RecordValue>>
  readonly field: string
  readonly claimedValue: RecordValue
  readonly evidence: ObjectionEvidence
  /** `dept/sub` of the officer who raised it. */
  readonly raisedBy: string
  readonly raisedAt: string
  readonly updatedAt: string
  readonly due: ObjectionDue
  readonly resolution?: ObjectionResolution
}

export interface ObjectionQuery {
  readonly provider?: string
  readonly consumer?: string
  readonly state?: ObjectionState
  readonly resource?: string
  readonly limit: number
  readonly cursor?: string
}

/** An open objection as the exchange path needs it: no claimed value, no evidence, nobody's name. */
export interface OpenObjection {
  readonly id: string
  readonly resource: string
  readonly provider: string
  /** The key value in canonical form (keyText). */
  readonly key: string
  readonly field: string
  readonly since: string
}

/** How a key value is compared: JSON text, so `"1"` and `1` stay apart. */
export function keyText(value: RecordValue | undefined): string {
  return JSON.stringify(value ?? null)
}

/**
 * The record key of a resource: its first field, in the catalog's order (the 信息项 list starts with the record's
 * identifier: 施工许可证编号, 竣工验收备案编号, 统一社会信用代码 …). The catalog has no key of its own to declare.
 */
export function keyFieldOf(resource: Resource): string {
  return (resource.fields[0] as Resource['fields'][number]).key
}
