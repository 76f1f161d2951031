/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import type { LogEntry } from '../audit/entry.js'
import { beijingTime } from '../audit/export.js'
import type { Catalog } from '../catalog/types.js'
import { problems as PROBLEMS } from '../errors/codes.js'
import { type FieldProblem, type FilterField, PAGE_SIZES, type SearchForm } from './audit-filter.js'
import { at } from './audit-texts.js'
import type { Lang } from './i18n.js'
import { CsrfField, Page, type View } from './layout.js'

/**
 * 访问查询: the filter form (posted, so a subject identifier never lands in a URL), one page of results, and the
 * next page and the exports as buttons of the same form — the subject stays in the one field it was typed into.
 */

export const SEARCH_FORM_ID = 'audit-search'

export interface SearchResults {
  readonly records: readonly LogEntry[]
  readonly nextCursor: string | null
}

type Option = readonly [value: string, label: string]

const REASON_CODES = ['ok', ...Object.keys(PROBLEMS)]

export function SearchPage(props: {
  view: View
  catalog: Catalog
  search: SearchForm
  problems: readonly FieldProblem[]
  results?: SearchResults
}) {
  const { view, catalog, search } = props
  const { lang } = view
  const problemOf = (field: FilterField) => props.problems.find((p) => p.field === field)
  const withNames = (map: ReadonlyMap<string, { readonly name: string }>): Option[] => [
    ['', at(lang, 'any')],
    ...[...map].map(([code, item]): Option => [code, `${item.name}（${code}）`]),
  ]
  const choices = (field: FilterField, values: readonly string[]): Option[] => [
    ['', at(lang, 'any')],
    ...values.map((v): Option => [v, at(lang, `${field}.${v}` as Parameters<typeof at>[1])]),
  ]
  const input = (field: FilterField, type: 'text' | 'date', extra: Record<string, string> = {}) => (
    <Labelled lang={lang} field={field} problem={problemOf(field)} hint={field === 'subject'}>
      <input
        type={type}
        id={field}
        name={field}
        value={search.fields[field]}
        aria-invalid={problemOf(field) === undefined ? undefined : 'true'}
        aria-describedby={describedBy(field, problemOf(field), field === 'subject')}
        {...extra}
      />
    </Labelled>
  )
  const select = (field: FilterField, options: readonly Option[]) => (
    <Labelled lang={lang} field={field} problem={problemOf(field)}>
      <SelectInput id={field} value={search.fields[field]} options={options} problem={problemOf(field)} />
    </Labelled>
  )
  return (
    <Page view={view} title={at(lang, 'searchTitle')}>
      <p class="muted">{at(lang, 'searchIntro')}</p>
      {props.problems.length > 0 && <ProblemSummary lang={lang} problems={props.problems} />}
      <form id={SEARCH_FORM_ID} method="post" action="/console/audit" novalidate>
        <CsrfField view={view} />
        <input type="hidden" name="page" value={String(search.page)} />
        <div class="filters">
          {input('subject', 'text', { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters' })}
          {select('kind', choices('kind', ['exchange', 'admin']))}
          {select('dept', withNames(catalog.departments))}
          {input('sub', 'text', { autocomplete: 'off' })}
          {select('matter', withNames(catalog.matters))}
          {input('case', 'text', { autocomplete: 'off' })}
          {select('resource', withNames(catalog.resources))}
          {input('from', 'date')}
          {input('to', 'date')}
          {select('decision', choices('decision', ['allow', 'deny']))}
          {select('outcome', choices('outcome', ['ok', 'refused', 'failed']))}
          {input('reason', 'text', { list: 'reason-codes', autocomplete: 'off' })}
          <div>
            <label for="limit">{at(lang, 'limit')}</label>
            <SelectInput id="limit" value={search.limit} options={PAGE_SIZES.map((n): Option => [n, n])} />
          </div>
        </div>
        <datalist id="reason-codes">
          {REASON_CODES.map((code) => (
            <option value={code} />
          ))}
        </datalist>
        <div class="actions">
          <button type="submit">{at(lang, 'search')}</button>
          <button type="submit" class="secondary" formaction="/console/audit/export" name="format" value="csv">
            {at(lang, 'exportCsv')}
          </button>
          <button type="submit" class="secondary" formaction="/console/audit/export" name="format" value="xlsx">
            {at(lang, 'exportXlsx')}
          </button>
          <span class="muted">{at(lang, 'exportNote')}</span>
        </div>
      </form>
      {props.results !== undefined && (
        <ResultTable lang={lang} catalog={catalog} page={search.page} results={props.results} />
      )}
    </Page>
  )
}

function describedBy(field: FilterField, problem: FieldProblem | undefined, hint = false): string | undefined {
  const ids = [hint ? `${field}-hint` : undefined, problem === undefined ? undefined : `${field}-error`]
  const joined = ids.filter((id) => id !== undefined).join(' ')
  return joined === '' ? undefined : joined
}

function Labelled(props: {
  lang: Lang
  field: FilterField
  problem: FieldProblem | undefined
  hint?: boolean
  children: Child
}) {
  const { lang, field, problem } = props
  return (
    <div class={field === 'subject' ? 'wide' : undefined}>
      <label for={field}>{at(lang, field)}</label>
      {props.hint && (
        <p class="muted hint" id={`${field}-hint`}>
          {at(lang, 'subjectHint')}
        </p>
      )}
      {props.children}
      {problem !== undefined && (
        <p class="error" id={`${field}-error`}>
          {at(lang, problem.kind)}
        </p>
      )}
    </div>
  )
}

function SelectInput(props: { id: string; value: string; options: readonly Option[]; problem?: FieldProblem }) {
  const known = props.options.some(([value]) => value === props.value)
  return (
    <select
      id={props.id}
      name={props.id}
      aria-invalid={props.problem === undefined ? undefined : 'true'}
      aria-describedby={props.problem === undefined ? undefined : `${props.id}-error`}
    >
      {/* A value the catalog no longer knows stays selectable, so the API can say what is wrong with it. */}
      {!known && <option value={props.value} selected>{`${props.value}`}</option>}
      {props.options.map(([value, label]) => (
        <option value={value} selected={value === props.value}>
          {label}
        </option>
      ))}
    </select>
  )
}

function ProblemSummary(props: { lang: Lang; problems: readonly FieldProblem[] }) {
  const { lang } = props
  return (
    <div class="summary" role="alert" tabindex={-1} data-focus="" aria-labelledby="problems-heading">
      <h2 id="problems-heading">{at(lang, 'problems')}</h2>
      <ul>
        {props.problems.map((p) => (
          <li>
            {p.field === undefined ? (
              at(lang, p.kind)
            ) : (
              <a href={`#${p.field}`}>{`${at(lang, p.field)}：${at(lang, p.kind)}`}</a>
            )}{' '}
            <span class="muted" lang="en">
              ({p.message})
            </span>
          </li>
        ))}
      </ul>
    </div>
  )
}

/** `2026-11-26 10:00:00`: Beijing time to the second, as the table shows it. */
export const beijingSeconds = (iso: string): string => beijingTime(iso).slice(0, 19)

const nameOf = (map: ReadonlyMap<string, { readonly name: string }>, code: string | undefined): string =>
  code === undefined ? '—' : (map.get(code)?.name ?? code)

function ResultTable(props: { lang: Lang; catalog: Catalog; page: number; results: SearchResults }) {
  const { lang, catalog, results } = props
  const count = results.records.length
  return (
    <section aria-labelledby="results-heading">
      <div class="results-head">
        <h2 id="results-heading">{at(lang, 'results')}</h2>
        <p id="results-count" aria-live="polite">
          {at(lang, 'pageOf').replace('{page}', String(props.page)).replace('{count}', String(count))}
        </p>
      </div>
      {count === 0 ? (
        <p>{at(lang, 'noRecords')}</p>
      ) : (
        <div class="scroll">
          <table id="results">
            <thead>
              <tr>
                {(
                  ['time', 'dept', 'officer', 'matter', 'case', 'resource', 'decision', 'status', 'reason'] as const
                ).map((key) => (
                  <th scope="col">{at(lang, key)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {results.records.map((entry) => (
                <ResultRow lang={lang} catalog={catalog} entry={entry} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {results.nextCursor !== null && (
        <p>
          <button type="submit" form={SEARCH_FORM_ID} name="cursor" value={results.nextCursor}>
            {at(lang, 'nextPage')}
          </button>
        </p>
      )}
    </section>
  )
}

function ResultRow(props: { lang: Lang; catalog: Catalog; entry: LogEntry }) {
  const { lang, catalog } = props
  const r = props.entry.record
  const link = (
    <th scope="row">
      <a href={`/console/audit/records/${encodeURIComponent(r.id)}`} data-record-id={r.id}>
        {beijingSeconds(r.time)}
      </a>
    </th>
  )
  if (r.kind === 'admin') {
    return (
      <tr>
        {link}
        <td>—</td>
        <td>{r.actor}</td>
        <td colspan={3}>{`${at(lang, 'adminAction')}：${r.action}`}</td>
        <td>—</td>
        <td>{r.outcome}</td>
        <td>{typeof r.details.reason === 'string' ? r.details.reason : '—'}</td>
      </tr>
    )
  }
  return (
    <tr>
      {link}
      <td>{nameOf(catalog.departments, r.requester.dept)}</td>
      <td>{r.requester.sub ?? '—'}</td>
      <td>{nameOf(catalog.matters, r.matter)}</td>
      <td>{r.case ?? '—'}</td>
      <td>{nameOf(catalog.resources, r.resource)}</td>
      <td>{at(lang, `decision.${r.decision}`)}</td>
      <td>{r.status}</td>
      <td>
        <code>{r.reason}</code>
      </td>
    </tr>
  )
}
