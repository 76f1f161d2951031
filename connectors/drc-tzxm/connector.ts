// Over 400 lines: one SOAP service; its methods share one client, GBK decoding and fault mapping
import iconv from 'iconv-lite'
import { request } from 'undici'
import { ConnectorError, type ConnectorErrorKind, transportError } from '../kit/connector-error.js'
import { drainBody, readBodyText } from '../kit/http-body.js'
import type {
  CallContext,
  CanonicalRecord,
  Connector,
  ConnectorDeps,
  HealthReport,
  ReadOperation,
  WriteOperation,
  WriteReceipt,
} from '../kit/types.js'
import {
  CONNECTOR_OWNED_HEADERS,
  httpStatusError,
  propagatedHeaders,
  safeUpstreamMessage,
} from '../kit/upstream-http.js'
import {
  type ByCompanyParams,
  type ByProjectCodeParams,
  companyUsccsOf,
  MappingError,
  mapApprovalResult,
  mapProject,
  mapReceipt,
  type PermitFeedbackBody,
  toPermitParas,
} from './mapping.js'
import { type DrcTzxmOptions, resolveOptions } from './options.js'
import {
  buildParasXml,
  buildRequestEnvelope,
  EL,
  FAULT_CODES,
  FAULT_MEANINGS,
  faultCodeName,
  isXmlObject,
  METHODS,
  type MethodName,
  parseResponseEnvelope,
  parseResultXml,
  RESULT_CODES,
  type ResultXml,
  type SoapFault,
  soapAction,
  WIRE_ENCODING,
  WireFormatError,
  XML_CONTENT_TYPE,
  type XmlObject,
  type XmlValue,
} from './wire.js'

export type { ByCompanyParams, ByProjectCodeParams, PermitFeedbackBody } from './mapping.js'

/** Larger answers are refused as bad-response: one company never has more than a few hundred projects. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024
/** Cap on a health probe when the caller's signal has no deadline of its own. */
export const HEALTH_TIMEOUT_MS = 5_000
/** Bytes read from an HTTP 500 (fault) or other error answer. */
const ERROR_BODY_LIMIT_BYTES = 64 * 1024

/** Request headers the connector owns; propagation headers may not replace them. */
const OWNED_HEADERS: ReadonlySet<string> = new Set([...CONNECTOR_OWNED_HEADERS, 'soapaction'])

/** Fault error codes → kind. Others go by faultcode: soap:Server → unavailable, anything else → rejected. */
const FAULT_KINDS: Readonly<Record<string, ConnectorErrorKind>> = {
  [FAULT_CODES.projectNotFound]: 'not-found',
  [FAULT_CODES.invalidToken]: 'rejected',
  [FAULT_CODES.badParameter]: 'rejected',
  [FAULT_CODES.busy]: 'unavailable',
}

/** What one exchange learned, for the log line (codes only, never values). */
interface Observed {
  httpStatus?: number
  faultCode?: string
  resultCode?: string
}

interface CallSpec<T> {
  readonly operation: string
  readonly method: MethodName
  /** `<paras>` entries, in order. */
  readonly paras: readonly (readonly [string, string])[]
  /** Turns an accepted result (code 1) into the operation's answer. */
  readonly handle: (result: ResultXml) => T
  /** Record count for the log line. */
  readonly count?: (answer: T) => number
}

/**
 * Builds a connector for the 投资项目在线审批监管平台 exchange service (SOAP 1.1, GBK). See README.md.
 *
 * @example
 * const connector = createDrcTzxmConnector(
 *   { baseUrl: 'http://127.0.0.1:9102', validateData: '…' },
 *   { dispatcher, log, clock: { now: Date.now } },
 * )
 * const [project] = await connector.operations.projectInfo.handle({ projectCode: '2403-320115-04-03-123456' }, ctx)
 */
export function createDrcTzxmConnector(options: DrcTzxmOptions, deps: ConnectorDeps): Connector {
  const { endpoint, validateData } = resolveOptions(options)
  const { dispatcher, clock } = deps
  let disposed = false

  /**
   * One SOAP exchange: returns the parsed result XML with code 1, or throws a ConnectorError (or a transport error
   * for the caller to classify). `sent` are values whose echo must never reach an error message.
   */
  async function exchange(
    method: MethodName,
    parasXml: string | undefined,
    signal: AbortSignal,
    propagation: Readonly<Record<string, string>> | undefined,
    sent: readonly string[],
    seen: Observed,
  ): Promise<ResultXml> {
    const envelope = buildRequestEnvelope(method, validateData, parasXml)
    const res = await request(endpoint, {
      dispatcher,
      method: 'POST',
      headers: requestHeaders(propagation, method),
      body: iconv.encode(envelope, WIRE_ENCODING),
      signal,
    })
    const status = res.statusCode
    seen.httpStatus = status
    if (status !== 200 && status !== 500) {
      await drainBody(res.body, ERROR_BODY_LIMIT_BYTES)
      throw httpStatusError(status)
    }
    let text: string
    try {
      text = await readBodyText(res.body, res.headers['content-type'], {
        limit: status === 200 ? MAX_RESPONSE_BYTES : ERROR_BODY_LIMIT_BYTES,
        // GBK, GB2312, GB18030 or no charset → the GB18030 decoder (the superset: 4-byte sequences such as 𠮷
        // survive whatever was declared); an explicit UTF-8 → UTF-8.
        fallbackCharset: WIRE_ENCODING,
      })
    } catch (err) {
      if (status === 500 && err instanceof ConnectorError) throw httpStatusError(status)
      throw err
    }
    let answer: ReturnType<typeof parseResponseEnvelope>
    try {
      answer = parseResponseEnvelope(text, method)
    } catch (err) {
      // An HTTP 500 that is not a SOAP fault is an IIS/ASP.NET error page: the service itself is in trouble.
      if (status === 500) throw httpStatusError(status)
      throw badResponse(err)
    }
    if (answer.kind === 'fault') {
      const error = faultError(answer.fault, status, sent)
      seen.faultCode = error.upstreamCode
      throw error
    }
    if (status === 500) throw httpStatusError(status)
    let result: ResultXml
    try {
      result = parseResultXml(answer.result)
    } catch (err) {
      throw badResponse(err)
    }
    seen.resultCode = printableCode(result.code)
    if (result.code !== RESULT_CODES.ok) throw resultError(result, sent)
    return result
  }

  async function call<T>(spec: CallSpec<T>, ctx: CallContext): Promise<T> {
    if (disposed) throw new ConnectorError('unavailable', 'connector disposed')
    const { operation, method } = spec
    const started = clock.now()
    const seen: Observed = {}
    try {
      const sent = [validateData, ...spec.paras.map(([, value]) => value)]
      const parasXml = buildParas(spec.paras)
      const result = await exchange(method, parasXml, ctx.signal, ctx.propagation, sent, seen)
      let answer: T
      try {
        answer = spec.handle(result)
      } catch (err) {
        if (err instanceof MappingError) {
          throw new ConnectorError('bad-response', `${method} ${err.message}`, { cause: err })
        }
        throw err
      }
      ctx.log.debug(
        {
          operation,
          method,
          durationMs: clock.now() - started,
          httpStatus: seen.httpStatus,
          resultCode: seen.resultCode,
          ...(spec.count ? { recordCount: spec.count(answer) } : {}),
        },
        'drc-tzxm call',
      )
      return answer
    } catch (err) {
      const error = transportError(err, ctx.signal)
      ctx.log.warn(
        {
          operation,
          method,
          durationMs: clock.now() - started,
          httpStatus: seen.httpStatus,
          faultCode: seen.faultCode,
          resultCode: seen.resultCode,
          errorKind: error.kind,
        },
        'drc-tzxm call failed',
      )
      throw error
    }
  }

  const read = (
    operation: string,
    method: MethodName,
    paras: readonly (readonly [string, string])[],
    records: (data: XmlValue | undefined) => CanonicalRecord[],
    ctx: CallContext,
  ) =>
    call<CanonicalRecord[]>(
      { operation, method, paras, handle: (result) => records(result.data), count: (list) => list.length },
      ctx,
    )

  const projectInfo: ReadOperation<ByProjectCodeParams> = {
    kind: 'read',
    handle(params, ctx) {
      const code = params.projectCode
      return read(
        'projectInfo',
        METHODS.projectInfo,
        [[EL.projectCode, code]],
        (data) => {
          const projects = itemsOf(data, EL.project)
          if (projects.length > 1) throw new MappingError(EL.project, 'is repeated for one project code')
          return projects.map((p, i) => matchProject(p, i, code))
        },
        ctx,
      )
    },
  }

  const companyProjects: ReadOperation<ByCompanyParams> = {
    kind: 'read',
    handle(params, ctx) {
      const uscc = params.companyUscc
      return read(
        'companyProjects',
        METHODS.companyProjects,
        [[EL.uscc, uscc]],
        (data) =>
          itemsOf(data, EL.project).map((p, i) => {
            // Never pass on projects that were not asked for (a service ignoring its parameter would leak a table).
            if (!companyUsccsOf(p).includes(uscc.toUpperCase())) {
              throw new MappingError(`${EL.project}[${i}]`, `has no ${EL.company} with the requested ${EL.uscc}`)
            }
            return mapProject(p)
          }),
        ctx,
      )
    },
  }

  const approvalResults: ReadOperation<ByProjectCodeParams> = {
    kind: 'read',
    handle(params, ctx) {
      const code = params.projectCode
      return read(
        'approvalResults',
        METHODS.approvalResults,
        [[EL.projectCode, code]],
        (data) =>
          itemsOf(data, EL.approval).map((a, i) => {
            const record = mapApprovalResult(a)
            if (record.projectCode !== undefined && record.projectCode !== code) {
              throw new MappingError(`${EL.approval}[${i}]`, `does not match the requested ${EL.projectCode}`)
            }
            return record
          }),
        ctx,
      )
    },
  }

  const pushConstructionPermit: WriteOperation<PermitFeedbackBody> = {
    kind: 'write',
    async handle(body, ctx) {
      let paras: Array<[string, string]>
      try {
        paras = toPermitParas(body)
      } catch (err) {
        if (!(err instanceof MappingError)) throw err
        const error = new ConnectorError('rejected', `body refused before sending: ${err.message}`, { cause: err })
        ctx.log.warn({ operation: 'pushConstructionPermit', errorKind: error.kind }, 'drc-tzxm call failed')
        throw error
      }
      return call<WriteReceipt>(
        {
          operation: 'pushConstructionPermit',
          method: METHODS.pushConstructionPermit,
          paras,
          handle: (result) => {
            if (result.data === undefined || result.data === '') throw new MappingError(EL.data, 'is missing')
            return mapReceipt(result.data)
          },
        },
        ctx,
      )
    },
  }

  return {
    operations: { projectInfo, companyProjects, approvalResults, pushConstructionPermit },

    async health({ signal }): Promise<HealthReport> {
      if (disposed) return { status: 'down', detail: 'connector disposed' }
      const probe = AbortSignal.any([signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)])
      try {
        await exchange(METHODS.ping, undefined, probe, undefined, [validateData], {})
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

function buildParas(paras: readonly (readonly [string, string])[]): string {
  try {
    return buildParasXml(paras)
  } catch (err) {
    if (err instanceof WireFormatError) {
      throw new ConnectorError('rejected', 'a parameter holds characters XML cannot carry; refused before sending', {
        cause: err,
      })
    }
    throw err
  }
}

/** The repeated `name` children of `<data>`; `<data/>` (or none) is an empty list. */
function itemsOf(data: XmlValue | undefined, name: string): XmlObject[] {
  if (data === undefined || data === '') return []
  if (!isXmlObject(data)) throw new MappingError(EL.data, 'is not an element list')
  const items = data[name]
  if (items === undefined || items === '') return []
  const list = Array.isArray(items) ? items : [items]
  return list.map((item, i) => {
    if (!isXmlObject(item)) throw new MappingError(`${name}[${i}]`, 'is not an element with children')
    return item
  })
}

function matchProject(project: XmlObject, index: number, code: string): CanonicalRecord {
  const record = mapProject(project)
  if (record.projectCode !== undefined && record.projectCode !== code) {
    throw new MappingError(`${EL.project}[${index}]`, `does not match the requested ${EL.projectCode}`)
  }
  return record
}

function requestHeaders(
  propagation: Readonly<Record<string, string>> | undefined,
  method: MethodName,
): Record<string, string> {
  const headers = propagatedHeaders(propagation, OWNED_HEADERS)
  headers.accept = 'text/xml'
  headers['content-type'] = XML_CONTENT_TYPE
  headers.soapaction = soapAction(method)
  return headers
}

function badResponse(err: unknown): ConnectorError {
  if (err instanceof WireFormatError) return new ConnectorError('bad-response', err.message, { cause: err })
  return new ConnectorError('bad-response', 'answer could not be read', { cause: err })
}

/** A SOAP fault → kind by `<detail><errorCode>`, else by faultcode. */
export function faultError(fault: SoapFault, httpStatus: number | undefined, sent: readonly string[]): ConnectorError {
  const errorCode = fault.errorCode !== undefined && isPrintable(fault.errorCode) ? fault.errorCode : undefined
  const faultName = faultCodeName(fault.faultcode)
  const code = errorCode ?? (isPrintable(faultName) ? `soap:${faultName}` : '(unrecognised)')
  const byCode = errorCode === undefined ? undefined : FAULT_KINDS[errorCode]
  const kind = byCode ?? (faultName === 'Server' ? 'unavailable' : 'rejected')
  const reason = safeUpstreamMessage(fault.faultstring, sent) ?? (errorCode ? FAULT_MEANINGS[errorCode] : undefined)
  return new ConnectorError(kind, reason ? `SOAP fault ${code} (${reason})` : `SOAP fault ${code}`, {
    upstreamCode: code,
    ...(httpStatus === undefined ? {} : { upstreamStatus: httpStatus }),
  })
}

function resultError(result: ResultXml, sent: readonly string[]): ConnectorError {
  const code = printableCode(result.code)
  const reason = safeUpstreamMessage(result.message, sent)
  return new ConnectorError('rejected', reason ? `result code ${code} (${reason})` : `result code ${code}`, {
    upstreamCode: code,
  })
}

function isPrintable(code: string): boolean {
  return /^[0-9A-Za-z_.-]{1,16}$/.test(code)
}

/** Codes are short tokens; anything else is not repeated. */
function printableCode(code: string): string {
  return isPrintable(code) ? code : '(unrecognised)'
}
