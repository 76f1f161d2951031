// The file's shape as the JSON Schema describes it. Before the checks pass, every part may be missing (`Loose`).

import type {
  Action,
  Approval,
  EvidenceDeclaration,
  HttpPoolSettings,
  MaskRuleName,
  ResilienceSettings,
  Sensitivity,
  SharingType,
  UpdateCycle,
  Usage,
} from '../types.js'

export interface RawCatalog {
  version: string
  region?: string
  resourceCodePattern?: string
  identifiers?: { usccExceptions?: string[] }
  departments: RawDepartment[]
  connectors?: Record<string, RawConnector>
  resources?: RawResource[]
  matters?: RawMatter[]
  quotas?: RawQuota[]
}
export interface RawDepartment {
  code: string
  name: string
  shortName?: string
  uscc: string
}
export interface RawConnector {
  type: string
  department: string
  options?: Record<string, unknown>
  http?: Partial<HttpPoolSettings>
  resilience?: Partial<ResilienceSettings>
}
export type RawMask = MaskRuleName | { rule: MaskRuleName; keepStart?: number; keepEnd?: number }
export interface RawField {
  key: string
  name: string
  sensitivity: Sensitivity
  mask?: RawMask
  description?: string
}
export interface RawResource {
  id: string
  code: string
  name: string
  summary: string
  provider: string
  classification?: Record<string, string>
  sharing: { type: SharingType; condition?: string; legalBasis?: string; mode?: string; reviewDays?: number }
  updateCycle: UpdateCycle
  publishedAt?: string
  connector?: string
  timeoutMs?: number
  releaseReceipt?: boolean
  read?: { operation: string; request: string; response: string; cardinality: 'one' | 'many' }
  write?: { operation: string; request: string }
  changes?: { operation: string }
  fields: RawField[]
}
export interface RawGrant {
  consumer: string
  resource: string
  action: Action
  usage: Usage
  fields?: string[]
  masked?: string[]
  approval?: Approval
}
export interface RawMatter {
  code: string
  name: string
  owner: string
  legalBasis: string
  scene?: string
  /** `after <days>d`: accesses under this matter are shown to data subjects only that long after they happened. */
  disclosure?: string
  grants: RawGrant[]
  evidence?: EvidenceDeclaration
}

export interface RawQuota {
  id: string
  department?: string
  matter?: string
  resource?: string
  limit: number
  per: string
  burst?: number
}

/** Everything optional, list items possibly removed: values of the wrong JSON type are pruned after the schema step. */
export type Loose<T> = T extends readonly (infer E)[]
  ? readonly (Loose<E> | undefined)[]
  : T extends object
    ? { readonly [K in keyof T]?: Loose<T[K]> }
    : T

export type Path = readonly (string | number)[]

export type LooseResource = Loose<RawResource>
