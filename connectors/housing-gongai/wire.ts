/**
 * Wire format of the 住建 工改 data-sharing interface (provincial gateway style, primer §4.2 and §4.4).
 * Internal to the connector and its simulator: nothing here is part of the canonical API.
 */

/** Default path prefix of the interface under `baseUrl`. */
export const DEFAULT_PATH = '/gongai/api/v3'

/** Service names, appended to `{baseUrl}{path}/`. */
export const SERVICES = {
  /** 建筑工程施工许可信息 (SPGL_JZGCSGXKXXB_V3). */
  permits: 'sgxk.query',
  /** 施工图设计文件审查信息 (SPGL_SGTSJWJSCXXB_V3). */
  drawingReviews: 'sgtsc.query',
  /** 建设工程竣工验收备案信息 (SPGL_JSGCJGYSBAXXB_V3). */
  completionFilings: 'jgysba.query',
  /** 施工许可 rows added since a 流水号 (增量查询), in LSH order: the change feed. */
  permitChanges: 'sgxk.changes',
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

/** Request parameter names (pinyin initials). */
export const PARAM_PROJECT_CODE = 'XMDM'
export const PARAM_PERMIT_NO = 'SGXKZBH'
/** 建设单位代码: permits of one owner (建设单位) by its USCC. */
export const PARAM_OWNER_USCC = 'JSDWDM'
/** 起始流水号 of `sgxk.changes`: rows with a greater LSH (digits; absent from the beginning). */
export const PARAM_AFTER_SERIAL = 'QSLSH'
/** 每页条数 of `sgxk.changes` (digits, 1..MAX_CHANGE_ROWS). */
export const PARAM_PAGE_ROWS = 'MYTS'
export const MAX_CHANGE_ROWS = 500

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

/** Columns present on every V3 row that the canonical records do not carry. */
export interface WireRowStatus {
  /** 流水号. */
  LSH?: string
  /** 地方数据主键. */
  DFSJZJ?: string
  /** 数据有效标识: "1" valid, "0" superseded by a later row. */
  SJYXBS?: string
  /** 数据无效原因 (only on SJYXBS = "0"). */
  SJWXYY?: string
  /** 数据更新时间, yyyyMMddHHmmss. */
  SJGXSJ?: string
}

/** Value of SJYXBS marking a row superseded by a correction. */
export const ROW_INVALID = '0'
export const ROW_VALID = '1'

/** SPGL_JZGCSGXKXXB_V3 as served by `sgxk.query`. Numbers and dates are strings. */
export interface PermitWireRow extends WireRowStatus {
  SGXKZBH: string
  XMDM: string
  GCDM: string
  GCMC: string
  XZQHDM: string
  JSDZ: string
  JSGM: string
  JSDW: string
  JSDWDM: string
  JSDWXMFZR: string
  JSFZRZJHM: string
  JSFZRLXDH: string
  SGDWMC: string
  SGDWDM: string
  /** 合同价格, 万元, e.g. "12345.67". */
  HTJG: string
  /** 总建筑面积, m². */
  ZJZMJ: string
  /** yyyyMMdd. */
  JHKGRQ: string
  JHJGRQ: string
  FZRQ: string
  FZJG: string
  GCGHXKZBH: string
  SCHGSBH: string
  /** 建设性质 (新建/改建/扩建); not in the canonical record. */
  JSXZ?: string
  /** 地上 / 地下建筑面积, m²; not in the canonical record. */
  DSJZMJ?: string
  DXJZMJ?: string
}

/** SPGL_SGTSJWJSCXXB_V3 as served by `sgtsc.query`. */
export interface DrawingReviewWireRow extends WireRowStatus {
  SCHGSBH: string
  XMDM: string
  GCDM: string
  GCMC: string
  SCJGMC: string
  SCJGDM: string
  SJDWMC: string
  /** "合格" or "不合格". */
  SCJL: string
  SCWCRQ: string
}

/** SPGL_JSGCJGYSBAXXB_V3 as served by `jgysba.query`. */
export interface CompletionFilingWireRow extends WireRowStatus {
  JGYSBABH: string
  XMDM: string
  GCDM: string
  GCMC: string
  JSDW: string
  JSDWDM: string
  JGYSRQ: string
  BARQ: string
  /** m². */
  ZJZMJ: string
  /** 工程决算, 万元. */
  GCJS: string
}

/** A row as received: unknown columns, any JSON values. */
export type WireRow = Readonly<Record<string, unknown>>
