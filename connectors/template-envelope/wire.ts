/**
 * Wire format of the 模板系统 data-sharing interface, in the provincial-gateway envelope-JSON style (primer
 * §4.4). Internal to the connector and its simulator: nothing here is part of the canonical API.
 *
 * TODO(integrator): replace the path, service, parameter and column names with those of the real interface.
 */

/** Default path prefix of the interface under `baseUrl`. */
export const DEFAULT_PATH = '/api/v1'

/** Service names, appended to `{baseUrl}{path}/`. */
export const SERVICES = {
  /** Records by record number (记录编号). */
  records: 'records.query',
  /** Records changed since a time (增量查询), in (GXSJ, JLBH) order, paged: the change feed. */
  changes: 'records.changes',
} as const

export type ServiceName = (typeof SERVICES)[keyof typeof SERVICES]

/** Heartbeat, answered with `{"code":"00","msg":"成功","data":"pong"}`. */
export const PING = 'ping'

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded;charset=UTF-8'
export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8'
/** The single form field carrying the JSON request. */
export const FORM_FIELD = 'data'

/** Envelope codes (primer §4.4). */
export const ENVELOPE_CODES = {
  ok: '00',
  /** 查询无结果: nothing matches the parameters (HTTP 200, `data: ""`). */
  noData: '01',
  dataError: '96',
  missingParameter: '97',
  wrongParameterType: '98',
  failure: '99',
} as const

/** Standard meanings, used in error messages when the upstream `msg` cannot be shown. */
export const ENVELOPE_CODE_MEANINGS: Readonly<Record<string, string>> = {
  '01': '查询无结果',
  '96': '数据错误',
  '97': '参数缺失',
  '98': '参数类型错误',
  '99': '失败',
}

/** Request parameter: 记录编号. */
export const PARAM_RECORD_NO = 'JLBH'
/** `records.changes`: 更新时间起 (yyyyMMddHHmmss, inclusive); absent from the beginning. */
export const PARAM_UPDATED_SINCE = 'GXSJQ'
/** `records.changes`: 翻页标记, the JLBH of the last row read at GXSJQ (rows at that time after it); optional. */
export const PARAM_PAGE_TOKEN = 'FYBJ'
/** `records.changes`: 每页条数 (digits, 1..MAX_CHANGE_ROWS). */
export const PARAM_PAGE_ROWS = 'MYTS'
export const MAX_CHANGE_ROWS = 500

/** Values of the status column ZT. */
export const STATUS_CODES = {
  /** 有效. */
  active: '1',
  /** 无效 (revoked, cancelled, expired). */
  inactive: '0',
} as const

/** The JSON carried in the `data` form field. */
export interface WireRequest {
  appKey: string
  /** yyyyMMddHHmmss, Asia/Shanghai. */
  requestTime: string
  /** MD5(appKey + appSecret + requestTime), upper-case hex. */
  sign: string
  params: Record<string, string>
}

/** Every answer is HTTP 200 with this envelope; `data` is `""` on errors. */
export interface WireEnvelope<T = unknown> {
  code: string
  msg: string
  data: T
}

/** One row as served by `records.query`. Dates are strings. */
export interface RecordWireRow {
  /** 记录编号. */
  JLBH: string
  /** 名称. */
  MC: string
  /** 统一社会信用代码. */
  TYSHXYDM: string
  /** 状态: "1" 有效, "0" 无效. */
  ZT: string
  /** 更新时间, yyyyMMddHHmmss (Asia/Shanghai). */
  GXSJ: string
}

/** A row as received: unknown columns, any JSON values. */
export type WireRow = Readonly<Record<string, unknown>>
