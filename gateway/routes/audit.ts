import { type Context, Hono } from 'hono'
import { actorOf, adminRecord, outcomeOf } from '../audit/admin.js'
import type { AuditFilter } from '../audit/backend.js'
import { canonicalJson } from '../audit/canonical-json.js'
import type { LogEntry } from '../audit/entry.js'
import { leafInput } from '../audit/entry.js'
import {
  CSV_HEADER_LANGUAGES,
  type CsvHeaders,
  chunkStream,
  EXPORT_FORMATS,
  type ExportFormat,
  exportContentType,
} from '../audit/export.js'
import { exportFile } from '../audit/export-xlsx.js'
import { uuidv7 } from '../audit/ids.js'
import {
  checkpointPosition,
  compareCheckpoints,
  decodeCheckpointCursor,
  decodePageCursor,
  encodeCheckpointCursor,
  encodePageCursor,
  FILTER_PARAMS,
  type FilterParam,
  type Parsed,
  parseFilter,
  parseIsoTime,
  parseLimit,
  RECORD_ID,
} from '../audit/query.js'
import type { AdminAuditRecord } from '../audit/record.js'
import { subjectDigest } from '../audit/subjects.js'
import { workingCalendarFor } from '../audit/usage-hours.js'
import { auditStats } from '../audit/usage-stats.js'
import { parseUsageWindow } from '../audit/usage-window.js'
import { AUDIT_READ_SCOPE, type Principal } from '../auth/principal.js'
import { GatewayError, toGatewayError } from '../errors/gateway-error.js'
import { renderProblem } from '../errors/problem.js'
import type { GatewayDeps } from '../gateway-deps.js'
import { requestIdFrom } from '../pipeline/10-route-request.js'
import { type AuthenticatedEnv, requireScope } from './require-scope.js'
import { DEPARTMENT } from './sharing-http.js'

/**
 * The auditors' API (scope `audit:read`; GB/T 39477: the auditor is a role apart from exchange): query and export
 * the audit log, fetch a record's inclusion proof against a signed checkpoint, copy the checkpoints and the audit
 * public keys. Reading records is itself an access to what the log says about people and companies, so every call
 * to the record routes — answered or refused — leaves an `audit.read` admin record in the same tamper-evident log:
 * who, the filter (a subject only as its keyed digest), how many records, the export format or receipt id. The
 * checkpoints and keys are public verification material: those calls are in the operational log only.
 */
export function auditRoutes(deps: GatewayDeps): Hono {
  const app = new Hono()
  app.get('/records', auditorCall(deps, '/v1/audit/records', listRecords, { audited: true }))
  app.get('/records/export', auditorCall(deps, '/v1/audit/records/export', exportRecords, { audited: true }))
  app.get('/records/:id/proof', auditorCall(deps, '/v1/audit/records/:id/proof', recordProof, { audited: true }))
  app.get('/stats', auditorCall(deps, '/v1/audit/stats', statistics, { audited: true }))
  app.get('/checkpoints', auditorCall(deps, '/v1/audit/checkpoints', listCheckpoints, { audited: false }))
  app.get('/keys', auditorCall(deps, '/v1/audit/keys', auditKeys, { audited: false }))
  return app
}

/** What the operational log line of one auditor call says. */
interface AuditorCall {
  readonly requestId: string
  readonly route: string
  readonly startedAt: number
  principal?: Principal
  filters: readonly FilterParam[]
  records?: number
  /** Streamed answers log when the stream ends, not when the headers go out. */
  deferLog?: boolean
  /** Record routes: the call's own `audit.read` record gets this id (a page run stops at its first page's). */
  readonly auditId?: string
  /** The filter as the store took it: the subject already a keyed digest. */
  filter?: AuditFilter
  format?: ExportFormat
  recordId?: string
  /** A later page of a paged query. */
  continued?: boolean
}

type Handler = (deps: GatewayDeps, c: Context, call: AuditorCall) => Promise<Response>

type AuditorEnv = { Variables: { auditorCall: AuditorCall } }

function auditorCall(deps: GatewayDeps, route: string, handler: Handler, options: { audited: boolean }) {
  const guard = requireScope<AuditorEnv>(AUDIT_READ_SCOPE, {
    verifier: deps.verifier,
    insufficientScopeDetail: `the audit API needs a token with scope ${AUDIT_READ_SCOPE}`,
    // A refused call is audited and logged below like any other: with who it was, when the token said so.
    onRefused: (c, _error, principal) => {
      c.get('auditorCall').principal = principal
    },
  })
  return async function auditor(c: Context<AuditorEnv & AuthenticatedEnv>): Promise<Response> {
    const startedAt = deps.clock.now()
    const call: AuditorCall = {
      requestId: requestIdFrom(c.req.header('x-request-id'), startedAt),
      route,
      startedAt,
      filters: [],
      auditId: options.audited ? uuidv7(startedAt) : undefined,
    }
    c.set('auditorCall', call)
    let response: Response | undefined
    let error: GatewayError | undefined
    try {
      // The guard runs inside the call, not as a separate route middleware, so that a refusal is audited, logged
      // and answered under the same request id as every other outcome of the call.
      await guard(c, async () => {
        call.principal = c.get('principal')
        response = await handler(deps, c, call)
      })
    } catch (err) {
      error = toGatewayError(err)
      call.deferLog = false
    }
    // Fail closed: a read that cannot be audited is not answered (a streamed export is audited when it ends).
    if (options.audited && !call.deferLog) {
      try {
        await auditRead(deps, call, error?.status ?? 200, error)
      } catch (err) {
        await response?.body?.cancel().catch(() => {})
        error = new GatewayError('audit-unavailable', {
          detail: 'the read could not be audited, so nothing was served',
          internal: err instanceof Error ? err.message : 'audit append failed',
          cause: err,
        })
      }
    }
    if (error !== undefined) {
      const problem = renderProblem(error, call.requestId)
      response = new Response(problem.body, { status: problem.status, headers: problem.headers })
    }
    const answer = response as Response
    answer.headers.set('x-request-id', call.requestId)
    answer.headers.set('cache-control', 'no-store')
    if (!call.deferLog) logCall(deps, call, answer.status, error)
    return answer
  }
}

/** The `audit.read` record of one auditor call. Never a subject identifier: the filter holds its digest. */
function auditRead(
  deps: GatewayDeps,
  call: AuditorCall,
  status: number,
  error?: GatewayError,
  outcome: AdminAuditRecord['outcome'] = outcomeOf(status),
): Promise<void> {
  const details: Record<string, string | number | boolean | null> = { route: call.route, status }
  if (call.filter !== undefined) details.filter = canonicalJson(call.filter)
  if (call.continued) details.continued = true
  if (call.records !== undefined) details.records = call.records
  if (call.format !== undefined) details.format = call.format
  if (call.recordId !== undefined) details.recordId = call.recordId
  if (error !== undefined) details.reason = error.code
  return deps.audit.append(
    adminRecord('audit.read', deps.clock.now(), details, {
      id: call.auditId,
      actor: actorOf(call.principal),
      outcome,
      requestId: call.requestId,
    }),
  )
}

function logCall(deps: GatewayDeps, call: AuditorCall, status: number, error?: GatewayError, outcome?: string): void {
  const line = {
    requestId: call.requestId,
    route: call.route,
    status,
    dept: call.principal?.dept,
    sub: call.principal?.sub,
    filters: call.filters.length > 0 ? call.filters : undefined,
    records: call.records,
    reason: error?.code ?? outcome,
    totalMs: deps.clock.now() - call.startedAt,
  }
  if (error?.code === 'internal' || outcome === 'failed') {
    deps.log.error({ ...line, err: error?.message }, 'audit api failed')
  } else {
    deps.log.info(line, 'audit api')
  }
}

function json(body: unknown, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': contentType } })
}

function invalid(errors: readonly string[]): GatewayError {
  return new GatewayError('query-invalid', { detail: errors.join('; '), extensions: { errors } })
}

function ok<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw invalid(parsed.errors)
  return parsed.value
}

/** The query string, each parameter at most once and only the ones this route knows. */
function queryParams(c: Context, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  const errors: string[] = []
  for (const [name, value] of new URL(c.req.url).searchParams) {
    const shown = JSON.stringify(name.slice(0, 32))
    if (!allowed.includes(name)) errors.push(`${shown}: unknown parameter (allowed: ${allowed.join(', ')})`)
    else if (Object.hasOwn(out, name)) errors.push(`${shown}: given more than once`)
    else out[name] = value
  }
  if (errors.length > 0) throw invalid(errors)
  return out
}

/** The filter as the store takes it: the subject identifier becomes its keyed digest here and goes no further. */
function auditFilter(deps: GatewayDeps, params: Record<string, string>, call: AuditorCall): AuditFilter {
  // The catalog's own USCC exceptions (pilot-era codes) are identifiers too, as the exchange path accepts them.
  const options = { usccExceptions: deps.snapshot().catalog.usccExceptions, today: new Date(deps.clock.now()) }
  const { filter, subject, used } = ok(parseFilter(params, options))
  call.filters = used
  call.filter = subject === undefined ? filter : { ...filter, subject: subjectDigest(deps.digest, subject) }
  return call.filter
}

/**
 * GET /v1/audit/records: one page, in (loggedAt, logId, seq) order. Each page is audited, so the log grows while
 * an auditor pages through it: a page run ends at the first page's own `audit.read` record (carried in the
 * cursor), or paging one record at a time would chase its own tail forever.
 */
async function listRecords(deps: GatewayDeps, c: Context, call: AuditorCall): Promise<Response> {
  const params = queryParams(c, [...FILTER_PARAMS, 'limit', 'cursor'])
  const filter = auditFilter(deps, params, call)
  const limit = ok(parseLimit(params.limit))
  const page = params.cursor === undefined ? undefined : decodePageCursor(params.cursor)
  if (params.cursor !== undefined && page === undefined) {
    throw invalid(['cursor: not a cursor this API returned'])
  }
  call.continued = page !== undefined
  const until = page?.until ?? (call.auditId as string)
  const records: LogEntry[] = []
  let more = false
  // One entry past the page tells whether there is a next one; the iterator is stopped there.
  for await (const entry of deps.audit.query(filter, page?.after)) {
    if (entry.record.id === until) break
    if (records.length === limit) {
      more = true
      break
    }
    records.push(entry)
  }
  call.records = records.length
  const last = records.at(-1)
  return json({ records, nextCursor: more && last ? encodePageCursor({ after: last, until }) : null })
}

/**
 * GET /v1/audit/records/export: every matching record, streamed as JSON lines, CSV or XLSX. The CSV's and XLSX's
 * names are those of the catalog in force when the export starts (`headers=en`: English header names, for scripts).
 */
async function exportRecords(deps: GatewayDeps, c: Context, call: AuditorCall): Promise<Response> {
  const params = queryParams(c, [...FILTER_PARAMS, 'format', 'headers'])
  const format = (params.format ?? 'jsonl') as ExportFormat
  if (!EXPORT_FORMATS.includes(format)) throw invalid([`format: expected ${EXPORT_FORMATS.join(' or ')}`])
  const headers = (params.headers ?? 'zh') as CsvHeaders
  if (!CSV_HEADER_LANGUAGES.includes(headers)) throw invalid([`headers: expected ${CSV_HEADER_LANGUAGES.join(' or ')}`])
  if (params.headers !== undefined && format === 'jsonl') throw invalid(['headers: applies to format=csv or xlsx only'])
  call.format = format
  const filter = auditFilter(deps, params, call)
  let count = 0
  const chunks = exportFile(deps.audit.query(filter), format, {
    onEntry: () => void count++,
    names: deps.snapshot().catalog,
    headers,
  })
  // The first chunk is read before answering, so that a store that cannot be read gets a problem, not a 200.
  const first = await chunks.next()
  call.deferLog = true
  const body = chunkStream(chunks, first.done ? undefined : first.value, (outcome) => {
    call.records = count
    const error = outcome.ok || outcome.error === undefined ? undefined : toGatewayError(outcome.error)
    if (outcome.ok) logCall(deps, call, 200)
    else logCall(deps, call, 200, error, outcome.reason)
    // Only now is it known how many records left; the record says so, and a cut-off export says why.
    const cutOff = outcome.ok ? undefined : (error ?? new GatewayError('client-gone'))
    auditRead(deps, call, 200, cutOff, cutOff === undefined ? 'ok' : 'failed').catch((err: Error) =>
      deps.log.error({ requestId: call.requestId, route: call.route, err: err.message }, 'audit export not audited'),
    )
  })
  const stamp = new Date(deps.clock.now()).toISOString().replace(/[-:]|\.\d+/g, '')
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': exportContentType(format),
      'content-disposition': `attachment; filename="qiao-audit-${stamp}.${format}"`,
      'x-content-type-options': 'nosniff',
    },
  })
}

/** GET /v1/audit/records/{id}/proof: the receipt check, verifiable offline against the signed checkpoint. */
async function recordProof(deps: GatewayDeps, c: Context, call: AuditorCall): Promise<Response> {
  const id = c.req.param('id') ?? ''
  if (!RECORD_ID.test(id)) throw invalid(['id: not an audit record id'])
  call.recordId = id
  queryParams(c, [])
  const proof = await deps.audit.proof(id)
  if (!proof) {
    throw new GatewayError('audit-record-not-found', {
      detail: 'no audit record with this id is covered by a signed checkpoint',
    })
  }
  call.records = 1
  return json({
    entry: proof.entry,
    leafHash: deps.audit.hasher.leaf(leafInput(proof.entry)).toString('hex'),
    hashAlg: proof.hashAlg,
    leafIndex: proof.leafIndex,
    treeSize: proof.treeSize,
    proof: proof.proof,
    checkpoint: { jws: proof.checkpoint.jws, body: proof.checkpoint.body },
  })
}

/**
 * GET /v1/audit/stats?from&to[&consumer&resource]: the exchange records of a window of Beijing days summed up
 * (usage-stats.ts): usage rows, calls per day with denials and after-hours calls, officers with many subjects.
 */
async function statistics(deps: GatewayDeps, c: Context, call: AuditorCall): Promise<Response> {
  const params = queryParams(c, ['from', 'to', 'consumer', 'resource'])
  const window = ok(parseUsageWindow(params, deps.clock.now()))
  const { consumer, resource } = params
  // The consuming department is the filter's `dept`: checked here, so that a problem names the parameter sent.
  if (consumer && !DEPARTMENT.test(consumer)) throw invalid(['consumer: expected a department code'])
  const range: Record<string, string> = { from: window.fromTime, to: window.toTime, kind: 'exchange' }
  if (consumer) range.dept = consumer
  if (resource) range.resource = resource
  const filter = auditFilter(deps, range, call)
  const filters = { ...(consumer ? { consumer } : {}), ...(resource ? { resource } : {}) }
  const stats = await auditStats(deps.audit.query(filter), window, await workingCalendarFor(deps.config), filters)
  call.records = stats.records
  return json(stats)
}

/** GET /v1/audit/checkpoints: signed checkpoints oldest first, for auditors to keep outside the gateway. */
async function listCheckpoints(deps: GatewayDeps, c: Context): Promise<Response> {
  const params = queryParams(c, ['logId', 'segment', 'since', 'limit', 'cursor'])
  const errors: string[] = []
  const logFilter = parseFilter({ logId: params.logId })
  const logId = logFilter.ok ? logFilter.value.filter.logId : undefined
  if (!logFilter.ok) errors.push(...logFilter.errors)
  let segment: number | undefined
  if (params.segment !== undefined) {
    segment = /^\d{1,9}$/.test(params.segment) ? Number(params.segment) : 0
    if (segment < 1) errors.push('segment: expected a segment number ≥ 1')
  }
  const since = params.since === undefined ? undefined : parseIsoTime(params.since)
  if (params.since !== undefined && since === undefined) errors.push('since: expected an ISO 8601 date or date-time')
  const limit = parseLimit(params.limit)
  if (!limit.ok) errors.push(...limit.errors)
  const after = params.cursor === undefined ? undefined : decodeCheckpointCursor(params.cursor)
  if (params.cursor !== undefined && after === undefined) errors.push('cursor: not a cursor this API returned')
  if (errors.length > 0 || !limit.ok) throw invalid(errors)

  const all = await deps.audit.checkpoints({
    ...(logId === undefined ? {} : { logId }),
    ...(segment === undefined ? {} : { segment }),
  })
  const selected = all
    .filter((cp) => since === undefined || cp.body.time >= since)
    .map((cp) => ({ cp, at: checkpointPosition(cp) }))
    .filter(({ at }) => after === undefined || compareCheckpoints(at, after) > 0)
    .sort((a, b) => compareCheckpoints(a.at, b.at))
  const page = selected.slice(0, limit.value)
  const last = page.at(-1)
  return json({
    checkpoints: page.map(({ cp }) => ({ jws: cp.jws, body: cp.body })),
    nextCursor: selected.length > limit.value && last ? encodeCheckpointCursor(last.at) : null,
  })
}

/** GET /v1/audit/keys: every public key that ever signed a checkpoint of this store (JWKS). */
async function auditKeys(deps: GatewayDeps, c: Context): Promise<Response> {
  queryParams(c, [])
  return json(await deps.audit.publicKeys(), 'application/jwk-set+json')
}
