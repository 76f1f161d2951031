import { checkUscc, isOrgCodeValid, isResidentIdValid, USCC_KNOWN_EXCEPTIONS } from '../../kernel/identifiers.js'
import { isProblemCode } from '../errors/codes.js'
import { isAuditCaseId } from '../policy/case-id.js'
import type { AuditCursor, AuditFilter } from './backend.js'
import type { SignedCheckpoint } from './checkpoint.js'
import { normaliseSubject } from './subjects.js'

/**
 * The auditor's query language, shared by the HTTP API (`GET /v1/audit/records…`) and `qiao audit export`: filter
 * parameters checked strictly (a mistyped filter must never widen a query silently), and the opaque page cursors.
 * Error messages name the parameter, never its value (a subject identifier must not be echoed or logged).
 */

export const FILTER_PARAMS = [
  'from',
  'to',
  'kind',
  'dept',
  'sub',
  'matter',
  'case',
  'resource',
  'decision',
  'outcome',
  'reason',
  'status',
  'subject',
  'logId',
  'bundle',
] as const
export type FilterParam = (typeof FILTER_PARAMS)[number]

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

/** A checked filter; `subject` is still the raw identifier here: the caller hashes it with the audit HMAC key. */
export interface ParsedFilter {
  readonly filter: Omit<AuditFilter, 'subject'>
  readonly subject: string | undefined
  /** Names of the filters given (for the operational log: names only, never values). */
  readonly used: readonly FilterParam[]
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: string[] }

const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const RESOURCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const STATUS = /^[1-5]\d\d$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/

/** What a `subject` is checked against besides the algorithms. */
export interface FilterOptions {
  /**
   * Real USCCs that fail the checksum and that this deployment's schemas accept (catalog
   * `identifiers.usccExceptions`); the kernel's known ones are always accepted.
   */
  readonly usccExceptions?: ReadonlySet<string>
  /** For a resident id's birth date (not after today); default the wall clock. */
  readonly today?: Date
}

const KNOWN_USCC_EXCEPTIONS: ReadonlySet<string> = new Set(USCC_KNOWN_EXCEPTIONS)

/**
 * The identifiers a `subject` search takes, by the schema format that names them: exactly the formats the gateway
 * indexes as data subjects (subjects.ts `subjectFieldsOf`), so that an identifier accepted here can be found and
 * one refused could never be. An investment project code is not among them: a project is neither a company nor a
 * person, and no record indexes one.
 */
export const SUBJECT_KINDS = {
  uscc: (id: string, o: FilterOptions) =>
    checkUscc(id, KNOWN_USCC_EXCEPTIONS) !== 'invalid' ||
    (o.usccExceptions !== undefined && checkUscc(id, o.usccExceptions) !== 'invalid'),
  'cn-resident-id': (id: string, o: FilterOptions) => isResidentIdValid(id, o.today),
  'org-code': (id: string) => isOrgCodeValid(id),
} as const
const SUBJECT_CHECKS: readonly ((id: string, o: FilterOptions) => boolean)[] = Object.values(SUBJECT_KINDS)

const SUBJECT_EXPECTED =
  'expected a valid identifier of a company or person: a USCC (统一社会信用代码, 18 characters, GB 32100 check ' +
  'character), a resident id (公民身份号码, 18 digits or 17 and X, GB 11643 check digit) or an organisation code ' +
  '(组织机构代码, XXXXXXXX-X, GB 11714 check character)'

/** Whether `raw` is one of SUBJECT_KINDS, spelled as the gateway indexes it (trimmed, upper case). */
export function isSubjectIdentifier(raw: string, options: FilterOptions = {}): boolean {
  const id = normaliseSubject(raw)
  return SUBJECT_CHECKS.some((valid) => valid(id, options))
}

/**
 * ISO 8601 date (`2026-11-26`, meaning 00:00 UTC) or date-time with a zone (`2026-11-26T10:00:00+08:00`,
 * `…T02:00:00Z`) → the UTC form records are stored in, so that string comparison is time comparison.
 */
export function parseIsoTime(raw: string): string | undefined {
  const m = ISO.exec(raw)
  if (!m) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return undefined
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return undefined
  const ms = Date.parse(raw)
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined
}

/** Checks the filter parameters present in `params` (absent or empty = not filtered), reporting every bad one. */
export function parseFilter(
  params: Readonly<Record<string, string | undefined>>,
  options: FilterOptions = {},
): Parsed<ParsedFilter> {
  const errors: string[] = []
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {}
  const used: FilterParam[] = []
  let subject: string | undefined
  for (const name of FILTER_PARAMS) {
    const raw = params[name]
    if (raw === undefined || raw === '') continue
    used.push(name)
    const bad = (what: string) => errors.push(`${name}: ${what}`)
    switch (name) {
      case 'from':
      case 'to': {
        const time = parseIsoTime(raw)
        if (time === undefined) bad('expected an ISO 8601 date (2026-11-26) or date-time with zone (…T10:00:00+08:00)')
        else filter[name] = time
        break
      }
      case 'kind':
        if (raw === 'exchange' || raw === 'admin') filter.kind = raw
        else bad('expected exchange or admin')
        break
      case 'decision':
        if (raw === 'allow' || raw === 'deny') filter.decision = raw
        else bad('expected allow or deny')
        break
      case 'outcome':
        if (raw === 'ok' || raw === 'refused' || raw === 'failed') filter.outcome = raw
        else bad('expected ok (2xx), refused (4xx) or failed (5xx)')
        break
      case 'reason':
        if (raw === 'ok' || isProblemCode(raw)) filter.reason = raw
        else bad('expected ok or a problem code (GET /problems/{code})')
        break
      case 'status':
        if (STATUS.test(raw)) filter.status = Number(raw)
        else bad('expected an HTTP status 100–599')
        break
      case 'dept':
      case 'matter':
      case 'logId':
        if (CODE.test(raw)) filter[name] = raw
        else bad('expected 1–64 characters of [A-Za-z0-9._-], starting with a letter or digit')
        break
      case 'case':
        if (isAuditCaseId(raw)) filter.case = raw
        else bad('expected a case id (1–64 letters, digits or ._-()[]（）〔〕【】) or subscription:<id>')
        break
      case 'resource':
        if (RESOURCE.test(raw)) filter.resource = raw
        else bad('expected a resource id')
        break
      case 'sub':
        if (raw.length <= 256 && !CONTROL.test(raw)) filter.sub = raw
        else bad('expected at most 256 characters, no control characters')
        break
      case 'bundle':
        if (RECORD_ID.test(raw)) filter.bundle = raw
        else bad('expected an audit record id (an evidence bundle’s Qiao-Audit-Id)')
        break
      case 'subject':
        if (isSubjectIdentifier(raw, options)) subject = raw.trim()
        else bad(SUBJECT_EXPECTED)
        break
    }
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    errors.push('from: must be before to')
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { filter, subject, used } }
}

/** `limit`: 1…1000, default 100. */
export function parseLimit(raw: string | undefined): Parsed<number> {
  if (raw === undefined || raw === '') return { ok: true, value: DEFAULT_LIMIT }
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN
  if (!(n >= 1 && n <= MAX_LIMIT)) return { ok: false, errors: [`limit: expected an integer 1–${MAX_LIMIT}`] }
  return { ok: true, value: n }
}

const MAX_CURSOR = 512
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** base64url(JSON); decoded only when it is exactly what we would have encoded. */
function encodeOpaque(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

function decodeOpaque(
  raw: string,
  keys: readonly string[],
  maxLength = MAX_CURSOR,
): Record<string, unknown> | undefined {
  if (raw.length === 0 || raw.length > maxLength || !BASE64URL.test(raw)) return undefined
  const bytes = Buffer.from(raw, 'base64url')
  if (bytes.toString('base64url') !== raw) return undefined
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const got = Object.keys(value)
  if (got.length !== keys.length || !keys.every((k) => Object.hasOwn(value, k))) return undefined
  return value as Record<string, unknown>
}

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isTime = (v: unknown): v is string => typeof v === 'string' && parseIsoTime(v) === v
const isLogId = (v: unknown): v is string => typeof v === 'string' && CODE.test(v)

/** The records cursor: the position (loggedAt, logId, seq) of the last entry of the previous page. */
export function encodeCursor(cursor: AuditCursor): string {
  return encodeOpaque({ loggedAt: cursor.loggedAt, logId: cursor.logId, seq: cursor.seq })
}

export function decodeCursor(raw: string): AuditCursor | undefined {
  const v = decodeOpaque(raw, ['loggedAt', 'logId', 'seq'])
  if (!v || !isTime(v.loggedAt) || !isLogId(v.logId) || !isSeq(v.seq)) return undefined
  return { loggedAt: v.loggedAt, logId: v.logId, seq: v.seq }
}

/** Checkpoints are listed oldest first: (time, logId, segment, size, sealed) — stable as new ones are added. */
export interface CheckpointCursor {
  readonly time: string
  readonly logId: string
  readonly segment: number
  readonly size: number
  readonly sealed: boolean
}

export function checkpointPosition(cp: SignedCheckpoint): CheckpointCursor {
  const { time, logId, segment, size, sealed } = cp.body
  return { time, logId, segment, size, sealed }
}

export function compareCheckpoints(a: CheckpointCursor, b: CheckpointCursor): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1
  if (a.logId !== b.logId) return a.logId < b.logId ? -1 : 1
  if (a.segment !== b.segment) return a.segment - b.segment
  if (a.size !== b.size) return a.size - b.size
  return Number(a.sealed) - Number(b.sealed)
}

export function encodeCheckpointCursor(c: CheckpointCursor): string {
  return encodeOpaque({ time: c.time, logId: c.logId, segment: c.segment, size: c.size, sealed: c.sealed })
}

export function decodeCheckpointCursor(raw: string): CheckpointCursor | undefined {
  const v = decodeOpaque(raw, ['time', 'logId', 'segment', 'size', 'sealed'])
  if (!v || !isTime(v.time) || !isLogId(v.logId)) return undefined
  if (!isSeq(v.segment) || !isSeq(v.size) || typeof v.sealed !== 'boolean') return undefined
  return { time: v.time, logId: v.logId, segment: v.segment, size: v.size, sealed: v.sealed }
}

/** An audit record id as the API takes it. */
export const RECORD_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * A page of the auditors' record listing: where the next page starts, and the id of the first page's own
 * `audit.read` record — where the run of pages ends, since every page read is itself recorded.
 */
export interface PageCursor {
  readonly after: AuditCursor
  readonly until: string
}

export function encodePageCursor(cursor: PageCursor): string {
  return encodeOpaque({ a: encodeCursor(cursor.after), u: cursor.until })
}

export function decodePageCursor(raw: string): PageCursor | undefined {
  // Holds a whole record cursor, so it may be longer than one.
  const v = decodeOpaque(raw, ['a', 'u'], 2 * MAX_CURSOR)
  if (!v || typeof v.a !== 'string' || typeof v.u !== 'string' || !RECORD_ID.test(v.u)) return undefined
  const after = decodeCursor(v.a)
  return after === undefined ? undefined : { after, until: v.u }
}
