/**
 * One audit record per call (primer §5.2, 等保 2.0 audit fields): who, for which matter and case, what, the
 * decision and its reason, what was released, timing. It never holds parameter values or personal data: the
 * parameters appear only as a keyed digest.
 */
export type AuditDecision = 'allow' | 'deny'

/** Every record in the audit log: data exchanges and administrative actions, in one tamper-evident log. */
export type AuditRecord = ExchangeAuditRecord | AdminAuditRecord

export interface ExchangeAuditRecord {
  /** Time-ordered unique id; returned to the caller as `Qiao-Audit-Id`. */
  readonly id: string
  /** ISO 8601 UTC time the call arrived. */
  readonly time: string
  readonly kind: 'exchange'
  readonly requestId: string
  readonly requester: {
    readonly dept?: string
    readonly sub?: string
    readonly clientId?: string
    readonly tokenId?: string
  }
  readonly matter?: string
  readonly case?: string
  readonly resource?: string
  readonly provider?: string
  readonly action?: 'read' | 'write'
  /** `allow` when authorization passed (even if the call then failed upstream); `deny` otherwise. */
  readonly decision: AuditDecision
  /** `ok` or the problem code that ended the call. */
  readonly reason: string
  readonly status: number
  /** Grant approval reference, for conditional resources. */
  readonly approvalRef?: string
  /** Fields released (clear and masked) and which of them masked. */
  readonly fields: readonly string[]
  readonly masked: readonly string[]
  readonly recordCount: number
  readonly upstreamMs?: number
  readonly totalMs: number
  /** HMAC-SHA256 (hex) of the canonical (RFC 8785) parameters (reads) or body (writes), keyed with the audit key. */
  readonly paramsDigest?: string
  /**
   * Keyed digest (as `paramsDigest`) of the canonical request `{action, case, dept, matter, params, resource}`, for
   * every call whose request was read in full; an answered read sends it as `Qiao-Request-Digest`.
   */
  readonly requestDigest?: string
  /**
   * Answered reads only: keyed digest of the released records — the answer's `data` as RFC 8785 text, the bytes
   * sent — which `qiao audit prove-release` recomputes from a body filed by the consumer. Never the records.
   */
  readonly releaseDigest?: string
  /** Writes: keyed digest of the Idempotency-Key. */
  readonly idempotencyKeyDigest?: string
  /** Writes: this call repeated an earlier one with the same key and got its answer; no second delivery. */
  readonly replayOf?: string
  /** Legacy system's own error code, when it refused. */
  readonly upstreamCode?: string
  readonly catalogVersion: string
  /**
   * Keyed HMACs of the identifiers (USCC, resident id, …) of the data subjects in the parameters and in what was
   * released, for the auditor's "who accessed data about this company / person" query. Never the identifiers.
   */
  readonly subjects?: readonly string[]
  /** Trace id of the call, when tracing is on. */
  readonly traceId?: string
  /** An evidence bundle's item (POST /v1/matters/{code}/evidence): the audit id of the bundle's own record. */
  readonly bundle?: string
  /** An evidence bundle's own record, written after its items: their audit ids, in the matter's item order. */
  readonly bundleItems?: readonly string[]
}

/** Administrative actions (GB/T 39477: admin, auditor and operator roles are separate; their acts are audited). */
export type AdminAction =
  | 'gateway.start'
  | 'gateway.stop'
  | 'catalog.load'
  | 'catalog.reload'
  | 'audit.key-rotate'
  | 'audit.torn-tail-repaired'
  | 'audit.segment-sealed'
  | 'audit.retention'
  /** An auditor read the log: records, export or a receipt (GB/T 39477: the auditor's acts are audited too). */
  | 'audit.read'
  /** A sharing-workflow step on an application: details.transition, from, to, application, reasonDigest … */
  | 'sharing.application'
  /** A live grant made, revoked or reminded of its expiry. */
  | 'sharing.grant'
  /**
   * A data objection raised, accepted, rejected or withdrawn (or a raise refused): details.objection, transition,
   * from, to, resource, provider, consumer, field, auditId, and keyed digests of the record key, claimed value,
   * evidence, correction or reason — never those themselves.
   */
  | 'sharing.objection'
  /** A console page or action refused to the signed-in user's role (a 403 page is accountable like a 403 answer). */
  | 'console.access'
  /** A department read its usage counts (GET /v1/usage): details.view, from, to, rows; refusals too. */
  | 'usage.read'
  /**
   * A trusted portal read a data subject's accesses (GET /v1/subject-accesses): details.subject (its keyed digest,
   * never the identifier), clientId, records shown; refusals too.
   */
  | 'subject.read'

export interface AdminAuditRecord {
  readonly id: string
  readonly time: string
  readonly kind: 'admin'
  readonly action: AdminAction
  /** Who did it: an operator's `sub`, or `system` for the gateway itself. */
  readonly actor: string
  readonly outcome: 'ok' | 'rejected' | 'failed'
  readonly requestId?: string
  /** Action-specific facts (catalog version and digest, problem count, key id, segment …); never secrets. */
  readonly details: Readonly<Record<string, string | number | boolean | null>>
}
