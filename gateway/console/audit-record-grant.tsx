/** @jsxImportSource hono/jsx */
import type { ExchangeAuditRecord } from '../audit/record.js'
import type { Catalog } from '../catalog/types.js'
import { toGatewayError } from '../errors/gateway-error.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import type { Actor, GrantView, SharingWorkflow } from '../sharing/service.js'
import { at } from './audit-texts.js'
import { t, tOf } from './i18n.js'
import type { View } from './layout.js'

/**
 * The grant an exchange call went through, read with the auditor's own actor from the sharing workflow (which lets
 * `audit:read` read every grant and application): a live grant is named by the record's `approvalRef` (its id) and
 * leads to the application that made it; a catalog grant is found by matter, resource, action and department —
 * today's catalog, so it may have changed or gone since the call.
 */
export type GrantLookup =
  | { readonly kind: 'none' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'catalog'; readonly grant: GrantView }
  | {
      readonly kind: 'live'
      readonly grant: GrantView
      readonly application: Application | undefined
      readonly history: readonly SharingEvent[]
    }

const NOT_FOUND = new Set(['grant-not-found', 'application-not-found'])

/** undefined when the workflow says it has no such item; anything else is an error of the page. */
async function found<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read()
  } catch (err) {
    if (NOT_FOUND.has(toGatewayError(err).code)) return undefined
    throw err
  }
}

export async function lookUpGrant(
  sharing: SharingWorkflow,
  actor: Actor,
  record: ExchangeAuditRecord,
): Promise<GrantLookup> {
  // A denied call used no grant, except one refused because its live grant was revoked (approvalRef names it).
  if (record.decision !== 'allow' && record.approvalRef === undefined) return { kind: 'none' }
  if (record.approvalRef !== undefined) {
    const live = await found(() => sharing.getGrant(actor, record.approvalRef as string))
    if (live?.source === 'application') {
      const application = await found(() => sharing.getApplication(actor, live.applicationId))
      const history = application === undefined ? [] : await sharing.history(actor, application.id)
      return { kind: 'live', grant: live, application, history }
    }
  }
  const { matter, resource, action, requester } = record
  if (matter === undefined || resource === undefined || action === undefined || requester.dept === undefined) {
    return { kind: 'gone' }
  }
  const fromCatalog = await found(() =>
    sharing.getGrant(actor, `catalog:${matter}:${resource}:${action}:${requester.dept}`),
  )
  return fromCatalog === undefined ? { kind: 'gone' } : { kind: 'catalog', grant: fromCatalog }
}

const fieldNames = (catalog: Catalog, resource: string, keys: readonly string[]): string =>
  keys.length === 0
    ? '—'
    : keys.map((k) => `${catalog.resources.get(resource)?.fieldsByKey.get(k)?.name ?? k}（${k}）`).join('、')

export function GrantSection(props: { view: View; catalog: Catalog; lookup: GrantLookup }) {
  const { view, catalog, lookup } = props
  const { lang } = view
  return (
    <section class="card audit" aria-labelledby="grant-heading" id="grant">
      <h2 id="grant-heading">{at(lang, 'grantTitle')}</h2>
      {lookup.kind === 'none' && <p>{at(lang, 'noGrantUsed')}</p>}
      {lookup.kind === 'gone' && <p>{at(lang, 'grantGone')}</p>}
      {(lookup.kind === 'catalog' || lookup.kind === 'live') && (
        <GrantTerms view={view} catalog={catalog} grant={lookup.grant} />
      )}
      {lookup.kind === 'live' && lookup.application !== undefined && (
        <ApplicationSummary view={view} catalog={catalog} app={lookup.application} history={lookup.history} />
      )}
    </section>
  )
}

function GrantTerms(props: { view: View; catalog: Catalog; grant: GrantView }) {
  const { catalog, grant } = props
  const { lang } = props.view
  const g = grant
  const validity =
    g.validFrom === undefined && g.validTo === undefined ? '—' : `${g.validFrom ?? '…'} ~ ${g.validTo ?? '…'}`
  return (
    <dl class="facts">
      <dt>{at(lang, 'record')}</dt>
      <dd>
        {g.source === 'application' ? at(lang, 'grantFromApplication') : at(lang, 'grantFromCatalog')}{' '}
        <code>{g.id}</code>
      </dd>
      <dt>{at(lang, 'grantState')}</dt>
      <dd id="grant-state">{at(lang, `grantState.${g.state}`)}</dd>
      <dt>{at(lang, 'clearFields')}</dt>
      <dd>{fieldNames(catalog, g.resource, g.fields)}</dd>
      <dt>{at(lang, 'maskedFields')}</dt>
      <dd>{fieldNames(catalog, g.resource, g.masked)}</dd>
      <dt>{at(lang, 'validity')}</dt>
      <dd>{validity}</dd>
      {g.source === 'catalog' && g.approvalRef !== undefined && (
        <>
          <dt>{at(lang, 'approvalRef')}</dt>
          <dd>{g.approvalRef}</dd>
        </>
      )}
      {g.approvedBy !== undefined && (
        <>
          <dt>{at(lang, 'approvedBy')}</dt>
          <dd>
            {catalog.departments.get(g.approvedBy)?.name ?? g.approvedBy}
            {g.source === 'application' && ` · ${g.approvedAt}`}
          </dd>
        </>
      )}
      {g.source === 'application' && g.revokedAt !== undefined && (
        <>
          <dt>{at(lang, 'revoked')}</dt>
          <dd>{`${g.revokedAt} · ${g.revokedBy ?? ''} · ${g.revokeReason ?? ''}`}</dd>
        </>
      )}
    </dl>
  )
}

function ApplicationSummary(props: {
  view: View
  catalog: Catalog
  app: Application
  history: readonly SharingEvent[]
}) {
  const { catalog, app } = props
  const { lang } = props.view
  const r = app.request
  return (
    <>
      <h3>{at(lang, 'application')}</h3>
      <dl class="facts" id="application-summary">
        <dt>{at(lang, 'application')}</dt>
        <dd>
          <a href={`/console/audit/applications/${encodeURIComponent(app.id)}`}>{at(lang, 'openApplication')}</a>{' '}
          <code>{app.id}</code>
        </dd>
        <dt>{at(lang, 'applicant')}</dt>
        <dd>{`${catalog.departments.get(app.consumer)?.name ?? app.consumer} · ${app.applicant}`}</dd>
        <dt>{at(lang, 'submittedAt')}</dt>
        <dd>{app.submittedAt}</dd>
        <dt>{t(lang, 'state')}</dt>
        <dd>{tOf(lang, 'state', app.state)}</dd>
        <dt>{t(lang, 'legalBasis')}</dt>
        <dd>{r.legalBasis}</dd>
        <dt>{t(lang, 'scene')}</dt>
        <dd>{r.scene}</dd>
        <dt>{at(lang, 'steps')}</dt>
        <dd>{props.history.map((e) => `${e.transition}（${e.at}）`).join(' → ')}</dd>
      </dl>
    </>
  )
}
