// The frozen model. Only called when every check passed, so the raw data has the schema's shape.

import type { ConnectorDefinition } from '../../../connectors/kit/types.js'
import {
  type Approval,
  type Catalog,
  type ConnectorInstance,
  DEFAULT_HTTP_POOL,
  DEFAULT_RESILIENCE,
  type Department,
  type Field,
  type Grant,
  grantKey,
  type LoadedSchema,
  type MaskRule,
  type Matter,
  type Quota,
  type Resource,
} from '../types.js'
import type { Checker } from './checks.js'
import { disclosureDelayMs } from './disclosure.js'
import { quotaWindowSeconds } from './quota-window.js'
import type { RawCatalog, RawField, RawGrant, RawQuota } from './raw.js'

export const DEFAULT_TIMEOUT_MS = 5000

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000

/** Epoch ms of 00:00 Asia/Shanghai (UTC+8, no DST) on `date` plus `days`. */
function shanghaiMidnight(date: string, days = 0): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  return Date.UTC(y, m - 1, d + days) - SHANGHAI_OFFSET_MS
}

/**
 * An approval's validity in epoch ms: from 00:00 Asia/Shanghai of validFrom to the next midnight after validTo
 * (exclusive: the approval covers all of validTo). Live grants (gateway/sharing/live-grants.ts) are bounded by this
 * same function, so a catalog approval and an application's approval for the same days end at the same instant.
 */
export function approvalWindowMs(approval: Pick<Approval, 'validFrom' | 'validTo'>): {
  validFromMs: number
  validUntilMs: number
} {
  return { validFromMs: shanghaiMidnight(approval.validFrom), validUntilMs: shanghaiMidnight(approval.validTo, 1) }
}

export function buildCatalog(raw: RawCatalog, checker: Checker, meta: { file: string; digest: string }): Catalog {
  const definitions = new Map<string, ConnectorDefinition<never>>()
  const departments = new Map<string, Department>(raw.departments.map((d) => [d.code, { ...d }]))
  const connectors = new Map<string, ConnectorInstance>()
  for (const [id, c] of Object.entries(raw.connectors ?? {})) {
    const definition = checker.definition(c.type)
    definitions.set(c.type, definition)
    connectors.set(id, {
      id,
      type: c.type,
      department: c.department,
      options: checker.connectorOptions.get(id) ?? {},
      http: { ...DEFAULT_HTTP_POOL, ...c.http },
      resilience: { ...DEFAULT_RESILIENCE, ...c.resilience },
      definition,
    })
  }
  const loaded = (written: string): LoadedSchema => {
    const schema = checker.schemas.get(written)
    if (!schema?.ok) throw new Error(`internal: schema ${written} was not loaded`)
    return { path: written, schema: schema.schema, validate: schema.validate }
  }
  const resources = new Map<string, Resource>()
  for (const r of raw.resources ?? []) {
    const fields = r.fields.map(toField)
    resources.set(r.id, {
      ...r,
      timeoutMs: r.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      read: r.read && {
        operation: r.read.operation,
        request: loaded(r.read.request),
        response: loaded(r.read.response),
        cardinality: r.read.cardinality,
      },
      write: r.write && { operation: r.write.operation, request: loaded(r.write.request) },
      changes: r.changes && { operation: r.changes.operation },
      fields,
      fieldsByKey: new Map(fields.map((f) => [f.key, f])),
    })
  }
  const matters = new Map<string, Matter>()
  const grants = new Map<string, Grant>()
  for (const m of raw.matters ?? []) {
    const matterGrants = m.grants.map((g) => toGrant(m.code, g))
    for (const g of matterGrants) grants.set(grantKey(g.matter, g.resource, g.action, g.consumer), g)
    const { disclosure, ...rest } = m
    const delayMs = disclosure === undefined ? undefined : disclosureDelayMs(disclosure)
    if (disclosure !== undefined && delayMs === undefined) throw new Error(`internal: matter ${m.code} disclosure`)
    matters.set(m.code, {
      ...rest,
      ...(disclosure !== undefined ? { disclosure: { after: disclosure, delayMs: delayMs as number } } : {}),
      grants: matterGrants,
    })
  }
  const catalog: Catalog = {
    version: raw.version,
    digest: meta.digest,
    file: meta.file,
    departments,
    connectors,
    resources,
    matters,
    grants,
    usccExceptions: new Set(raw.identifiers?.usccExceptions ?? []),
    quotas: (raw.quotas ?? []).map(toQuota),
  }
  // Connector definitions belong to their modules and compiled validators keep `errors` on themselves: not frozen.
  return frozenCopy(catalog, new Set<unknown>(definitions.values()), new Map())
}

function toField(f: RawField): Field {
  const mask: MaskRule | undefined = typeof f.mask === 'string' ? { rule: f.mask } : f.mask && { ...f.mask }
  return { ...f, mask }
}

function toQuota(q: RawQuota): Quota {
  const windowSeconds = quotaWindowSeconds(q.per)
  if (windowSeconds === undefined) throw new Error(`internal: quota ${q.id} has per ${q.per}`)
  return { ...q, windowSeconds, burst: q.burst ?? q.limit }
}

function toGrant(matter: string, g: RawGrant): Grant {
  const window = g.approval && approvalWindowMs(g.approval)
  return {
    source: 'catalog',
    matter,
    ...g,
    fields: g.fields ?? [],
    masked: g.masked ?? [],
    validFromMs: window?.validFromMs,
    validUntilMs: window?.validUntilMs,
  }
}

/**
 * A deeply frozen copy, sharing what the original shared (a field in `fields` and in `fieldsByKey` stays one object).
 * Copied rather than frozen in place because V8 gives each frozen object made by spread syntax a hidden class of its
 * own: ~50 per resource, 16 MB per 3,000 resources. Objects built key by key share their hidden classes, frozen too.
 */
function frozenCopy<T>(value: T, skip: ReadonlySet<unknown>, copies: Map<object, object>): T {
  if (typeof value !== 'object' || value === null || skip.has(value)) return value
  const known = copies.get(value)
  if (known) return known as T
  let copy: object
  if (value instanceof Map) {
    const map = new Map<unknown, unknown>()
    copies.set(value, map)
    for (const [key, item] of value) map.set(key, frozenCopy(item, skip, copies))
    copy = map
  } else if (value instanceof Set) {
    copy = new Set(value)
  } else if (Array.isArray(value)) {
    const array: unknown[] = []
    copies.set(value, array)
    for (const item of value) array.push(frozenCopy(item, skip, copies))
    copy = array
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    const object: Record<string, unknown> = {}
    copies.set(value, object)
    for (const [key, item] of Object.entries(value)) {
      const frozen = frozenCopy(item, skip, copies)
      // A catalog key named __proto__ stays data, never a prototype.
      if (key === '__proto__') Object.defineProperty(object, key, { value: frozen, enumerable: true })
      else object[key] = frozen
    }
    copy = object
  } else {
    copy = value
  }
  copies.set(value, copy)
  return Object.freeze(copy) as T
}
