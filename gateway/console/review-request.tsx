/** @jsxImportSource hono/jsx */
import type { Catalog, Resource } from '../catalog/types.js'
import type { Application, SharingEvent } from '../sharing/model.js'
import { type Lang, t, tOf } from './i18n.js'
import type { View } from './layout.js'
import { type Due, DueText } from './review-due.js'
import { tr } from './review-texts.js'

/**
 * One application as the deciding officer reads it: what was asked for (matter, usage, basis, fields in clear and
 * masked, validity, scene, scope of use, contact) and its history, with the parts of the request named the way a
 * notice names them (JSON pointers as the workflow stores them, labelled in words).
 */

export const departmentName = (catalog: Catalog, code: string): string => catalog.departments.get(code)?.name ?? code

export const matterName = (catalog: Catalog, code: string): string =>
  `${catalog.matters.get(code)?.name ?? code}（${code}）`

const fieldName = (resource: Resource | undefined, key: string): string => {
  const name = resource?.fieldsByKey.get(key)?.name
  return name === undefined ? key : `${name}（${key}）`
}

/** Beijing time of an ISO instant, to the minute. */
export function beijingTime(iso: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  return new Date(ms + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ')
}

/** The parts of a request a notice may name (the members the applicant can change), each with its label. */
export function requestParts(app: Application, resource: Resource | undefined, lang: Lang): [string, string][] {
  const r = app.request
  const field = (kind: 'clear' | 'masked', key: string) =>
    `${t(lang, 'fieldsWanted')}：${fieldName(resource, key)} · ${t(lang, kind)}`
  return [
    ['/usage', t(lang, 'usage')],
    ['/fields', t(lang, 'fieldsWanted')],
    ...r.fields.map((key, i): [string, string] => [`/fields/${i}`, field('clear', key)]),
    ...r.masked.map((key, i): [string, string] => [`/masked/${i}`, field('masked', key)]),
    ['/legalBasis', t(lang, 'legalBasis')],
    ['/scene', t(lang, 'scene')],
    ['/scopeOfUse', t(lang, 'scopeOfUse')],
    ['/validFrom', `${tr(lang, 'validity')}（${tr(lang, 'validFrom')}）`],
    ['/validTo', t(lang, 'validTo')],
    ['/contact/name', t(lang, 'contactName')],
    ['/contact/phone', t(lang, 'contactPhone')],
    ['/contact/email', t(lang, 'contactEmail')],
  ]
}

function pointerLabel(app: Application, resource: Resource | undefined, lang: Lang, pointer: string): string {
  return requestParts(app, resource, lang).find(([p]) => p === pointer)?.[1] ?? pointer
}

export function RequestFacts(props: { view: View; catalog: Catalog; app: Application; due: Due }) {
  const { view, catalog, app } = props
  const { lang } = view
  const r = app.request
  const resource = catalog.resources.get(r.resource)
  const names = (keys: readonly string[]) => keys.map((key) => fieldName(resource, key)).join('、') || '—'
  return (
    <section class="card" aria-labelledby="request-title">
      <h2 id="request-title">{tr(lang, 'request')}</h2>
      <dl class="review-facts">
        <dt>{tr(lang, 'applicationId')}</dt>
        <dd>
          <code>{app.id}</code>
        </dd>
        <dt>{t(lang, 'state')}</dt>
        <dd id="state">{tOf(lang, 'state', app.state)}</dd>
        <dt>{t(lang, 'dueDate')}</dt>
        <dd id="due">
          <DueText view={view} due={props.due} withDate />
        </dd>
        <dt>{t(lang, 'resource')}</dt>
        <dd>{`${resource?.name ?? r.resource}（${r.resource}）· ${tOf(lang, 'sharing', app.sharingType)}`}</dd>
        <dt>{t(lang, 'provider')}</dt>
        <dd>{departmentName(catalog, app.provider)}</dd>
        <dt>{tr(lang, 'consumer')}</dt>
        <dd>{departmentName(catalog, app.consumer)}</dd>
        <dt>{t(lang, 'matter')}</dt>
        <dd>{matterName(catalog, r.matter)}</dd>
        <dt>{t(lang, 'submittedAt')}</dt>
        <dd>{beijingTime(app.submittedAt)}</dd>
        <dt>{t(lang, 'mode')}</dt>
        <dd>{tOf(lang, 'mode', r.mode)}</dd>
        <dt>{t(lang, 'usage')}</dt>
        <dd>{r.usage}</dd>
        <dt>{t(lang, 'legalBasis')}</dt>
        <dd>{r.legalBasis}</dd>
        <dt>{`${t(lang, 'fieldsWanted')} · ${t(lang, 'clear')}`}</dt>
        <dd id="request-clear">{app.action === 'write' ? tr(lang, 'noFields') : names(r.fields)}</dd>
        <dt>{`${t(lang, 'fieldsWanted')} · ${t(lang, 'masked')}`}</dt>
        <dd id="request-masked">{app.action === 'write' ? tr(lang, 'noFields') : names(r.masked)}</dd>
        <dt>{tr(lang, 'validity')}</dt>
        <dd>{`${r.validFrom ?? tr(lang, 'fromApprovalDay')} — ${r.validTo}`}</dd>
        <dt>{t(lang, 'scene')}</dt>
        <dd>{r.scene}</dd>
        <dt>{t(lang, 'scopeOfUse')}</dt>
        <dd>{r.scopeOfUse}</dd>
        <dt>{tr(lang, 'contact')}</dt>
        <dd>{[r.contact.name, r.contact.phone, r.contact.email].filter(Boolean).join(' · ')}</dd>
        {app.decision !== undefined && (
          <>
            <dt>{t(lang, 'decision')}</dt>
            <dd id="decision">
              {tOf(lang, 'state', app.decision.outcome)}
              {app.decision.reason !== undefined && ` — ${t(lang, 'reason')}: ${app.decision.reason}`}
            </dd>
          </>
        )}
      </dl>
    </section>
  )
}

/** What an event's details say, in words: a reason, a notice's items, an approval's terms. */
function EventDetails(props: { lang: Lang; app: Application; resource: Resource | undefined; event: SharingEvent }) {
  const { lang, app, resource } = props
  const d = props.event.details
  const items = Array.isArray(d.items) ? (d.items as { pointer?: unknown; message?: unknown }[]) : []
  const terms = d.terms as { fields?: unknown[]; masked?: unknown[]; validTo?: unknown } | undefined
  return (
    <>
      {typeof d.reason === 'string' && <p>{`${t(lang, 'reason')}: ${d.reason}`}</p>}
      {items.length > 0 && (
        <ul>
          {items.map((item) => (
            <li>{`${pointerLabel(app, resource, lang, String(item.pointer))}：${String(item.message)}`}</li>
          ))}
        </ul>
      )}
      {terms !== undefined && (
        <p>
          {`${tr(lang, 'grantedFields')} ${(terms.fields?.length ?? 0) + (terms.masked?.length ?? 0)}` +
            ` · ${tr(lang, 'maskedCount')} ${terms.masked?.length ?? 0} · ${tr(lang, 'validToShort')} ${String(terms.validTo)}`}
        </p>
      )}
    </>
  )
}

export function HistoryTable(props: {
  view: View
  catalog: Catalog
  app: Application
  history: readonly SharingEvent[]
}) {
  const { lang } = props.view
  const resource = props.catalog.resources.get(props.app.request.resource)
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">{t(lang, 'history')}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t(lang, 'at')}</th>
            <th scope="col">{t(lang, 'step')}</th>
            <th scope="col">{t(lang, 'state')}</th>
            <th scope="col">{t(lang, 'actor')}</th>
            <th scope="col">{tr(lang, 'details')}</th>
          </tr>
        </thead>
        <tbody>
          {props.history.map((e) => (
            <tr>
              <td>{beijingTime(e.at)}</td>
              <td>{transitionName(lang, e.transition)}</td>
              <td>{tOf(lang, 'state', e.to)}</td>
              <td>{e.actor}</td>
              <td>
                <EventDetails lang={lang} app={props.app} resource={resource} event={e} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

function transitionName(lang: Lang, transition: SharingEvent['transition']): string {
  return tr(lang, `transition.${transition}`)
}
