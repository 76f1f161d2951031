import { request } from 'undici'
import { ConnectorError, transportError } from '../kit/connector-error.js'
import { drainBody, readBodyText } from '../kit/http-body.js'
import {
  type CallContext,
  type CanonicalRecord,
  type Change,
  type ChangesOperation,
  type Connector,
  type ConnectorDeps,
  decodeChangeCursor,
  encodeChangeCursor,
  type HealthReport,
  invalidCursor,
  type ReadOperation,
} from '../kit/types.js'
import { httpStatusError, propagatedHeaders, safeUpstreamMessage } from '../kit/upstream-http.js'
import {
  isSupersededRow,
  isWireRow,
  MappingError,
  mapCompletionFilingRow,
  mapDrawingReviewRow,
  mapPermitRow,
} from './mapping.js'
import { type HousingGongaiOptions, resolveOptions } from './options.js'
import { createRequestSigner } from './signing.js'
import {
  ENVELOPE_CODE_MEANINGS,
  ENVELOPE_CODES,
  FORM_CONTENT_TYPE,
  FORM_FIELD,
  MAX_CHANGE_ROWS,
  PARAM_AFTER_SERIAL,
  PARAM_OWNER_USCC,
  PARAM_PAGE_ROWS,
  PARAM_PERMIT_NO,
  PARAM_PROJECT_CODE,
  PING,
  SERVICES,
  type ServiceName,
  type WireEnvelope,
  type WireRequest,
} from './wire.js'

/** Parameters of `constructionPermits` (construction-permit.request.json: exactly one of the three). */
export interface ConstructionPermitParams {
  readonly projectCode?: string
  readonly permitNo?: string
  readonly ownerUscc?: string
}

/** Parameters of `drawingReviews` and `completionFilings` (by-project.request.json). */
export interface ByProjectParams {
  readonly projectCode: string
}

/** Larger answers are refused as bad-response: one project never has more than a few hundred rows. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024
/** Cap on a health probe when the caller's signal has no deadline of its own. */
export const HEALTH_TIMEOUT_MS = 5_000
/** Bytes read from an error answer before the socket is given up rather than reused. */
const DRAIN_LIMIT_BYTES = 64 * 1024

type Mapper = (row: unknown) => CanonicalRecord

/** Tag of the permit change feed's cursors (kit encodeChangeCursor), versioned with their layout. */
const PERMIT_CURSOR_TAG = 'housing-gongai/permits/1'

interface CallSpec {
  readonly operation: string
  readonly service: ServiceName
  /** Wire parameters (XMDM / SGXKZBH). */
  readonly params: Readonly<Record<string, string>>
  readonly map: Mapper
  /** The rows as received, instead of mapped records (the change feed reads their LSH and SJGXSJ); 01 is none. */
  readonly raw?: boolean
  /** Canonical field each returned record must match, when the upstream sends it. */
  readonly match?: { readonly field: string; readonly value: string; readonly column: string }
}

/**
 * Builds a connector for the 住建 工改 data-sharing interface. See README.md for the wire protocol.
 *
 * @example
 * const connector = createHousingGongaiConnector(
 *   { baseUrl: 'http://127.0.0.1:9101', appKey: 'qiao-gateway', appSecret: '…' },
 *   { dispatcher, log, clock: { now: Date.now } },
 * )
 * const permits = await connector.operations.constructionPermits.handle({ projectCode: '2401-320115-89-01-123456' }, ctx)
 */
export function createHousingGongaiConnector(options: HousingGongaiOptions, deps: ConnectorDeps): Connector {
  const { endpoint, appKey, appSecret } = resolveOptions(options)
  const { dispatcher, clock } = deps
  const signAt = createRequestSigner(appKey, appSecret)
  let disposed = false

  async function call(spec: CallSpec, ctx: CallContext): Promise<CanonicalRecord[]> {
    if (disposed) throw new ConnectorError('unavailable', 'connector disposed')
    const { operation, service } = spec
    const started = clock.now()
    const { requestTime, sign } = signAt(started)
    // spec.params is this call's own object (built by the operation), so it goes on the wire uncopied.
    const wire: WireRequest = { appKey, requestTime, sign, params: spec.params }
    let httpStatus: number | undefined
    let envelopeCode: string | undefined
    try {
      const res = await request(`${endpoint}/${service}`, {
        dispatcher,
        method: 'POST',
        headers: requestHeaders(ctx.propagation, FORM_CONTENT_TYPE),
        body: new URLSearchParams({ [FORM_FIELD]: JSON.stringify(wire) }).toString(),
        signal: ctx.signal,
      })
      httpStatus = res.statusCode
      if (res.statusCode !== 200) {
        await drainBody(res.body, DRAIN_LIMIT_BYTES)
        throw httpStatusError(res.statusCode)
      }
      const envelope = parseEnvelope(
        await readBodyText(res.body, res.headers['content-type'], { limit: MAX_RESPONSE_BYTES }),
      )
      envelopeCode = printableCode(envelope.code)
      // A change query with nothing new says 查询无结果 too; for a feed that is an empty page, not a failure.
      if (spec.raw && envelope.code === ENVELOPE_CODES.noData) return []
      if (envelope.code === ENVELOPE_CODES.noData) {
        throw new ConnectorError('not-found', `envelope code ${ENVELOPE_CODES.noData} (查询无结果)`, {
          upstreamCode: ENVELOPE_CODES.noData,
        })
      }
      if (envelope.code !== ENVELOPE_CODES.ok) {
        // Values whose presence in an upstream msg would leak parameters or credentials into our messages.
        throw envelopeError(envelope, [...Object.values(spec.params), appKey, appSecret, requestTime, sign])
      }
      if (!Array.isArray(envelope.data)) {
        throw new ConnectorError('bad-response', `envelope code 00 without a data array (${service})`)
      }
      const records = spec.raw ? (envelope.data as CanonicalRecord[]) : mapRows(envelope.data, spec)
      ctx.log.debug(
        {
          operation,
          service,
          durationMs: clock.now() - started,
          httpStatus,
          envelopeCode,
          recordCount: records.length,
        },
        'housing-gongai call',
      )
      return records
    } catch (err) {
      const error = transportError(err, ctx.signal)
      ctx.log.warn(
        { operation, service, durationMs: clock.now() - started, httpStatus, envelopeCode, errorKind: error.kind },
        'housing-gongai call failed',
      )
      throw error
    }
  }

  const constructionPermits: ReadOperation<ConstructionPermitParams> = {
    kind: 'read',
    handle(params, ctx) {
      const wireParams: Record<string, string> = {}
      let match: CallSpec['match']
      if (typeof params.projectCode === 'string') {
        wireParams[PARAM_PROJECT_CODE] = params.projectCode
        match = { field: 'projectCode', value: params.projectCode, column: PARAM_PROJECT_CODE }
      }
      if (typeof params.permitNo === 'string') {
        wireParams[PARAM_PERMIT_NO] = params.permitNo
        match = { field: 'permitNo', value: params.permitNo, column: PARAM_PERMIT_NO }
      }
      if (typeof params.ownerUscc === 'string') {
        wireParams[PARAM_OWNER_USCC] = params.ownerUscc
        match = { field: 'ownerUscc', value: params.ownerUscc, column: PARAM_OWNER_USCC }
      }
      return call(
        { operation: 'constructionPermits', service: SERVICES.permits, params: wireParams, map: mapPermitRow, match },
        ctx,
      )
    },
  }

  const byProject = (operation: string, service: ServiceName, map: Mapper): ReadOperation<ByProjectParams> => ({
    kind: 'read',
    handle(params, ctx) {
      const wireParams: Record<string, string> = {}
      let match: CallSpec['match']
      if (typeof params.projectCode === 'string') {
        wireParams[PARAM_PROJECT_CODE] = params.projectCode
        match = { field: 'projectCode', value: params.projectCode, column: PARAM_PROJECT_CODE }
      }
      return call({ operation, service, params: wireParams, map, match }, ctx)
    },
  })

  /**
   * The 施工许可 change feed over `sgxk.changes` (rows after a 流水号, in LSH order). The interface answers from its
   * committed table in LSH order, so the cursor is simply the last LSH read: the same cursor always answers the
   * same rows and any added since. Each valid row is a change (version = its LSH) of its permit; a row superseded
   * by a correction is none (the correction's new row is), but still moves the cursor.
   */
  const permitChanges: ChangesOperation = {
    kind: 'changes',
    async handle(request, ctx) {
      const [after] = request.after === undefined ? [''] : decodeChangeCursor(PERMIT_CURSOR_TAG, request.after, 1)
      if (typeof after !== 'string' || !/^(?:\d{1,32})?$/.test(after)) throw invalidCursor()
      const limit = Math.max(1, Math.min(MAX_CHANGE_ROWS - 1, Math.floor(request.limit)))
      const params: Record<string, string> = { [PARAM_PAGE_ROWS]: String(limit + 1) }
      if (after !== '') params[PARAM_AFTER_SERIAL] = after
      const rows = (await call(
        { operation: 'permitChanges', service: SERVICES.permitChanges, params, map: mapPermitRow, raw: true },
        ctx,
      )) as readonly unknown[]
      const page = rows.slice(0, limit)
      const changes: Change[] = []
      let last = after
      for (let i = 0; i < page.length; i++) {
        const row = page[i]
        if (!isWireRow(row))
          throw new ConnectorError('bad-response', `${SERVICES.permitChanges} row ${i} is not a JSON object`)
        const lsh = row.LSH
        if (typeof lsh !== 'string' || !/^\d{1,32}$/.test(lsh) || (last !== '' && BigInt(lsh) <= BigInt(last))) {
          throw new ConnectorError('bad-response', `${SERVICES.permitChanges} row ${i}: LSH missing or out of order`)
        }
        last = lsh
        if (isSupersededRow(row)) continue
        const record = mapRows([row], {
          operation: 'permitChanges',
          service: SERVICES.permitChanges,
          params,
          map: mapPermitRow,
        })[0]
        if (record === undefined || typeof record.permitNo !== 'string') {
          throw new ConnectorError('bad-response', `${SERVICES.permitChanges} row ${i}: no SGXKZBH`)
        }
        changes.push({
          key: record.permitNo,
          version: lsh,
          op: 'upsert',
          changedAt: changedAtOf(row.SJGXSJ, i),
          record,
        })
      }
      return { changes, next: encodeChangeCursor(PERMIT_CURSOR_TAG, [last]), more: rows.length > limit }
    },
  }

  return {
    operations: {
      permitChanges,
      constructionPermits,
      drawingReviews: byProject('drawingReviews', SERVICES.drawingReviews, mapDrawingReviewRow),
      completionFilings: byProject('completionFilings', SERVICES.completionFilings, mapCompletionFilingRow),
    },

    async health({ signal }): Promise<HealthReport> {
      if (disposed) return { status: 'down', detail: 'connector disposed' }
      const probe = AbortSignal.any([signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)])
      try {
        const res = await request(`${endpoint}/${PING}`, {
          dispatcher,
          method: 'GET',
          headers: requestHeaders(undefined),
          signal: probe,
        })
        if (res.statusCode !== 200) {
          await drainBody(res.body, DRAIN_LIMIT_BYTES)
          return { status: 'down', detail: `ping answered HTTP ${res.statusCode}` }
        }
        const envelope = parseEnvelope(
          await readBodyText(res.body, res.headers['content-type'], { limit: DRAIN_LIMIT_BYTES }),
        )
        if (envelope.code !== ENVELOPE_CODES.ok) {
          return { status: 'down', detail: `ping answered envelope code ${printableCode(envelope.code)}` }
        }
        return { status: 'up' }
      } catch (err) {
        return { status: 'down', detail: `ping failed: ${transportError(err, probe).message}` }
      }
    },

    async dispose() {
      // The dispatcher belongs to the gateway; nothing else is held.
      disposed = true
    },
  }
}

/** `SJGXSJ` (yyyyMMddHHmmss, Asia/Shanghai) as ISO 8601 with its offset. */
function changedAtOf(text: unknown, i: number): string {
  const m = typeof text === 'string' ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text) : null
  const iso = m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00` : ''
  if (Number.isNaN(Date.parse(iso))) {
    throw new ConnectorError('bad-response', `${SERVICES.permitChanges} row ${i}: SJGXSJ is not yyyyMMddHHmmss`)
  }
  return iso
}

function requestHeaders(
  propagation: Readonly<Record<string, string>> | undefined,
  contentType?: string,
): Record<string, string> {
  const headers = propagatedHeaders(propagation)
  headers.accept = 'application/json'
  if (contentType) headers['content-type'] = contentType
  return headers
}

function mapRows(data: readonly unknown[], spec: CallSpec): CanonicalRecord[] {
  const records: CanonicalRecord[] = []
  for (let i = 0; i < data.length; i++) {
    const row = data[i]
    if (!isWireRow(row)) throw new ConnectorError('bad-response', `${spec.service} row ${i} is not a JSON object`)
    if (isSupersededRow(row)) continue
    let record: CanonicalRecord
    try {
      record = spec.map(row)
    } catch (err) {
      if (err instanceof MappingError) {
        throw new ConnectorError('bad-response', `${spec.service} row ${i}: ${err.message}`, { cause: err })
      }
      throw err
    }
    const match = spec.match
    if (match && record[match.field] !== undefined && record[match.field] !== match.value) {
      // Never pass on rows that were not asked for (a gateway ignoring its parameters would leak a whole table).
      throw new ConnectorError('bad-response', `${spec.service} row ${i} does not match the requested ${match.column}`)
    }
    records.push(record)
  }
  return records
}

function envelopeError(envelope: WireEnvelope, sent: readonly string[]): ConnectorError {
  const code = printableCode(envelope.code)
  const reason = safeUpstreamMessage(envelope.msg, sent) ?? ENVELOPE_CODE_MEANINGS[envelope.code]
  return new ConnectorError('rejected', reason ? `envelope code ${code} (${reason})` : `envelope code ${code}`, {
    upstreamCode: code,
  })
}

/** Envelope codes are short tokens; anything else is not repeated. */
function printableCode(code: string): string {
  return /^[0-9A-Za-z_-]{1,16}$/.test(code) ? code : '(unrecognised)'
}

function parseEnvelope(text: string): WireEnvelope {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConnectorError('bad-response', 'response body is not JSON', { cause: err })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConnectorError('bad-response', 'response body is not an envelope object')
  }
  const { code, msg, data } = json as Record<string, unknown>
  if (typeof code !== 'string' && typeof code !== 'number') {
    throw new ConnectorError('bad-response', 'envelope has no code')
  }
  if (!Object.hasOwn(json, 'data')) throw new ConnectorError('bad-response', 'envelope has no data')
  return { code: String(code), msg: typeof msg === 'string' ? msg : '', data }
}
