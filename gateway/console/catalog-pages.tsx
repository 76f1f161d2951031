/** @jsxImportSource hono/jsx */
import type { Catalog, Matter, Resource } from '../catalog/types.js'
import { t, tOf } from './i18n.js'
import { Page, type View } from './layout.js'

/**
 * 目录: the catalog as an officer reads it — resources with their Chinese names, provider, 共享属性 (with the
 * condition or basis), fields with sensitivity and mask rule, and the matters that use each.
 */

const departmentName = (catalog: Catalog, code: string): string => catalog.departments.get(code)?.name ?? code

/** Lower-cased text a search matches against; built once per catalog version. */
const searchText = new WeakMap<Resource, string>()

function haystack(catalog: Catalog, resource: Resource): string {
  let text = searchText.get(resource)
  if (text === undefined) {
    text = [
      resource.id,
      resource.code,
      resource.name,
      resource.summary,
      departmentName(catalog, resource.provider),
      catalog.departments.get(resource.provider)?.shortName ?? '',
      ...resource.fields.flatMap((f) => [f.key, f.name]),
    ]
      .join('\n')
      .toLowerCase()
    searchText.set(resource, text)
  }
  return text
}

/** Every term must occur (terms split on white space); an empty query lists everything. */
export function searchResources(catalog: Catalog, q: string): Resource[] {
  const terms = q.toLowerCase().split(/\s+/).filter(Boolean)
  return [...catalog.resources.values()].filter((r) => terms.every((term) => haystack(catalog, r).includes(term)))
}

/** Matters with a grant (catalog or live) on this resource, in catalog order. */
export function mattersUsing(catalog: Catalog, resourceId: string): Matter[] {
  const codes = new Set<string>()
  for (const grant of catalog.grants.values()) if (grant.resource === resourceId) codes.add(grant.matter)
  return [...catalog.matters.values()].filter((m) => codes.has(m.code))
}

function SharingLine(props: { view: View; resource: Resource }) {
  const { lang } = props.view
  const { sharing } = props.resource
  return (
    <>
      <strong>{tOf(lang, 'sharing', sharing.type)}</strong>
      {sharing.condition !== undefined && ` — ${t(lang, 'condition')}: ${sharing.condition}`}
      {sharing.type !== 'unconditional' &&
        sharing.legalBasis !== undefined &&
        ` — ${t(lang, 'sharingLegalBasis')}: ${sharing.legalBasis}`}
    </>
  )
}

export function CatalogPage(props: { view: View; catalog: Catalog; q: string; found: readonly Resource[] }) {
  const { view, catalog, q, found } = props
  const { lang } = view
  return (
    <Page view={view} title={t(lang, 'catalog')}>
      <search>
        <form method="get" action="/console/catalog" class="search">
          <div>
            <label for="q">{t(lang, 'searchLabel')}</label>
            <input type="search" id="q" name="q" value={q} />
          </div>
          <button type="submit">{t(lang, 'search')}</button>
        </form>
      </search>
      <p aria-live="polite">
        {found.length} {t(lang, 'results')}
      </p>
      {found.length === 0 && <p>{t(lang, 'noResults')}</p>}
      {found.map((r) => (
        <section class="card" aria-labelledby={`r-${r.id}`}>
          <h2 id={`r-${r.id}`}>
            <a href={`/console/catalog/${encodeURIComponent(r.id)}`}>{r.name}</a> <span class="muted">{r.id}</span>
          </h2>
          <p>{r.summary}</p>
          <p>
            {t(lang, 'provider')}: {departmentName(catalog, r.provider)} · {t(lang, 'sharingType')}:{' '}
            <SharingLine view={view} resource={r} />
          </p>
        </section>
      ))}
      <p>
        <a href="/docs">{t(lang, 'apiDocs')}</a>
      </p>
    </Page>
  )
}

export function ResourcePage(props: { view: View; catalog: Catalog; resource: Resource; canApply: boolean }) {
  const { view, catalog, resource: r } = props
  const { lang } = view
  const matters = mattersUsing(catalog, r.id)
  return (
    <Page view={view} title={r.name}>
      <p class="muted">
        {r.id} · {r.code}
      </p>
      <p>{r.summary}</p>
      <dl>
        <dt>{t(lang, 'provider')}</dt>
        <dd>{departmentName(catalog, r.provider)}</dd>
        <dt>{t(lang, 'sharingType')}</dt>
        <dd>
          <SharingLine view={view} resource={r} />
        </dd>
      </dl>
      {props.canApply && r.sharing.type !== 'none' && (
        <p>
          <a href={`/console/applications/new?resource=${encodeURIComponent(r.id)}`}>{t(lang, 'apply')}</a>
        </p>
      )}
      <h2>{t(lang, 'fields')}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t(lang, 'fieldName')}</th>
            <th scope="col">{t(lang, 'fieldKey')}</th>
            <th scope="col">{t(lang, 'sensitivity')}</th>
            <th scope="col">{t(lang, 'mask')}</th>
          </tr>
        </thead>
        <tbody>
          {r.fields.map((f) => (
            <tr>
              <th scope="row">{f.name}</th>
              <td>
                <code>{f.key}</code>
              </td>
              <td>{tOf(lang, 'sensitivity', f.sensitivity)}</td>
              <td>{f.mask === undefined ? t(lang, 'noMask') : f.mask.rule}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>{t(lang, 'matters')}</h2>
      {matters.length === 0 ? (
        <p>{t(lang, 'noMatters')}</p>
      ) : (
        <ul>
          {matters.map((m) => (
            <li>
              {m.name} <span class="muted">({m.code})</span>
            </li>
          ))}
        </ul>
      )}
      <p>
        <a href="/docs">{t(lang, 'apiDocs')}</a>
      </p>
    </Page>
  )
}
