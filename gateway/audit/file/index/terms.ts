import type { AuditFilter } from '../../backend.js'
import { hasOutcome } from '../../filter.js'
import type { AuditRecord } from '../../record.js'
import { utcIsoMs } from './iso-time.js'

/**
 * The search terms of the file store's index: each indexed filter value of a record becomes one word for SQLite's
 * full-text index (FTS5, its `ascii` tokenizer with `-._` as word characters), which keeps, per term, the sorted
 * list of the blocks of records (runs.ts) that carry it. A term is a field letter and the value itself
 * when it is short and plain (`d.drc`, `m.QT00301001`), else 16 hex digits of a hash of it (`c_3f…`); a subject's
 * keyed digest is already a uniform hash, and its first 16 digits serve. Terms only narrow: every record of a block
 * the index points at is checked against the filter itself (filter.ts), so a collision (the tokenizer also folds
 * case), or a block where the terms are spread over several records, costs a read, never a wrong answer.
 *
 * Indexed: consumer department, officer, matter, case, resource, subjects, evidence bundle, and the values that are rare enough to
 * search by: a `deny` decision, a refused or failed outcome, a status outside 2xx, a reason other than `ok`, and
 * admin records. The common values (allow, ok, 2xx, exchange) have no term: a filter on them alone is a scan,
 * narrowed by time and cursor (search.ts).
 */

const TERM_ADMIN = 'ka'
const TERM_DENY = 'xd'
const TERM_OUTCOME = { refused: 'orf', failed: 'ofl' } as const

/** A value written into its term as it is: word characters only (for the tokenizer), and short. */
const PLAIN = /^[0-9A-Za-z._-]+$/
const MAX_PLAIN = 32
const SUBJECT_HEAD = 16

/** 16 hex digits of two 32-bit FNV-1a lanes over the UTF-16 code units. */
function hash64(value: string): string {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193)
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')
}

function term(field: string, value: string): string {
  return value.length <= MAX_PLAIN && PLAIN.test(value) ? `${field}.${value}` : `${field}_${hash64(value)}`
}

function subjectTerm(value: string): string {
  if (value.length <= MAX_PLAIN) return term('s', value)
  const head = value.slice(0, SUBJECT_HEAD)
  return PLAIN.test(head) ? `s.${head}` : `s_${hash64(value)}`
}

/**
 * What the index takes from one record: the time it reports and its terms, the repeating fields' apart (dept,
 * officer, matter, resource, reason — written once per block when they repeat). Computed wherever the record is at
 * hand: in the hashing thread, which has it before it is serialised (batch.ts), or from a line read back.
 */
export interface RecordTerms {
  /** Epoch ms of record.time in its canonical form, else NaN. */
  readonly timeMs: number
  readonly admin: boolean
  /** ` <term>` or '' (no such value) per repeating field; the reason's undefined when it is `ok` (it has none). */
  readonly repeating: readonly [string, string, string, string, string | undefined]
  /** The record's other terms, each ` <term>`. */
  readonly once: string
}

const NONE = ['', '', '', '', undefined] as const

export function recordTerms(record: AuditRecord): RecordTerms {
  const t = (record as { time?: unknown }).time
  const timeMs = typeof t === 'string' ? utcIsoMs(t) : Number.NaN
  if (record.kind !== 'exchange') return { timeMs, admin: true, repeating: NONE, once: '' }
  const spaced = (field: string, value: unknown) => (typeof value === 'string' ? ` ${term(field, value)}` : '')
  let once = ''
  if (typeof record.case === 'string') once += ` ${term('c', record.case)}`
  // An evidence bundle's items and its own record share one term: the bundle's audit id (filter.ts inBundle).
  if (typeof record.bundle === 'string') once += ` ${term('b', record.bundle)}`
  if (Array.isArray(record.bundleItems) && typeof record.id === 'string') once += ` ${term('b', record.id)}`
  const subjects = record.subjects
  if (Array.isArray(subjects)) {
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[i]
      if (typeof subject === 'string') once += ` ${subjectTerm(subject)}`
    }
  }
  if (record.decision === 'deny') once += ` ${TERM_DENY}`
  const status = record.status
  if (typeof status === 'number' && !hasOutcome(status, 'ok')) {
    if (hasOutcome(status, 'refused')) once += ` ${TERM_OUTCOME.refused}`
    else if (hasOutcome(status, 'failed')) once += ` ${TERM_OUTCOME.failed}`
    once += ` t${Math.trunc(status)}`
  }
  const repeating = [
    spaced('d', record.requester.dept),
    spaced('u', record.requester.sub),
    spaced('m', record.matter),
    spaced('r', record.resource),
    record.reason !== 'ok' ? spaced('e', record.reason) : undefined,
  ] as const
  return { timeMs, admin: false, repeating, once }
}

// Packed as text for handing over between threads: fields apart by U+0001, which no term holds (they are word
// characters and spaces); a reason without a term is U+0002.
const FIELD = '\u0001'
const NO_REASON = '\u0002'

export function packTerms(t: RecordTerms): string {
  const [d, u, m, r, e] = t.repeating
  return [t.timeMs, t.admin ? 'a' : 'x', d, u, m, r, e ?? NO_REASON, t.once].join(FIELD)
}

/** The terms packTerms packed, or undefined when the text is not such a packing. */
export function unpackTerms(text: string): RecordTerms | undefined {
  const f = text.split(FIELD)
  if (f.length !== 8) return undefined
  const [timeMs, admin, d, u, m, r, e, once] = f as [string, string, string, string, string, string, string, string]
  return {
    timeMs: Number(timeMs),
    admin: admin === 'a',
    repeating: [d, u, m, r, e === NO_REASON ? undefined : e],
    once,
  }
}

/**
 * Writes records' terms, space-separated, into the text of their block's FTS5 document. Records of one block mostly
 * share their department, matter and resource: a term equal to the one before in its field is written once per
 * block.
 */
export class TermWriter {
  /** The term before, and whether the block has it yet, per repeating field (dept, officer, matter, resource, reason). */
  readonly #terms: string[] = ['', '', '', '', '']
  readonly #written: boolean[] = [false, false, false, false, false]

  /** The term to add for a repeating field: '' when the block already has it. */
  #repeating(slot: number, spaced: string): string {
    if (spaced === this.#terms[slot] && this.#written[slot]) return ''
    this.#terms[slot] = spaced
    this.#written[slot] = true
    return spaced
  }

  /** The terms of a record to add to its block's text; `newBlock`: it starts a block. */
  textOf(terms: RecordTerms, newBlock: boolean): string {
    if (newBlock) this.#written.fill(false)
    if (terms.admin) return ` ${TERM_ADMIN}`
    const [d, u, m, r, e] = terms.repeating
    let text =
      this.#repeating(0, d) + this.#repeating(1, u) + this.#repeating(2, m) + this.#repeating(3, r) + terms.once
    if (e !== undefined) text += this.#repeating(4, e)
    return text
  }
}

/**
 * The terms every match of `filter` carries (all of them must be present), or an empty list when the filter names
 * nothing the index has a term for.
 */
export function filterTerms(filter: AuditFilter): string[] {
  const out: string[] = []
  if (filter.kind === 'admin') out.push(TERM_ADMIN)
  if (filter.dept !== undefined) out.push(term('d', filter.dept))
  if (filter.sub !== undefined) out.push(term('u', filter.sub))
  if (filter.matter !== undefined) out.push(term('m', filter.matter))
  if (filter.case !== undefined) out.push(term('c', filter.case))
  if (filter.resource !== undefined) out.push(term('r', filter.resource))
  if (filter.subject !== undefined) out.push(subjectTerm(filter.subject))
  if (filter.bundle !== undefined) out.push(term('b', filter.bundle))
  if (filter.decision === 'deny') out.push(TERM_DENY)
  if (filter.outcome === 'refused' || filter.outcome === 'failed') out.push(TERM_OUTCOME[filter.outcome])
  if (filter.status !== undefined && !hasOutcome(filter.status, 'ok')) out.push(`t${Math.trunc(filter.status)}`)
  if (filter.reason !== undefined && filter.reason !== 'ok') out.push(term('e', filter.reason))
  return out
}

/** An FTS5 query matching documents that hold every term (quoted: a term is never read as an operator). */
export function matchAll(terms: readonly string[]): string {
  return terms.map((t) => `"${t}"`).join(' ')
}

/**
 * Texts every line matching `filter` contains, as its canonical JSON writes them (JSON.stringify escapes strings as
 * RFC 8785 does): a line of a block without them is skipped before it is parsed.
 */
export function filterNeedles(filter: AuditFilter): string[] {
  const values = [
    filter.dept,
    filter.sub,
    filter.matter,
    filter.case,
    filter.resource,
    filter.subject,
    filter.reason,
    // An item holds it as its `bundle`, the bundle's own record as its `id`.
    filter.bundle,
  ]
  return values.filter((v): v is string => v !== undefined).map((v) => JSON.stringify(v))
}
