import type { ValidateFunction } from 'ajv'
import type { ConnectorDefinition } from '../../connectors/kit/types.js'
import type { JsonSchema } from '../../kernel/records.js'

/**
 * The catalog after loading: validated, cross-referenced, compiled and frozen. Field names follow catalog.yaml
 * (documented in schemas/catalog.schema.json); the metadata maps onto the 2017 编制指南 core elements (primer §2.1).
 */

export type SharingType = 'unconditional' | 'conditional' | 'none'
export type UpdateCycle =
  | 'realtime'
  | 'daily'
  | 'weekly'
  | 'monthly'
  | 'quarterly'
  | 'half-yearly'
  | 'yearly'
  | 'irregular'
export type Sensitivity = 'public' | 'internal' | 'personal' | 'sensitive-personal'
export type Action = 'read' | 'write'
/** 共享用途 (primer §1.1): how the consumer uses the data. */
export type Usage = '行政依据' | '业务协同' | '数据校核' | '工作参考'
export type MaskRuleName =
  | 'idcard'
  | 'phone'
  | 'landline'
  | 'name'
  | 'address'
  | 'bankcard'
  | 'email'
  | 'keep'
  | 'redact'

export interface MaskRule {
  readonly rule: MaskRuleName
  /** Characters kept at the start/end (rules idcard, phone, bankcard, keep); defaults per rule (primer §5.4). */
  readonly keepStart?: number
  readonly keepEnd?: number
}

/** Where a value came from in the source file, for messages like `catalog.yaml:12:5 …`. */
export interface SourcePosition {
  readonly line: number
  readonly col: number
}

export interface Department {
  readonly code: string
  /** Full Chinese name, e.g. 南京市住房和城乡建设局. */
  readonly name: string
  readonly shortName?: string
  /** 统一社会信用代码 of the department. */
  readonly uscc: string
}

export interface Field {
  /** Canonical (camelCase) key in the record. */
  readonly key: string
  /** 信息项名称. */
  readonly name: string
  readonly sensitivity: Sensitivity
  readonly mask?: MaskRule
  readonly description?: string
}

export interface LoadedSchema {
  /** Path as written in catalog.yaml (relative to the catalog's folder). */
  readonly path: string
  readonly schema: JsonSchema
  readonly validate: ValidateFunction
}

export interface ReadBinding {
  readonly operation: string
  readonly request: LoadedSchema
  readonly response: LoadedSchema
  /** `one`: the answer is one record (none → 404 record-not-found); `many`: a list, possibly empty. */
  readonly cardinality: 'one' | 'many'
}

export interface WriteBinding {
  readonly operation: string
  readonly request: LoadedSchema
}

/** The provider's change feed; its records are checked against `read.response`. */
export interface ChangesBinding {
  readonly operation: string
}

export interface Resource {
  /** Stable id, `<provider>.<name>`, e.g. `housing.construction-permit`. */
  readonly id: string
  /** 信息资源代码 (pattern is province-specific, so only its shape is checked). */
  readonly code: string
  readonly name: string
  readonly summary: string
  readonly provider: string
  readonly classification?: Readonly<Record<string, string>>
  readonly sharing: {
    readonly type: SharingType
    /** 共享条件: required when conditional. */
    readonly condition?: string
    /** Required unless unconditional. */
    readonly legalBasis?: string
    /** 共享方式 (e.g. 接口). */
    readonly mode?: string
    /** The provider's review deadline in working days (provinces differ); default 5, 10 while unpublished. */
    readonly reviewDays?: number
  }
  readonly updateCycle: UpdateCycle
  readonly publishedAt?: string
  /** Connector instance id; absent only for 不予共享 resources listed for completeness. */
  readonly connector?: string
  /** Per-call deadline in ms (default 5000). */
  readonly timeoutMs: number
  /** Answered reads carry a signed release receipt (`Qiao-Release-Receipt`, gateway/audit/release-receipt.ts). */
  readonly releaseReceipt?: boolean
  readonly read?: ReadBinding
  readonly write?: WriteBinding
  readonly changes?: ChangesBinding
  readonly fields: readonly Field[]
  readonly fieldsByKey: ReadonlyMap<string, Field>
}

export interface Approval {
  /** 审批文号 / approval reference of the conditional-sharing application. */
  readonly ref: string
  readonly approvedBy?: string
  /** Inclusive ISO dates (Asia/Shanghai calendar days). */
  readonly validFrom: string
  readonly validTo: string
}

export interface Grant {
  /** Written in catalog.yaml, or made by an approved sharing application (a live grant, gateway/sharing). */
  readonly source: 'catalog' | 'application'
  /** The live grant's id (source `application`). */
  readonly grantId?: string
  /**
   * Set when the live grant was revoked: calls under it are refused with grant-revoked. Only that and when — the
   * reason stays in the sharing store (`/v1/grants/{id}`) and never reaches the exchange path.
   */
  readonly revoked?: { readonly at: string; readonly reason?: never }
  readonly matter: string
  readonly consumer: string
  readonly resource: string
  readonly action: Action
  readonly usage: Usage
  /** Fields released in clear (read grants). */
  readonly fields: readonly string[]
  /** Fields released masked with the field's mask rule (read grants). */
  readonly masked: readonly string[]
  readonly approval?: Approval
  /** Validity window in epoch ms, derived from the approval (Asia/Shanghai day bounds); open when absent. */
  readonly validFromMs?: number
  readonly validUntilMs?: number
}

export interface Matter {
  /** 实施编码 / 业务办理项编码; used in scopes as `<matter>:<resource>:<action>`. */
  readonly code: string
  readonly name: string
  readonly owner: string
  readonly legalBasis: string
  /** 一件事 bundle this matter belongs to, if any. */
  readonly scene?: string
  /**
   * Delayed disclosure (catalog `disclosure: after 90d`), for investigative matters: a data subject sees an access
   * under this matter (GET /v1/subject-accesses) only once this long has passed since it. Unset: at once.
   */
  readonly disclosure?: { readonly after: string; readonly delayMs: number }
  readonly grants: readonly Grant[]
  /** 一件事一次办: the evidence the matter needs for one case, fetched in one call (gateway/evidence/). */
  readonly evidence?: EvidenceDeclaration
}

/** Identifier formats a bundle input may have: the request schemas' own (gateway/validation/formats.ts). */
export type EvidenceInputFormat =
  | 'uscc'
  | 'org-code'
  | 'cn-resident-id'
  | 'investment-project-code'
  | 'admin-division-code'

export interface EvidenceInput {
  readonly format: EvidenceInputFormat
  readonly description?: string
}

export interface EvidenceItem {
  /** Unique in the matter; names the item in the answer and ends its audit record's request id. */
  readonly id: string
  /** A resource with a read binding; fetched under the caller's grant for the matter. */
  readonly resource: string
  /** Request parameter of the resource → the input whose value it takes. */
  readonly params: Readonly<Record<string, string>>
  /** The case cannot go on without it (default true): the answer is `complete` only when each such item has data. */
  readonly required?: boolean
}

/** A matter's `evidence:` block as checked at load; compiled once per catalog version by gateway/evidence/plan.ts. */
export interface EvidenceDeclaration {
  /** Named inputs: the bundle request body's members, all required. */
  readonly inputs: Readonly<Record<string, EvidenceInput>>
  readonly items: readonly EvidenceItem[]
}

/** HTTP client pool towards one legacy system (catalog `connectors.<id>.http`). */
export interface HttpPoolSettings {
  readonly connections: number
  readonly connectTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly bodyTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

export const DEFAULT_HTTP_POOL: HttpPoolSettings = Object.freeze({
  connections: 64,
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  keepAliveTimeoutMs: 10_000,
})

/** Upstream protection (catalog `connectors.<id>.resilience`). */
export interface ResilienceSettings {
  readonly maxConcurrent: number
  readonly readRetries: number
  readonly retryBaseDelayMs: number
  readonly breakerThreshold: number
  readonly breakerHalfOpenAfterMs: number
}

export const DEFAULT_RESILIENCE: ResilienceSettings = Object.freeze({
  maxConcurrent: 128,
  readRetries: 2,
  retryBaseDelayMs: 50,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 10_000,
})

export interface ConnectorInstance {
  readonly id: string
  readonly type: string
  /** Department whose system it reaches; must be the provider of every resource bound to it. */
  readonly department: string
  readonly options: Readonly<Record<string, unknown>>
  readonly http: HttpPoolSettings
  readonly resilience: ResilienceSettings
  readonly definition: ConnectorDefinition<never>
}

/**
 * A quota (catalog `quotas`): a token bucket of `burst` calls, refilled at `limit` calls per `windowSeconds`. A call
 * takes one token from every quota that matches it: each of department, matter and resource that the quota names
 * must be the call's.
 */
export interface Quota {
  readonly id: string
  /** Consuming department (the token's `dept`). */
  readonly department?: string
  /** Matter code (the `Qiao-Matter` header). */
  readonly matter?: string
  /** Resource id; absent = every resource. */
  readonly resource?: string
  /** Calls per window: the refill rate. */
  readonly limit: number
  /** `per` as written in the catalog (second, minute, hour, day or e.g. 10s). */
  readonly per: string
  /** `per` in seconds. */
  readonly windowSeconds: number
  /** Bucket size (default: limit). */
  readonly burst: number
}

export interface Catalog {
  /** `version:` label from the file, recorded with every audit record. */
  readonly version: string
  /** SHA-256 (hex) of the catalog file bytes. */
  readonly digest: string
  readonly file: string
  readonly departments: ReadonlyMap<string, Department>
  readonly connectors: ReadonlyMap<string, ConnectorInstance>
  readonly resources: ReadonlyMap<string, Resource>
  readonly matters: ReadonlyMap<string, Matter>
  /** Grants keyed by grantKey(matter, resource, action, consumer). */
  readonly grants: ReadonlyMap<string, Grant>
  readonly usccExceptions: ReadonlySet<string>
  /** Quotas in catalog order. */
  readonly quotas: readonly Quota[]
}

export function grantKey(matter: string, resource: string, action: Action, consumer: string): string {
  return `${matter}\u0000${resource}\u0000${action}\u0000${consumer}`
}

/** One problem found while loading, with its place in the source file. */
export interface CatalogIssue {
  readonly file: string
  readonly line: number
  readonly col: number
  readonly message: string
}

export function formatIssue(issue: CatalogIssue): string {
  return `${issue.file}:${issue.line}:${issue.col} ${issue.message}`
}
