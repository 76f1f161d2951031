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
import { isWireRow, MappingError, mapRecordRow } from './mapping.js'
import { type ConnectorOptions, resolveOptions } from './options.js'
import { computeSign, formatRequestTime } from './signing.js'
import {
  ENVELOPE_CODE_MEANINGS,
  ENVELOPE_CODES,
  FORM_CONTENT_TYPE,
  FORM_FIELD,
  MAX_CHANGE_ROWS,
  PARAM_PAGE_ROWS,
  PARAM_PAGE_TOKEN,
  PARAM_RECORD_NO,
  PARAM_UPDATED_SINCE,
  PING,
  SERVICES,
  type ServiceName,
  type WireEnvelope,
  type WireRequest,
} from './wire.js'

/** Parameters of `records` (the resource's request schema). */
export interface RecordParams {
  readonly recordNo: string
}

/** Larger answers are refused as bad-response. TODO(integrator): size it for the real interface. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024
/** Cap on a health probe when the caller's signal has no deadline of its own. */
export const HEALTH_TIMEOUT_MS = 5_000
/** Bytes read from an error answer before the socket is given up rather than reused. */
const DRAIN_LIMIT_BYTES = 64 * 1024
/** Tag of the change feed's cursors (kit encodeChangeCursor), versioned with their layout. */
const CHANGE_CURSOR_TAG = 'template-envelope/changes/1'
/** Name in log messages. */
const NAME = 'template-envelope'

/**
 * Builds a connector for the 模板系统 data-sharing interface. See README.md for the wire protocol.
 *
 * @example
 * const connector = createConnector(
 *   { baseUrl: 'http://127.0.0.1:9100', appKey: 'qiao-gateway', appSecret: '…' },
 *   { dispatcher, log, clock: { now: Date.now } },
 * )
 * const records = await connector.operations.records.handle({ recordNo: 'TE2026000001' }, ctx)
 */
export function createConnector(options: ConnectorOptions, deps: ConnectorDeps): Connector {
  const { endpoint, appKey, appSecret } = resolveOptions(options)
  const { dispatcher, clock } = deps
  let disposed = false

  /**
   * One envelope call: signs the request, posts it, and answers the `data` rows of a code-00 envelope. Code 01
   * (查询无结果) is `not-found`, or no rows when `noDataIsEmpty` (a change query with nothing new).
   */
  async function exchange(
    operation: string,
    service: ServiceName,
    params: Record<string, string>,
    ctx: CallContext,
    noDataIsEmpty = false,
  ): Promise<readonly unknown[]> {
    if (disposed) throw new ConnectorError('unavailable', 'connector disposed')
    const started = clock.now()
    const requestTime = formatRequestTime(started)
    const sign = computeSign(appKey, appSecret, requestTime)
    const wire: WireRequest = { appKey, requestTime, sign, params }
    // Values whose presence in an upstream msg would leak parameters or credentials into our messages.
    const sent = [...Object.values(params), appKey, appSecret, requestTime, sign]
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
      // UTF-8, unless the charset names a GB encoding (decoded as GB18030, their superset).
      const text = await readBodyText(res.body, res.headers['content-type'], { limit: MAX_RESPONSE_BYTES })
      const envelope = parseEnvelope(text)
      envelopeCode = printableCode(envelope.code)
      let rows: readonly unknown[]
      if (envelope.code === ENVELOPE_CODES.noData && noDataIsEmpty) rows = []
      else if (envelope.code === ENVELOPE_CODES.noData) {
        throw new ConnectorError('not-found', `envelope code ${ENVELOPE_CODES.noData} (查询无结果)`, {
          upstreamCode: ENVELOPE_CODES.noData,
        })
      } else if (envelope.code !== ENVELOPE_CODES.ok) throw envelopeError(envelope, sent)
      else if (!Array.isArray(envelope.data)) {
        throw new ConnectorError('bad-response', `envelope code 00 without a data array (${service})`)
      } else rows = envelope.data
      const durationMs = clock.now() - started
      ctx.log.debug(
        { operation, service, durationMs, httpStatus, envelopeCode, recordCount: rows.length },
        `${NAME} call`,
      )
      return rows
    } catch (err) {
      const error = transportError(err, ctx.signal)
      const durationMs = clock.now() - started
      ctx.log.warn(
        { operation, service, durationMs, httpStatus, envelopeCode, errorKind: error.kind },
        `${NAME} call failed`,
      )
      throw error
    }
  }

  const records: ReadOperation<RecordParams> = {
    kind: 'read',
    async handle(params, ctx) {
      const data = await exchange('records', SERVICES.records, { [PARAM_RECORD_NO]: params.recordNo }, ctx)
      return mapRows(data, SERVICES.records, params.recordNo)
    },
  }

  /**
   * The change feed over `records.changes` ("changed since" GXSJ, paged by JLBH within a second). The cursor is the
   * (GXSJ, JLBH) of the last row read: a keyset, so records updated in the same second are neither skipped nor
   * repeated. Version = the row's GXSJ. TODO(integrator): a real system whose GXSJ can be written late (clock
   * skew, long transactions) needs an overlap window and de-duplication by version, as market-qzk's cursor does.
   */
  const changes: ChangesOperation = {
    kind: 'changes',
    async handle(request, ctx) {
      const [since, token] =
        request.after === undefined ? ['', ''] : decodeChangeCursor(CHANGE_CURSOR_TAG, request.after, 2)
      if (typeof since !== 'string' || typeof token !== 'string' || !/^(?:\d{14})?$/.test(since)) {
        throw invalidCursor()
      }
      const limit = Math.max(1, Math.min(MAX_CHANGE_ROWS - 1, Math.floor(request.limit)))
      const params: Record<string, string> = { [PARAM_PAGE_ROWS]: String(limit + 1) }
      if (since !== '') params[PARAM_UPDATED_SINCE] = since
      if (token !== '') params[PARAM_PAGE_TOKEN] = token
      const data = await exchange('changes', SERVICES.changes, params, ctx, true)
      const page = data.slice(0, limit)
      const result: Change[] = []
      let last = [since, token]
      for (const [i, record] of mapRows(page, SERVICES.changes, undefined).entries()) {
        const row = page[i] as { GXSJ?: unknown; JLBH?: unknown }
        const at = typeof row.GXSJ === 'string' && /^\d{14}$/.test(row.GXSJ) ? row.GXSJ : undefined
        if (at === undefined || typeof record.recordNo !== 'string' || typeof row.JLBH !== 'string') {
          throw new ConnectorError('bad-response', `${SERVICES.changes} row ${i}: no GXSJ or JLBH`)
        }
        last = [at, row.JLBH]
        result.push({
          key: record.recordNo,
          version: at,
          op: 'upsert',
          changedAt: `${at.slice(0, 4)}-${at.slice(4, 6)}-${at.slice(6, 8)}T${at.slice(8, 10)}:${at.slice(10, 12)}:${at.slice(12, 14)}+08:00`,
          record,
        })
      }
      return { changes: result, next: encodeChangeCursor(CHANGE_CURSOR_TAG, last), more: data.length > limit }
    },
  }

  return {
    operations: { records, changes },

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
        const text = await readBodyText(res.body, res.headers['content-type'], { limit: DRAIN_LIMIT_BYTES })
        const envelope = parseEnvelope(text)
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

/** The caller's trace-context headers, then the connector's own (which propagation may not replace). */
function requestHeaders(
  propagation: Readonly<Record<string, string>> | undefined,
  contentType?: string,
): Record<string, string> {
  const headers = propagatedHeaders(propagation)
  headers.accept = 'application/json'
  if (contentType) headers['content-type'] = contentType
  return headers
}

/** Maps every row; a row for another record than asked is refused (never pass on rows that were not asked for). */
function mapRows(data: readonly unknown[], service: string, recordNo: string | undefined): CanonicalRecord[] {
  const result: CanonicalRecord[] = []
  for (let i = 0; i < data.length; i++) {
    const row = data[i]
    if (!isWireRow(row)) throw new ConnectorError('bad-response', `${service} row ${i} is not a JSON object`)
    let record: CanonicalRecord
    try {
      record = mapRecordRow(row)
    } catch (err) {
      if (err instanceof MappingError) {
        throw new ConnectorError('bad-response', `${service} row ${i}: ${err.message}`, { cause: err })
      }
      throw err
    }
    if (recordNo !== undefined && record.recordNo !== undefined && record.recordNo !== recordNo) {
      throw new ConnectorError('bad-response', `${service} row ${i} does not match the requested ${PARAM_RECORD_NO}`)
    }
    result.push(record)
  }
  return result
}

function envelopeError(envelope: WireEnvelope, sent: readonly string[]): ConnectorError {
  const code = printableCode(envelope.code)
  // The upstream msg only when it cannot carry a value (kit/upstream-http.ts), else the code's standard meaning.
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
