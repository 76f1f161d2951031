import { addCalendarDays, shanghaiDate } from '../../kernel/working-calendar.js'
import { actorOf } from '../audit/admin.js'
import type { Catalog, Grant } from '../catalog/types.js'
import { grantKey } from '../catalog/types.js'
import { checkRenewalBody, checkRevocationBody } from './application-schema.js'
import type { Application, GrantQuery, LiveGrant, Page } from './model.js'
import { type Actor, type GrantView, SHARING_ADMIN_SCOPE, SHARING_REVIEW_SCOPE } from './service.js'
import { applyingDepartment, submit } from './workflow-apply.js'
import { commitRevocation, grantNotFound } from './workflow-commit.js'
import {
  expectedVersion,
  hasScope,
  invalid,
  iso,
  notAllowed,
  notPermitted,
  readerFor,
  reasonOf,
  requireIfMatch,
  requireValid,
  type SharingWorkflowDeps,
} from './workflow-support.js'

/**
 * Grants: live ones (made by approvals) are revoked and renewed here; static ones come from catalog.yaml ("granted
 * by catalog") and are only listed: they change with the catalog file.
 */

export async function revokeGrant(
  deps: SharingWorkflowDeps,
  actor: Actor,
  grantId: string,
  ifMatch: string | undefined,
  body: unknown,
): Promise<LiveGrant> {
  const { principal } = actor
  const authority = hasScope(principal, SHARING_ADMIN_SCOPE)
  if (!authority && !hasScope(principal, SHARING_REVIEW_SCOPE)) {
    throw notPermitted('revoking a grant needs sharing:review of the provider or sharing:admin')
  }
  requireIfMatch(ifMatch)
  const grant = await deps.store.getGrant(grantId)
  if (grant === undefined) throw grantNotFound()
  if (!authority && principal.dept !== grant.provider) {
    throw notPermitted('only the provider department or the data-sharing authority revokes a grant')
  }
  expectedVersion(ifMatch, grant.id, grant.version)
  if (grant.state !== 'active') throw notAllowed(grant.state, 'only an active grant can be revoked')
  const written = body ?? {}
  requireValid('decision-invalid', checkRevocationBody(written))
  const reason = reasonOf((written as { reason?: unknown }).reason)
  if (reason === undefined) {
    throw invalid('decision-invalid', [{ pointer: '/reason', message: 'is required for a revocation' }])
  }
  const app = await deps.store.getApplication(grant.applicationId)
  if (app === undefined) throw new Error(`grant ${grant.id} names no stored application`)
  const now = deps.clock.now()
  const next: LiveGrant = {
    ...grant,
    version: grant.version + 1,
    state: 'revoked',
    revokedAt: iso(now),
    revokedBy: actorOf(principal),
    revokeReason: reason,
  }
  const taker = { actor: actorOf(principal), requestId: actor.requestId }
  return commitRevocation(deps, taker, app, grant, next, reason, now)
}

/**
 * A renewal is a new application, pre-filled from the one that made the grant and overridden by the body; it goes
 * through every check again and its approval supersedes the grant. The old first day is not carried over: the
 * renewed grant starts when it is approved, unless the body says otherwise.
 */
export async function renewGrant(
  deps: SharingWorkflowDeps,
  actor: Actor,
  grantId: string,
  body: unknown,
): Promise<Application> {
  const consumer = applyingDepartment(deps, actor)
  const grant = await deps.store.getGrant(grantId)
  if (grant === undefined) throw grantNotFound()
  if (grant.consumer !== consumer) throw notPermitted('only the consumer department renews its grant')
  if (grant.state !== 'active') throw notAllowed(grant.state, 'only an active grant can be renewed')
  requireValid('application-invalid', checkRenewalBody(body))
  const original = await deps.store.getApplication(grant.applicationId)
  if (original === undefined) throw new Error(`grant ${grant.id} names no stored application`)
  const { validFrom: _old, ...prefilled } = original.request
  return submit(deps, actor, { ...prefilled, ...(body as object) }, grant.id)
}

export async function getGrant(deps: SharingWorkflowDeps, actor: Actor, id: string): Promise<GrantView> {
  const reader = readerFor(actor.principal)
  if (id.startsWith('catalog:')) {
    const catalog = deps.catalog()
    const [, matter, resource, action, consumer] = id.split(':')
    const grant =
      action === 'read' || action === 'write'
        ? catalog.grants.get(grantKey(matter ?? '', resource ?? '', action, consumer ?? ''))
        : undefined
    const view = grant === undefined ? undefined : catalogView(catalog, grant)
    if (view === undefined || !reader.sees(view)) throw grantNotFound()
    return view.grant
  }
  const grant = await deps.store.getGrant(id)
  if (grant === undefined || !reader.sees(grant)) throw grantNotFound()
  return { ...grant, source: 'application' }
}

/** A catalog position, in the shape of the store's cursors (`<n>.<id>`, base64url) so one cursor check fits both. */
const CATALOG_CURSOR = /^0\.catalog:(\d{1,7})$/

function catalogCursor(offset: number): string {
  return Buffer.from(`0.catalog:${offset}`).toString('base64url')
}

function catalogOffset(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  const match = CATALOG_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  return match === null ? undefined : Number(match[1])
}

/**
 * Live grants first (newest first, the store's pages), then the catalog's static ones on the pages after the
 * last live one, filtered by the same query and visibility.
 */
export async function listGrants(
  deps: SharingWorkflowDeps,
  actor: Actor,
  query: GrantQuery & { readonly source?: 'application' | 'catalog' },
): Promise<Page<GrantView>> {
  const reader = readerFor(actor.principal)
  const today = shanghaiDate(deps.clock.now())
  const { source, ...grantQuery } = query
  const offset = catalogOffset(query.cursor)
  const live: GrantView[] = []
  if (source === 'application' || (source === undefined && offset === undefined)) {
    const page = await deps.store.listGrants(grantQuery, today, reader.visibleTo)
    live.push(...page.items.map((g): GrantView => ({ ...g, source: 'application' })))
    if (page.next !== undefined) return { items: live, next: page.next }
    if (source === 'application') return { items: live }
  }
  const catalog = deps.catalog()
  const matching = [...catalog.grants.values()]
    .map((grant) => catalogView(catalog, grant))
    .filter((v) => reader.sees(v) && matches(v, query, today))
    .map((v) => v.grant)
  const start = offset ?? 0
  const room = Math.max(query.limit - live.length, 0)
  const items = [...live, ...matching.slice(start, start + room)]
  const end = start + room
  return end < matching.length ? { items, next: catalogCursor(end) } : { items }
}

interface CatalogView {
  readonly grant: GrantView & { readonly source: 'catalog' }
  readonly consumer: string
  readonly provider: string
}

function catalogView(catalog: Catalog, grant: Grant): CatalogView {
  const approval = grant.approval
  const view: GrantView & { readonly source: 'catalog' } = {
    source: 'catalog',
    id: `catalog:${grant.matter}:${grant.resource}:${grant.action}:${grant.consumer}`,
    version: 0,
    state: 'active',
    matter: grant.matter,
    consumer: grant.consumer,
    resource: grant.resource,
    action: grant.action,
    usage: grant.usage,
    fields: grant.fields,
    masked: grant.masked,
    ...(approval === undefined
      ? {}
      : {
          validFrom: approval.validFrom,
          validTo: approval.validTo,
          approvalRef: approval.ref,
          ...(approval.approvedBy === undefined ? {} : { approvedBy: approval.approvedBy }),
        }),
  }
  return { grant: view, consumer: grant.consumer, provider: catalog.resources.get(grant.resource)?.provider ?? '' }
}

function matches(view: CatalogView, query: GrantQuery, today: string): boolean {
  const { grant } = view
  if (query.state !== undefined && query.state !== 'active') return false
  if (query.consumer !== undefined && query.consumer !== view.consumer) return false
  if (query.provider !== undefined && query.provider !== view.provider) return false
  if (query.resource !== undefined && query.resource !== grant.resource) return false
  if (query.matter !== undefined && query.matter !== grant.matter) return false
  if (query.expiringWithinDays !== undefined) {
    const last = grant.validTo
    if (last === undefined || last < today || last > addCalendarDays(today, query.expiringWithinDays)) return false
  }
  return true
}
