/**
 * The access-search form as the auditors' API takes it: which form fields become which `/v1/audit/records`
 * filters, Beijing dates turned into the API's instants, and the API's `query-invalid` messages put back at their
 * fields. Nothing here checks a value itself: the API does (so the console can never accept what the API refuses).
 */

/** Form fields that are API filters of the same name, in the form's order. */
export const FILTER_FIELDS = [
  'subject',
  'kind',
  'dept',
  'sub',
  'matter',
  'case',
  'resource',
  'from',
  'to',
  'decision',
  'outcome',
  'reason',
] as const
export type FilterField = (typeof FILTER_FIELDS)[number]

export const PAGE_SIZES = ['10', '20', '50', '100'] as const
const DEFAULT_PAGE_SIZE = '20'

export interface SearchForm {
  readonly fields: Readonly<Record<FilterField, string>>
  readonly limit: string
  /** The API's cursor of the page asked for, absent for the first page. */
  readonly cursor: string | undefined
  /** 1-based number of the page asked for (for the heading only). */
  readonly page: number
}

const one = (v: unknown): string => (typeof v === 'string' ? v.trim() : Array.isArray(v) ? one(v[0]) : '')

export function emptySearch(): SearchForm {
  const fields = Object.fromEntries(FILTER_FIELDS.map((f) => [f, ''])) as Record<FilterField, string>
  return { fields: { ...fields, kind: 'exchange' }, limit: DEFAULT_PAGE_SIZE, cursor: undefined, page: 1 }
}

/** The posted form (hono's parseBody with `all: true`): a cursor only when the next-page button sent one. */
export function searchFrom(body: Record<string, unknown>): SearchForm {
  const fields = Object.fromEntries(FILTER_FIELDS.map((f) => [f, one(body[f])])) as Record<FilterField, string>
  const limit = one(body.limit)
  const cursor = one(body.cursor)
  const page = Number(one(body.page))
  return {
    fields,
    limit: (PAGE_SIZES as readonly string[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
    cursor: cursor === '' ? undefined : cursor,
    page: cursor === '' ? 1 : Number.isSafeInteger(page) && page >= 1 ? page + 1 : 2,
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const BEIJING_MIDNIGHT = 'T00:00:00+08:00'

/** The calendar day after `date` (`YYYY-MM-DD`), or undefined when `date` is not a real day. */
export function nextDay(date: string): string | undefined {
  const m = DATE.exec(date)
  if (m === null) return undefined
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  if (day.toISOString().slice(0, 10) !== date) return undefined
  return new Date(day.getTime() + 86_400_000).toISOString().slice(0, 10)
}

/**
 * The API's filter parameters: a Beijing date range [from 00:00, the day after `to` 00:00) at UTC+8; a value that
 * is not a date goes to the API as typed, for it to refuse at its field.
 */
export function filterParams(search: SearchForm): URLSearchParams {
  const params = new URLSearchParams()
  for (const field of FILTER_FIELDS) {
    const value = search.fields[field]
    if (value === '') continue
    if (field === 'from') params.set('from', nextDay(value) === undefined ? value : `${value}${BEIJING_MIDNIGHT}`)
    else if (field === 'to') params.set('to', `${nextDay(value) ?? value}${BEIJING_MIDNIGHT}`)
    else params.set(field, value)
  }
  return params
}

/** `/v1/audit/records?…`: the filters, the page size and, for a later page, the API's cursor. */
export function recordsQuery(search: SearchForm): string {
  const params = filterParams(search)
  params.set('limit', search.limit)
  if (search.cursor !== undefined) params.set('cursor', search.cursor)
  return `/v1/audit/records?${params}`
}

/** What went wrong with one field, in words the page chooses, beside the API's own message. */
export interface FieldProblem {
  readonly field: FilterField | undefined
  readonly kind: 'badSubject' | 'badDate' | 'fromAfterTo' | 'badValue'
  readonly message: string
}

/** The API names the parameter first (`subject: expected …`); never its value. */
export function fieldProblems(errors: readonly string[]): FieldProblem[] {
  return errors.map((message) => {
    const name = /^([A-Za-z]+):/.exec(message)?.[1]
    const field = (FILTER_FIELDS as readonly string[]).includes(name ?? '') ? (name as FilterField) : undefined
    const kind =
      field === 'subject'
        ? 'badSubject'
        : message.includes('must be before')
          ? 'fromAfterTo'
          : field === 'from' || field === 'to'
            ? 'badDate'
            : 'badValue'
    return { field, kind, message }
  })
}
