import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { connectorDefinitions } from '../../../connectors/registry.js'
import { parseCsv } from '../../../test/support/csv.js'
import { loadCatalog } from '../load.js'
import type { Catalog, Resource, UpdateCycle } from '../types.js'
import { NATIONAL_COLUMNS, nationalCsv, nationalJson, nationalRows, UPDATE_CYCLE_NAMES } from './national.js'

let catalog: Catalog

beforeAll(async () => {
  const loaded = await loadCatalog(fileURLToPath(new URL('../../../catalog.yaml', import.meta.url)), {
    definitions: connectorDefinitions,
    vars: {},
  })
  if (!loaded.ok) throw new Error('demo catalog does not load')
  catalog = loaded.catalog
})

/** The catalog with one resource replaced (the loaded catalog is frozen). */
function withResource(resource: Resource): Catalog {
  return { ...catalog, resources: new Map([...catalog.resources, [resource.id, resource]]) }
}

function rowFor(c: Catalog, id: string) {
  const index = [...c.resources.keys()].indexOf(id)
  return nationalRows(c)[index]
}

describe('national core metadata (编制指南)', () => {
  it('has the 指南’s elements in its order, 共享属性 split into its three sub-elements', () => {
    expect(NATIONAL_COLUMNS).toEqual([
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
    ])
  })

  it('gives one row per resource, in catalog order, every row with every column', () => {
    const rows = nationalRows(catalog)
    expect(rows.map((r) => r.信息资源代码)).toEqual([...catalog.resources.values()].map((r) => r.code))
    for (const row of rows) expect(Object.keys(row)).toEqual([...NATIONAL_COLUMNS])
  })

  it('describes a conditional resource in the 指南’s value domains', () => {
    const permits = catalog.resources.get('housing.construction-permit') as Resource
    expect(rowFor(catalog, permits.id)).toEqual({
      信息资源分类: '主题信息资源/城乡建设',
      信息资源名称: '建筑工程施工许可信息',
      信息资源代码: '3/05/001/000001/00012',
      信息资源提供方: '南京市住房和城乡建设局',
      信息资源提供方代码: '11320100002493021L',
      信息资源摘要: permits.summary,
      信息资源格式: '服务接口/JSON',
      信息项信息: permits.fields.map((f) => f.name).join('；'),
      共享类型: '有条件共享',
      共享条件: `${permits.sharing.condition}；依据：${permits.sharing.legalBasis}`,
      共享方式: '共享平台方式/接口',
      开放属性: '不予开放',
      更新周期: '实时',
      发布日期: '2025-01-01',
      关联资源代码: '',
    })
  })

  it('gives an unconditional resource no condition, and the 前置库 resource its 数据库 mode', () => {
    expect(rowFor(catalog, 'housing.drawing-review')).toMatchObject({ 共享类型: '无条件共享', 共享条件: '' })
    expect(rowFor(catalog, 'market.enterprise-registration')).toMatchObject({
      信息资源分类: '基础信息资源/法人单位',
      共享方式: '共享平台方式/数据库',
    })
  })

  it('gives a 不予共享 resource the basis of the refusal and no format, mode or date', () => {
    const applicant = catalog.resources.get('housing.security-applicant') as Resource
    expect(rowFor(catalog, applicant.id)).toMatchObject({
      信息资源分类: '',
      信息资源格式: '',
      共享类型: '不予共享',
      共享条件: `不予共享依据：${applicant.sharing.legalBasis}`,
      共享方式: '',
      更新周期: '每日',
      发布日期: '',
    })
  })

  it('names every update cycle in Chinese', () => {
    const permits = catalog.resources.get('housing.construction-permit') as Resource
    const cycles = Object.keys(UPDATE_CYCLE_NAMES) as UpdateCycle[]
    const names = cycles.map((updateCycle) => rowFor(withResource({ ...permits, updateCycle }), permits.id)?.更新周期)
    expect(names).toEqual(['实时', '每日', '每周', '每月', '每季度', '每半年', '每年', '不定时'])
  })

  it('keeps a mode outside the platform as written, and a bound resource without a mode on the interface', () => {
    const permits = catalog.resources.get('housing.construction-permit') as Resource
    const byMail = withResource({ ...permits, sharing: { ...permits.sharing, mode: '邮件或介质' } })
    expect(rowFor(byMail, permits.id)?.共享方式).toBe('邮件或介质')
    const { mode: _, ...noMode } = permits.sharing
    expect(rowFor(withResource({ ...permits, sharing: noMode }), permits.id)?.共享方式).toBe('共享平台方式/接口')
  })

  it('answers JSON with the rows and what they are', () => {
    const json = nationalJson(catalog)
    expect(json.data).toEqual(nationalRows(catalog))
    expect(json.meta).toMatchObject({ count: catalog.resources.size, catalogVersion: '2026.11-demo.2' })
    expect(json.meta.columns).toEqual(NATIONAL_COLUMNS)
    expect(json.meta.standard).toContain('发改高技〔2017〕1272号')
  })

  it('writes a CSV with a BOM and CRLF rows that reads back to the same cells, quotes and all', () => {
    const rows = nationalRows(catalog)
    const text = nationalCsv(rows)
    expect(text.startsWith('\uFEFF信息资源分类,信息资源名称,')).toBe(true)
    expect(text.endsWith('\r\n')).toBe(true)
    // The permit's condition has double quotes ("一件事"): RFC 4180 doubles them inside a quoted cell.
    expect(text).toContain('""一件事""')
    const [header, ...body] = parseCsv(text.slice(1))
    expect(header).toEqual([...NATIONAL_COLUMNS])
    expect(body).toEqual(rows.map((row) => NATIONAL_COLUMNS.map((c) => row[c])))
  })

  it('neutralises a cell a spreadsheet would run as a formula', () => {
    const permits = catalog.resources.get('housing.construction-permit') as Resource
    const hostile = withResource({ ...permits, summary: '=HYPERLINK("http://example.invalid")' })
    const [, ...body] = parseCsv(nationalCsv(nationalRows(hostile)).slice(1))
    const index = [...hostile.resources.keys()].indexOf(permits.id)
    expect(body[index]?.[NATIONAL_COLUMNS.indexOf('信息资源摘要')]).toBe(`'=HYPERLINK("http://example.invalid")`)
  })
})
