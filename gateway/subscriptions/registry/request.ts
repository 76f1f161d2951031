import type { CompiledGrant } from '../../catalog/snapshot.js'
import type { ReadBinding, Resource } from '../../catalog/types.js'
import { GatewayError } from '../../errors/gateway-error.js'
import type { Violation } from '../../validation/ajv.js'
import type { SubscriptionFilter } from './store.js'

/**
 * What a consumer may ask for when it subscribes (POST /v1/subscriptions), checked with every problem reported at
 * once, and the filter compiled into the predicate the wiring runs per change.
 */

/** Most business keys in one filter (project codes, USCCs). */
export const MAX_FILTER_KEYS = 1_000
/** Most admin-division prefixes in one filter. */
export const MAX_FILTER_REGIONS = 100
/** The record field a region filter looks at: the 行政区划代码 of the record. */
export const REGION_FIELD = 'divisionCode'
const MATTER = /^[A-Za-z0-9._-]{1,64}$/
const RESOURCE = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/
/** 行政区划代码 prefixes: 2 (province) to 12 (village) digits. */
const REGION = /^\d{2,12}$/
/** A business key: 1–64 visible characters (no spaces or controls). */
const KEY = /^[^\s\p{Cc}\p{Cf}]{1,64}$/u
const BODY_MEMBERS = ['matter', 'resource', 'filter', 'delivery']

export interface SubscriptionRequest {
  readonly matter: string
  readonly resource: string
  readonly filter: SubscriptionFilter
  readonly webhookUrl?: string
}

/** The body, every problem collected into one 422 `subscription-invalid` (pointers and rules, never values). */
export function readRequest(
  body: Record<string, unknown>,
  checkUrl: (url: string) => string | undefined,
): SubscriptionRequest {
  const problems: Violation[] = []
  for (const member of Object.keys(body)) {
    if (!BODY_MEMBERS.includes(member)) {
      problems.push({
        pointer: `/${member.slice(0, 32)}`,
        message: `unknown member (allowed: ${BODY_MEMBERS.join(', ')})`,
      })
    }
  }
  const { matter, resource } = body
  if (typeof matter !== 'string' || !MATTER.test(matter)) {
    problems.push({ pointer: '/matter', message: 'required: a matter code (事项编码) from the catalog' })
  }
  if (typeof resource !== 'string' || !RESOURCE.test(resource)) {
    problems.push({ pointer: '/resource', message: 'required: a resource id (<provider>.<name>)' })
  }
  const filter = readFilter(body.filter, problems)
  const webhookUrl = readDelivery(body.delivery, problems, checkUrl)
  if (problems.length > 0) {
    throw new GatewayError('subscription-invalid', {
      detail: problems.map((p) => `${p.pointer} ${p.message}`).join('; '),
      extensions: { errors: problems },
    })
  }
  return {
    matter: matter as string,
    resource: resource as string,
    filter,
    ...(webhookUrl === undefined ? {} : { webhookUrl }),
  }
}

function readFilter(raw: unknown, problems: Violation[]): SubscriptionFilter {
  if (raw === undefined) return {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push({ pointer: '/filter', message: 'must be an object with regions and/or keys' })
    return {}
  }
  const filter: { regions?: string[]; keys?: string[] } = {}
  for (const member of Object.keys(raw)) {
    if (member !== 'regions' && member !== 'keys') {
      problems.push({ pointer: `/filter/${member.slice(0, 32)}`, message: 'unknown member (allowed: regions, keys)' })
    }
  }
  const { regions, keys } = raw as Record<string, unknown>
  const list = (value: unknown, name: string, max: number, pattern: RegExp, what: string): string[] | undefined => {
    if (value === undefined) return undefined
    if (!Array.isArray(value) || value.length === 0 || value.length > max) {
      problems.push({ pointer: `/filter/${name}`, message: `must be a list of 1–${max} ${what}` })
      return undefined
    }
    const bad = value.findIndex((v) => typeof v !== 'string' || !pattern.test(v))
    if (bad >= 0) {
      problems.push({ pointer: `/filter/${name}/${bad}`, message: `must be ${what.replace(/s$/, '')}` })
      return undefined
    }
    return [...new Set(value as string[])]
  }
  const r = list(regions, 'regions', MAX_FILTER_REGIONS, REGION, 'admin-division code prefixes (2–12 digits)')
  const k = list(keys, 'keys', MAX_FILTER_KEYS, KEY, 'business keys (1–64 visible characters)')
  if (r !== undefined) filter.regions = r
  if (k !== undefined) filter.keys = k
  return filter
}

function readDelivery(
  raw: unknown,
  problems: Violation[],
  checkUrl: (url: string) => string | undefined,
): string | undefined {
  if (raw === undefined) return undefined
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push({ pointer: '/delivery', message: 'must be {"kind":"pull"} or {"kind":"webhook","url":…}' })
    return undefined
  }
  const { kind, url, ...rest } = raw as Record<string, unknown>
  for (const member of Object.keys(rest)) {
    problems.push({ pointer: `/delivery/${member.slice(0, 32)}`, message: 'unknown member (allowed: kind, url)' })
  }
  if (kind === 'pull') {
    if (url !== undefined) problems.push({ pointer: '/delivery/url', message: 'only a webhook has a url' })
    return undefined
  }
  if (kind !== 'webhook') {
    problems.push({ pointer: '/delivery/kind', message: 'must be pull or webhook' })
    return undefined
  }
  if (typeof url !== 'string' || url.length > 2_000) {
    problems.push({
      pointer: '/delivery/url',
      message: 'required for a webhook: an absolute URL (at most 2,000 characters)',
    })
    return undefined
  }
  const refused = checkUrl(url)
  if (refused !== undefined) {
    problems.push({ pointer: '/delivery/url', message: refused })
    return undefined
  }
  return url
}

/** Without a policy given: https anywhere, http only to loopback. */
export function webhookUrlShape(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'must be an absolute URL'
  }
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials'
  if (parsed.protocol === 'https:') return undefined
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  return parsed.protocol === 'http:' && loopback ? undefined : 'must be https (http only to a loopback address)'
}

/**
 * A region filter looks at the record's 行政区划代码: the resource must have that field and the grant must release
 * it in clear, or the filter would tell the subscriber something the grant does not.
 */
export function checkRegionField(
  filter: SubscriptionFilter,
  resource: Resource,
  grant: CompiledGrant<ReadBinding>,
): void {
  if (filter.regions === undefined) return
  if (!resource.fieldsByKey.has(REGION_FIELD) || !grant.grant.fields.includes(REGION_FIELD)) {
    throw new GatewayError('subscription-invalid', {
      detail: `/filter/regions ${resource.id} has no ${REGION_FIELD} released in clear under this grant`,
      extensions: {
        errors: [
          { pointer: '/filter/regions', message: `needs the field ${REGION_FIELD} released in clear by the grant` },
        ],
      },
    })
  }
}

/**
 * The subscription's filter as a predicate, built once per subscription and grant (no filter: every change). Keys
 * match the change's key or any field the grant releases in clear (a permit's project code, an owner's USCC).
 */
export function compileFilter(
  filter: SubscriptionFilter,
  clearFields: readonly string[],
): (change: { readonly key: string; readonly record?: Readonly<Record<string, unknown>> }) => boolean {
  const { regions } = filter
  const keys = filter.keys === undefined ? undefined : new Set(filter.keys)
  return ({ key, record }) => {
    if (regions !== undefined) {
      // A withdrawn record carries no region: kept out rather than tell another region's key.
      const region = record?.[REGION_FIELD]
      if (typeof region !== 'string' || !regions.some((prefix) => region.startsWith(prefix))) return false
    }
    if (keys === undefined || keys.has(key)) return true
    if (record === undefined) return false
    return clearFields.some((field) => {
      const value = record[field]
      return typeof value === 'string' && keys.has(value)
    })
  }
}
