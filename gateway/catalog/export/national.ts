import { csvLine, UTF8_BOM } from '../../audit/export.js'
import type { Catalog, Resource, SharingType, UpdateCycle } from '../types.js'

/**
 * The catalog as the national core metadata table (《政务信息资源目录编制指南（试行）》, 发改高技〔2017〕1272号;
 * primer §2.1): one row per resource, Chinese column headers in the 指南's order, values in its Chinese value
 * domains. Served as JSON (`GET /v1/catalog/metadata.json`) and CSV (`GET /v1/catalog/metadata.csv`) so that a
 * department can file or compare it with the platform's catalog without translating anything by hand.
 *
 * 共享属性 has three sub-elements (共享类型, 共享条件, 共享方式): a flat table gives each its own column, which makes
 * 15 columns for the 13 top-level elements. Every cell is text, in the JSON as in the CSV, so both carry the same rows.
 */

export const NATIONAL_COLUMNS = [
  '信息资源分类',
  '信息资源名称',
  '信息资源代码',
  '信息资源提供方',
  '信息资源提供方代码',
  '信息资源摘要',
  '信息资源格式',
  '信息项信息',
  '共享类型',
  '共享条件',
  '共享方式',
  '开放属性',
  '更新周期',
  '发布日期',
  '关联资源代码',
] as const

export type NationalColumn = (typeof NATIONAL_COLUMNS)[number]
export type NationalRow = Readonly<Record<NationalColumn, string>>

/** The document the rows come from, named in the JSON answer's `meta`. */
export const NATIONAL_STANDARD = '《政务信息资源目录编制指南（试行）》（发改高技〔2017〕1272号）核心元数据'

export const SHARING_TYPE_NAMES: Readonly<Record<SharingType, string>> = {
  unconditional: '无条件共享',
  conditional: '有条件共享',
  none: '不予共享',
}

/** The 指南's 更新周期 values (primer §2.2); `irregular` is the newer platforms' 不定时. */
export const UPDATE_CYCLE_NAMES: Readonly<Record<UpdateCycle, string>> = {
  realtime: '实时',
  daily: '每日',
  weekly: '每周',
  monthly: '每月',
  quarterly: '每季度',
  'half-yearly': '每半年',
  yearly: '每年',
  irregular: '不定时',
}

/** 信息资源分类 levels in the 指南's order (类/项/目/细目), whatever order the catalog wrote them in. */
const CLASSIFICATION_LEVELS = ['class', 'item', 'subItem', 'detail'] as const

/** The classification path, top level first (empty when the catalog gives none). */
export function classificationPath(resource: Resource): string[] {
  const levels = resource.classification
  if (levels === undefined) return []
  return CLASSIFICATION_LEVELS.map((level) => levels[level]).filter((v): v is string => v !== undefined && v !== '')
}

/** The 共享方式 types that go through the sharing platform (primer §2.2: 共享平台方式 → 接口 | 数据库 | 文件). */
const PLATFORM_MODES = new Set(['接口', '数据库', '文件'])

/**
 * 共享方式 as 分类/类型. The gateway is an adapter into the sharing platform, so 接口, 数据库 and 文件 are
 * 共享平台方式; another value (邮件或介质 …) is given as written. A resource with a binding but no `mode` is shared
 * through the gateway's interface; a 不予共享 resource has no 共享方式.
 */
function sharingMode(resource: Resource): string {
  if (resource.sharing.type === 'none') return ''
  const mode = resource.sharing.mode ?? (resource.read || resource.write ? '接口' : undefined)
  if (mode === undefined) return ''
  return PLATFORM_MODES.has(mode) ? `共享平台方式/${mode}` : mode
}

/**
 * 共享条件: the condition of a 有条件 resource with its basis; for 不予共享 the 指南 asks for the basis of the refusal
 * (primer §2.1, row 10); 无条件 has none.
 */
function sharingCondition(resource: Resource): string {
  const { type, condition, legalBasis } = resource.sharing
  if (type === 'unconditional') return ''
  if (type === 'none') return legalBasis === undefined ? '' : `不予共享依据：${legalBasis}`
  return [condition, legalBasis === undefined ? undefined : `依据：${legalBasis}`].filter(Boolean).join('；')
}

/**
 * 信息资源格式 (格式分类/格式类型). The catalog does not record the provider's storage format; what it does fix is how
 * the resource is delivered: a bound resource is a 服务接口 answering JSON (records checked against the catalog's
 * JSON Schemas). A resource without a binding (不予共享, listed for completeness) is not delivered at all: empty.
 */
function resourceFormat(resource: Resource): string {
  return resource.read || resource.write ? '服务接口/JSON' : ''
}

/**
 * 信息项 names are joined with the full-width semicolon: names contain 、 and （）, e.g. 审批（核准、备案）部门,
 * and none of the catalog's names uses ；.
 */
export const ITEM_SEPARATOR = '；'

function rowOf(catalog: Catalog, resource: Resource): NationalRow {
  const provider = catalog.departments.get(resource.provider)
  return {
    信息资源分类: classificationPath(resource).join('/'),
    信息资源名称: resource.name,
    信息资源代码: resource.code,
    信息资源提供方: provider?.name ?? resource.provider,
    信息资源提供方代码: provider?.uscc ?? '',
    信息资源摘要: resource.summary,
    信息资源格式: resourceFormat(resource),
    信息项信息: resource.fields.map((f) => f.name).join(ITEM_SEPARATOR),
    共享类型: SHARING_TYPE_NAMES[resource.sharing.type],
    共享条件: sharingCondition(resource),
    共享方式: sharingMode(resource),
    // The catalog has no 开放属性 (open data is not the gateway's business): nothing in it is opened to the public.
    开放属性: '不予开放',
    更新周期: UPDATE_CYCLE_NAMES[resource.updateCycle],
    发布日期: resource.publishedAt ?? '',
    // The catalog does not link resources to one another (they join on 项目代码 or 统一社会信用代码 at call time).
    关联资源代码: '',
  }
}

/** One row per resource, in catalog order. */
export function nationalRows(catalog: Catalog): NationalRow[] {
  return [...catalog.resources.values()].map((resource) => rowOf(catalog, resource))
}

/** The JSON answer: the rows (objects keyed by the Chinese headers) and what they are. */
export function nationalJson(catalog: Catalog) {
  const rows = nationalRows(catalog)
  return {
    data: rows,
    meta: {
      count: rows.length,
      catalogVersion: catalog.version,
      standard: NATIONAL_STANDARD,
      columns: NATIONAL_COLUMNS,
    },
  }
}

/**
 * The CSV: RFC 4180 with CRLF rows and a UTF-8 BOM, so that Excel in a Chinese locale reads it as UTF-8 (the audit
 * export's writer, which also neutralises cells a spreadsheet would run as formulas).
 */
export function nationalCsv(rows: readonly NationalRow[]): string {
  let text = `${UTF8_BOM}${csvLine(NATIONAL_COLUMNS)}`
  for (const row of rows) text += csvLine(NATIONAL_COLUMNS.map((column) => row[column]))
  return text
}
